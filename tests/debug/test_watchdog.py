import logging
import time

import pytest

import triolet
from triolet.lowlevel import LoopWatchdog


class RecordingWatchdog(LoopWatchdog):
    def __init__(self, threshold: float) -> None:
        super().__init__(threshold)
        self.stalls: list[tuple[str, float, str]] = []

    def on_stall(self, task_name: str, seconds: float, stack: str) -> None:
        self.stalls.append((task_name, seconds, stack))


def test_watchdog_reports_a_task_blocking_the_loop_with_time_sleep() -> None:
    watchdog = RecordingWatchdog(threshold=0.1)

    async def blocker() -> None:
        time.sleep(0.5)  # the mistake the watchdog exists to catch

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(blocker, name="the-blocker")

    triolet.run(main, instruments=[watchdog])
    assert len(watchdog.stalls) == 1
    name, seconds, stack = watchdog.stalls[0]
    assert name == "the-blocker"
    assert seconds >= 0.1
    assert "in blocker" in stack and "time.sleep(0.5)" in stack


def test_watchdog_is_quiet_for_tasks_that_checkpoint() -> None:
    watchdog = RecordingWatchdog(threshold=0.1)

    async def busy_but_polite() -> None:
        deadline = time.monotonic() + 0.4
        while time.monotonic() < deadline:
            await triolet.sleep(0)

    triolet.run(busy_but_polite, instruments=[watchdog])
    assert watchdog.stalls == []


def test_default_watchdog_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        time.sleep(0.3)

    with caplog.at_level(logging.WARNING, logger="triolet.watchdog"):
        triolet.run(main, instruments=[LoopWatchdog(threshold=0.05)])
    assert any("blocked the triolet event loop" in r.getMessage() for r in caplog.records)


def test_watchdog_does_not_make_the_loop_pay_per_step() -> None:
    seen: list[bool] = []

    async def main() -> None:
        seen.append(triolet.lowlevel.current_root_task()._runner.instrumented)  # type: ignore[union-attr]

    triolet.run(main, instruments=[LoopWatchdog()])
    assert seen == [False]


def test_watchdog_rejects_a_nonpositive_threshold() -> None:
    with pytest.raises(ValueError, match="threshold"):
        LoopWatchdog(threshold=0)


def test_watchdog_added_during_the_run_starts_watching() -> None:
    watchdog = RecordingWatchdog(threshold=0.1)

    async def main() -> None:
        triolet.lowlevel.add_instrument(watchdog)
        time.sleep(0.4)
        await triolet.sleep(0)
        triolet.lowlevel.remove_instrument(watchdog)

    triolet.run(main)
    assert [name for name, _, _ in watchdog.stalls] == [
        "test_watchdog.test_watchdog_added_during_the_run_starts_watching.<locals>.main"
    ]
