"""Instruments: which hooks run, in which order, and what happens when one raises."""

from __future__ import annotations

import threading
import warnings
from collections import defaultdict

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import MockClock, wait_all_tasks_blocked

Event = tuple[str, object]


class Recorder(triolet.abc.Instrument):
    """Records every hook call as (hook, task name or timeout)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def before_run(self) -> None:
        self.events.append(("before_run", None))

    def after_run(self) -> None:
        self.events.append(("after_run", None))

    def task_spawned(self, task: lowlevel.Task) -> None:
        self.events.append(("task_spawned", task))

    def task_scheduled(self, task: lowlevel.Task) -> None:
        self.events.append(("task_scheduled", task))

    def before_task_step(self, task: lowlevel.Task) -> None:
        self.events.append(("before_task_step", task))

    def after_task_step(self, task: lowlevel.Task) -> None:
        self.events.append(("after_task_step", task))

    def task_exited(self, task: lowlevel.Task) -> None:
        self.events.append(("task_exited", task))

    def before_io_wait(self, timeout: float) -> None:
        self.events.append(("before_io_wait", timeout))

    def after_io_wait(self, timeout: float) -> None:
        self.events.append(("after_io_wait", timeout))

    def for_task(self, task: lowlevel.Task) -> list[str]:
        return [hook for hook, arg in self.events if arg is task]


def check_consistent_trace(events: list[Event]) -> None:
    """The ordering rules every run's trace obeys, for every task in it."""
    assert events[0][0] == "before_run"
    assert events[-1][0] == "after_run"
    in_step = None
    in_io_wait = None
    state: dict[object, str] = defaultdict(lambda: "unborn")
    for hook, arg in events[1:-1]:
        if hook == "before_io_wait":
            assert in_step is None and in_io_wait is None
            in_io_wait = arg
        elif hook == "after_io_wait":
            assert in_io_wait == arg
            in_io_wait = None
        elif hook == "task_spawned":
            assert state[arg] == "unborn"
            state[arg] = "spawned"
        elif hook == "task_scheduled":
            # A task that yields at a checkpoint is rescheduled during its own step.
            assert state[arg] in ("spawned", "parked", "running")
            state[arg] = "rescheduled" if state[arg] == "running" else "runnable"
        elif hook == "before_task_step":
            assert in_step is None and in_io_wait is None
            assert state[arg] == "runnable"
            state[arg] = "running"
            in_step = arg
        elif hook == "task_exited":
            assert in_step is arg and state[arg] == "running"
            state[arg] = "exited"
        elif hook == "after_task_step":
            assert in_step is arg
            in_step = None
            if state[arg] == "running":
                state[arg] = "parked"
            elif state[arg] == "rescheduled":
                state[arg] = "runnable"
            else:
                assert state[arg] == "exited"
        else:  # pragma: no cover
            raise AssertionError(hook)
    assert in_step is None and in_io_wait is None
    assert all(final == "exited" for final in state.values()), dict(state)


def test_trace_of_a_run_with_children_is_consistent() -> None:
    recorder = Recorder()

    async def child(delay: float) -> None:
        await triolet.sleep(delay)

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child, 1)
            nursery.start_soon(child, 2)

    triolet.run(main, instruments=[recorder], clock=MockClock(autojump_threshold=0))
    check_consistent_trace(recorder.events)


def test_run_sync_soon_callback_runs_inside_a_step_of_the_callback_task() -> None:
    recorder = Recorder()

    async def main() -> None:
        token = lowlevel.current_trio_token()
        ran = triolet.Event()

        def callback() -> None:
            recorder.events.append(("callback", lowlevel.current_task()))
            ran.set()

        # Every task parked, the callback task included: only the wakeup fd can run it.
        await wait_all_tasks_blocked()
        thread = threading.Thread(target=token.run_sync_soon, args=(callback,))
        thread.start()
        await ran.wait()
        thread.join()

    triolet.run(main, instruments=[recorder])
    [index] = [i for i, (hook, _) in enumerate(recorder.events) if hook == "callback"]
    callback_task = recorder.events[index][1]
    steps = ("before_task_step", "after_task_step")
    step_before = [event for event in recorder.events[:index] if event[0] in steps][-1]
    step_after = next(event for event in recorder.events[index + 1 :] if event[0] in steps)
    assert step_before == ("before_task_step", callback_task)
    assert step_after == ("after_task_step", callback_task)
    del recorder.events[index]
    check_consistent_trace(recorder.events)


