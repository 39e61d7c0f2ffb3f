"""DTLSEndpoint and DTLSChannel over real UDP sockets on 127.0.0.1.

Also runs against trio (``PYTHONPATH=/tmp/trioshim``); ``triolet_only`` tests check
triolet details. Certificates come from ``trustme``; retransmission is exercised by a
relay that drops chosen datagrams.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

import triolet
from triolet import socket as tsocket

SSL = pytest.importorskip("OpenSSL.SSL")

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"
triolet_only = pytest.mark.skipif(UNDER_TRIO, reason="checks a triolet detail")

LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(server key and chain, CA certificate) from a trustme CA, as PEM files."""
    ca = trustme.CA()
    directory: Path = tmp_path_factory.mktemp("dtls-certs")
    server_pem = directory / "server.pem"
    ca_pem = directory / "ca.pem"
    ca.issue_cert("dtls-test.example.org").private_key_and_cert_chain_pem.write_to_path(
        str(server_pem)
    )
    ca.cert_pem.write_to_path(str(ca_pem))
    return server_pem, ca_pem


@pytest.fixture
def contexts(pem_files: tuple[Path, Path]) -> tuple[Any, Any]:
    """(server context, client context): fresh pyOpenSSL DTLS contexts per test, since
    pyOpenSSL refuses to change a context that has made connections."""
    server_pem, ca_pem = pem_files
    server_ctx = SSL.Context(SSL.DTLS_METHOD)
    server_ctx.use_certificate_chain_file(str(server_pem))
    server_ctx.use_privatekey_file(str(server_pem))
    client_ctx = SSL.Context(SSL.DTLS_METHOD)
    client_ctx.load_verify_locations(str(ca_pem))
    client_ctx.set_verify(SSL.VERIFY_PEER, lambda *args: True)
    return server_ctx, client_ctx


async def udp_socket() -> Any:
    sock = tsocket.socket(type=tsocket.SOCK_DGRAM)
    await sock.bind((LOOPBACK, 0))
    return sock


async def echo(channel: Any) -> None:
    while True:
        message = await channel.receive()
        await channel.send(message.upper())


async def with_echo_server(
    contexts: tuple[Any, Any],
    body: Callable[[Any, tuple[str, int]], Awaitable[None]],
    **endpoint_kwargs: Any,
) -> None:
    server_ctx, _ = contexts
    server_sock = await udp_socket()
    with triolet.DTLSEndpoint(server_sock, **endpoint_kwargs) as server:
        async with triolet.open_nursery() as nursery:
            await nursery.start(server.serve, server_ctx, echo)
            with triolet.fail_after(10):
                await body(server, server_sock.getsockname())
            nursery.cancel_scope.cancel()


async def test_messages_round_trip(contexts: tuple[Any, Any]) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        with triolet.DTLSEndpoint(await udp_socket()) as client:
            channel = client.connect(address, contexts[1])
            for n in range(5):
                await channel.send(b"message %d" % n)
                assert await channel.receive() == b"MESSAGE %d" % n
            assert channel.peer_address == address
            assert channel.endpoint is client

    await with_echo_server(contexts, body)


async def test_explicit_handshake_then_mtu(contexts: tuple[Any, Any]) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        with triolet.DTLSEndpoint(await udp_socket()) as client:
            channel = client.connect(address, contexts[1])
            with pytest.raises(triolet.NeedHandshakeError):
                channel.get_cleartext_mtu()
            await channel.do_handshake()
            await channel.do_handshake()
            default_mtu = channel.get_cleartext_mtu()
            assert 1000 < default_mtu < 1472
            channel.set_ciphertext_mtu(600)
            assert channel.get_cleartext_mtu() < 600
            await channel.send(b"x" * (channel.get_cleartext_mtu() - 1))
            assert await channel.receive() == b"X" * (channel.get_cleartext_mtu() - 1)

    await with_echo_server(contexts, body)


async def test_several_clients_share_one_server(
    contexts: tuple[Any, Any], pem_files: tuple[Path, Path]
) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        async def one_client(n: int) -> None:
            # A context per client: trio changes the context in connect(), which
            # pyOpenSSL 26 refuses for a context that has made connections.
            client_ctx = SSL.Context(SSL.DTLS_METHOD)
            client_ctx.load_verify_locations(str(pem_files[1]))
            with triolet.DTLSEndpoint(await udp_socket()) as client:
                channel = client.connect(address, client_ctx)
                await channel.send(b"client %d" % n)
                assert await channel.receive() == b"CLIENT %d" % n

        async with triolet.open_nursery() as nursery:
            for n in range(4):
                nursery.start_soon(one_client, n)

    await with_echo_server(contexts, body)


