"""open_stream_to_socket_listener (src/triolet/testing/_network.py).

Also runs the stream conformance suites over real sockets: TCP connections made with
open_tcp_listeners + open_stream_to_socket_listener, plain and clogged.
"""

from __future__ import annotations

import os
import socket as stdlib_socket
from pathlib import Path

import pytest

import triolet
from triolet.testing import check_half_closeable_stream, open_stream_to_socket_listener


async def _accept_and_exchange(listener: triolet.SocketListener) -> None:
    client = await open_stream_to_socket_listener(listener)
    server = await listener.accept()
    async with client, server:
        assert isinstance(client, triolet.SocketStream)
        await client.send_all(b"hello server")
        assert await server.receive_some() == b"hello server"
        await server.send_all(b"hello client")
        assert await client.receive_some() == b"hello client"


async def test_connects_to_a_tcp_listener_on_a_port_it_picked() -> None:
    (listener, *_others) = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with listener:
        await _accept_and_exchange(listener)


async def test_connects_through_loopback_to_an_ipv4_wildcard_listener() -> None:
    (listener, *_others) = await triolet.open_tcp_listeners(0, host="0.0.0.0")
    async with listener:
        await _accept_and_exchange(listener)


@pytest.mark.skipif(not stdlib_socket.has_ipv6, reason="no IPv6 on this host")
async def test_connects_through_loopback_to_an_ipv6_wildcard_listener() -> None:
    try:
        (listener, *_others) = await triolet.open_tcp_listeners(0, host="::")
    except OSError:
        pytest.skip("can't listen on IPv6 here")
    async with listener:
        await _accept_and_exchange(listener)


async def test_connects_to_a_unix_socket_listener(tmp_path: Path) -> None:
    listening_socket = triolet.socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    await listening_socket.bind(os.fspath(tmp_path / "listener.sock"))
    listening_socket.listen()
    async with triolet.SocketListener(listening_socket) as listener:
        await _accept_and_exchange(listener)


async def _tcp_stream_pair() -> tuple[triolet.SocketStream, triolet.SocketStream]:
    (listener, *_others) = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with listener:
        client = await open_stream_to_socket_listener(listener)
        server = await listener.accept()
    return client, server


async def _clogged_tcp_stream_pair() -> tuple[triolet.SocketStream, triolet.SocketStream]:
    client, server = await _tcp_stream_pair()
    for stream in (client, server):
        stream.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_SNDBUF, 1)
        stream.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 1)
    # Fill both directions until the kernel refuses more: the next send_all must block.
    for stream in (client, server):
        try:
            while True:
                os.write(stream.socket.fileno(), b"x" * 65536)
        except BlockingIOError:
            pass
    return client, server


async def test_tcp_socket_streams_pass_the_half_closeable_checks() -> None:
    await check_half_closeable_stream(_tcp_stream_pair, _clogged_tcp_stream_pair)
