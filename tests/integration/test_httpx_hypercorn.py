"""httpx's AsyncClient against a hypercorn server (trio worker), both on triolet."""

from __future__ import annotations

from collections.abc import Callable


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
    output = run_program("httpx_hypercorn.py")
    assert output.split() == "ok 500 responses on triolet".split()
