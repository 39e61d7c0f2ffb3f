"""2,000 concurrent loopback clients push 64 KiB of random bytes each through an echo server.

Every client sends and receives at the same time (the tutorial's lesson: a client that
alternates would deadlock once the buffers fill) and checks a digest of what came back.
Afterwards the process must hold exactly the descriptors it held before.
"""

from __future__ import annotations

import functools
import hashlib
import os
import resource

import pytest

import triolet
from triolet.testing import open_stream_to_socket_listener

CLIENTS = 2000
PAYLOAD = 64 * 1024
TIME_LIMIT = 20.0


def open_descriptor_count() -> int:
    return len(os.listdir("/proc/self/fd"))


async def echo(stream: triolet.SocketStream) -> None:
    async for data in stream:
        await stream.send_all(data)


async def client(listener: triolet.SocketListener, seed: int, failures: list[str]) -> None:
    payload = hashlib.shake_256(seed.to_bytes(4, "big")).digest(PAYLOAD)
    received = hashlib.sha256()
    count = 0
    async with await open_stream_to_socket_listener(listener) as stream:

        async def send() -> None:
            await stream.send_all(payload)
            await stream.send_eof()

        async with triolet.open_nursery() as nursery:
            nursery.start_soon(send)
            async for chunk in stream:
                received.update(chunk)
                count += len(chunk)
    if count != PAYLOAD or received.digest() != hashlib.sha256(payload).digest():
        failures.append(f"client {seed}: {count} bytes back, digest mismatch")


@pytest.mark.stress
async def test_two_thousand_clients_echo_64_kib_each() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * CLIENTS + 100:
        pytest.skip(f"RLIMIT_NOFILE {soft} is too low for {CLIENTS} loopback connections")
    descriptors_before = open_descriptor_count()
    failures: list[str] = []
    with triolet.fail_after(TIME_LIMIT):
        async with triolet.open_nursery() as server_nursery:
            serve = functools.partial(triolet.serve_tcp, echo, 0, host="127.0.0.1", backlog=CLIENTS)
            listeners = await server_nursery.start(serve)
            async with triolet.open_nursery() as clients:
                for seed in range(CLIENTS):
                    clients.start_soon(client, listeners[0], seed, failures)
            server_nursery.cancel_scope.cancel()
    assert failures == []
    assert open_descriptor_count() == descriptors_before