async def test_client_restarting_on_the_same_port_replaces_its_old_channel(
    contexts: tuple[Any, Any], pem_files: tuple[Path, Path]
) -> None:
    server_ctx, client_ctx = contexts
    _, ca_pem = pem_files
    second_client_ctx = SSL.Context(SSL.DTLS_METHOD)
    second_client_ctx.load_verify_locations(str(ca_pem))
    server_sock = await udp_socket()
    outcomes: list[str] = []
    first_done = triolet.Event()

    async def handler(channel: Any) -> None:
        try:
            while True:
                message = await channel.receive()
                await channel.send(message.upper())
        except triolet.BrokenResourceError:
            outcomes.append("old channel broken")
            first_done.set()

    with triolet.DTLSEndpoint(server_sock) as server:
        async with triolet.open_nursery() as nursery:
            await nursery.start(server.serve, server_ctx, handler)
            with triolet.fail_after(10):
                first_sock = await udp_socket()
                port = first_sock.getsockname()[1]
                with triolet.DTLSEndpoint(first_sock) as first:
                    channel = first.connect(server_sock.getsockname(), client_ctx)
                    await channel.send(b"before")
                    assert await channel.receive() == b"BEFORE"
                # The client "restarts": a new endpoint on the same port, a new handshake.
                second_sock = tsocket.socket(type=tsocket.SOCK_DGRAM)
                await second_sock.bind((LOOPBACK, port))
                with triolet.DTLSEndpoint(second_sock) as second:
                    channel = second.connect(server_sock.getsockname(), second_client_ctx)
                    await channel.send(b"after")
                    assert await channel.receive() == b"AFTER"
                await first_done.wait()
            nursery.cancel_scope.cancel()
    assert outcomes == ["old channel broken"]


class LossyRelay:
    """Forwards datagrams between one client and a server, dropping chosen ones."""

    def __init__(self, server_address: tuple[str, int], drop: Callable[[int, str], bool]) -> None:
        self.server_address = server_address
        self.drop = drop
        self.forwarded = 0
        self.dropped = 0

    async def run(self, task_status: Any = triolet.TASK_STATUS_IGNORED) -> None:
        client_side = await udp_socket()
        server_side = await udp_socket()
        client_address: list[Any] = []
        task_status.started(client_side.getsockname())
        count = 0

        async def forward(source: Any, target: Any, direction: str) -> None:
            nonlocal count
            while True:
                data, sender = await source.recvfrom(65536)
                if direction == "to server":
                    if not client_address:
                        client_address.append(sender)
                    destination = self.server_address
                else:
                    destination = client_address[0]
                count += 1
                if self.drop(count, direction):
                    self.dropped += 1
                    continue
                self.forwarded += 1
                await target.sendto(data, destination)

        with client_side, server_side:
            async with triolet.open_nursery() as nursery:
                nursery.start_soon(forward, client_side, server_side, "to server")
                nursery.start_soon(forward, server_side, client_side, "to client")


async def test_handshake_survives_lost_datagrams(contexts: tuple[Any, Any]) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        # Drop the 2nd, 3rd and 5th datagram, whichever way they go: a lost cookie
        # reply, a lost ClientHello and a lost server flight all need a retransmission.
        relay = LossyRelay(address, lambda n, direction: n in (2, 3, 5))
        async with triolet.open_nursery() as nursery:
            relay_address = await nursery.start(relay.run)
            with triolet.DTLSEndpoint(await udp_socket()) as client:
                channel = client.connect(relay_address, contexts[1])
                await channel.do_handshake(initial_retransmit_timeout=0.05)
                await channel.send(b"made it")
                assert await channel.receive() == b"MADE IT"
            nursery.cancel_scope.cancel()
        assert relay.dropped == 3

    await with_echo_server(contexts, body)


async def test_server_answers_a_client_hello_with_a_cookie_challenge_first(
    contexts: tuple[Any, Any],
) -> None:
    handled: list[Any] = []

    async def record_and_wait(channel: Any) -> None:
        handled.append(channel)
        await triolet.sleep_forever()

    server_sock = await udp_socket()
    with triolet.DTLSEndpoint(server_sock) as server:
        async with triolet.open_nursery() as nursery:
            await nursery.start(server.serve, contexts[0], record_and_wait)
            client_hello = raw_client_hello(contexts[1])
            probe = await udp_socket()
            with probe, triolet.fail_after(5):
                await probe.sendto(client_hello, server_sock.getsockname())
                reply, _ = await probe.recvfrom(65536)
            # A HelloVerifyRequest: handshake record (22), handshake type 3.
            assert reply[0] == 22 and reply[13] == 3
            await triolet.sleep(0.05)
            assert handled == []
            nursery.cancel_scope.cancel()


def raw_client_hello(client_ctx: Any) -> bytes:
    connection = SSL.Connection(client_ctx, None)
    connection.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        connection.do_handshake()
    data: bytes = connection.bio_read(65536)
    return data


async def test_garbage_datagrams_are_ignored(contexts: tuple[Any, Any]) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        junk = await udp_socket()
        with junk:
            for garbage in (b"", b"\x16", b"hello", b"\x16\xfe\xfd" + b"\x00" * 20, b"\xff" * 300):
                await junk.sendto(garbage, address)
        with triolet.DTLSEndpoint(await udp_socket()) as client:
            channel = client.connect(address, contexts[1])
            await channel.send(b"still serving")
            assert await channel.receive() == b"STILL SERVING"

    await with_echo_server(contexts, body)


