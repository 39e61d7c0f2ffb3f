"""The only functions in triolet that yield to the scheduler.

Every blocking operation in the library ends in one of these. A task talks to the
run loop by yielding one of three messages:

* ``CHECKPOINT``: "put me at the back of the run queue". The loop sends the task
  object back, so that :func:`checkpoint` can look at its cancel status without a
  thread-local lookup.
* a :class:`ParkRequest`: "wake me when someone calls ``reschedule``"; cancellation
  calls the request's abort function.
* a :class:`DetachRequest`: "this coroutine leaves the run" (permanent detach).

Anything else yielded by a task is a foreign awaitable (an asyncio future, say) and
is answered with a TypeError thrown into the task.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NoReturn

import outcome

from ._ki import mark_kernel_code

if TYPE_CHECKING:
    from ._task import Task


class Abort(enum.Enum):
    """What an abort function tells the kernel after cancellation asked it to stop waiting.

    ``SUCCEEDED``: the wait was undone; the kernel wakes the task with the cancellation.
    ``FAILED``: the wait could not be undone; somebody will call ``reschedule`` later.
    """

    SUCCEEDED = 1
    FAILED = 2


RaiseCancelT = Callable[[], NoReturn]


class _Checkpoint:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<triolet checkpoint>"


CHECKPOINT = _Checkpoint()


class ParkRequest:
    """A task asks to sleep until rescheduled; ``abort_func`` undoes the wait."""

    __slots__ = ("abort_func",)

    def __init__(self, abort_func: Callable[[RaiseCancelT], Abort]) -> None:
        self.abort_func = abort_func


class DetachRequest:
    """A task asks the loop to let go of its coroutine and finish with ``final_outcome``."""

    __slots__ = ("final_outcome",)

    def __init__(self, final_outcome: outcome.Outcome[object]) -> None:
        self.final_outcome = final_outcome


@types.coroutine
def yield_to_loop(message: object) -> Generator[object, Any, Any]:
    return (yield message)


@types.coroutine
def cancel_shielded_checkpoint() -> Generator[object, Any, None]:
    """Yield to the scheduler without checking for cancellation.

    Other tasks get to run; this never raises Cancelled.
    """
    yield CHECKPOINT


@types.coroutine
def park_as_waiter(task: Task, owner: object) -> Generator[object, Any, Any]:
    """Park ``task`` (the current task) in a wait queue kept by ``owner``.

    The cheap form of :func:`wait_task_rescheduled` for the library's own primitives: no
    abort closure and no request are allocated per wait. ``owner`` becomes the task's
    ``custom_sleep_data``; if the task is cancelled while parked, the kernel calls
    ``owner._cancel_wait(task)``, which must take the task out of the queue (the wait
    then ends with Cancelled). Whoever wakes the task removes it from the queue first.
    """
    task.custom_sleep_data = owner
    return (yield task._wait_request or task._new_wait_request())


async def wait_task_rescheduled(abort_func: Callable[[RaiseCancelT], Abort]) -> Any:
    """Park the current task until another party calls :func:`reschedule` on it.

    Returns the value of the outcome passed to ``reschedule`` (or raises its error).
    If the task is cancelled meanwhile, ``abort_func(raise_cancel)`` is called from
    the kernel: return ``Abort.SUCCEEDED`` once the wait is undone (the task then gets
    the cancellation), or ``Abort.FAILED`` if someone will still reschedule it. This is
    a cancel point but not a schedule point on its own.
    """
    return await yield_to_loop(ParkRequest(abort_func))


async def temporarily_detach_coroutine_object(
    abort_func: Callable[[RaiseCancelT], Abort],
) -> Any:
    """Park the task and let another driver iterate its coroutine for a while.

    The task stays parked (``abort_func`` handles cancellation as in
    :func:`wait_task_rescheduled`); the coroutine may then be driven by foreign code
    until :func:`reattach_detached_coroutine_object` hands it back.
    """
    return await yield_to_loop(ParkRequest(abort_func))


async def permanently_detach_coroutine_object(final_outcome: outcome.Outcome[object]) -> Any:
    """Finish the current task with ``final_outcome`` and hand its coroutine to the caller.

    After this the run loop never touches the coroutine again; whatever drives it next
    sees the values it yields. Raises RuntimeError if the task still has open nurseries.
    """
    from ._run import current_task

    if current_task().child_nurseries:
        raise RuntimeError(
            "can't permanently detach a coroutine object that has open nurseries; close them first"
        )
    return await yield_to_loop(DetachRequest(final_outcome))


async def reattach_detached_coroutine_object(task: Task, yield_value: object) -> None:
    """Give a temporarily detached coroutine back to its triolet task.

    Call this from the foreign driver that took over the coroutine. ``yield_value`` is
    yielded once to that driver; from then on the triolet run loop drives the task again.
    """
    from ._run import reschedule

    reschedule(task, outcome.Value(_REATTACH))
    value = await yield_to_loop(yield_value)
    if value is not _REATTACH:
        raise RuntimeError(
            "reattach_detached_coroutine_object was resumed by something other than the "
            f"triolet run loop (got {value!r})"
        )


_REATTACH = object()


mark_kernel_code(wait_task_rescheduled, yield_to_loop, cancel_shielded_checkpoint, park_as_waiter)
