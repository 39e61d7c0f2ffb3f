"""trio-websocket's client and server, on triolet."""

from __future__ import annotations

from collections.abc import Callable


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
    output = run_program("trio_websocket_echo.py")
    assert output.split() == "ok websocket echo on triolet".split()
