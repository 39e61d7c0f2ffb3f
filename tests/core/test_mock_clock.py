"""MockClock: virtual time that stands still, runs at any rate, or jumps to the next deadline."""

from __future__ import annotations

import time

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import MockClock, wait_all_tasks_blocked


def test_mock_clock_starts_at_zero_and_stands_still() -> None:
    clock = MockClock()
    assert clock.current_time() == 0
    assert clock.current_time() == 0
    assert clock.rate == 0


def test_jump_moves_time_forward() -> None:
    clock = MockClock()
    clock.jump(2.5)
    assert clock.current_time() == 2.5


def test_jump_backwards_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        MockClock().jump(-1)


def test_negative_rate_is_a_value_error() -> None:
    clock = MockClock()
    with pytest.raises(ValueError):
        clock.rate = -1


def test_changing_the_rate_does_not_move_time() -> None:
    clock = MockClock()
    clock.jump(5)
    clock.rate = 1000
    clock.rate = 0
    first = clock.current_time()
    assert first >= 5
    assert clock.current_time() == first


def test_positive_rate_makes_time_pass() -> None:
    clock = MockClock(rate=1_000_000)
    start = clock.current_time()
    deadline = time.perf_counter() + 5
    while clock.current_time() == start and time.perf_counter() < deadline:
        pass
    assert clock.current_time() > start


def test_constructor_arguments() -> None:
    clock = MockClock(rate=2, autojump_threshold=0.5)
    assert clock.rate == 2
    assert clock.autojump_threshold == 0.5


def test_default_autojump_threshold_is_inf() -> None:
    assert MockClock().autojump_threshold == float("inf")


def test_deadline_to_sleep_time_scales_with_the_rate() -> None:
    clock = MockClock()
    assert clock.deadline_to_sleep_time(-1) <= 0
    assert clock.deadline_to_sleep_time(10) >= 86400  # time stands still: "forever"
    clock.rate = 2
    assert clock.deadline_to_sleep_time(clock.current_time() + 10) == pytest.approx(5, abs=0.5)


def test_repr_mentions_the_clock() -> None:
    assert "MockClock" in repr(MockClock())


async def test_autojump_skips_to_the_next_deadline(autojump_clock: MockClock) -> None:
    start = time.perf_counter()
    await triolet.sleep(1000)
    assert triolet.current_time() == 1000
    assert time.perf_counter() - start < 5


async def test_autojump_does_not_jump_while_a_task_is_runnable(
    autojump_clock: MockClock,
) -> None:
    async def sleeper() -> None:
        await triolet.sleep(1)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper)
        for _ in range(100):
            await triolet.sleep(0)
            assert triolet.current_time() == 0


async def test_autojump_threshold_can_be_turned_on_mid_run(mock_clock: MockClock) -> None:
    async def sleeper() -> None:
        await triolet.sleep(5)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper)
        await wait_all_tasks_blocked()
        assert triolet.current_time() == 0
        mock_clock.autojump_threshold = 0
    assert triolet.current_time() == 5


async def test_jump_wakes_sleepers_whose_deadline_passed(mock_clock: MockClock) -> None:
    woke = []

    async def sleeper() -> None:
        await triolet.sleep(3)
        woke.append(triolet.current_time())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper)
        await wait_all_tasks_blocked()
        mock_clock.jump(3)
    assert woke == [3]


async def test_mock_clock_is_the_current_clock(mock_clock: MockClock) -> None:
    assert lowlevel.current_clock() is mock_clock
