import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROGRAM = textwrap.dedent(
    """
    import sys
    import triolet

    async def idle_worker():
        await triolet.sleep_forever()

    async def main():
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(idle_worker, name="idle-worker")
            await triolet.testing.wait_all_tasks_blocked()
            print("ready", flush=True)
            await triolet.lowlevel.wait_readable(sys.stdin)  # parent closes stdin to stop us
            nursery.cancel_scope.cancel()

    triolet.run(main)
    """
)


@pytest.fixture
def known_program(tmp_path: Path):  # type: ignore[no-untyped-def]
    script = tmp_path / "known_program.py"
    script.write_text(PROGRAM)
    env = dict(os.environ, TRIOLET_DEBUG_SERVER="1", XDG_RUNTIME_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    yield proc, env
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triolet", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


def test_ps_lists_the_tasks_of_another_process(known_program) -> None:  # type: ignore[no-untyped-def]
    proc, env = known_program
    result = _cli(env, "ps", str(proc.pid))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TASK", "STATE", "WAITING", "FOR"]
    worker = next(line for line in lines if "idle-worker" in line)
    assert "parked" in worker and "reschedule, in idle_worker" in worker
    main = next(line for line in lines if "__main__.main" in line)
    assert "fd 0 to become readable" in main


def test_pstree_shows_the_tree_with_stacks(known_program) -> None:  # type: ignore[no-untyped-def]
    proc, env = known_program
    result = _cli(env, "pstree", str(proc.pid))
    assert result.returncode == 0, result.stderr
    assert "└─ idle-worker [parked" in result.stdout
    assert "known_program.py" in result.stdout and "in idle_worker" in result.stdout


def test_ps_leaves_a_program_that_did_not_opt_in_alone(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    result = _cli(env, "ps", str(os.getpid()))
    assert result.returncode == 1
    assert "no triolet debug server" in result.stderr
    assert "was not touched" in result.stderr
