"""Every program the documentation shows runs, and prints what the documentation says.

The examples live in ``docs/examples/``; the output the pages show lives in
``docs/examples/output/NAME.txt`` and is compared here with what the program prints
now. Outputs that hold timings, clock values, file descriptors or line numbers are
compared with every number replaced by ``N``, and with the lines that point into
triolet's own source left out (those move whenever the kernel is edited). After
changing an example, regenerate its output file with::

    TRIOLET_UPDATE_DOCS_OUTPUT=1 python -m pytest tests/test_docs_examples.py

and check the diff before committing it. Everything runs on loopback only and ends by
itself within a second or two.
"""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
OUTPUTS = EXAMPLES / "output"
TIMEOUT = 30
UPDATE = os.environ.get("TRIOLET_UPDATE_DOCS_OUTPUT") == "1"

# A path into the examples or into triolet's source, as the docs show it: shortened.
_PATH = re.compile(r"""[^\s"':]*/(docs/examples/|src/triolet/)""")
_TRIOLET_FRAME = re.compile(r"\.\.\./src/triolet/\S+\.py")


def shorten_paths(text: str) -> str:
    return _PATH.sub(r".../\1", text)


def comparable(text: str) -> list[str]:
    """The lines of ``text`` that must match: numbers and triolet's own frames left out."""
    lines = []
    skip_source_line = False
    for line in shorten_paths(text).splitlines():
        if skip_source_line:
            skip_source_line = False
            continue
        if _TRIOLET_FRAME.search(line):
            # A traceback frame is followed by its source line; a tree's frame is not.
            skip_source_line = line.lstrip().startswith("File ")
            continue
        lines.append(re.sub(r"\d+(\.\d+)?", "N", line).rstrip())
    return lines


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", **extra)
    for switch in ("TRIOLET_WATCHDOG", "TRIOLET_DEBUG_SERVER", "TRIOLET_DETECT_DEADLOCKS"):
        if switch not in extra:
            env.pop(switch, None)
    return env


def run_example(*command: str, **extra_env: str) -> str:
    """Run ``python COMMAND`` in docs/examples; return stdout and stderr, interleaved."""
    result = subprocess.run(
        [sys.executable, *command],
        cwd=EXAMPLES,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
        env=environment(**extra_env),
    )
    assert result.returncode == 0, result.stdout
    return result.stdout


def check_output(name: str, output: str, *, exact: bool) -> None:
    """Compare ``output`` with docs/examples/output/NAME.txt (or rewrite that file)."""
    documented_file = OUTPUTS / f"{name}.txt"
    if UPDATE:
        OUTPUTS.mkdir(exist_ok=True)
        documented_file.write_text(shorten_paths(output))
        return
    documented = documented_file.read_text()
    if exact:
        assert output == documented
    else:
        assert comparable(output) == comparable(documented)


# ------------------------------------------------------------------- getting started
@pytest.mark.parametrize(
    ("script", "exact"),
    [
        ("first_steps.py", False),
        ("tasks.py", True),
        ("timeouts.py", True),
        ("triolet_version.py", True),
        ("cancel_semantics.py", True),
    ],
)
def test_example_prints_what_the_docs_show(script: str, exact: bool) -> None:
    check_output(script.removesuffix(".py"), run_example(script), exact=exact)


def test_forgotten_await_warns_and_does_not_sleep() -> None:
    output = run_example("forgot_await.py")
    assert "RuntimeWarning: coroutine 'sleep' was never awaited" in output
    assert "woke up after 0.0 s" in output


def test_tracer_shows_the_scheduling_events_in_the_documented_order() -> None:
    # How the I/O waits fall depends on timing, so compare everything else, in order.
    def events(text: str) -> list[str]:
        return [line for line in comparable(text) if "I/O" not in line]

    output = run_example("tracer.py")
    if UPDATE:
        check_output("tracer", output, exact=False)
        return
    assert events(output) == events((OUTPUTS / "tracer.txt").read_text())


def test_echo_examples_are_the_ones_the_tutorial_test_runs() -> None:
    # tests/test_tutorial_echo.py runs examples/echo-server.py and echo-client.py; the
    # getting-started page includes those files, so here we only check the inclusion.
    page = (DOCS / "getting-started.rst").read_text()
    assert "literalinclude:: ../examples/echo-server.py" in page
    assert "literalinclude:: ../examples/echo-client.py" in page


# ---------------------------------------------------------------- coming from asyncio
def test_asyncio_and_triolet_versions_print_the_same() -> None:
    assert run_example("asyncio_version.py") == run_example("triolet_version.py")


# ---------------------------------------------------------------- porting from trio
def test_a_trio_program_runs_unchanged_under_as_trio() -> None:
    output = run_example("-m", "triolet", "run", "--as-trio", "written_for_trio.py")
    check_output("written_for_trio", output, exact=True)


def test_anyio_runs_on_triolet_after_install_trio_alias() -> None:
    check_output("alias_with_anyio", run_example("alias_with_anyio.py"), exact=True)


