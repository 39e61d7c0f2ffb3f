"""The tutorial's networking half: examples/echo-server.py, echo-client.py, demo.py, and its
flow-control discussion (alternating send/receive deadlocks; concurrent tasks don't)."""

from __future__ import annotations

import functools
import hashlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import triolet
from triolet.testing import open_stream_to_socket_listener, wait_all_tasks_blocked

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", str(EXAMPLES / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ,
    )


def read_until(process: subprocess.Popen[str], needle: str, times: int = 1) -> str:
    """Read the process's output until ``needle`` appeared ``times`` times."""
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + TIMEOUT
    while seen.count(needle) < times:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(remaining, 0))
        line = process.stdout.readline() if ready else ""
        assert line, f"no {needle!r} x{times} within {TIMEOUT} s; output so far:\n{seen}"
        seen += line
    return seen


def wait_for_listener(port: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.05)


def test_echo_client_talks_to_echo_server_until_the_server_stops() -> None:
    port = str(free_port())
    server = start("echo-server.py", port)
    client = None
    try:
        wait_for_listener(int(port))
        client = start("echo-client.py", port)
        client_output = read_until(client, "receiver: got data", times=2)
        assert "parent: connecting to 127.0.0.1:" + port in client_output
        assert "sender: sending b'async can sometimes be confusing" in client_output
        # Control-C on the server: the client sees the connection close and exits.
        server.send_signal(signal.SIGINT)
        client_output += read_until(client, "receiver: connection closed")
        assert client.wait(TIMEOUT) != 0  # sys.exit() inside a task: as in trio
        server_output, _ = server.communicate(timeout=TIMEOUT)
        # Connection 0 was wait_for_listener's probe; the client is connection 1.
        assert "echo_server 1: started" in server_output
        assert "echo_server 1: received data b'async can sometimes" in server_output
    finally:
        for process in (server, client):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()


def test_demo_shows_traffic_and_ends_by_itself() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py"), "--clients", "3", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    for number in range(3):
        assert f"client {number} receiver: got data" in result.stdout
        assert f"echo_server {number}: received data" in result.stdout
    assert "3 clients got" in result.stdout


# -- flow control ----------------------------------------------------------------------

TEN_MEGABYTES = b"x" * 10_000_000
SMALL_BUFFER = 65536  # whatever the OS defaults are, make sure 10 MB cannot fit in flight


async def tutorial_echo_server(server_stream: triolet.SocketStream) -> None:
    """The tutorial's server: strictly alternates receive_some and send_all."""
    server_stream.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    server_stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    async for data in server_stream:
        await server_stream.send_all(data)


async def connect_small_buffered(listener: triolet.SocketListener) -> triolet.SocketStream:
    stream = await open_stream_to_socket_listener(listener)
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    return stream


async def test_alternating_send_and_receive_deadlocks_on_10_megabytes() -> None:
    progress: list[str] = []

    async def send_and_receive(client_stream: triolet.SocketStream) -> None:
        await client_stream.send_all(TEN_MEGABYTES)
        progress.append("sent everything")
        await client_stream.receive_some()

    async with triolet.open_nursery() as nursery:
        serve = functools.partial(triolet.serve_tcp, tutorial_echo_server, 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        client_stream = await connect_small_buffered(listeners[0])
        nursery.start_soon(send_and_receive, client_stream)
        # Everyone stays blocked: the client waits for the server to read, the server
        # waits for the client to read. That is the deadlock the tutorial describes.
        await wait_all_tasks_blocked(cushion=0.5)
        assert progress == []
        nursery.cancel_scope.cancel()
    await client_stream.aclose()


async def test_concurrent_sender_and_receiver_do_not_deadlock() -> None:
    received = hashlib.sha256()
    count = 0

    async def sender(client_stream: triolet.SocketStream) -> None:
        await client_stream.send_all(TEN_MEGABYTES)
        await client_stream.send_eof()

    async def receiver(client_stream: triolet.SocketStream) -> None:
        nonlocal count
        async for data in client_stream:
            received.update(data)
            count += len(data)

    with triolet.fail_after(TIMEOUT):
        async with triolet.open_nursery() as server_nursery:
            serve = functools.partial(triolet.serve_tcp, tutorial_echo_server, 0, host="127.0.0.1")
            listeners = await server_nursery.start(serve)
            async with await connect_small_buffered(listeners[0]) as client_stream:
                async with triolet.open_nursery() as nursery:
                    nursery.start_soon(sender, client_stream)
                    nursery.start_soon(receiver, client_stream)
            server_nursery.cancel_scope.cancel()
    assert count == len(TEN_MEGABYTES)
    assert received.digest() == hashlib.sha256(TEN_MEGABYTES).digest()
