"""httpx's AsyncClient against a hypercorn server (trio worker), both on triolet."""

from __future__ import annotations

from collections.abc import Callable

# A kernel bug, reported with a reproducer; remove once fixed (the test then says so).
STARTED_WITH_CHILDREN_BUG = (
    "task_status.started() can't be called while the task has child tasks running",
    "kernel: task_status.started() raises RuntimeError while the task has children in its "
    "own nurseries; trio allows it, and hypercorn.trio.serve calls it that way",
)


def test_httpx_fetches_500_checked_responses_from_hypercorn(
    require_triolet: Callable[..., None], run_program: Callable[..., str]
) -> None:
    require_triolet(
        "open_tcp_stream",
        "serve_listeners",
        "SocketListener",
        "SocketStream",
        "socket.from_stdlib_socket",
        "open_memory_channel",
        "Lock",
        "Event",
    )
    output = run_program("httpx_hypercorn.py", known_bug=STARTED_WITH_CHILDREN_BUG)
    assert output.split() == "ok 500 responses on triolet".split()
