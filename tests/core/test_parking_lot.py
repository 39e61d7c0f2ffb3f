"""ParkingLot: the FIFO queue of parked tasks under every synchronization primitive."""

from __future__ import annotations

import math

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import wait_all_tasks_blocked


async def park_and_record(lot: lowlevel.ParkingLot, record: list[object], tag: object) -> None:
    await lot.park()
    record.append(tag)


async def start_parkers(nursery: triolet.Nursery, lot: lowlevel.ParkingLot, n: int) -> list[int]:
    """Park tasks 0..n-1 in that order (each parks before the next starts)."""
    record: list[int] = []
    for i in range(n):
        nursery.start_soon(park_and_record, lot, record, i)
        await wait_all_tasks_blocked()
    return record


async def test_unpark_wakes_the_longest_waiting_task_first() -> None:
    lot = lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        record = await start_parkers(nursery, lot, 3)
        for _ in range(3):
            lot.unpark()
            await wait_all_tasks_blocked()
    assert record == [0, 1, 2]


async def test_unpark_returns_the_woken_tasks() -> None:
    lot = lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        await start_parkers(nursery, lot, 2)
        first_parked = list(nursery.child_tasks)
        woken = lot.unpark(count=2)
        assert set(woken) == set(first_parked)
        assert len(woken) == 2


async def test_unpark_count_wakes_that_many() -> None:
    lot = lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        record = await start_parkers(nursery, lot, 3)
        lot.unpark(count=2)
        await wait_all_tasks_blocked()
        assert sorted(record) == [0, 1]
        assert len(lot) == 1
        lot.unpark_all()


async def test_unpark_all_wakes_everyone() -> None:
    lot = lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        record = await start_parkers(nursery, lot, 3)
        assert len(lot.unpark_all()) == 3
    assert sorted(record) == [0, 1, 2]


async def test_unpark_count_inf_wakes_everyone() -> None:
    lot = lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        await start_parkers(nursery, lot, 2)
        assert len(lot.unpark(count=math.inf)) == 2


async def test_unpark_on_an_empty_lot_does_nothing() -> None:
    lot = lowlevel.ParkingLot()
    assert lot.unpark() == []
    assert lot.unpark_all() == []


async def test_unpark_with_a_negative_count_wakes_nobody() -> None:
    lot = lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        await start_parkers(nursery, lot, 1)
        assert lot.unpark(count=-1) == []
        lot.unpark_all()


async def test_unpark_with_a_fractional_count_is_a_value_error() -> None:
    lot = lowlevel.ParkingLot()
    with pytest.raises(ValueError):
        lot.unpark(count=1.5)


async def test_len_bool_and_statistics_count_parked_tasks() -> None:
    lot = lowlevel.ParkingLot()
    assert len(lot) == 0
    assert not lot
    assert lot.statistics().tasks_waiting == 0
    async with triolet.open_nursery() as nursery:
        await start_parkers(nursery, lot, 2)
        assert len(lot) == 2
        assert lot
        assert lot.statistics().tasks_waiting == 2
        lot.unpark_all()


async def test_park_is_cancellable_and_leaves_the_lot() -> None:
    lot = lowlevel.ParkingLot()
    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(lot.park)
            await wait_all_tasks_blocked()
            assert len(lot) == 1
            scope.cancel()
    assert len(lot) == 0


async def test_park_in_a_cancelled_scope_raises() -> None:
    lot = lowlevel.ParkingLot()
    with triolet.CancelScope() as scope:
        scope.cancel()
        await lot.park()
    assert scope.cancelled_caught
    assert len(lot) == 0


async def test_repark_moves_tasks_without_waking_them() -> None:
    old, new = lowlevel.ParkingLot(), lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        record = await start_parkers(nursery, old, 3)
        old.repark(new, count=2)
        await wait_all_tasks_blocked()
        assert record == []
        assert (len(old), len(new)) == (1, 2)
        new.unpark()
        await wait_all_tasks_blocked()
        assert record == [0]
        old.repark_all(new)
        assert (len(old), len(new)) == (0, 2)
        new.unpark_all()
    assert sorted(record) == [0, 1, 2]


async def test_cancelling_a_reparked_task_removes_it_from_the_new_lot() -> None:
    old, new = lowlevel.ParkingLot(), lowlevel.ParkingLot()
    async with triolet.open_nursery() as nursery:
        await start_parkers(nursery, old, 1)
        old.repark_all(new)
        nursery.cancel_scope.cancel()
    assert len(new) == 0


async def test_repark_to_a_non_lot_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        lowlevel.ParkingLot().repark(5)  # type: ignore[arg-type]


async def test_break_lot_wakes_parked_tasks_with_broken_resource_error() -> None:
    lot = lowlevel.ParkingLot()
    errors = []

    async def parker() -> None:
        try:
            await lot.park()
        except triolet.BrokenResourceError as exc:
            errors.append(exc)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(parker)
        nursery.start_soon(parker)
        await wait_all_tasks_blocked()
        lot.break_lot()
    assert len(errors) == 2
    assert len(lot) == 0


async def test_parking_in_a_broken_lot_raises_broken_resource_error() -> None:
    lot = lowlevel.ParkingLot()
    lot.break_lot()
    with pytest.raises(triolet.BrokenResourceError):
        await lot.park()


async def test_broken_by_records_the_breaking_task() -> None:
    lot = lowlevel.ParkingLot()
    assert lot.broken_by == []
    lot.break_lot()
    assert lot.broken_by == [lowlevel.current_task()]


async def test_parking_lot_breaker_breaks_the_lot_when_its_task_exits() -> None:
    lot = lowlevel.ParkingLot()
    holder_task = []

    async def holder() -> None:
        holder_task.append(lowlevel.current_task())
        lowlevel.add_parking_lot_breaker(lowlevel.current_task(), lot)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(holder)
    assert lot.broken_by == holder_task
    with pytest.raises(triolet.BrokenResourceError):
        await lot.park()


async def test_removed_parking_lot_breaker_does_not_break_the_lot() -> None:
    lot = lowlevel.ParkingLot()

    async def holder() -> None:
        task = lowlevel.current_task()
        lowlevel.add_parking_lot_breaker(task, lot)
        lowlevel.remove_parking_lot_breaker(task, lot)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(holder)
    assert lot.broken_by == []


async def test_removing_an_unregistered_breaker_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        lowlevel.remove_parking_lot_breaker(lowlevel.current_task(), lowlevel.ParkingLot())


async def test_adding_a_breaker_for_an_exited_task_is_broken_resource_error() -> None:
    async def quick(task_status: triolet.TaskStatus[lowlevel.Task]) -> None:
        task_status.started(lowlevel.current_task())

    async with triolet.open_nursery() as nursery:
        exited_task = await nursery.start(quick)
    with pytest.raises(triolet.BrokenResourceError):
        lowlevel.add_parking_lot_breaker(exited_task, lowlevel.ParkingLot())


async def test_parking_lot_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError):

        class MyLot(lowlevel.ParkingLot):  # type: ignore[misc]
            pass
