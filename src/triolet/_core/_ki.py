"""KeyboardInterrupt (Ctrl-C) handling.

Protection is decided only when SIGINT arrives, never on the hot path: the handler
walks the interrupted frames outward. The first frame whose code object was marked by
:func:`enable_ki_protection` / :func:`disable_ki_protection` decides; a task's outermost
coroutine frame answers with the task's own default (system tasks protected, user tasks
not); reaching the kernel's own frames means "protected". Protected code gets the
interrupt later, at the main task's next checkpoint; unprotected code gets it at once.
"""

from __future__ import annotations

import signal
import sys
import threading
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ._state import run_context

if TYPE_CHECKING:
    from ._run import Runner

_T = TypeVar("_T")

# code object -> protected?
_marks: weakref.WeakKeyDictionary[types.CodeType, bool] = weakref.WeakKeyDictionary()


def _mark(func: _T, protected: bool) -> _T:
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType):
        raise TypeError(
            f"KI protection can only be set on functions (with a __code__), not {func!r}"
        )
    _marks[code] = protected
    return func


def enable_ki_protection(f: _T, /) -> _T:
    """Decorator: KeyboardInterrupt is deferred while ``f`` (sync, async or generator) runs."""
    return _mark(f, True)


def disable_ki_protection(f: _T, /) -> _T:
    """Decorator: KeyboardInterrupt may be raised inside ``f`` immediately."""
    return _mark(f, False)


def mark_kernel_code(*funcs: Callable[..., object]) -> None:
    for func in funcs:
        _mark(func, True)


def frame_is_protected(frame: types.FrameType | None) -> bool:
    runner = run_context.runner
    task = runner.current_task if runner is not None else None
    task_frame = getattr(task.coro, "cr_frame", None) if task is not None else None
    while frame is not None:
        mark = _marks.get(frame.f_code)
        if mark is not None:
            return mark
        if frame is task_frame:
            assert task is not None
            return task._ki_protected
        frame = frame.f_back
    # Not inside any triolet code that opted out: kernel or foreign frames.
    return True


def currently_ki_protected() -> bool:
    """Whether a Ctrl-C arriving right now would be deferred to the next checkpoint."""
    return frame_is_protected(sys._getframe(1))


class KIManager:
    """Installs the SIGINT handler for one run (main thread only) and restores the old one."""

    def __init__(self) -> None:
        self._installed = False
        self._previous: object = None

    def install(self, runner: Runner, restrict_to_checkpoints: bool) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # the user has their own handler: leave it alone

        def handler(signum: int, frame: types.FrameType | None) -> None:
            if not restrict_to_checkpoints and not frame_is_protected(frame):
                raise KeyboardInterrupt
            # Deferred. This runs between two bytecodes of whatever the loop's thread was
            # doing, maybe holding a lock: take none, only set flags. The main task's next
            # checkpoint raises the interrupt; if it is parked, the entry queue task
            # (woken through the wakeup socket) delivers it with deliver_ki().
            runner.ki_pending = True
            main = runner.main_task
            if main is not None and main._pending_interrupt is None:
                main._pending_interrupt = KeyboardInterrupt()
            runner.entry_queue.wake_loop()

        self._previous = signal.signal(signal.SIGINT, handler)
        self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            self._installed = False
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
