"""Tasks: a coroutine, the context it runs in, and where it sits in the task tree."""

from __future__ import annotations

import contextvars
import types
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from ._traps import Abort, ParkRequest, RaiseCancelT
from ._util import final, name_of

if TYPE_CHECKING:
    from ._cancel import CancelScope
    from ._nursery import Nursery
    from ._run import Runner


@final
class Task:
    """A running coroutine managed by the triolet kernel.

    Tasks are created by ``nursery.start_soon``/``start`` and ``spawn_system_task``;
    you get hold of one through :func:`current_task`, :func:`current_root_task`,
    ``nursery.child_tasks`` or an instrument. ``name``, ``coro``, ``context`` and
    ``custom_sleep_data`` are plain attributes.
    """

    # Rarely-changed state has class-level defaults, so spawning a task writes only the
    # handful of attributes that differ (no __slots__: the instance dict is shared-key).
    custom_sleep_data: Any = None
    _eventual_parent_nursery: Nursery | None = None
    _child_nurseries: tuple[Nursery, ...] = ()
    # Raised at the task's next cancel point: KeyboardInterrupt for the main task, or the
    # deadlock report.
    _pending_interrupt: BaseException | None = None
    _cancel_status: CancelScope | None = None
    # Parked iff _abort_func is not None.
    _abort_func: Callable[[RaiseCancelT], Abort] | None = None
    _sleep_request: ParkRequest | None = None
    _io_request: ParkRequest | None = None
    _wait_request: ParkRequest | None = None
    _next_arg: Any = None
    _deadline_token = 0
    _parking_lot_breakers: list[Any] | None = None
    _ki_protected = False

    # No __init__: Runner.spawn() creates tasks with ``Task()`` and stores their fields
    # itself (a Python-level __init__ frame would cost as much again as the rest of the
    # set-up). The fields every task has:
    coro: Coroutine[Any, Any, Any]
    context: contextvars.Context
    _name: object  # a str, or something to derive the name from on first use
    _runner: Runner
    _parent_nursery: Nursery | None
    # What the run loop does on this task's next step: _next_fn(coro, _next_arg), where
    # _next_fn is the unbound send or throw of the coroutine's type.
    _send: Callable[[Any, Any], Any]
    _next_fn: Callable[[Any, Any], Any]

    @property
    def name(self) -> str:
        """The task's name: by default the qualified name of the function it runs."""
        name = self._name
        if not isinstance(name, str):
            name = self._name = name_of(name)
        return name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def __repr__(self) -> str:
        return f"<Task {self.name!r} at {id(self):#x}>"

    @property
    def parent_nursery(self) -> Nursery | None:
        """The nursery this task lives in (None for the root task)."""
        return self._parent_nursery

    @property
    def eventual_parent_nursery(self) -> Nursery | None:
        """While a task started with ``nursery.start`` is starting: the nursery it will move to."""
        return self._eventual_parent_nursery

    @property
    def child_nurseries(self) -> list[Nursery]:
        """The nurseries this task has open, outermost first."""
        return list(self._child_nurseries)

    def iter_await_frames(self) -> Iterator[tuple[types.FrameType, int]]:
        """Yield ``(frame, lineno)`` for each frame of the task's await stack, outermost first."""
        awaitable: Any = self.coro
        while awaitable is not None:
            frame = getattr(awaitable, "cr_frame", None)
            inner = None
            if frame is not None:
                inner = awaitable.cr_await
            else:
                frame = getattr(awaitable, "gi_frame", None)
                if frame is not None:
                    inner = awaitable.gi_yieldfrom
                else:
                    frame = getattr(awaitable, "ag_frame", None)
                    if frame is not None:
                        inner = awaitable.ag_await
            if frame is None:
                return
            yield frame, frame.f_lineno
            awaitable = inner

    def _abort_io(self, raise_cancel: RaiseCancelT) -> Abort:
        self._runner.io.disarm(self)
        return Abort.SUCCEEDED

    def _new_wait_request(self) -> ParkRequest:
        """The task's one request for park_as_waiter-style waits, made on first use."""
        request = self._wait_request = ParkRequest(self._abort_custom_wait)
        return request

    def _abort_custom_wait(self, raise_cancel: RaiseCancelT) -> Abort:
        # The abort of park_as_waiter: the wait queue's owner is custom_sleep_data (it may
        # have changed since parking: ParkingLot.repark moves tasks between lots).
        self.custom_sleep_data._cancel_wait(self)
        return Abort.SUCCEEDED

    def _abort_sleep(self, raise_cancel: RaiseCancelT) -> Abort:
        self._runner.deadlines.remove(self)
        return Abort.SUCCEEDED
