"""An httpx.AsyncClient fetching 500 responses from a hypercorn server (trio worker), both
in one run, every body checked.

Under the alias (``python -m triolet run --as-trio httpx_hypercorn.py``) both run on
triolet and it prints "ok 500 responses on triolet"; under plain ``python`` it checks the
same on the real trio.
"""

from __future__ import annotations

import functools
import logging

import httpx
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPResponseStartEvent,
    Scope,
)

REQUESTS = 500
CONCURRENT_CLIENTS = 10
TIME_LIMIT = 30  # seconds


def expected_body(number: int) -> bytes:
    # Sizes vary from a few bytes to ~64 KiB so that some bodies span many reads.
    return f"response {number};".encode() * (1 + (number * 37) % 4000)


async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """A minimal ASGI app: GET /N answers expected_body(N)."""
    if scope["type"] != "http":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = expected_body(int(scope["path"].lstrip("/")))
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", str(len(body)).encode()),
    ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 200,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def fetch_all(base_url: str) -> int:
    checked = 0
    limits = httpx.Limits(max_connections=CONCURRENT_CLIENTS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:

        async def fetch_share(first: int) -> None:
            nonlocal checked
            for number in range(first, REQUESTS, CONCURRENT_CLIENTS):
                response = await client.get(f"/{number}")
                assert response.status_code == 200, (number, response.status_code)
                assert response.content == expected_body(number), f"body {number} differs"
                checked += 1

        async with trio.open_nursery() as nursery:
            for first in range(CONCURRENT_CLIENTS):
                nursery.start_soon(fetch_share, first)
    return checked


async def main() -> None:
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.quiet")
    config.errorlog.disabled = True
    shutdown = trio.Event()
    with trio.fail_after(TIME_LIMIT):
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(
                functools.partial(serve, app, config, shutdown_trigger=shutdown.wait)
            )
            checked = await fetch_all(binds[0])
            shutdown.set()
    assert checked == REQUESTS, checked
    print(f"ok {checked} responses on {trio.__name__}")


if __name__ == "__main__":
    trio.run(main)
