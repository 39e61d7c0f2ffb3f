"""trio-websocket's client and server, on triolet."""

from __future__ import annotations

from collections.abc import Callable

# A kernel bug, reported with a reproducer; remove once fixed (the test then says so).
STARTED_WITH_CHILDREN_BUG = (
    "task_status.started() can't be called while the task has child tasks running",
    "kernel: task_status.started() raises RuntimeError while the task has children in its "
    "own nurseries; trio allows it, and trio_websocket.serve_websocket calls it that way",
)


def test_websocket_echo_round_trip(
    require_triolet: Callable[..., None], run_program: Callable[..., str]
) -> None:
    require_triolet(
        "open_tcp_stream",
        "open_tcp_listeners",
        "serve_listeners",
        "SocketListener",
        "SocketStream",
        "open_memory_channel",
        "StrictFIFOLock",
        "Event",
    )
    output = run_program("trio_websocket_echo.py", known_bug=STARTED_WITH_CHILDREN_BUG)
    assert output.split() == "ok websocket echo on triolet".split()
