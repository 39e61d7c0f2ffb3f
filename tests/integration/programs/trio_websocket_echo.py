"""A trio-websocket echo round trip over loopback: text and binary messages, then a clean
close. Prints "ok websocket echo on triolet" under ``python -m triolet run --as-trio``
(on the real trio under plain ``python``)."""

from __future__ import annotations

import functools

import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketRequest,
    open_websocket_url,
    serve_websocket,
)

TIME_LIMIT = 20  # seconds
MESSAGES: list[str | bytes] = ["hello", "", "ünïcödé " * 1000, b"\x00\x01binary" * 5000]


async def echo_handler(request: WebSocketRequest) -> None:
    websocket = await request.accept()
    try:
        while True:
            await websocket.send_message(await websocket.get_message())
    except ConnectionClosed:
        pass


async def main() -> None:
    with trio.fail_after(TIME_LIMIT):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                functools.partial(serve_websocket, echo_handler, "127.0.0.1", 0, ssl_context=None)
            )
            async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as websocket:
                for message in MESSAGES:
                    await websocket.send_message(message)
                    echoed = await websocket.get_message()
                    assert echoed == message, f"echo of a {len(message)}-long message differs"
            assert websocket.closed is not None
            nursery.cancel_scope.cancel()
    print(f"ok websocket echo on {trio.__name__}")


if __name__ == "__main__":
    trio.run(main)
