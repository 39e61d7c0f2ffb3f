"""Sleeping: timers go straight into the run's deadline heap (no cancel scope per sleep)."""

from __future__ import annotations

import math
from typing import NoReturn

from ._run import checkpoint
from ._state import current_task_or_error
from ._task import Task
from ._traps import CHECKPOINT, Abort, RaiseCancelT, wait_task_rescheduled, yield_to_loop


def _abort_forever(raise_cancel: RaiseCancelT) -> Abort:
    return Abort.SUCCEEDED


async def sleep_forever() -> NoReturn:
    """Sleep until cancelled. A checkpoint."""
    await wait_task_rescheduled(_abort_forever)
    raise RuntimeError(
        "sleep_forever() was woken by reschedule(); it should only end by cancellation"
    )


async def sleep_until(deadline: float) -> None:
    """Sleep until the run's clock reaches ``deadline``. A checkpoint.

    A deadline in the past is still a checkpoint. ValueError if ``deadline`` is NaN.
    """
    if not isinstance(deadline, (int, float)):
        raise TypeError(f"deadline must be a number, not {type(deadline).__name__}")
    if math.isnan(deadline):
        raise ValueError("sleep_until() got a NaN deadline; pass a real time from current_time()")
    task = current_task_or_error("sleep_until")
    runner = task._runner
    if deadline <= runner.clock.current_time():
        await checkpoint()
        return
    if deadline == math.inf:
        await sleep_forever()
    runner.deadlines.add_sleeper(task, deadline)
    task.custom_sleep_data = float(deadline)  # for task-tree dumps
    await wait_task_rescheduled(task._abort_sleep)


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
    await sleep_until(task._runner.clock.current_time() + seconds)
