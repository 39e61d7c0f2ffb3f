"""Sleeping and timeouts: sleep, sleep_until, sleep_forever, move_on_*, fail_*."""

from __future__ import annotations

import math

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import MockClock, wait_all_tasks_blocked


# ---------------------------------------------------------------------- sleep
async def test_sleep_advances_the_clock_by_its_duration(autojump_clock: MockClock) -> None:
    await triolet.sleep(3)
    assert triolet.current_time() == 3


async def test_sleep_accepts_fractional_seconds(autojump_clock: MockClock) -> None:
    await triolet.sleep(0.25)
    assert triolet.current_time() == 0.25


async def test_sleep_until_wakes_at_the_deadline(autojump_clock: MockClock) -> None:
    await triolet.sleep_until(7.5)
    assert triolet.current_time() == 7.5


async def test_sleep_until_in_the_past_is_still_a_checkpoint(mock_clock: MockClock) -> None:
    mock_clock.jump(10)
    with triolet.testing.assert_checkpoints():
        await triolet.sleep_until(5)


async def test_sleep_is_a_checkpoint(autojump_clock: MockClock) -> None:
    with triolet.testing.assert_checkpoints():
        await triolet.sleep(1)


async def test_sleepers_wake_in_deadline_order(autojump_clock: MockClock) -> None:
    woke = []

    async def sleeper(delay: float) -> None:
        await triolet.sleep(delay)
        woke.append(delay)

    async with triolet.open_nursery() as nursery:
        for delay in [3, 1, 2]:
            nursery.start_soon(sleeper, delay)
    assert woke == [1, 2, 3]