async def test_full_buffer_drops_and_counts_datagrams(contexts: tuple[Any, Any]) -> None:
    server_ctx, client_ctx = contexts
    received: list[Any] = []

    async def slow_reader(channel: Any) -> None:
        await channel.do_handshake()
        received.append(channel)
        await triolet.sleep_forever()

    server_sock = await udp_socket()
    with triolet.DTLSEndpoint(server_sock, incoming_packets_buffer=2) as server:
        async with triolet.open_nursery() as nursery:
            await nursery.start(server.serve, server_ctx, slow_reader)
            with triolet.DTLSEndpoint(await udp_socket()) as client, triolet.fail_after(10):
                channel = client.connect(server_sock.getsockname(), client_ctx)
                await channel.do_handshake()
                while not received:
                    await triolet.sleep(0.01)
                for n in range(10):
                    await channel.send(b"flood %d" % n)
                await triolet.sleep(0.2)
                dropped = received[0].statistics().incoming_packets_dropped_in_trio
                assert dropped >= 7
            nursery.cancel_scope.cancel()


async def test_closed_channel_refuses_and_wakes_receiver(contexts: tuple[Any, Any]) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        with triolet.DTLSEndpoint(await udp_socket()) as client:
            channel = client.connect(address, contexts[1])
            await channel.do_handshake()

            async def blocked_receiver() -> None:
                with pytest.raises(triolet.ClosedResourceError):
                    await channel.receive()

            async with triolet.open_nursery() as nursery:
                nursery.start_soon(blocked_receiver)
                await triolet.testing.wait_all_tasks_blocked()
                channel.close()
            with pytest.raises(triolet.ClosedResourceError):
                await channel.send(b"x")
            await channel.aclose()

    await with_echo_server(contexts, body)


async def test_closing_the_endpoint_closes_its_channels(contexts: tuple[Any, Any]) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        client = triolet.DTLSEndpoint(await udp_socket())
        channel = client.connect(address, contexts[1])
        await channel.do_handshake()
        client.close()
        with pytest.raises(triolet.ClosedResourceError):
            await channel.receive()
        with pytest.raises(triolet.ClosedResourceError):
            client.connect(address, contexts[1])

    await with_echo_server(contexts, body)


async def test_second_serve_on_one_endpoint_is_an_error(contexts: tuple[Any, Any]) -> None:
    server_sock = await udp_socket()
    with triolet.DTLSEndpoint(server_sock) as server:
        async with triolet.open_nursery() as nursery:
            await nursery.start(server.serve, contexts[0], echo)
            with pytest.raises(triolet.BusyResourceError):
                await server.serve(contexts[0], echo)
            nursery.cancel_scope.cancel()


async def test_endpoint_needs_a_datagram_socket() -> None:
    with tsocket.socket() as stream_socket, pytest.raises(ValueError):
        triolet.DTLSEndpoint(stream_socket)


async def test_statistics_start_at_zero(contexts: tuple[Any, Any]) -> None:
    with triolet.DTLSEndpoint(await udp_socket()) as client:
        channel = client.connect((LOOPBACK, 9), contexts[1])
        assert channel.statistics().incoming_packets_dropped_in_trio == 0
        assert isinstance(channel.statistics(), triolet.DTLSChannelStatistics)


@triolet_only
async def test_one_client_context_makes_many_connections(contexts: tuple[Any, Any]) -> None:
    async def body(server: Any, address: tuple[str, int]) -> None:
        for n in range(3):
            with triolet.DTLSEndpoint(await udp_socket()) as client:
                channel = client.connect(address, contexts[1])
                await channel.send(b"again %d" % n)
                assert await channel.receive() == b"AGAIN %d" % n

    await with_echo_server(contexts, body)


@triolet_only
async def test_without_pyopenssl_dtls_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "OpenSSL", None)
    sock = await udp_socket()
    with sock, pytest.raises(ImportError, match=r"triolet\[dtls\]"):
        triolet.DTLSEndpoint(sock)


@triolet_only
async def test_untrusted_server_certificate_breaks_the_handshake(
    contexts: tuple[Any, Any],
) -> None:
    # trio's client keeps the handshake going (the test times out there).
    async def body(server: Any, address: tuple[str, int]) -> None:
        untrusting_ctx = SSL.Context(SSL.DTLS_METHOD)
        untrusting_ctx.set_verify(SSL.VERIFY_PEER)
        with triolet.DTLSEndpoint(await udp_socket()) as client:
            channel = client.connect(address, untrusting_ctx)
            with pytest.raises(triolet.BrokenResourceError) as info:
                await channel.do_handshake()
            assert isinstance(info.value.__cause__, SSL.Error)

    await with_echo_server(contexts, body)
