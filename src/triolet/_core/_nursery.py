"""Nurseries: where child tasks live, and the rules for their errors.

* A nursery's body runs in its parent task; children run in their own tasks under
  the nursery's cancel scope.
* The first error (from the body or any child) cancels the nursery's scope, so the
  siblings stop; the parent then waits for every child and raises all errors together
  in an ExceptionGroup (a bare exception when ``strict_exception_groups=False`` and
  there is exactly one).
* ``start()`` runs the new task first inside a private nursery of the caller, so
  errors before ``task_status.started()`` surface from ``start()`` itself; ``started()``
  moves the task (and its cancel scopes) into the target nursery.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import outcome

from ._cancel import LOOSE_GROUP_NOTE, CancelScope
from ._exceptions import Cancelled
from ._ki import mark_kernel_code
from ._state import current_task_or_error
from ._traps import Abort, RaiseCancelT, cancel_shielded_checkpoint, wait_task_rescheduled
from ._util import NoPublicConstructor, final

if TYPE_CHECKING:
    from ._task import Task

StatusT_contra = TypeVar("StatusT_contra", contravariant=True)
StatusT = TypeVar("StatusT")


class TaskStatus(Protocol[StatusT_contra]):
    """What ``nursery.start`` passes as ``task_status``: call ``started()`` when ready."""

    def started(self, value: StatusT_contra | None = None) -> None:
        """Report that the task has started, handing ``value`` to ``start()``'s caller."""


class _IgnoredTaskStatus:
    __slots__ = ()

    def started(self, value: object = None) -> None:
        pass

    def __repr__(self) -> str:
        return "TASK_STATUS_IGNORED"


TASK_STATUS_IGNORED: TaskStatus[Any] = _IgnoredTaskStatus()


class Nursery(metaclass=NoPublicConstructor):
    """A place where child tasks run; created by ``async with open_nursery() as nursery``.

    ``cancel_scope`` cancels the body and all children. ``child_tasks`` and
    ``parent_task`` describe the tree.
    """

    def __init__(
        self, parent_task: Task, cancel_scope: CancelScope, strict_exception_groups: bool
    ) -> None:
        self._parent_task = parent_task
        self.cancel_scope = cancel_scope
        self._strict_exception_groups = strict_exception_groups
        self._children: set[Task] = set()
        self._pending_starts = 0
        self._errors: list[BaseException] = []
        self._closed = False
        self._parent_waiting = False

    def __repr__(self) -> str:
        return f"<triolet.Nursery at {id(self):#x}, {len(self._children)} children>"

    @property
    def child_tasks(self) -> frozenset[Task]:
        """The tasks currently running in this nursery."""
        return frozenset(self._children)

    @property
    def parent_task(self) -> Task:
        """The task that opened this nursery."""
        return self._parent_task

    def start_soon(
        self, async_fn: Callable[..., Awaitable[object]], *args: object, name: object = None
    ) -> None:
        """Create a child task running ``async_fn(*args)``; it starts at the next scheduling pass.

        Not a checkpoint. Raises RuntimeError if the nursery is closed (its block has
        finished and every child has exited), TypeError if ``async_fn`` is not an
        async function.
        """
        if self._closed:
            raise RuntimeError(
                "Nursery is closed to new arrivals: its 'async with' block has finished "
                "and all of its tasks have exited"
            )
        self._parent_task._runner.spawn(async_fn, args, self, name)

    async def start(
        self, async_fn: Callable[..., Awaitable[object]], *args: object, name: object = None
    ) -> Any:
        """Start ``async_fn(*args, task_status=...)`` and wait until it calls ``task_status.started()``.

        Returns the value passed to ``started()``. Until then the new task runs under
        the caller's cancel scopes and its errors are raised here; afterwards it lives
        in this nursery. RuntimeError if the task returns without calling ``started()``.
        A checkpoint.
        """
        if self._closed:
            raise RuntimeError(
                "Nursery is closed to new arrivals: its 'async with' block has finished "
                "and all of its tasks have exited"
            )
        self._pending_starts += 1
        try:
            async with open_nursery(strict_exception_groups=False) as old_nursery:
                status: _TaskStatus[Any] = _TaskStatus(old_nursery, self)
                thunk = functools.partial(async_fn, task_status=status)
                task = self._parent_task._runner.spawn(
                    thunk, args, old_nursery, async_fn if name is None else name
                )
                task._eventual_parent_nursery = self
                status._task = task
            if not status._called:
                raise RuntimeError("child exited without calling task_status.started()")
            return status._value
        finally:
            self._pending_starts -= 1
            self._maybe_wake_parent()

    # -- bookkeeping called by the kernel ---------------------------------------------
    def _add_error(self, error: BaseException) -> None:
        self._errors.append(error)
        self.cancel_scope._record_cancel("nursery", None, None)

    def _child_finished(self, task: Task, error: BaseException | None) -> None:
        self._children.discard(task)
        if error is not None:
            self._add_error(error)
        if self._parent_waiting:  # else _maybe_wake_parent() has nothing to do
            self._maybe_wake_parent()

    def _maybe_wake_parent(self) -> None:
        if self._parent_waiting and not self._children and not self._pending_starts:
            self._parent_waiting = False
            self._parent_task._runner.reschedule(self._parent_task, outcome.Value(None))

    def _abort_parent_wait(self, raise_cancel: RaiseCancelT) -> Abort:
        # The parent is cancelled while waiting for children: keep waiting. Waiting here
        # is not a cancel point (as in trio): the nursery raises Cancelled only if a child
        # did, and children that finish normally (shielded ones, say) let the body's
        # code after the block run. A KeyboardInterrupt is not a cancellation: keep it.
        try:
            raise_cancel()
        except Cancelled:
            pass
        except BaseException as exc:
            self._add_error(exc)
        return Abort.FAILED

    async def _wait_for_children(self, body_error: BaseException | None) -> BaseException | None:
        """Run by the parent in ``__aexit__``: wait, close, and combine errors."""
        if body_error is not None:
            self._add_error(body_error)
        if self._children or self._pending_starts:
            self._parent_waiting = True
            self._parent_task.custom_sleep_data = self  # for task-tree dumps
            await wait_task_rescheduled(self._abort_parent_wait)
        elif body_error is None:
            # Leaving a nursery is always a schedule point, but never a cancel point.
            await cancel_shielded_checkpoint()
        self._closed = True
        parent = self._parent_task
        # A tuple (usually empty, shared): tasks without nurseries allocate nothing for it.
        parent._child_nurseries = tuple(n for n in parent._child_nurseries if n is not self)
        errors = self._errors
        self._errors = []
        if not errors:
            return None
        if self._strict_exception_groups:
            return BaseExceptionGroup("Exceptions from Trio nursery", errors)
        if len(errors) == 1:
            return errors[0]
        group = BaseExceptionGroup("Exceptions from Trio nursery", errors)
        group.add_note(LOOSE_GROUP_NOTE)
        return group


