"""Sleeping: timers go straight into the run's deadline heap (no cancel scope per sleep)."""

from __future__ import annotations

import math
from typing import NoReturn

from ._ki import mark_kernel_code
from ._run import checkpoint
from ._state import current_task_or_error
from ._task import Task
from ._traps import (
    CHECKPOINT,
    Abort,
    ParkRequest,
    RaiseCancelT,
    wait_task_rescheduled,
    yield_to_loop,
)


def _abort_forever(raise_cancel: RaiseCancelT) -> Abort:
    return Abort.SUCCEEDED


async def sleep_forever() -> NoReturn:
    """Sleep until cancelled. A checkpoint."""
    await wait_task_rescheduled(_abort_forever)
    raise RuntimeError(
        "sleep_forever() was woken by reschedule(); it should only end by cancellation"
    )


def _park_until(task: Task, deadline: float) -> ParkRequest:
    """Arm ``task``'s timer; return the message that parks it until the deadline."""
    if deadline == math.inf:
        return _FOREVER
    task._runner.deadlines.add(task, deadline)
    task.custom_sleep_data = deadline  # for task-tree dumps
    request = task._sleep_request
    if request is None:  # one per task, reused by every sleep: nothing allocated per sleep
        request = task._sleep_request = ParkRequest(task._abort_sleep)
    return request


_FOREVER = ParkRequest(_abort_forever)


async def sleep_until(deadline: float) -> None:
    """Sleep until the run's clock reaches ``deadline``. A checkpoint.

    A deadline in the past is still a checkpoint. ValueError if ``deadline`` is NaN.
    """
    if not isinstance(deadline, (int, float)):
        raise TypeError(f"deadline must be a number, not {type(deadline).__name__}")
    if math.isnan(deadline):
        raise ValueError("sleep_until() got a NaN deadline; pass a real time from current_time()")
    task = current_task_or_error("sleep_until")
    if deadline <= task._runner.clock.current_time():
        await checkpoint()
    else:
        await yield_to_loop(_park_until(task, float(deadline)))
        # Woken by the timer, but cancelled before running again: Cancelled wins, as in trio.
        if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
            raise task._runner.pending_interrupt(task)


async def sleep(seconds: float) -> None:
    """Sleep for ``seconds`` seconds on the run's clock. ``sleep(0)`` is a bare checkpoint.

    ValueError if ``seconds`` is negative or NaN.
    """
    if seconds == 0:
        try:
            task: Task = await yield_to_loop(CHECKPOINT)
        except RuntimeError:
            current_task_or_error("triolet.sleep")  # foreign loop: explain, don't confuse
            raise
        if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
            raise task._runner.pending_interrupt(task)
        return
    if not isinstance(seconds, (int, float)):
        raise TypeError(f"sleep() needs a number of seconds, not {type(seconds).__name__}")
    if math.isnan(seconds):
        raise ValueError("sleep() got a NaN duration; use a number of seconds >= 0")
    if seconds < 0:
        raise ValueError(f"sleep() got a negative duration {seconds!r}; use a value >= 0")
    task = current_task_or_error("sleep")
    await yield_to_loop(_park_until(task, task._runner.clock.current_time() + seconds))
    # Woken by the timer, but cancelled before running again: Cancelled wins, as in trio.
    if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
        raise task._runner.pending_interrupt(task)


# A Ctrl-C between arming the timer and parking would leave a stale timer behind.
mark_kernel_code(_park_until, sleep_until, sleep)
