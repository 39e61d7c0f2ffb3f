"""The kernel's test helpers: wait_all_tasks_blocked, Sequencer, assert_*checkpoints, trio_test.

(MockClock has its own file, test_mock_clock.py.)
"""

from __future__ import annotations

import socket

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import (
    MockClock,
    Sequencer,
    assert_checkpoints,
    assert_no_checkpoints,
    trio_test,
    wait_all_tasks_blocked,
)


# ---------------------------------------------------------------------- wait_all_tasks_blocked
async def test_wait_all_tasks_blocked_waits_for_busy_tasks() -> None:
    progress = []

    async def busy() -> None:
        for i in range(20):
            progress.append(i)
            await triolet.sleep(0)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(busy)
        await wait_all_tasks_blocked()
        assert progress == list(range(20))


async def test_wait_all_tasks_blocked_returns_when_nothing_else_runs() -> None:
    await wait_all_tasks_blocked()


async def test_wait_all_tasks_blocked_waits_for_ready_io() -> None:
    a, b = socket.socketpair()
    record = []

    async def reader() -> None:
        await lowlevel.wait_readable(a)
        record.append("read")

    with a, b:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(reader)
            await wait_all_tasks_blocked()
            b.send(b"x")
            await wait_all_tasks_blocked()
            assert record == ["read"]


async def test_smaller_cushion_wakes_first() -> None:
    woke = []

    async def waiter(cushion: float) -> None:
        await wait_all_tasks_blocked(cushion)
        woke.append(cushion)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(waiter, 0.02)
        nursery.start_soon(waiter, 0)
    assert woke == [0, 0.02]


async def test_waiters_with_equal_cushions_all_wake() -> None:
    woke = []

    async def waiter(tag: str) -> None:
        await wait_all_tasks_blocked()
        woke.append(tag)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(waiter, "a")
        nursery.start_soon(waiter, "b")
    assert sorted(woke) == ["a", "b"]


async def test_wait_all_tasks_blocked_is_cancellable() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        await wait_all_tasks_blocked()
    assert scope.cancelled_caught


async def test_wait_all_tasks_blocked_beats_the_autojump(autojump_clock: MockClock) -> None:
    async def sleeper() -> None:
        await triolet.sleep(10)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper)
        await wait_all_tasks_blocked()
        assert triolet.current_time() == 0
    assert triolet.current_time() == 10


# ---------------------------------------------------------------------- Sequencer
async def test_sequencer_runs_blocks_in_order() -> None:
    sequencer = Sequencer()
    record = []

    async def worker(positions: list[int]) -> None:
        for position in positions:
            async with sequencer(position):
                record.append(position)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(worker, [4, 5])
        nursery.start_soon(worker, [1, 3])
        nursery.start_soon(worker, [0, 2])
    assert record == [0, 1, 2, 3, 4, 5]


async def test_sequencer_point_cannot_be_reused() -> None:
    sequencer = Sequencer()
    async with sequencer(0):
        pass
    with pytest.raises(RuntimeError):
        async with sequencer(0):
            pass  # pragma: no cover


async def test_cancelled_sequencer_wait_breaks_the_sequence(autojump_clock: MockClock) -> None:
    sequencer = Sequencer()
    errors = []

    async def impatient() -> None:
        with triolet.move_on_after(1):
            try:
                async with sequencer(1):
                    pass  # pragma: no cover
            except RuntimeError:
                errors.append("impatient")

    async def later() -> None:
        await triolet.sleep(2)
        try:
            async with sequencer(2):
                pass  # pragma: no cover
        except RuntimeError:
            errors.append("later")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(impatient)
        nursery.start_soon(later)
    assert sorted(errors) == ["impatient", "later"]


# ---------------------------------------------------------------------- checkpoint assertions
async def test_assert_checkpoints_passes_on_a_checkpoint() -> None:
    with assert_checkpoints():
        await triolet.sleep(0)


async def test_assert_checkpoints_fails_without_a_checkpoint() -> None:
    with pytest.raises(AssertionError):
        with assert_checkpoints():
            pass


async def test_assert_checkpoints_lets_an_exception_through() -> None:
    with pytest.raises(KeyError):
        with assert_checkpoints():
            raise KeyError("no checkpoint, but an error")


async def test_assert_no_checkpoints_passes_without_a_checkpoint() -> None:
    with assert_no_checkpoints():
        pass


async def test_assert_no_checkpoints_fails_on_a_checkpoint() -> None:
    with pytest.raises(AssertionError):
        with assert_no_checkpoints():
            await triolet.sleep(0)


async def test_assert_checkpoints_counts_only_the_current_task() -> None:
    async def other() -> None:
        await triolet.sleep(0)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(other)
        with pytest.raises(AssertionError):
            with assert_checkpoints():
                nursery.start_soon(other)


# ---------------------------------------------------------------------- trio_test
def test_trio_test_runs_the_function_in_a_fresh_run() -> None:
    @trio_test
    async def check() -> bool:
        await triolet.sleep(0)
        return lowlevel.in_trio_task()

    assert check() is True
    assert not lowlevel.in_trio_run()


def test_trio_test_uses_a_clock_argument_as_the_run_clock() -> None:
    @trio_test
    async def check(clock: MockClock) -> bool:
        return lowlevel.current_clock() is clock

    assert check(clock=MockClock()) is True


def test_trio_test_installs_instrument_arguments() -> None:
    steps = []

    class Counter(triolet.abc.Instrument):
        def before_task_step(self, task: lowlevel.Task) -> None:
            steps.append(task)

    @trio_test
    async def check(counter: Counter) -> None:
        await triolet.sleep(0)

    check(counter=Counter())
    assert steps
