"""The tutorial's first-half programs in examples/, run under a MockClock that autojumps.

Each check follows what the tutorial says about the program's output: which lines come
before which, not the exact interleaving (which the tutorial itself says may vary).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest

import triolet
from triolet.testing import MockClock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(script: str) -> types.ModuleType:
    """Import examples/<script> as a module (its file name has dashes), without running it."""
    path = EXAMPLES / script
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_with_autojump(fn: object, *args: object, **options: object) -> tuple[object, float]:
    clock = MockClock(autojump_threshold=0)
    result = triolet.run(fn, *args, clock=clock, **options)  # type: ignore[arg-type]
    return result, clock.current_time()


def lines_of(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


# ---------------------------------------------------------------------- the first programs
def test_async_double_returns_6() -> None:
    module = load("async-double.py")
    assert triolet.run(module.async_double, 3) == 6


def test_async_double_script_prints_6() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "async-double.py")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.strip() == "6", result.stderr


def test_double_sleep_sleeps_6_seconds() -> None:
    module = load("double-sleep.py")
    result, elapsed = run_with_autojump(module.double_sleep, 3)
    assert result is None
    assert elapsed == 6


def test_broken_double_sleep_does_not_sleep_and_python_warns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = load("broken-double-sleep.py")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, elapsed = run_with_autojump(module.broken_double_sleep, 3)
        import gc

        gc.collect()
    assert elapsed == 0
    assert lines_of(capsys) == [
        "*yawn* Going to sleep",
        "Woke up after 0.00 seconds, feeling well rested!",
    ]
    assert any("was never awaited" in str(w.message) for w in caught)


# ---------------------------------------------------------------------- tasks-intro.py
def test_tasks_intro_parent_spawns_then_children_run_together(
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = load("tasks-intro.py")
    _, elapsed = run_with_autojump(module.parent)
    lines = lines_of(capsys)
    assert lines[:4] == [
        "parent: started!",
        "parent: spawning child1...",
        "parent: spawning child2...",
        "parent: waiting for children to finish...",
    ]
    started = {
        lines.index("  child1: started! sleeping now..."),
        lines.index("  child2: started! sleeping now..."),
    }
    exiting = {lines.index("  child1: exiting!"), lines.index("  child2: exiting!")}
    assert started == {4, 5}  # in either order
    assert exiting == {6, 7}  # both start before either exits
    assert lines[8:] == ["parent: all done!"]
    # Two one-second sleeps, concurrently: one second in total.
    assert elapsed == 1


# ---------------------------------------------------------------------- tasks-with-trace.py
def step_events_by_task(lines: list[str]) -> dict[str, list[str]]:
    """The Tracer's events per task name, in order."""
    prefixes = {
        "### new task spawned: ": "spawned",
        "### task scheduled: ": "scheduled",
        ">>> about to run one step of task: ": "step",
        "<<< task step finished: ": "step done",
        "### task exited: ": "exited",
    }
    events: dict[str, list[str]] = {}
    for line in lines:
        for prefix, event in prefixes.items():
            if line.startswith(prefix):
                events.setdefault(line[len(prefix) :], []).append(event)
    return events


@pytest.fixture
def trace(capsys: pytest.CaptureFixture[str]) -> list[str]:
    module = load("tasks-with-trace.py")
    run_with_autojump(module.parent, instruments=[module.Tracer()])
    return lines_of(capsys)


def task_name(trace: list[str], function: str) -> str:
    (name,) = {
        line.rsplit(": ", 1)[1]
        for line in trace
        if line.startswith("### new task spawned: ") and line.endswith("." + function)
    }
    return name


def test_trace_starts_and_finishes_the_run(trace: list[str]) -> None:
    assert trace[0] == "!!! run started"
    assert trace[-1] == "!!! run finished"


def test_trace_shows_the_root_task_first_and_last(trace: list[str]) -> None:
    assert trace[1] == "### new task spawned: <init>"
    exits = [line for line in trace if line.startswith("### task exited: ")]
    assert exits[-1] == "### task exited: <init>"


