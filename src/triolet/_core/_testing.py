"""Kernel-level test helpers: waiting for quiescence, checkpoint assertions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from ._abc import Instrument
from ._ki import mark_kernel_code
from ._state import current_task_or_error
from ._task import Task
from ._traps import Abort, RaiseCancelT, wait_task_rescheduled


async def wait_all_tasks_blocked(cushion: float = 0.0) -> None:
    """Block until every other task has been blocked for ``cushion`` real seconds.

    "Blocked" means parked with nothing runnable and no I/O or timer ready. With
    several waiters the smallest cushion wakes first (equal cushions wake together).
    Waiters win ties against a MockClock's autojump. A checkpoint.
    """
    if cushion < 0:
        raise ValueError(f"cushion must be >= 0, got {cushion}")
    task = current_task_or_error("wait_all_tasks_blocked")
    runner = task._runner
    key = (float(cushion), next(runner._idle_tokens))
    runner.idle_waiters[key] = task

    def abort(raise_cancel: RaiseCancelT) -> Abort:
        runner.idle_waiters.pop(key, None)
        return Abort.SUCCEEDED

    await wait_task_rescheduled(abort)


# A Ctrl-C between registering the waiter and parking would leave it registered.
mark_kernel_code(wait_all_tasks_blocked)


class _StepCounter(Instrument):
    def __init__(self, task: Task) -> None:
        self.task = task
        self.yields = 0

    def after_task_step(self, task: Task) -> None:
        if task is self.task:
            self.yields += 1


@contextmanager
def _watch_checkpoints(expect_checkpoint: bool) -> Iterator[None]:
    task = current_task_or_error("assert_checkpoints")
    counter = _StepCounter(task)
    runner = task._runner
    # Inside the block every schedule point yields, even those the scheduling policy
    # would let pass (see Runner.free_schedule_points), so that each one is counted.
    allowance, free = runner.schedule_point_allowance, runner.free_schedule_points
    runner.schedule_point_allowance = runner.free_schedule_points = 0
    runner.instruments.add(counter)
    try:
        yield
    finally:
        runner.instruments.remove(counter)
        runner.schedule_point_allowance, runner.free_schedule_points = allowance, free
    # Only reached when the block did not raise: an exception counts as a checkpoint.
    if expect_checkpoint and counter.yields == 0:
        raise AssertionError("assert_checkpoints block did not yield!")
    if not expect_checkpoint and counter.yields:
        raise AssertionError("assert_no_checkpoints block yielded!")


def assert_checkpoints() -> AbstractContextManager[None]:
    """Context manager: fail unless the block checkpoints at least once (or raises)."""
    return _watch_checkpoints(True)


def assert_no_checkpoints() -> AbstractContextManager[None]:
    """Context manager: fail if the block checkpoints."""
    return _watch_checkpoints(False)
