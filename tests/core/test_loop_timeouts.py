"""How long the run loop blocks in its I/O wait when no task is runnable.

The loop computes that timeout from the next deadline, the idle waiters
(``wait_all_tasks_blocked``) and the clock (a MockClock may autojump). With nothing timed
and the system clock it blocks without computing anything; these tests watch the
timeouts it passes to ``before_io_wait`` in each of those cases.
"""

from __future__ import annotations

import math
import time

import triolet
from triolet.testing import MockClock, wait_all_tasks_blocked


class TimeoutRecorder(triolet.abc.Instrument):
    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def before_io_wait(self, timeout: float) -> None:
        self.timeouts.append(timeout)


def blocking_timeouts(recorder: TimeoutRecorder) -> list[float]:
    return [timeout for timeout in recorder.timeouts if timeout > 0]


def test_nothing_timed_blocks_until_io_arrives() -> None:
    recorder = TimeoutRecorder()

    async def main() -> None:
        await triolet.to_thread.run_sync(time.sleep, 0.02)

    triolet.run(main, instruments=[recorder])
    assert blocking_timeouts(recorder)
    assert all(timeout == math.inf for timeout in blocking_timeouts(recorder))


def test_a_sleep_bounds_the_wait_by_its_deadline() -> None:
    recorder = TimeoutRecorder()

    async def main() -> None:
        start = time.perf_counter()
        await triolet.sleep(0.05)
        assert time.perf_counter() - start >= 0.05

    triolet.run(main, instruments=[recorder])
    waits = blocking_timeouts(recorder)
    assert waits and all(timeout <= 0.05 for timeout in waits)
    assert len(recorder.timeouts) < 20  # blocked until the deadline, no busy polling


def test_a_timeout_entered_just_before_blocking_bounds_the_wait() -> None:
    recorder = TimeoutRecorder()

    async def main() -> None:
        with triolet.move_on_after(0.03):
            await triolet.to_thread.run_sync(time.sleep, 0.1, abandon_on_cancel=True)

    triolet.run(main, instruments=[recorder])
    assert all(timeout <= 0.03 for timeout in recorder.timeouts)


def test_an_idle_waiter_bounds_the_wait_without_any_deadline() -> None:
    recorder = TimeoutRecorder()

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(triolet.sleep_forever)
            await wait_all_tasks_blocked(0.02)
            nursery.cancel_scope.cancel()

    triolet.run(main, instruments=[recorder])
    assert 0.02 in recorder.timeouts


def test_a_clock_other_than_the_system_clock_computes_the_timeout() -> None:
    asked: list[float] = []

    class SlowClock(triolet.abc.Clock):
        def start_clock(self) -> None:
            pass

        def current_time(self) -> float:
            return time.perf_counter()

        def deadline_to_sleep_time(self, deadline: float) -> float:
            asked.append(deadline)
            return deadline - self.current_time()

    async def main() -> None:
        start = time.perf_counter()
        await triolet.sleep(0.03)
        assert time.perf_counter() - start >= 0.03

    triolet.run(main, clock=SlowClock())
    assert asked


def test_an_autojump_clock_jumps_with_no_other_task_waiting() -> None:
    clock = MockClock(autojump_threshold=0)

    async def main() -> None:
        start = time.perf_counter()
        await triolet.sleep(1000)
        assert triolet.current_time() >= 1000
        assert time.perf_counter() - start < 5

    triolet.run(main, clock=clock)