async def test_sleep_is_cancellable(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(1):
        await triolet.sleep(100)
    assert triolet.current_time() == 1


async def test_cancelled_sleep_does_not_wake_later(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(1):
        await triolet.sleep(5)
    await triolet.sleep(10)
    assert triolet.current_time() == 11


async def test_sleep_ending_just_as_a_sibling_crashes_raises_cancelled(
    autojump_clock: MockClock,
) -> None:
    async def sleep_then_crash() -> None:
        await triolet.sleep(1)
        raise ValueError("crash")

    # Both wake at t=1; whichever runs first crashes and cancels the nursery, and the
    # other's finished sleep then raises Cancelled instead of returning.
    with pytest.raises(ExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sleep_then_crash)
            nursery.start_soon(sleep_then_crash)
    assert len(info.value.exceptions) == 1


async def test_sleep_zero_in_a_cancelled_scope_raises() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        await triolet.sleep(0)
    assert scope.cancelled_caught


async def test_sleep_forever_sleeps_until_cancelled(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(1000) as scope:
        await triolet.sleep_forever()
    assert scope.cancelled_caught
    assert triolet.current_time() == 1000


async def test_sleep_until_inf_sleeps_until_cancelled(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(5) as scope:
        await triolet.sleep_until(math.inf)
    assert scope.cancelled_caught


async def test_sleep_inf_sleeps_until_cancelled(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(5) as scope:
        await triolet.sleep(math.inf)
    assert scope.cancelled_caught


async def test_current_time_is_the_clocks_time(mock_clock: MockClock) -> None:
    mock_clock.jump(4)
    assert triolet.current_time() == mock_clock.current_time() == 4


# ---------------------------------------------------------------------- move_on_*
async def test_move_on_after_stops_the_block_quietly(autojump_clock: MockClock) -> None:
    reached = []
    with triolet.move_on_after(2) as scope:
        await triolet.sleep(5)
        reached.append("not reached")  # pragma: no cover
    assert reached == []
    assert scope.cancelled_caught
    assert triolet.current_time() == 2


async def test_move_on_after_without_timeout_does_nothing(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(5) as scope:
        await triolet.sleep(1)
    assert not scope.cancelled_caught
    assert not scope.cancel_called


async def test_move_on_after_deadline_counts_from_entering(autojump_clock: MockClock) -> None:
    manager = triolet.move_on_after(3)
    await triolet.sleep(10)
    with manager as scope:
        assert scope.deadline == 13


async def test_move_on_at_uses_an_absolute_deadline(autojump_clock: MockClock) -> None:
    with triolet.move_on_at(4) as scope:
        await triolet.sleep_forever()
    assert scope.cancelled_caught
    assert triolet.current_time() == 4


async def test_move_on_after_shield(autojump_clock: MockClock) -> None:
    with triolet.CancelScope() as outer:
        outer.cancel()
        with triolet.move_on_after(2, shield=True) as inner:
            assert inner.shield
            await triolet.sleep(5)
    assert inner.cancelled_caught
    assert triolet.current_time() == 2


async def test_move_on_after_zero_cancels_at_the_first_checkpoint() -> None:
    with triolet.move_on_after(0) as scope:
        await lowlevel.checkpoint()
    assert scope.cancelled_caught


async def test_nested_timeouts_the_shorter_one_wins(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(5) as outer:
        with triolet.move_on_after(1) as inner:
            await triolet.sleep(10)
        await triolet.sleep(1)
    assert inner.cancelled_caught
    assert not outer.cancelled_caught
    assert triolet.current_time() == 2


async def test_timeout_reaches_tasks_in_a_nursery(autojump_clock: MockClock) -> None:
    async def sleeper() -> None:
        await triolet.sleep_forever()

    with triolet.move_on_after(3) as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sleeper)
            nursery.start_soon(sleeper)
    assert scope.cancelled_caught
    assert triolet.current_time() == 3


@pytest.mark.parametrize("seconds", [-1, -0.5, math.nan])
async def test_move_on_after_bad_seconds_is_a_value_error(seconds: float) -> None:
    with pytest.raises(ValueError):
        triolet.move_on_after(seconds)


async def test_move_on_at_nan_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        triolet.move_on_at(math.nan)


# ---------------------------------------------------------------------- fail_*
async def test_fail_after_raises_too_slow_error(autojump_clock: MockClock) -> None:
    with pytest.raises(triolet.TooSlowError):
        with triolet.fail_after(1):
            await triolet.sleep(2)
    assert triolet.current_time() == 1


async def test_fail_after_does_nothing_when_in_time(autojump_clock: MockClock) -> None:
    with triolet.fail_after(2) as scope:
        await triolet.sleep(1)
    assert not scope.cancelled_caught


async def test_fail_at_raises_too_slow_error(autojump_clock: MockClock) -> None:
    with pytest.raises(triolet.TooSlowError):
        with triolet.fail_at(3):
            await triolet.sleep_forever()
    assert triolet.current_time() == 3


async def test_fail_after_expiring_without_a_checkpoint_raises_nothing(
    mock_clock: MockClock,
) -> None:
    with triolet.fail_after(1) as scope:
        mock_clock.jump(2)
    assert not scope.cancelled_caught


async def test_fail_after_yields_its_cancel_scope(autojump_clock: MockClock) -> None:
    with triolet.fail_after(5) as scope:
        assert isinstance(scope, triolet.CancelScope)
        assert scope.deadline == 5


async def test_fail_after_lets_an_outer_cancellation_through(autojump_clock: MockClock) -> None:
    with triolet.move_on_after(1) as outer:
        with triolet.fail_after(5):
            await triolet.sleep_forever()
    assert outer.cancelled_caught


async def test_fail_after_passes_other_errors_through(autojump_clock: MockClock) -> None:
    with pytest.raises(KeyError):
        with triolet.fail_after(5):
            raise KeyError("mine")


async def test_too_slow_error_is_an_exception() -> None:
    assert issubclass(triolet.TooSlowError, Exception)


@pytest.mark.parametrize("seconds", [-1, math.nan])
async def test_fail_after_bad_seconds_is_a_value_error(seconds: float) -> None:
    with pytest.raises(ValueError):
        with triolet.fail_after(seconds):
            pass  # pragma: no cover


async def test_fail_at_nan_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        with triolet.fail_at(math.nan):
            pass  # pragma: no cover


async def test_fail_after_shield_hides_outer_cancellation(autojump_clock: MockClock) -> None:
    with triolet.CancelScope() as outer:
        outer.cancel()
        with pytest.raises(triolet.TooSlowError):
            with triolet.fail_after(1, shield=True):
                await triolet.sleep(5)


# ---------------------------------------------------------------------- sleepers and tasks
async def test_many_sleepers_all_wake(autojump_clock: MockClock) -> None:
    woke = []

    async def sleeper(i: int) -> None:
        await triolet.sleep(i % 7)
        woke.append(i)

    async with triolet.open_nursery() as nursery:
        for i in range(200):
            nursery.start_soon(sleeper, i)
    assert sorted(woke) == list(range(200))
    assert triolet.current_time() == 6


async def test_sleeping_task_counts_as_blocked(autojump_clock: MockClock) -> None:
    async def sleeper() -> None:
        await triolet.sleep(10)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper)
        await wait_all_tasks_blocked()
        assert triolet.current_time() == 0
