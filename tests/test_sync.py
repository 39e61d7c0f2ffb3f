"""Tests for triolet._sync: Event, Lock, StrictFIFOLock, Semaphore, CapacityLimiter, Condition.

Written against the public API only, so they also run against trio 0.35:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_sync.py``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import triolet
from triolet.testing import assert_checkpoints, assert_no_checkpoints, wait_all_tasks_blocked

LOCK_CLASSES = [triolet.Lock, triolet.StrictFIFOLock]


async def _record_after(
    log: list[object], name: object, operation: Callable[[], Awaitable[object]]
) -> None:
    await operation()
    log.append(name)


# ---------------------------------------------------------------------------- Event
async def test_event_starts_unset_and_set_is_idempotent() -> None:
    event = triolet.Event()
    assert not event.is_set()
    event.set()
    event.set()
    assert event.is_set()


async def test_event_set_wakes_every_waiter() -> None:
    event = triolet.Event()
    woken: list[int] = []
    async with triolet.open_nursery() as nursery:
        for index in range(3):
            nursery.start_soon(_record_after, woken, index, event.wait)
        await wait_all_tasks_blocked()
        assert event.statistics().tasks_waiting == 3
        assert woken == []
        with assert_no_checkpoints():
            event.set()
    assert sorted(woken) == [0, 1, 2]
    assert event.statistics().tasks_waiting == 0


async def test_event_wait_on_a_set_event_is_a_checkpoint() -> None:
    event = triolet.Event()
    event.set()
    with assert_checkpoints():
        await event.wait()


async def test_event_wait_on_a_set_event_raises_when_cancelled() -> None:
    event = triolet.Event()
    event.set()
    with triolet.CancelScope() as scope:
        scope.cancel()
        await event.wait()
    assert scope.cancelled_caught


async def test_cancelled_event_waiter_leaves_the_waiting_set() -> None:
    event = triolet.Event()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(event.wait)
        await wait_all_tasks_blocked()
        assert event.statistics().tasks_waiting == 1
        nursery.cancel_scope.cancel()
    assert event.statistics().tasks_waiting == 0
    assert not event.is_set()


async def test_event_cannot_be_used_as_a_bool() -> None:
    with pytest.raises(NotImplementedError):
        bool(triolet.Event())


def test_event_does_not_support_subclassing() -> None:
    with pytest.raises(TypeError):

        class MyEvent(triolet.Event):  # type: ignore[misc]
            pass


def test_event_repr_and_statistics_outside_a_run() -> None:
    event = triolet.Event()
    assert "Event" in repr(event)
    assert event.statistics() == triolet.EventStatistics(tasks_waiting=0)


# ---------------------------------------------------------------------------- Lock
@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_lock_acquire_and_release_update_statistics(lock_class: type[triolet.Lock]) -> None:
    lock = lock_class()
    assert not lock.locked()
    assert lock.statistics() == triolet.LockStatistics(locked=False, owner=None, tasks_waiting=0)
    await lock.acquire()
    assert lock.locked()
    statistics = lock.statistics()
    assert statistics.locked
    assert statistics.owner is triolet.lowlevel.current_task()
    assert statistics.tasks_waiting == 0
    assert "locked" in repr(lock)
    lock.release()
    assert not lock.locked()
    assert "unlocked" in repr(lock)


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_uncontended_lock_acquire_is_a_checkpoint(lock_class: type[triolet.Lock]) -> None:
    lock = lock_class()
    with assert_checkpoints():
        await lock.acquire()
    with assert_no_checkpoints():
        lock.release()
    with assert_no_checkpoints():
        lock.acquire_nowait()
    lock.release()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_cancelled_lock_acquire_does_not_take_the_lock(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    with triolet.CancelScope() as scope:
        scope.cancel()
        await lock.acquire()
    assert scope.cancelled_caught
    assert not lock.locked()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_lock_acquire_nowait_would_block_while_another_task_holds_it(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    holder_may_leave = triolet.Event()

    async def holder() -> None:
        async with lock:
            await holder_may_leave.wait()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(holder)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.WouldBlock):
            lock.acquire_nowait()
        holder_may_leave.set()
    lock.acquire_nowait()
    lock.release()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_reacquiring_a_held_lock_raises_runtime_error(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    await lock.acquire()
    with pytest.raises(RuntimeError):
        await lock.acquire()
    with pytest.raises(RuntimeError):
        lock.acquire_nowait()
    assert lock.statistics().tasks_waiting == 0
    lock.release()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_releasing_a_lock_you_do_not_hold_raises_runtime_error(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    with pytest.raises(RuntimeError):
        lock.release()
    await lock.acquire()
    errors: list[BaseException] = []

    async def intruder() -> None:
        try:
            lock.release()
        except RuntimeError as error:
            errors.append(error)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(intruder)
    assert len(errors) == 1
    assert lock.locked()
    lock.release()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_lock_is_handed_to_waiters_in_arrival_order(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    order: list[int] = []

    async def waiter(index: int) -> None:
        async with lock:
            order.append(index)

    await lock.acquire()
    async with triolet.open_nursery() as nursery:
        for index in range(5):
            nursery.start_soon(waiter, index)
            await wait_all_tasks_blocked()
        assert lock.statistics().tasks_waiting == 5
        lock.release()
    assert order == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_releasing_task_cannot_barge_ahead_of_a_waiter(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    await lock.acquire()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(lock.acquire)
        await wait_all_tasks_blocked()
        lock.release()
        # The waiter owns the lock now, though it has not run yet.
        assert lock.locked()
        with pytest.raises(triolet.WouldBlock):
            lock.acquire_nowait()
        waiter = lock.statistics().owner
        assert waiter is not None
        assert waiter is not triolet.lowlevel.current_task()
        # The waiter exits holding the lock; whoever waits next is told.
    with pytest.raises(triolet.BrokenResourceError):
        await lock.acquire()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_cancelled_lock_waiter_is_skipped(lock_class: type[triolet.Lock]) -> None:
    lock = lock_class()
    order: list[str] = []

    async def waiter(name: str) -> None:
        async with lock:
            order.append(name)

    await lock.acquire()
    async with triolet.open_nursery() as nursery:
        async with triolet.open_nursery() as doomed:
            doomed.start_soon(waiter, "cancelled")
            await wait_all_tasks_blocked()
            nursery.start_soon(waiter, "kept")
            await wait_all_tasks_blocked()
            assert lock.statistics().tasks_waiting == 2
            doomed.cancel_scope.cancel()
        assert lock.statistics().tasks_waiting == 1
        lock.release()
    assert order == ["kept"]


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_lock_waiter_woken_and_cancelled_at_once_still_gets_the_lock(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    outcome: list[str] = []

    async def waiter(scope: triolet.CancelScope) -> None:
        with scope:
            await lock.acquire()
            outcome.append("acquired")
            lock.release()
            await triolet.sleep_forever()

    await lock.acquire()
    scope = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(waiter, scope)
        await wait_all_tasks_blocked()
        lock.release()
        scope.cancel()
    assert outcome == ["acquired"]
    assert scope.cancelled_caught
    assert not lock.locked()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_lock_held_by_an_exited_task_is_broken_for_waiters(
    lock_class: type[triolet.Lock],
) -> None:
    lock = lock_class()
    results: list[type[BaseException]] = []

    async def leaves_holding_the_lock() -> None:
        await lock.acquire()

    async def waiter() -> None:
        try:
            await lock.acquire()
        except triolet.BrokenResourceError as error:
            results.append(type(error))

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(leaves_holding_the_lock)
        await wait_all_tasks_blocked()
        nursery.start_soon(waiter)
    assert results == [triolet.BrokenResourceError]
    assert lock.locked()
    with pytest.raises(triolet.WouldBlock):
        lock.acquire_nowait()
    with pytest.raises(triolet.BrokenResourceError):
        await lock.acquire()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_a_lock_handed_to_a_waiter_that_exits_holding_it_is_broken(
    lock_class: type[triolet.Lock],
) -> None:
    # release() hands the lock straight to the first waiter; that hand-off must also
    # register the waiter as the lock's breaker.
    lock = lock_class()
    results: list[str] = []

    async def takes_the_hand_off_and_leaves() -> None:
        await lock.acquire()
        results.append("got it")

    async def later_waiter() -> None:
        try:
            await lock.acquire()
        except triolet.BrokenResourceError:
            results.append("broken")

    async with triolet.open_nursery() as nursery:
        await lock.acquire()
        nursery.start_soon(takes_the_hand_off_and_leaves)
        await wait_all_tasks_blocked()
        nursery.start_soon(later_waiter)
        await wait_all_tasks_blocked()
        lock.release()
    assert results == ["got it", "broken"]
    assert lock.statistics().owner is not None


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
async def test_async_with_lock_releases_on_error(lock_class: type[triolet.Lock]) -> None:
    lock = lock_class()
    with pytest.raises(KeyError):
        async with lock:
            assert lock.locked()
            raise KeyError("boom")
    assert not lock.locked()


@pytest.mark.parametrize("lock_class", LOCK_CLASSES)
def test_lock_classes_do_not_support_subclassing(lock_class: type[triolet.Lock]) -> None:
    with pytest.raises(TypeError):
        type("MyLock", (lock_class,), {})


# ---------------------------------------------------------------------------- Semaphore
@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((1.5,), {}, TypeError),
        (("1",), {}, TypeError),
        ((-1,), {}, ValueError),
        ((1,), {"max_value": 1.5}, TypeError),
        ((2,), {"max_value": 1}, ValueError),
    ],
)
def test_semaphore_rejects_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        triolet.Semaphore(*args, **kwargs)


async def test_semaphore_counts_tokens() -> None:
    semaphore = triolet.Semaphore(2, max_value=3)
    assert semaphore.value == 2
    assert semaphore.max_value == 3
    assert triolet.Semaphore(0).max_value is None
    with assert_checkpoints():
        await semaphore.acquire()
    with assert_no_checkpoints():
        semaphore.acquire_nowait()
    assert semaphore.value == 0
    with pytest.raises(triolet.WouldBlock):
        semaphore.acquire_nowait()
    semaphore.release()
    semaphore.release()
    semaphore.release()
    assert semaphore.value == 3
    assert "Semaphore" in repr(semaphore)


async def test_semaphore_released_past_max_value_raises_value_error() -> None:
    semaphore = triolet.Semaphore(1, max_value=1)
    with pytest.raises(ValueError):
        semaphore.release()
    assert semaphore.value == 1


async def test_cancelled_semaphore_acquire_takes_no_token() -> None:
    semaphore = triolet.Semaphore(1)
    with triolet.CancelScope() as scope:
        scope.cancel()
        await semaphore.acquire()
    assert scope.cancelled_caught
    assert semaphore.value == 1


async def test_semaphore_release_hands_the_token_to_the_longest_waiter() -> None:
    semaphore = triolet.Semaphore(0, max_value=1)
    order: list[int] = []
    async with triolet.open_nursery() as nursery:
        for index in range(3):
            nursery.start_soon(_record_after, order, index, semaphore.acquire)
            await wait_all_tasks_blocked()
        assert semaphore.statistics().tasks_waiting == 3
        semaphore.release()
        # Handed over, not added: the value stays 0 and nobody can grab it.
        assert semaphore.value == 0
        with pytest.raises(triolet.WouldBlock):
            semaphore.acquire_nowait()
        await wait_all_tasks_blocked()
        assert order == [0]
        semaphore.release()
        await wait_all_tasks_blocked()
        semaphore.release()
    assert order == [0, 1, 2]
    assert semaphore.value == 0


async def test_cancelled_semaphore_waiter_gets_no_token() -> None:
    semaphore = triolet.Semaphore(0)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(semaphore.acquire)
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert semaphore.statistics().tasks_waiting == 0
    semaphore.release()
    assert semaphore.value == 1


async def test_async_with_semaphore_returns_the_token() -> None:
    semaphore = triolet.Semaphore(1)
    async with semaphore:
        assert semaphore.value == 0
    assert semaphore.value == 1


# ---------------------------------------------------------------------------- CapacityLimiter
@pytest.mark.parametrize(
    ("total_tokens", "error"),
    [(1.5, TypeError), ("2", TypeError), (None, TypeError), (-1, ValueError)],
)
def test_capacity_limiter_rejects_bad_total_tokens(
    total_tokens: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        triolet.CapacityLimiter(total_tokens)
    limiter = triolet.CapacityLimiter(1)
    with pytest.raises(error):
        limiter.total_tokens = total_tokens
    assert limiter.total_tokens == 1


@pytest.mark.parametrize("total_tokens", [0, 1, 10, math.inf])
def test_capacity_limiter_accepts_ints_and_infinity(total_tokens: int | float) -> None:
    limiter = triolet.CapacityLimiter(total_tokens)
    assert limiter.total_tokens == total_tokens
    assert limiter.available_tokens == total_tokens
    assert limiter.borrowed_tokens == 0
    assert "CapacityLimiter" in repr(limiter)


async def test_capacity_limiter_lends_one_token_per_borrower() -> None:
    limiter = triolet.CapacityLimiter(2)
    with assert_checkpoints():
        await limiter.acquire()
    limiter.acquire_on_behalf_of_nowait("worker")
    assert limiter.borrowed_tokens == 2
    assert limiter.available_tokens == 0
    statistics = limiter.statistics()
    assert statistics.borrowed_tokens == 2
    assert statistics.total_tokens == 2
    assert set(statistics.borrowers) == {triolet.lowlevel.current_task(), "worker"}
    assert statistics.tasks_waiting == 0
    with pytest.raises(triolet.WouldBlock):
        limiter.acquire_on_behalf_of_nowait("another")
    limiter.release_on_behalf_of("worker")
    limiter.release()
    assert limiter.borrowed_tokens == 0


async def test_capacity_limiter_borrower_may_hold_only_one_token() -> None:
    limiter = triolet.CapacityLimiter(5)
    await limiter.acquire()
    with pytest.raises(RuntimeError):
        limiter.acquire_nowait()
    with pytest.raises(RuntimeError):
        await limiter.acquire()
    with pytest.raises(RuntimeError):
        await limiter.acquire_on_behalf_of(triolet.lowlevel.current_task())
    assert limiter.borrowed_tokens == 1
    limiter.release()


async def test_capacity_limiter_release_by_a_non_borrower_raises_runtime_error() -> None:
    limiter = triolet.CapacityLimiter(1)
    with pytest.raises(RuntimeError):
        limiter.release()
    limiter.acquire_on_behalf_of_nowait("a")
    with pytest.raises(RuntimeError):
        limiter.release_on_behalf_of("b")
    assert limiter.borrowed_tokens == 1


async def test_capacity_limiter_hands_tokens_to_waiters_in_order() -> None:
    limiter = triolet.CapacityLimiter(1)
    limiter.acquire_on_behalf_of_nowait("holder")
    order: list[str] = []
    async with triolet.open_nursery() as nursery:
        for name in ("first", "second"):
            nursery.start_soon(
                _record_after, order, name, lambda name=name: limiter.acquire_on_behalf_of(name)
            )
            await wait_all_tasks_blocked()
        assert limiter.statistics().tasks_waiting == 2
        limiter.release_on_behalf_of("holder")
        # The token went straight to "first": a newcomer can't take it.
        assert limiter.statistics().borrowers == ["first"]
        with pytest.raises(triolet.WouldBlock):
            limiter.acquire_on_behalf_of_nowait("newcomer")
        await wait_all_tasks_blocked()
        assert order == ["first"]
        limiter.release_on_behalf_of("first")
    assert order == ["first", "second"]
    assert limiter.statistics().borrowers == ["second"]


async def test_raising_total_tokens_wakes_waiters() -> None:
    limiter = triolet.CapacityLimiter(0)
    woken: list[int] = []
    async with triolet.open_nursery() as nursery:
        for index in range(3):
            nursery.start_soon(
                _record_after, woken, index, lambda index=index: limiter.acquire_on_behalf_of(index)
            )
            await wait_all_tasks_blocked()
        assert limiter.statistics().tasks_waiting == 3
        limiter.total_tokens = 2
        await wait_all_tasks_blocked()
        assert sorted(woken) == [0, 1]
        assert limiter.statistics().tasks_waiting == 1
        limiter.total_tokens = math.inf
    assert sorted(woken) == [0, 1, 2]
    assert limiter.borrowed_tokens == 3


async def test_lowering_total_tokens_revokes_nothing() -> None:
    limiter = triolet.CapacityLimiter(3)
    for borrower in "abc":
        limiter.acquire_on_behalf_of_nowait(borrower)
    limiter.total_tokens = 1
    assert limiter.borrowed_tokens == 3
    assert limiter.available_tokens == -2
    limiter.release_on_behalf_of("a")
    with pytest.raises(triolet.WouldBlock):
        limiter.acquire_on_behalf_of_nowait("d")


async def test_cancelled_capacity_limiter_waiter_borrows_nothing() -> None:
    limiter = triolet.CapacityLimiter(1)
    limiter.acquire_on_behalf_of_nowait("holder")
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(limiter.acquire_on_behalf_of, "doomed")
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    limiter.release_on_behalf_of("holder")
    assert limiter.statistics().borrowers == []
    limiter.acquire_on_behalf_of_nowait("doomed")


async def test_async_with_capacity_limiter_returns_the_token() -> None:
    limiter = triolet.CapacityLimiter(1)
    async with limiter:
        assert limiter.borrowed_tokens == 1
    assert limiter.borrowed_tokens == 0


# ---------------------------------------------------------------------------- Condition
def test_condition_requires_a_plain_lock() -> None:
    with pytest.raises(TypeError):
        triolet.Condition(triolet.StrictFIFOLock())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        triolet.Condition(triolet.Semaphore(1))  # type: ignore[arg-type]
    lock = triolet.Lock()
    assert triolet.Condition(lock).statistics().lock_statistics == lock.statistics()


async def test_condition_wait_and_notify_require_the_lock() -> None:
    condition = triolet.Condition()
    with pytest.raises(RuntimeError):
        await condition.wait()
    with pytest.raises(RuntimeError):
        condition.notify()
    with pytest.raises(RuntimeError):
        condition.notify_all()
    with pytest.raises(RuntimeError):
        condition.release()


async def test_condition_delegates_locking_to_its_lock() -> None:
    lock = triolet.Lock()
    condition = triolet.Condition(lock)
    condition.acquire_nowait()
    assert condition.locked()
    assert lock.locked()
    condition.release()
    with assert_checkpoints():
        await condition.acquire()
    assert lock.statistics().owner is triolet.lowlevel.current_task()
    condition.release()
    assert not condition.locked()


async def test_condition_notify_wakes_waiters_in_order_one_lock_holder_at_a_time() -> None:
    condition = triolet.Condition()
    log: list[str] = []

    async def waiter(name: str) -> None:
        async with condition:
            await condition.wait()
            assert condition.locked()
            log.append(f"{name} woke")
            await triolet.lowlevel.checkpoint()
            log.append(f"{name} leaves")

    async with triolet.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(waiter, name)
            await wait_all_tasks_blocked()
        assert condition.statistics().tasks_waiting == 3
        async with condition:
            condition.notify(2)
            assert condition.statistics().tasks_waiting == 1
            assert condition.statistics().lock_statistics.tasks_waiting == 2
        await wait_all_tasks_blocked()
        assert log == ["a woke", "a leaves", "b woke", "b leaves"]
        async with condition:
            condition.notify_all()
    assert log[4:] == ["c woke", "c leaves"]


async def test_cancelled_condition_wait_reacquires_the_lock() -> None:
    condition = triolet.Condition()
    holds_lock_after_cancel: list[bool] = []
    waiter_scope = triolet.CancelScope()

    async def waiter() -> None:
        with waiter_scope:
            async with condition:
                try:
                    await condition.wait()
                except triolet.Cancelled:
                    holds_lock_after_cancel.append(
                        condition.statistics().lock_statistics.owner
                        is triolet.lowlevel.current_task()
                    )
                    raise

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await wait_all_tasks_blocked()
        # Hold the lock so the cancelled waiter must wait for it before leaving.
        await condition.acquire()
        waiter_scope.cancel()
        await wait_all_tasks_blocked()
        assert holds_lock_after_cancel == []
        assert condition.statistics().lock_statistics.tasks_waiting == 1
        condition.release()
    assert holds_lock_after_cancel == [True]
    assert waiter_scope.cancelled_caught
    assert not condition.locked()


async def test_condition_waiter_cancelled_after_notify_leaves_holding_the_lock() -> None:
    condition = triolet.Condition()
    log: list[str] = []
    waiter_scope = triolet.CancelScope()

    async def waiter() -> None:
        with waiter_scope:
            async with condition:
                try:
                    await condition.wait()
                finally:
                    log.append(f"holds lock: {condition.locked()}")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await wait_all_tasks_blocked()
        async with condition:
            condition.notify()
            waiter_scope.cancel()
    assert log == ["holds lock: True"]
    assert not condition.locked()
