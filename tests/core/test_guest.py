"""triolet as a guest inside an asyncio host loop (lowlevel.start_guest_run), on each backend."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from typing import Any

import outcome
import pytest

import triolet

# Both I/O backends: in guest mode the backend is polled from a helper thread.
pytestmark = [pytest.mark.triolet_only, pytest.mark.usefixtures("io_backend")]


def run_as_guest(
    guest_main: Callable[[], Awaitable[Any]], host_side: Callable[[], Awaitable[None]] | None = None
) -> outcome.Outcome[Any]:
    """Run ``guest_main`` as a triolet guest of a fresh asyncio loop; return its outcome."""

    async def host() -> outcome.Outcome[Any]:
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[outcome.Outcome[Any]] = loop.create_future()
        triolet.lowlevel.start_guest_run(
            guest_main,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            run_sync_soon_not_threadsafe=loop.call_soon,
            done_callback=finished.set_result,
        )
        if host_side is not None:
            await host_side()
        return await finished

    return asyncio.run(host())


def test_guest_timers_run_while_the_host_loop_keeps_running() -> None:
    log: list[str] = []

    async def guest() -> str:
        for i in range(3):
            await triolet.sleep(0.02)
            log.append(f"guest {i}")
        return "guest result"

    async def host_side() -> None:
        for i in range(3):
            await asyncio.sleep(0.015)
            log.append(f"host {i}")

    result = run_as_guest(guest, host_side)
    assert result.unwrap() == "guest result"
    assert [entry for entry in log if entry.startswith("guest")] == [
        "guest 0",
        "guest 1",
        "guest 2",
    ]
    assert [entry for entry in log if entry.startswith("host")] == ["host 0", "host 1", "host 2"]
    # Interleaved, not one after the other: the host ran while the guest slept.
    assert log.index("host 0") < log.index("guest 2")


def test_guest_waits_for_io_that_the_host_produces() -> None:
    left, right = socket.socketpair()
    left.setblocking(False)

    async def guest() -> bytes:
        await triolet.lowlevel.wait_readable(left)
        return left.recv(100)

    async def host_side() -> None:
        await asyncio.sleep(0.05)
        right.send(b"from the host")

    with left, right:
        assert run_as_guest(guest, host_side).unwrap() == b"from the host"


def test_guest_round_trips_through_worker_threads() -> None:
    async def guest() -> list[int]:
        return [await triolet.to_thread.run_sync(lambda i=i: i * 2) for i in range(200)]

    assert run_as_guest(guest).unwrap() == [i * 2 for i in range(200)]


def test_guest_cancellation_and_timeouts_work() -> None:
    async def guest() -> bool:
        with triolet.move_on_after(0.05) as scope:
            await triolet.sleep_forever()
        return scope.cancelled_caught

    assert run_as_guest(guest).unwrap() is True


def test_guest_errors_reach_the_done_callback() -> None:
    async def guest() -> None:
        await triolet.sleep(0)
        raise ValueError("guest failed")

    result = run_as_guest(guest)
    assert isinstance(result, outcome.Error)
    assert isinstance(result.error, ValueError)


def test_keyboard_interrupt_in_the_guest_is_delivered_as_its_outcome() -> None:
    async def guest() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(triolet.sleep_forever)
            await triolet.sleep(0.01)
            raise KeyboardInterrupt

    result = run_as_guest(guest)
    assert isinstance(result, outcome.Error)
    error = result.error
    if isinstance(error, BaseExceptionGroup):
        [error] = error.exceptions
    assert isinstance(error, KeyboardInterrupt)


def test_guest_run_refuses_to_nest_inside_a_run() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="inside a run"):
            triolet.lowlevel.start_guest_run(
                triolet.sleep,
                0,
                run_sync_soon_threadsafe=lambda fn: None,
                done_callback=lambda result: None,
            )

    triolet.run(main)


def test_host_stopping_first_leaves_the_process_healthy() -> None:
    program = textwrap.dedent(
        """
        import asyncio, triolet

        async def host():
            loop = asyncio.get_running_loop()
            triolet.lowlevel.start_guest_run(
                triolet.sleep, 0.2,
                run_sync_soon_threadsafe=loop.call_soon_threadsafe,
                done_callback=lambda result: print("guest finished", result),
            )
            await asyncio.sleep(0.01)
            print("host done")

        asyncio.run(host())
        print("process still fine")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["host done", "process still fine"]
    assert "Traceback" not in result.stderr
