"""ParkingLot: a FIFO queue of parked tasks, the building block of every sync primitive."""

from __future__ import annotations

import math
import types
from collections import OrderedDict
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import outcome

from ._exceptions import BrokenResourceError
from ._ki import mark_kernel_code
from ._state import current_task_or_error, run_context
from ._task import Task
from ._util import final


@dataclass(frozen=True)
class ParkingLotStatistics:
    """``tasks_waiting``: how many tasks are parked in the lot."""

    tasks_waiting: int


def _check_count(count: int | float) -> int | float:
    # As in trio: a count <= 0 wakes nobody; a fractional one is a mistake.
    if not isinstance(count, (int, float)):
        raise TypeError(f"count must be an int or math.inf, not {count!r}")
    if count != math.inf and count != int(count):
        raise ValueError(f"count must be a whole number of tasks or math.inf, not {count!r}")
    return count


@final
class ParkingLot:
    """A fair (FIFO) waiting room for tasks.

    ``await lot.park()`` sleeps until ``unpark``/``unpark_all`` (or cancellation);
    tasks leave in the order they arrived. Once broken (``break_lot``), parked and
    future parkers get BrokenResourceError.
    """

    __slots__ = ("_parked", "broken_by")

    def __init__(self) -> None:
        self._parked: OrderedDict[Task, None] = OrderedDict()
        self.broken_by: list[Task] = []

    def __len__(self) -> int:
        return len(self._parked)

    def __bool__(self) -> bool:
        return bool(self._parked)

    @types.coroutine
    def park(self) -> Generator[object, Any, None]:
        """Wait until unparked. A cancel point (not a schedule point on its own)."""
        runner = run_context.runner
        task = runner.current_task if runner is not None else None
        if task is None:
            task = current_task_or_error("ParkingLot.park")
        if self.broken_by:
            raise BrokenResourceError(
                f"attempted to park in a parking lot broken by {self.broken_by!r}"
            )
        self._parked[task] = None
        # park_as_waiter, inlined: this generator is the coroutine the caller awaits.
        task.custom_sleep_data = self
        yield task._wait_request or task._new_wait_request()

    def _cancel_wait(self, task: Task) -> None:
        # A parked task was cancelled (park_as_waiter's protocol). custom_sleep_data, not
        # the lot it first parked in, is how the task found us: repark may have moved it.
        self._parked.pop(task, None)

    def _pop_several(self, count: int | float) -> Iterator[Task]:
        count = _check_count(count)
        while count > 0 and self._parked:
            task, _ = self._parked.popitem(False)
            count -= 1
            yield task

    def unpark(self, *, count: int | float = 1) -> list[Task]:
        """Wake up to ``count`` tasks, oldest first; return them."""
        if count == 1 and self._parked:  # the common case, without the generator
            task, _ = self._parked.popitem(False)
            task._runner.wake(task, None)
            return [task]
        tasks = list(self._pop_several(count))
        for task in tasks:
            task._runner.wake(task, None)
        return tasks

    def unpark_all(self) -> list[Task]:
        """Wake every parked task; return them."""
        return self.unpark(count=len(self._parked))

    def repark(self, new_lot: ParkingLot, *, count: int | float = 1) -> None:
        """Move up to ``count`` parked tasks, oldest first, to ``new_lot`` without waking them."""
        if not isinstance(new_lot, ParkingLot):
            raise TypeError(f"new_lot must be a ParkingLot, not {new_lot!r}")
        for task in self._pop_several(count):
            new_lot._parked[task] = None
            task.custom_sleep_data = new_lot

    def repark_all(self, new_lot: ParkingLot) -> None:
        """Move every parked task to ``new_lot``."""
        self.repark(new_lot, count=len(self._parked))

    def break_lot(self, task: Task | None = None) -> None:
        """Break the lot: wake all parked tasks with BrokenResourceError, refuse new ones.

        ``task`` (default: the current task) is recorded in ``broken_by``.
        """
        if task is None:
            task = current_task_or_error("ParkingLot.break_lot")
        if task not in self.broken_by:
            self.broken_by.append(task)
        while self._parked:
            parked, _ = self._parked.popitem(False)
            parked._runner.reschedule(
                parked,
                outcome.Error(
                    BrokenResourceError(f"parking lot broken by {task!r} while this task waited")
                ),
            )

    def statistics(self) -> ParkingLotStatistics:
        """How many tasks are parked here."""
        return ParkingLotStatistics(tasks_waiting=len(self._parked))

    def __repr__(self) -> str:
        return f"<ParkingLot with {len(self._parked)} parked>"


def add_parking_lot_breaker(task: Task, lot: ParkingLot) -> None:
    """Break ``lot`` automatically when ``task`` exits (used to detect abandoned locks).

    BrokenResourceError if ``task`` has already exited.
    """
    coro = task.coro
    if getattr(coro, "cr_frame", getattr(coro, "gi_frame", None)) is None:
        raise BrokenResourceError(
            f"{task!r} has already exited, so it can't break {lot!r} when it exits"
        )
    if task._parking_lot_breakers is None:
        task._parking_lot_breakers = []
    task._parking_lot_breakers.append(lot)


def remove_parking_lot_breaker(task: Task, lot: ParkingLot) -> None:
    """Undo :func:`add_parking_lot_breaker`; RuntimeError if it was not registered."""
    breakers = task._parking_lot_breakers
    if not breakers or lot not in breakers:
        raise RuntimeError("that parking lot is not registered as broken by that task's exit")
    breakers.remove(lot)


mark_kernel_code(ParkingLot.park, ParkingLot.unpark, ParkingLot.repark, ParkingLot.break_lot)