@final
class _TaskStatus(Generic[StatusT]):
    __slots__ = ("_called", "_new_nursery", "_old_nursery", "_task", "_value")

    def __init__(self, old_nursery: Nursery, new_nursery: Nursery) -> None:
        self._old_nursery = old_nursery
        self._new_nursery = new_nursery
        self._called = False
        self._value: StatusT | None = None
        self._task: Task | None = None

    def __repr__(self) -> str:
        return f"<TaskStatus for {self._task!r}>"

    def started(self, value: StatusT | None = None) -> None:
        if self._called:
            raise RuntimeError("called 'started' twice on the same task status")
        task = self._task
        assert task is not None
        old, new = self._old_nursery, self._new_nursery
        if new._closed:
            raise RuntimeError("the nursery that start() was called on is already closed")
        self._called = True
        self._value = value
        if old.cancel_scope._effectively_cancelled:
            # start() was cancelled: leave the task under the caller's scopes (as trio
            # does), so a Cancelled it may already be raising is caught by the scope that
            # caused it instead of escaping into the target nursery. start() still returns
            # ``value`` if the task then finishes without raising.
            return
        # Move the task from the private start() nursery into the target nursery.
        old._children.discard(task)
        new._children.add(task)
        task._parent_nursery = new
        task._eventual_parent_nursery = None
        old_scope, new_scope = old.cancel_scope, new.cancel_scope
        scope = task._cancel_status
        if scope is old_scope:
            task._cancel_status = new_scope
        else:
            while scope is not None and scope._parent is not old_scope:
                scope = scope._parent
            if scope is not None:
                scope._reparent(new_scope)
        old._maybe_wake_parent()


@final
class NurseryManager:
    """The async context manager returned by :func:`open_nursery`."""

    __slots__ = ("_nursery", "_scope", "_strict")

    def __init__(self, strict_exception_groups: bool | None) -> None:
        self._strict = strict_exception_groups
        self._nursery: Nursery | None = None
        self._scope: CancelScope | None = None

    async def __aenter__(self) -> Nursery:
        task = current_task_or_error("open_nursery")
        strict = self._strict
        if strict is None:
            strict = task._runner.strict_exception_groups
        scope = self._scope = CancelScope()
        scope.__enter__()
        nursery = self._nursery = Nursery._create(task, scope, strict)
        scope._nursery = nursery
        task._child_nurseries += (nursery,)
        return nursery

    async def __aexit__(
        self,
        etype: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        nursery = self._nursery
        scope = self._scope
        assert nursery is not None and scope is not None
        combined = await nursery._wait_for_children(exc)
        if combined is None:
            scope.__exit__(None, None, None)
            return False
        try:
            if scope.__exit__(type(combined), combined, combined.__traceback__):
                return True  # only cancellations of this nursery's own scope: swallowed
        except BaseException as remaining:
            if remaining is exc:
                return False
            saved_context = exc.__context__ if exc is not None else None
            try:
                raise remaining
            finally:
                remaining.__context__ = saved_context
                del remaining
        if combined is exc:
            return False
        saved_context = exc.__context__ if exc is not None else None
        try:
            raise combined
        finally:
            combined.__context__ = saved_context
            del combined

    def __enter__(self) -> None:
        raise RuntimeError("use 'async with open_nursery()', not 'with open_nursery()'")

    def __exit__(self, *args: object) -> None:  # pragma: no cover - __enter__ always raises
        raise AssertionError


def open_nursery(strict_exception_groups: bool | None = None) -> NurseryManager:
    """Return an async context manager that opens a nursery for child tasks.

    ``strict_exception_groups`` overrides the run's default (True: errors always come
    wrapped in an ExceptionGroup). Leaving the block waits for every child; it is a
    schedule point, and it raises Cancelled only if the body or a child did.
    """
    return NurseryManager(strict_exception_groups)


mark_kernel_code(
    Nursery.start_soon,
    Nursery._add_error,
    Nursery._child_finished,
    Nursery._wait_for_children,
    _TaskStatus.started,
    NurseryManager.__aenter__,
    NurseryManager.__aexit__,
    CancelScope.__enter__,
    CancelScope.__exit__,
    CancelScope._close,
    CancelScope.cancel,
    CancelScope._recompute,
    CancelScope._record_cancel,
    CancelScope._set_deadline,
)