def test_trace_every_user_task_is_spawned_scheduled_stepped_and_exits(trace: list[str]) -> None:
    events = step_events_by_task(trace)
    for function in ("parent", "child1", "child2"):
        task_events = events[task_name(trace, function)]
        assert task_events[:3] == ["spawned", "scheduled", "step"]
        assert task_events[-2:] == ["exited", "step done"]
        assert task_events.count("exited") == 1
        # Steps alternate with their ends, and each step was scheduled first.
        steps = [e for e in task_events if e in ("step", "step done")]
        assert steps == ["step", "step done"] * (len(steps) // 2)
        runnable = False
        for event in task_events:
            if event == "scheduled":
                runnable = True
            elif event == "step":
                assert runnable
                runnable = False


def test_trace_steps_never_overlap_and_io_checks_happen_between_them(trace: list[str]) -> None:
    in_step = None
    in_io_check = False
    io_checks = 0
    for line in trace:
        if line.startswith(">>> about to run one step of task: "):
            assert in_step is None and not in_io_check
            in_step = line.rsplit(": ", 1)[1]
        elif line.startswith("<<< task step finished: "):
            assert in_step == line.rsplit(": ", 1)[1]
            in_step = None
        elif line.startswith(("### waiting for I/O", "### doing a quick check for I/O")):
            assert in_step is None and not in_io_check
            in_io_check = True
        elif line.startswith("### finished I/O check"):
            assert in_io_check
            in_io_check = False
            io_checks += 1
    assert io_checks >= 2


def test_trace_program_output_happens_inside_its_tasks_steps(trace: list[str]) -> None:
    owner = {
        "parent: started!": "parent",
        "parent: all done!": "parent",
        "  child1: started! sleeping now...": "child1",
        "  child1: exiting!": "child1",
        "  child2: started! sleeping now...": "child2",
        "  child2: exiting!": "child2",
    }
    in_step = None
    for line in trace:
        if line.startswith(">>> about to run one step of task: "):
            in_step = line.rsplit(": ", 1)[1]
        elif line.startswith("<<< task step finished: "):
            in_step = None
        elif line in owner:
            assert in_step == task_name(trace, owner[line])


def test_trace_children_start_before_either_exits_and_parent_finishes_last(
    trace: list[str],
) -> None:
    def at(line: str) -> int:
        return trace.index(line)

    starts = [at("  child1: started! sleeping now..."), at("  child2: started! sleeping now...")]
    exits = [at("  child1: exiting!"), at("  child2: exiting!")]
    assert max(starts) < min(exits)
    parent = task_name(trace, "parent")
    assert at(f"### task exited: {parent}") > max(
        at(f"### task exited: {task_name(trace, 'child1')}"),
        at(f"### task exited: {task_name(trace, 'child2')}"),
    )
    # The parent is scheduled again once a child exits, and only then says it's done.
    rescheduled = max(i for i, line in enumerate(trace) if line == f"### task scheduled: {parent}")
    assert rescheduled > min(exits)
    assert at("parent: all done!") > rescheduled


def test_trace_children_sleep_through_an_io_wait(trace: list[str]) -> None:
    started = max(
        trace.index("  child1: started! sleeping now..."),
        trace.index("  child2: started! sleeping now..."),
    )
    exiting = min(trace.index("  child1: exiting!"), trace.index("  child2: exiting!"))
    waits = [i for i, line in enumerate(trace) if line.startswith("### finished I/O check")]
    assert any(started < i < exiting for i in waits)


# ---------------------------------------------------------------------- timeouts.py
TIMEOUTS_OUTPUT = [
    "fail_after(1) around a 10-second operation:",
    "  slow operation: starting, will take 10 seconds",
    "  TooSlowError after 1.0 seconds",
    "move_on_after(1): the same, but the block just stops",
    "  slow operation: starting, will take 10 seconds",
    "  cancelled_caught = True",
    "inside the block, the timeout arrives as a Cancelled exception:",
    "  caught Cancelled; re-raising it",
    "  and the with block swallowed it",
    "a child raises: the nursery cancels its siblings, then re-raises:",
    "  failing child: raising ValueError",
    "  patient sibling: cancelled, cleaning up",
    "  the nursery raised ValueError('something went wrong')",
]


def test_timeouts_example_prints_what_its_comments_promise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = load("timeouts.py")
    _, elapsed = run_with_autojump(module.main)
    assert lines_of(capsys) == TIMEOUTS_OUTPUT
    assert elapsed == 3.5  # three 1-second timeouts and the failing child's 0.5 s


def test_timeouts_example_prints_the_same_under_trio(capsys: pytest.CaptureFixture[str]) -> None:
    trio = pytest.importorskip("trio")
    trio_testing = pytest.importorskip("trio.testing")
    source = (EXAMPLES / "timeouts.py").read_text()
    assert "import triolet as trio\n" in source
    namespace: dict[str, object] = {"__name__": "timeouts_under_trio"}
    exec(
        compile(source.replace("import triolet as trio\n", "import trio\n"), "timeouts", "exec"),
        namespace,
    )
    trio.run(namespace["main"], clock=trio_testing.MockClock(autojump_threshold=0))
    assert lines_of(capsys) == TIMEOUTS_OUTPUT