def test_before_run_is_first_and_after_run_is_last() -> None:
    recorder = Recorder()

    async def main() -> None:
        await triolet.sleep(0)

    triolet.run(main, instruments=[recorder])
    hooks = [hook for hook, _ in recorder.events]
    assert hooks[0] == "before_run"
    assert hooks[-1] == "after_run"
    assert hooks.count("before_run") == hooks.count("after_run") == 1


def test_task_lifecycle_hooks_for_one_child() -> None:
    recorder = Recorder()
    tasks = []

    async def child() -> None:
        tasks.append(lowlevel.current_task())
        await triolet.sleep(0)

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child)

    triolet.run(main, instruments=[recorder])
    assert recorder.for_task(tasks[0]) == [
        "task_spawned",
        "task_scheduled",
        "before_task_step",
        "task_scheduled",  # sleep(0) puts it straight back on the run queue
        "after_task_step",
        "before_task_step",
        "task_exited",
        "after_task_step",
    ]


def test_io_wait_hooks_are_paired_with_the_same_timeout() -> None:
    recorder = Recorder()

    async def main() -> None:
        await triolet.sleep(1)

    triolet.run(main, instruments=[recorder], clock=MockClock(autojump_threshold=0))
    waits = [(hook, arg) for hook, arg in recorder.events if hook.endswith("io_wait")]
    assert waits
    for before, after in zip(waits[::2], waits[1::2], strict=True):
        assert before[0] == "before_io_wait" and after[0] == "after_io_wait"
        assert before[1] == after[1]


def test_instrument_with_only_some_hooks_gets_only_those() -> None:
    exited = []

    class ExitCounter(triolet.abc.Instrument):
        def task_exited(self, task: lowlevel.Task) -> None:
            exited.append(task.name)

    async def child() -> None:
        pass

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child, name="the child")

    triolet.run(main, instruments=[ExitCounter()])
    assert "the child" in exited


async def test_add_instrument_starts_calling_it_mid_run() -> None:
    recorder = Recorder()
    lowlevel.add_instrument(recorder)
    try:
        await triolet.sleep(0)
    finally:
        lowlevel.remove_instrument(recorder)
    hooks = [hook for hook, _ in recorder.events]
    assert "before_task_step" in hooks
    assert "before_run" not in hooks


async def test_remove_instrument_stops_calling_it() -> None:
    recorder = Recorder()
    lowlevel.add_instrument(recorder)
    lowlevel.remove_instrument(recorder)
    recorder.events.clear()
    await triolet.sleep(0)
    assert recorder.events == []


async def test_adding_an_instrument_twice_calls_it_once() -> None:
    recorder = Recorder()
    lowlevel.add_instrument(recorder)
    lowlevel.add_instrument(recorder)
    try:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(triolet.sleep, 0, name="counted")
    finally:
        lowlevel.remove_instrument(recorder)
    spawned = [arg for hook, arg in recorder.events if hook == "task_spawned"]
    assert len(spawned) == 1


async def test_removing_an_unknown_instrument_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        lowlevel.remove_instrument(Recorder())


def test_raising_instrument_is_removed_and_the_run_goes_on() -> None:
    class Broken(triolet.abc.Instrument):
        calls = 0

        def before_task_step(self, task: lowlevel.Task) -> None:
            Broken.calls += 1
            raise ValueError("instrument bug")

    async def main() -> str:
        for _ in range(3):
            await triolet.sleep(0)
        return "finished"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert triolet.run(main, instruments=[Broken()]) == "finished"
    assert Broken.calls == 1


@pytest.mark.triolet_only  # trio logs the error with the logging module instead
def test_raising_instrument_is_reported_with_a_warning() -> None:
    class Broken(triolet.abc.Instrument):
        def task_spawned(self, task: lowlevel.Task) -> None:
            raise ValueError("instrument bug")

    async def main() -> None:
        pass

    with pytest.warns(RuntimeWarning, match="Broken"):
        triolet.run(main, instruments=[Broken()])


def test_duck_typed_instrument_is_accepted() -> None:
    calls = []

    class Duck:
        def before_run(self) -> None:
            calls.append("before_run")

    async def main() -> None:
        pass

    triolet.run(main, instruments=[Duck()])  # type: ignore[list-item]
    assert calls == ["before_run"]


def test_instrument_hooks_see_the_run() -> None:
    seen = []

    class Probe(triolet.abc.Instrument):
        def before_task_step(self, task: lowlevel.Task) -> None:
            seen.append(triolet.current_time())

    async def main() -> None:
        pass

    clock = MockClock()
    clock.jump(3)
    triolet.run(main, instruments=[Probe()], clock=clock)
    assert seen and set(seen) == {3.0}
