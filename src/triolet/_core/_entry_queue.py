"""The entry queue: how other threads (and signal handlers) get work into a run.

``run_sync_soon`` appends to a deque (atomic in CPython, so no lock on that path)
and writes to a wakeup fd, which breaks the run loop out of its I/O wait. The loop
then calls each callback in its own thread, right after the poll that saw the fd
fire, in the name of a system task that stays parked for the whole run
(``Runner.serve_entry_queue``): no task step per wakeup. Instruments still see one
(``task_scheduled``, ``before_task_step``, ``after_task_step`` of that task), as in trio.

The wakeup fd is an eventfd where there is one (Linux): a write and a read of an
eventfd cost about a third of a send and a recv on a socketpair, and every
``to_thread.run_sync`` round trip pays for one of each. Elsewhere, a socketpair.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ._exceptions import RunFinishedError
from ._util import NoPublicConstructor

if TYPE_CHECKING:
    from ._run import Runner


class _EventfdWakeup:
    """The wakeup channel on Linux: one eventfd, written to add 1, read to reset to 0."""

    _ONE = (1).to_bytes(8, sys.byteorder)

    def __init__(self) -> None:
        self.fileno = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        # Writers go through a file object: once closed it refuses writes (ValueError)
        # instead of writing to whatever file later reuses the fd number.
        self._writer = open(self.fileno, "wb", buffering=0)
        # wake() without its error handling, as one C call (no Python frame): raises
        # OSError or ValueError once closed (a full counter is a no-op write, not an error).
        self.poke: Callable[[], object] = partial(self._writer.write, self._ONE)

    def wake(self) -> None:
        try:
            self.poke()
        except (OSError, ValueError):
            pass  # closed at shutdown

    def drain(self) -> None:
        try:
            os.read(self.fileno, 8)
        except OSError:
            pass  # nothing written since the last drain

    def close(self) -> None:
        self._writer.close()


class _SocketpairWakeup:
    """The portable wakeup channel: a byte written to one end makes the other readable."""

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self.fileno = self._reader.fileno()
        # wake() without its error handling: raises OSError when the socket is full (a
        # wakeup is pending anyway) or closed at shutdown.
        self.poke: Callable[[], object] = partial(self._writer.send, b"\x00")

    def wake(self) -> None:
        try:
            self.poke()
        except OSError:
            pass

    def drain(self) -> None:
        # One large read empties it in the usual case; the loop only needs to know that
        # something was written, and a leftover byte just costs one extra wakeup.
        try:
            self._reader.recv(65536)
        except OSError:
            pass

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


class EntryQueue:
    def __init__(self) -> None:
        self.queue: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        # Idempotent callbacks: an insertion-ordered set of (fn, args).
        self.idempotent_queue: dict[tuple[Callable[..., object], tuple[Any, ...]], None] = {}
        wakeup = _EventfdWakeup() if hasattr(os, "eventfd") else _SocketpairWakeup()
        self._wakeup = wakeup
        # The fd the loop waits on. wake_loop() makes it readable, from any thread or a
        # signal handler (it takes no lock); drain_wakeups() makes it unreadable again.
        self.wakeup_fd = wakeup.fileno
        self.wakeup_is_counter = isinstance(wakeup, _EventfdWakeup)
        self.wake_loop: Callable[[], None] = wakeup.wake
        self.write_wakeup = wakeup.poke  # wake_loop() without its error handling
        self.drain_wakeups: Callable[[], None] = wakeup.drain
        # Re-entrant: an async generator finalizer (run by the garbage collector at any
        # allocation) may call run_sync_soon while this thread already holds the lock.
        self.lock = threading.RLock()
        self.done = False
        self.runner: Runner | None = None
        self.token: TrioToken = TrioToken._create(self)
        # For the kernel's own callers; the token holds the implementation, so that the
        # public entry point (every to_thread round trip) is one call, not two.
        self.run_sync_soon = self.token.run_sync_soon

    def pending(self) -> bool:
        return bool(self.queue or self.idempotent_queue)

    def run_pending(self) -> None:
        """Call every queued callback, in order. A raising callback crashes the run."""
        queue = self.queue
        while queue:
            fn, args = queue.popleft()
            fn(*args)
        while self.idempotent_queue:
            with self.lock:
                batch = list(self.idempotent_queue)
                self.idempotent_queue.clear()
            for fn, args in batch:
                fn(*args)

    def size(self) -> int:
        return len(self.queue) + len(self.idempotent_queue)

    def close(self) -> None:
        with self.lock:
            self.done = True
        self._wakeup.close()


class TrioToken(metaclass=NoPublicConstructor):
    """A handle on a run that other threads may use to reach it.

    Get one with :func:`current_trio_token` (inside the run); hand it to threads.
    Tokens are hashable and compare equal for the same run.
    """

    __slots__ = ("__weakref__", "_entry_queue")

    def __init__(self, entry_queue: EntryQueue) -> None:
        self._entry_queue = entry_queue

    def run_sync_soon(
        self, sync_fn: Callable[..., object], *args: object, idempotent: bool = False
    ) -> None:
        """Schedule ``sync_fn(*args)`` to run in the loop's thread soon. Thread-safe.

        Callbacks run in order, protected from KeyboardInterrupt; one that raises
        crashes the run with TrioInternalError. With ``idempotent=True``, a call whose
        ``(sync_fn, args)`` is already queued is dropped. Raises RunFinishedError once
        the run has ended.
        """
        queue = self._entry_queue
        # No lock around the check and the append: nothing serves the queue once the
        # run is over, so a callback that slips in while the run closes is dropped
        # silently whether or not a lock orders it before close(). The idempotent dict
        # does need it, against run_pending taking its batch.
        if queue.done:
            raise RunFinishedError(
                "run_sync_soon was called after the triolet run it belongs to had finished"
            )
        if idempotent:
            with queue.lock:
                queue.idempotent_queue[(sync_fn, args)] = None
        else:
            queue.queue.append((sync_fn, args))
        try:
            queue.write_wakeup()  # wake_loop() inlined: one call less per to_thread round trip
        except (OSError, ValueError):
            pass  # closed at shutdown, or (socketpair) full: a wakeup is pending
