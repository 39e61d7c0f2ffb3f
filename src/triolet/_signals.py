"""open_signal_receiver: receive Unix signals as an async iterator.

Python runs signal handlers in the main thread, between two bytecodes of whatever that
thread is doing, which here is the run loop itself. So the handler must not touch
anything that the interrupted code may be in the middle of: no ParkingLot, no
reschedule, and no lock the interrupted code might hold (``TrioToken.run_sync_soon``
takes one). Our handler does two things that are safe at any bytecode boundary:

* ``pending[signum] = None`` on a dict used as an ordered set (one C-level operation;
  a signal that is already pending is coalesced with it), and
* a non-blocking one-byte write to the receiver's own wakeup pipe.

The iterating task waits with ``wait_readable`` on that pipe and takes signals from
the front of ``pending``. Signals that arrived but were never iterated over are raised
again once the previous handlers are back, so none is lost.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ._core import (
    BusyResourceError,
    ClosedResourceError,
    checkpoint,
    current_trio_token,
    notify_closing,
    wait_readable,
)

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class SignalReceiver:
    """The async iterator that :func:`open_signal_receiver` yields: one signal number per step."""

    def __init__(self) -> None:
        # Signals delivered but not yet iterated over, oldest first; duplicates coalesce.
        self._pending: dict[int, None] = {}
        self._wakeup_read, self._wakeup_write = os.pipe()
        os.set_blocking(self._wakeup_read, False)
        os.set_blocking(self._wakeup_write, False)
        self._closed = False
        self._iterating = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._pending[signum] = None
        try:
            os.write(self._wakeup_write, b"\x00")
        except OSError:
            pass  # the pipe is full, so a wake-up is pending anyway

    def __aiter__(self) -> SignalReceiver:
        return self

    async def __anext__(self) -> int:
        """Wait for the next signal and return its number. A checkpoint.

        RuntimeError once the ``open_signal_receiver`` block has exited;
        BusyResourceError if another task is already waiting on this receiver.
        """
        if self._closed:
            raise RuntimeError(
                "this signal receiver's open_signal_receiver block has already exited; "
                "iterate over it inside the 'with' block"
            )
        if self._iterating:
            raise BusyResourceError("only one task can iterate over a signal receiver at a time")
        self._iterating = True
        try:
            await checkpoint()
            while not self._pending:
                try:
                    await wait_readable(self._wakeup_read)
                except ClosedResourceError:
                    raise RuntimeError(
                        "the open_signal_receiver block exited while this task was waiting "
                        "for a signal"
                    ) from None
                self._drain_wakeups()
            signum = next(iter(self._pending))
            del self._pending[signum]
            return signum
        finally:
            self._iterating = False

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._wakeup_read, 4096):
                pass
        except BlockingIOError:
            pass

    def _close(self) -> list[int]:
        """Stop receiving; return the signals that were delivered but never iterated over."""
        self._closed = True
        notify_closing(self._wakeup_read)
        os.close(self._wakeup_read)
        os.close(self._wakeup_write)
        undelivered = list(self._pending)
        self._pending.clear()
        return undelivered


def _raise_each(signums: list[int]) -> None:
    """Raise every signal in turn, even when a handler raises (its error still propagates)."""
    if signums:
        try:
            signal.raise_signal(signums[0])
        finally:
            _raise_each(signums[1:])


@contextmanager
def open_signal_receiver(*signals: signal.Signals | int) -> Generator[SignalReceiver, None, None]:
    """Catch ``signals`` for the duration of the ``with`` block and yield an async iterator of them.

    ``async for signum in receiver`` produces each delivered signal's number, in order of
    arrival; a signal that arrives again while still waiting to be read is reported
    once. Signals that arrive before you start iterating are kept, not lost. On exit the
    previous handlers are restored and any signal that was received but not read is
    raised again, so that those handlers still see it.

    Only one task may iterate at a time (BusyResourceError). RuntimeError outside a
    triolet run or outside the main thread (Python only runs signal handlers there);
    TypeError if no signal is given; ValueError for a signal that can't be caught.
    """
    if not signals:
        raise TypeError("open_signal_receiver() needs at least one signal, e.g. signal.SIGTERM")
    current_trio_token()  # RuntimeError outside a run
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "open_signal_receiver only works in the main thread, where Python runs signal "
            "handlers; call it from a run started in the main thread"
        )
    receiver = SignalReceiver()
    previous_handlers: dict[int, _Handler] = {}
    try:
        for signum in signals:
            if signum not in previous_handlers:
                previous_handlers[signum] = signal.signal(signum, receiver._handle)
        yield receiver
    finally:
        _restore_handlers(previous_handlers.items())
        _raise_each(receiver._close())


def _restore_handlers(handlers: Iterable[tuple[int, _Handler]]) -> None:
    for signum, handler in handlers:
        # None means the handler was installed from C; SIG_DFL is the closest we can put back.
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)