def test_porting_page_names_exactly_what_triolet_lacks() -> None:
    # The page lists trio's public names that triolet does not have yet; keep it true.
    missing = []
    for submodule in ("", ".abc", ".from_thread", ".lowlevel", ".socket", ".testing", ".to_thread"):
        # The real trio (a test dependency), imported in this process only.
        theirs = importlib.import_module("trio" + submodule)
        ours = importlib.import_module("triolet" + submodule)
        missing += [
            f"trio{submodule}.{name}"
            for name in dir(theirs)
            if not name.startswith("_") and not hasattr(ours, name)
        ]
    page = (DOCS / "porting-from-trio.rst").read_text()
    section = page.split(".. not-yet-start", 1)[1].split(".. not-yet-end", 1)[0]
    listed = sorted(re.findall(r"``(trio(?:\.\w+)+)``", section))
    assert listed == sorted(missing), (
        "update the 'not there yet' list in docs/porting-from-trio.rst: it names "
        f"{listed}, but triolet lacks {sorted(missing)}"
    )


# ------------------------------------------------------------- debugging a stuck program
def test_task_tree_demo_prints_the_documented_tree() -> None:
    check_output("task_tree_demo", run_example("task_tree_demo.py"), exact=False)


def test_deadlock_demo_reports_both_relays() -> None:
    check_output("deadlock_demo", run_example("deadlock_demo.py"), exact=False)


def test_deadlock_detection_from_the_environment_prints_the_report() -> None:
    program = "import triolet\n\nasync def main():\n    await triolet.Event().wait()\n\n"
    program += "triolet.run(main)\n"
    process = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(TRIOLET_DETECT_DEADLOCKS="print"),
    )
    assert process.stderr is not None
    try:
        first_line = process.stderr.readline()
    finally:
        process.kill()
        process.communicate(timeout=TIMEOUT)
    assert first_line.startswith("triolet: deadlock detected")


def test_watchdog_demo_logs_the_blocking_task() -> None:
    check_output("watchdog_demo", run_example("watchdog_demo.py"), exact=False)


def test_watchdog_from_the_environment() -> None:
    program = "import time, triolet\n\nasync def main():\n    time.sleep(0.3)\n\n"
    program += "triolet.run(main)\n"
    output = run_example("-c", program, TRIOLET_WATCHDOG="0.1")
    assert "task '__main__.main' has blocked the triolet event loop" in output


@pytest.fixture
def stuck_program(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    env = environment(TRIOLET_DEBUG_SERVER="1", XDG_RUNTIME_DIR=str(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "stuck.py"],
        cwd=EXAMPLES,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith(f"pid {process.pid} is running"), first_line
        yield process, env
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("subcommand", ["ps", "pstree"])
def test_ps_and_pstree_show_the_stuck_program(
    stuck_program: tuple[subprocess.Popen[str], dict[str, str]], subcommand: str
) -> None:
    process, env = stuck_program
    result = subprocess.run(
        [sys.executable, "-m", "triolet", subcommand, str(process.pid)],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    check_output(f"stuck_{subcommand}", result.stdout, exact=False)


def test_ps_refuses_a_program_that_did_not_opt_in(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "triolet", "ps", str(os.getpid())],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environment(XDG_RUNTIME_DIR=str(tmp_path)),
    )
    assert result.returncode == 1
    assert "has no triolet debug server" in result.stderr


def test_repl_transcript_on_the_debugging_page() -> None:
    """Feed the transcript's input to ``python -m triolet``; its output must follow."""
    page = (DOCS / "debugging.rst").read_text()
    block = page.split(".. repl-transcript-start", 1)[1].split(".. repl-transcript-end", 1)[0]
    # The code block's lines are indented by three spaces; the directive line is not.
    transcript = [line[3:] for line in block.splitlines() if line.startswith("   ")]
    typed_lines = [line[4:] for line in transcript if line.startswith((">>>", "..."))]
    assert typed_lines, "no transcript found on the debugging page"
    expected = [line for line in transcript if not line.startswith((">>>", "..."))]
    result = subprocess.run(
        [sys.executable, "-m", "triolet"],
        input="\n".join(typed_lines) + "\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environment(),
    )
    assert result.returncode == 0, result.stderr
    printed = [re.sub(r"^((>>>|\.\.\.) )+", "", line) for line in result.stdout.splitlines()]
    # File descriptor numbers depend on what the interpreter opened before.
    printed = [re.sub(r"fd \d+", "fd N", line) for line in printed if line.strip()]
    expected = [re.sub(r"fd \d+", "fd N", line) for line in expected]
    position = 0
    for line in expected:
        assert line in printed[position:], f"{line!r} not printed; output:\n{result.stdout}"
        position = printed.index(line, position) + 1


def test_plugin_example_passes_with_marks_alone() -> None:
    # triolet_mode is switched off so that the marks in the example do the work.
    example = str(EXAMPLES / "test_with_the_plugin.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "triolet_mode=false", example],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 2,
        env=environment(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
