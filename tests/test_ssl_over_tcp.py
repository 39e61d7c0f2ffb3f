"""TLS over real TCP on loopback: SSLStream on SocketStream, SSLListener, the helpers.

Also runs against trio (``PYTHONPATH=/tmp/trioshim``). Certificates come from
``trustme``; every connection stays on 127.0.0.1.
"""

from __future__ import annotations

import ssl
from functools import partial
from typing import Any

import pytest
import trustme

import triolet
from triolet.testing import check_two_way_stream, open_stream_to_socket_listener

LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(LOOPBACK).configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def listener_port(listener: triolet.SSLListener[Any]) -> int:
    port: int = listener.transport_listener.socket.getsockname()[1]
    return port


async def echo_handler(stream: triolet.SSLStream[triolet.SocketStream]) -> None:
    async for chunk in stream:
        await stream.send_all(chunk)


async def test_ssl_over_tcp_passes_two_way_check(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    async def stream_maker() -> tuple[triolet.SSLStream[Any], triolet.SSLStream[Any]]:
        (listener,) = await triolet.open_ssl_over_tcp_listeners(0, server_ctx, host=LOOPBACK)
        async with listener:
            client_tcp = await open_stream_to_socket_listener(listener.transport_listener)
            server = await listener.accept()
        client = triolet.SSLStream(client_tcp, client_ctx, server_hostname=LOOPBACK)
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(client.do_handshake)
            nursery.start_soon(server.do_handshake)
        return client, server

    with triolet.fail_after(30):
        await check_two_way_stream(stream_maker, None)


async def test_serve_ssl_over_tcp_and_open_ssl_over_tcp_stream_talk(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    with triolet.fail_after(10):
        async with triolet.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(triolet.serve_ssl_over_tcp, host=LOOPBACK), echo_handler, 0, server_ctx
            )
            port = listener_port(listeners[0])
            client = await triolet.open_ssl_over_tcp_stream(LOOPBACK, port, ssl_context=client_ctx)
            async with client:
                await client.send_all(b"hello over TLS")
                received = b""
                while len(received) < len(b"hello over TLS"):
                    received += await client.receive_some()
                assert received == b"hello over TLS"
                assert client.server_hostname == LOOPBACK
                assert client.getpeercert()["subjectAltName"] == (("IP Address", LOOPBACK),)
            nursery.cancel_scope.cancel()


async def test_bulk_transfer_over_tcp_arrives_intact(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB: fills the socket buffers both ways
    with triolet.fail_after(20):
        async with triolet.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(triolet.serve_ssl_over_tcp, host=LOOPBACK), echo_handler, 0, server_ctx
            )
            client = await triolet.open_ssl_over_tcp_stream(
                LOOPBACK, listener_port(listeners[0]), ssl_context=client_ctx
            )
            received = bytearray()

            async def receive_all() -> None:
                while len(received) < len(payload):
                    received.extend(await client.receive_some())

            async with triolet.open_nursery() as transfer:
                transfer.start_soon(client.send_all, payload)
                transfer.start_soon(receive_all)
            assert received == payload
            await client.aclose()
            nursery.cancel_scope.cancel()


async def test_default_context_rejects_a_certificate_from_an_unknown_ca(
    server_ctx: ssl.SSLContext,
) -> None:
    with triolet.fail_after(10):
        async with triolet.open_nursery() as nursery:

            async def handler(stream: triolet.SSLStream[triolet.SocketStream]) -> None:
                try:
                    await stream.do_handshake()
                except triolet.BrokenResourceError:
                    pass

            listeners = await nursery.start(
                partial(triolet.serve_ssl_over_tcp, host=LOOPBACK), handler, 0, server_ctx
            )
            client = await triolet.open_ssl_over_tcp_stream(LOOPBACK, listener_port(listeners[0]))
            with pytest.raises(triolet.BrokenResourceError) as info:
                await client.do_handshake()
            assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
            await client.aclose()
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("https_compatible", [False, True])
async def test_listener_streams_are_server_side_and_carry_https_compatible(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, https_compatible: bool
) -> None:
    listeners = await triolet.open_ssl_over_tcp_listeners(
        0, server_ctx, host=LOOPBACK, https_compatible=https_compatible
    )
    (listener,) = listeners
    assert isinstance(listener, triolet.SSLListener)
    async with listener:
        client_tcp = await open_stream_to_socket_listener(listener.transport_listener)
        server = await listener.accept()
        assert isinstance(server, triolet.SSLStream)
        assert server.server_side is True
        client = triolet.SSLStream(
            client_tcp, client_ctx, server_hostname=LOOPBACK, https_compatible=https_compatible
        )
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(client.do_handshake)
            nursery.start_soon(server.do_handshake)
        # A peer that hangs up without close_notify: clean EOF only when HTTPS-compatible.
        await client.transport_stream.aclose()
        if https_compatible:
            assert await server.receive_some() == b""
        else:
            with pytest.raises(triolet.BrokenResourceError):
                await server.receive_some()
        await server.aclose()


async def test_ssl_listener_aclose_closes_the_transport_listener(
    server_ctx: ssl.SSLContext,
) -> None:
    (listener,) = await triolet.open_ssl_over_tcp_listeners(0, server_ctx, host=LOOPBACK)
    await listener.aclose()
    with pytest.raises(triolet.ClosedResourceError):
        await listener.transport_listener.accept()
