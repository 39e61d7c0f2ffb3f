"""run_process, lowlevel.open_process and Process.

Public API only, except the tests marked ``triolet_only``; the rest also run against
real trio: ``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_subprocess.py``.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import active_thread_count, wait_all_tasks_blocked

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"
triolet_only = pytest.mark.skipif(UNDER_TRIO, reason="triolet internals or triolet-only API")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX commands")

PIPE = subprocess.PIPE


def _was_reaped(pid: int) -> bool:
    """Whether ``pid`` is no longer a child of ours (exited *and* waited for: no zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


async def _start_with_ready_line(
    nursery: triolet.Nursery, script: str, **kwargs: Any
) -> triolet.Process:
    """Start ``sh -c script`` under run_process and wait until it printed its first line."""
    process: triolet.Process = await nursery.start(
        functools.partial(run_process_with_pipe, script, **kwargs)
    )
    assert process.stdout is not None
    assert await process.stdout.receive_some(100) == b"ready\n"
    return process


async def run_process_with_pipe(script: str, *, task_status: Any, **kwargs: Any) -> None:
    await triolet.run_process(["sh", "-c", script], stdout=PIPE, task_status=task_status, **kwargs)


# ---------------------------------------------------------------------- run_process
async def test_run_process_returns_a_completed_process() -> None:
    result = await triolet.run_process(["true"])
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.args == ["true"]
    assert result.returncode == 0
    assert result.stdout is None and result.stderr is None


async def test_run_process_feeds_stdin_and_captures_stdout() -> None:
    result = await triolet.run_process(["cat"], stdin=b"some input", capture_stdout=True)
    assert result.stdout == b"some input"


async def test_run_process_feeds_input_larger_than_a_pipe_buffer() -> None:
    data = bytes(range(256)) * 2048  # 512 KiB
    result = await triolet.run_process(["cat"], stdin=data, capture_stdout=True)
    assert result.stdout == data


async def test_run_process_captures_stderr_separately() -> None:
    result = await triolet.run_process(
        ["sh", "-c", "echo out; echo err >&2"], capture_stdout=True, capture_stderr=True
    )
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")


async def test_default_stdin_is_empty() -> None:
    result = await triolet.run_process(["cat"], capture_stdout=True)
    assert result.stdout == b""


async def test_nonzero_exit_raises_called_process_error_with_output() -> None:
    with pytest.raises(subprocess.CalledProcessError) as caught:
        await triolet.run_process(
            ["sh", "-c", "echo partial; echo oops >&2; exit 3"],
            capture_stdout=True,
            capture_stderr=True,
        )
    error = caught.value
    assert error.returncode == 3
    assert error.cmd == ["sh", "-c", "echo partial; echo oops >&2; exit 3"]
    assert (error.output, error.stderr) == (b"partial\n", b"oops\n")


async def test_check_false_returns_the_nonzero_status() -> None:
    result = await triolet.run_process(["sh", "-c", "exit 7"], check=False)
    assert result.returncode == 7


async def test_shell_command_is_one_string() -> None:
    result = await triolet.run_process("echo $((6 * 7))", shell=True, capture_stdout=True)
    assert result.stdout == b"42\n"


async def test_str_stdin_raises_unicode_error() -> None:
    with pytest.raises(UnicodeError):
        await triolet.run_process(["cat"], stdin="text")  # type: ignore[arg-type]


@pytest.mark.parametrize("option", ["stdin", "stdout", "stderr"])
async def test_pipes_need_nursery_start(option: str) -> None:
    with pytest.raises(ValueError):
        await triolet.run_process(["true"], **{option: PIPE})


async def test_capture_and_explicit_stdout_conflict() -> None:
    with pytest.raises(ValueError):
        await triolet.run_process(["true"], capture_stdout=True, stdout=subprocess.DEVNULL)


async def test_missing_program_raises_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        await triolet.run_process(["/nonexistent/program"])


async def test_nursery_start_hands_back_the_process_and_its_pipes() -> None:
    async with triolet.open_nursery() as nursery:
        process: triolet.Process = await nursery.start(
            functools.partial(triolet.run_process, ["cat"], stdin=PIPE, stdout=PIPE)
        )
        assert process.stdin is not None and process.stdout is not None
        await process.stdin.send_all(b"ping")
        assert await process.stdout.receive_some(4) == b"ping"
        await process.stdin.aclose()
        assert await process.stdout.receive_some(4) == b""
        await process.stdout.aclose()
    assert process.returncode == 0


async def test_cancelled_run_process_kills_and_reaps_the_child() -> None:
    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            process = await _start_with_ready_line(nursery, "echo ready; exec sleep 100")
            scope.cancel()
    assert scope.cancelled_caught
    assert process.returncode == -signal.SIGTERM
    assert _was_reaped(process.pid)


async def test_child_ignoring_sigterm_gets_sigkill_after_grace_period(
    autojump_clock: triolet.testing.MockClock,
) -> None:
    # The mock clock jumps over the 5 s grace period as soon as everything is blocked.
    with pytest.warns(RuntimeWarning, match="SIGTERM"):
        with triolet.CancelScope() as scope:
            async with triolet.open_nursery() as nursery:
                process = await _start_with_ready_line(
                    nursery, "trap '' TERM; echo ready; while :; do sleep 0.01; done"
                )
                scope.cancel()
    assert process.returncode == -signal.SIGKILL
    assert _was_reaped(process.pid)


async def test_custom_deliver_cancel_is_used() -> None:
    delivered_to: list[triolet.Process] = []

    async def deliver_cancel(process: triolet.Process) -> None:
        delivered_to.append(process)
        process.send_signal(signal.SIGUSR1)

    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            process = await _start_with_ready_line(
                nursery, "echo ready; exec sleep 100", deliver_cancel=deliver_cancel
            )
            scope.cancel()
    assert delivered_to == [process]
    assert process.returncode == -signal.SIGUSR1


# ---------------------------------------------------------------------- open_process / Process
async def test_open_process_returns_a_running_process() -> None:
    process = await lowlevel.open_process(["sleep", "100"])
    try:
        assert process.returncode is None and process.poll() is None
        assert isinstance(process.pid, int)
        assert str(process.pid) in repr(process)
        assert process.stdin is None and process.stdout is None and process.stderr is None
    finally:
        process.kill()
        assert await process.wait() == -signal.SIGKILL
    assert process.poll() == -signal.SIGKILL
    assert "exited" in repr(process)


async def test_process_stdio_staples_stdin_and_stdout() -> None:
    process = await lowlevel.open_process(["cat"], stdin=PIPE, stdout=PIPE)
    assert process.stdio is not None
    await process.stdio.send_all(b"round trip")
    await process.stdio.send_eof()
    received = b""
    async for chunk in process.stdio:
        received += chunk
    assert received == b"round trip"
    assert await process.wait() == 0
    await process.stdio.aclose()


async def test_process_stderr_pipe() -> None:
    process = await lowlevel.open_process(["sh", "-c", "echo problem >&2"], stderr=PIPE)
    assert process.stderr is not None and process.stdio is None
    assert await process.stderr.receive_some() == b"problem\n"
    await process.wait()
    await process.stderr.aclose()


@pytest.mark.parametrize(
    ("command", "options"),
    [("true", {}), (["true"], {"shell": True})],
    ids=["string-without-shell", "list-with-shell"],
)
async def test_open_process_checks_the_command_shape(command: Any, options: Any) -> None:
    with pytest.raises(TypeError):
        await lowlevel.open_process(command, **options)


@pytest.mark.parametrize(
    "option", [{"text": True}, {"universal_newlines": True}, {"encoding": "utf-8"}, {"bufsize": 1}]
)
async def test_open_process_refuses_text_and_buffering_options(option: Any) -> None:
    with pytest.raises(TypeError):
        await lowlevel.open_process(["true"], **option)


async def test_terminate_and_send_signal() -> None:
    process = await lowlevel.open_process(["sleep", "100"])
    process.terminate()
    assert await process.wait() == -signal.SIGTERM
    other = await lowlevel.open_process(["sleep", "100"])
    other.send_signal(signal.SIGINT)
    assert await other.wait() == -signal.SIGINT


async def test_signalling_a_reaped_process_does_nothing() -> None:
    process = await lowlevel.open_process(["true"])
    await process.wait()
    process.kill()
    process.terminate()
    process.send_signal(signal.SIGTERM)
    assert process.returncode == 0


async def test_several_tasks_can_wait_at_once() -> None:
    process = await lowlevel.open_process(["sh", "-c", "read line; exit 4"], stdin=PIPE)
    statuses: list[int] = []

    async def waiter() -> None:
        statuses.append(await process.wait())

    async with triolet.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(waiter)
        await wait_all_tasks_blocked()
        assert process.stdin is not None
        await process.stdin.send_all(b"go\n")
        await process.stdin.aclose()
    assert statuses == [4, 4, 4]


async def test_waiting_uses_no_worker_thread_on_linux() -> None:
    if not hasattr(os, "pidfd_open"):
        pytest.skip("no pidfd on this platform")
    process = await lowlevel.open_process(["sh", "-c", "read line"], stdin=PIPE)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(process.wait)
        await wait_all_tasks_blocked()
        assert active_thread_count() == 0
        assert process.stdin is not None
        await process.stdin.aclose()


async def test_cancelled_wait_leaves_the_process_running() -> None:
    process = await lowlevel.open_process(["sleep", "100"])
    with triolet.move_on_after(0.01) as scope:
        await process.wait()
    assert scope.cancelled_caught
    assert process.poll() is None
    process.kill()
    await process.wait()
    assert _was_reaped(process.pid)


async def test_wait_on_an_exited_process_is_a_checkpoint() -> None:
    process = await lowlevel.open_process(["true"])
    await process.wait()
    with triolet.testing.assert_checkpoints():
        await process.wait()


async def test_failed_spawn_leaks_no_file_descriptors() -> None:
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    for _ in range(5):
        with pytest.raises(FileNotFoundError):
            await lowlevel.open_process(["/nonexistent"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


# ---------------------------------------------------------------------- triolet only
@triolet_only
async def test_wait_falls_back_to_a_thread_without_pidfd(monkeypatch: pytest.MonkeyPatch) -> None:
    from triolet import _subprocess

    monkeypatch.setattr(_subprocess, "_open_pidfd", lambda pid: None)
    process = await lowlevel.open_process(["sh", "-c", "exit 5"])
    assert await process.wait() == 5
    sleeper = await lowlevel.open_process(["sleep", "100"])
    with triolet.move_on_after(0.01):
        await sleeper.wait()
    sleeper.kill()
    assert await sleeper.wait() == -signal.SIGKILL


@triolet_only
async def test_aclose_closes_stdin_and_waits() -> None:
    process = await lowlevel.open_process(["cat"], stdin=PIPE, stdout=PIPE)
    await process.aclose()
    assert process.returncode == 0
    assert _was_reaped(process.pid)


@triolet_only
async def test_cancelled_aclose_kills_and_reaps() -> None:
    process = await lowlevel.open_process(["sleep", "100"])
    with triolet.CancelScope() as scope:
        scope.cancel()
        await process.aclose()
    assert process.returncode == -signal.SIGKILL
    assert _was_reaped(process.pid)
