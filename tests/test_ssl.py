"""SSLStream over in-memory transports: handshake, data, errors, cancellation, closing.

Written against the public API, so it also runs against real trio:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_ssl.py``. Tests marked
``triolet_only`` check a deliberate improvement over trio and are skipped there.
Certificates come from ``trustme``; nothing leaves the process.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trustme

import triolet
from triolet.abc import Stream
from triolet.testing import (
    assert_checkpoints,
    check_two_way_stream,
    lockstep_stream_pair,
    memory_stream_pair,
    wait_all_tasks_blocked,
)

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"
triolet_only = pytest.mark.skipif(UNDER_TRIO, reason="a deliberate improvement over trio")

HOSTNAME = "tls-test.example.org"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOSTNAME).configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


SSLPair = tuple[triolet.SSLStream[Any], triolet.SSLStream[Any]]


def wrap_pair(
    client_transport: Stream,
    server_transport: Stream,
    client_ctx: ssl.SSLContext,
    server_ctx: ssl.SSLContext,
    **kwargs: Any,
) -> SSLPair:
    client = triolet.SSLStream(client_transport, client_ctx, server_hostname=HOSTNAME, **kwargs)
    server = triolet.SSLStream(server_transport, server_ctx, server_side=True, **kwargs)
    return client, server


async def both(*fns: Callable[[], Awaitable[object]]) -> None:
    async with triolet.open_nursery() as nursery:
        for fn in fns:
            nursery.start_soon(fn)


async def handshaken_pair(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, **kwargs: Any
) -> SSLPair:
    client, server = wrap_pair(*memory_stream_pair(), client_ctx, server_ctx, **kwargs)
    await both(client.do_handshake, server.do_handshake)
    return client, server


async def handshake_may_fail(stream: triolet.SSLStream[Any]) -> None:
    """The peer of a handshake that fails on the other side: triolet tells it why (it
    sends the alert), trio lets it wait until it is cancelled."""
    try:
        await stream.do_handshake()
    except triolet.BrokenResourceError:
        pass


async def expect_broken_with_cause(
    fn: Callable[[], Awaitable[object]], cause: type[BaseException]
) -> BaseException:
    with pytest.raises(triolet.BrokenResourceError) as info:
        await fn()
    assert isinstance(info.value.__cause__, cause), repr(info.value.__cause__)
    return info.value.__cause__


class RecordingStream(Stream):
    """Passes everything to an inner stream and remembers what was sent and closed."""

    def __init__(self, inner: Stream) -> None:
        self.inner = inner
        self.sent = bytearray()
        self.closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += data
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


# ------------------------------------------------------------------ the generic checks


async def test_ssl_stream_over_memory_streams_passes_two_way_check(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    # The pairs come handshaken: the checker closes fresh streams whose peer does
    # nothing, and aclose() of a never-used SSLStream first finishes the handshake (as
    # trio's does), which needs the peer.
    async def stream_maker() -> SSLPair:
        client, server = wrap_pair(*memory_stream_pair(), client_ctx, server_ctx)
        await both(client.do_handshake, server.do_handshake)
        return client, server

    async def clogged_stream_maker() -> SSLPair:
        client, server = wrap_pair(*lockstep_stream_pair(), client_ctx, server_ctx)
        await both(client.do_handshake, server.do_handshake)
        return client, server

    await check_two_way_stream(stream_maker, clogged_stream_maker)


async def test_ssl_stream_over_ssl_stream_passes_two_way_check(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    async def stream_maker() -> SSLPair:
        inner = wrap_pair(*memory_stream_pair(), client_ctx, server_ctx)
        client, server = wrap_pair(*inner, client_ctx, server_ctx)
        await both(client.do_handshake, server.do_handshake)
        return client, server

    await check_two_way_stream(stream_maker, None)


# ------------------------------------------------------------------ handshake


async def test_data_flows_both_ways_after_handshake(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    await client.send_all(b"ping")
    assert await server.receive_some() == b"ping"
    await server.send_all(b"pong")
    assert await client.receive_some() == b"pong"


async def test_first_send_and_receive_perform_the_handshake(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = wrap_pair(*memory_stream_pair(), client_ctx, server_ctx)

    async def receive_on_server() -> None:
        assert await server.receive_some() == b"implicit"

    await both(lambda: client.send_all(b"implicit"), receive_on_server)
    assert client.version() is not None


async def test_do_handshake_from_several_tasks_returns_in_all(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = wrap_pair(*memory_stream_pair(), client_ctx, server_ctx)
    await both(client.do_handshake, client.do_handshake, server.do_handshake, server.do_handshake)
    assert client.cipher() is not None


async def test_do_handshake_when_done_is_still_a_checkpoint(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, _ = await handshaken_pair(client_ctx, server_ctx)
    with assert_checkpoints():
        await client.do_handshake()


async def test_receive_of_buffered_data_is_a_checkpoint(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    await client.send_all(b"abcdef")
    assert await server.receive_some(3) == b"abc"
    with assert_checkpoints():
        assert await server.receive_some(3) == b"def"


async def test_sni_reaches_the_server(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, ca: trustme.CA
) -> None:
    seen: list[str | None] = []
    sni_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOSTNAME).configure_cert(sni_ctx)
    sni_ctx.sni_callback = lambda _obj, name, _ctx: seen.append(name)
    client, server = wrap_pair(*memory_stream_pair(), client_ctx, sni_ctx)
    await both(client.do_handshake, server.do_handshake)
    assert seen == [HOSTNAME]


async def test_server_hostname_may_be_bytes(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client_transport, server_transport = memory_stream_pair()
    client = triolet.SSLStream(client_transport, client_ctx, server_hostname=HOSTNAME.encode())
    server = triolet.SSLStream(server_transport, server_ctx, server_side=True)
    await both(client.do_handshake, server.do_handshake)
    assert client.server_hostname == HOSTNAME


# ------------------------------------------------------------------ forwarded attributes


async def test_attributes_that_need_the_handshake_raise_before_it(
    client_ctx: ssl.SSLContext,
) -> None:
    client = triolet.SSLStream(memory_stream_pair()[0], client_ctx, server_hostname=HOSTNAME)
    for name in ["getpeercert", "selected_alpn_protocol", "cipher", "version", "shared_ciphers"]:
        with pytest.raises(triolet.NeedHandshakeError):
            getattr(client, name)
    assert client.server_hostname == HOSTNAME
    assert client.server_side is False
    assert client.context is client_ctx
    assert client.pending() == 0


async def test_forwarded_attributes_answer_after_handshake(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, ca: trustme.CA
) -> None:
    alpn_server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOSTNAME).configure_cert(alpn_server_ctx)
    alpn_server_ctx.set_alpn_protocols(["h2", "http/1.1"])
    alpn_client_ctx = ssl.create_default_context()
    ca.configure_trust(alpn_client_ctx)
    alpn_client_ctx.set_alpn_protocols(["http/1.1"])
    client, server = wrap_pair(*memory_stream_pair(), alpn_client_ctx, alpn_server_ctx)
    await both(client.do_handshake, server.do_handshake)
    assert client.selected_alpn_protocol() == "http/1.1"
    assert server.selected_alpn_protocol() == "http/1.1"
    assert client.getpeercert()["subjectAltName"] == (("DNS", HOSTNAME),)
    assert client.version() == server.version()
    assert client.cipher() == server.cipher()
    assert client.server_side is False and server.server_side is True
    assert "getpeercert" in dir(client)


async def test_ssl_object_attribute_is_the_ssl_object(client_ctx: ssl.SSLContext) -> None:
    # httpcore's trio backend reads this private name for its "ssl_object" extra.
    client = triolet.SSLStream(memory_stream_pair()[0], client_ctx, server_hostname=HOSTNAME)
    assert isinstance(client._ssl_object, ssl.SSLObject)


async def test_assigning_a_forwarded_attribute_sets_it_on_the_ssl_object(
    client_ctx: ssl.SSLContext,
) -> None:
    client = triolet.SSLStream(memory_stream_pair()[0], client_ctx, server_hostname=HOSTNAME)
    other_ctx = ssl.create_default_context()
    client.context = other_ctx
    assert client._ssl_object.context is other_ctx
    client.note = "mine"
    assert client.note == "mine"


async def test_unknown_attribute_is_an_attribute_error(client_ctx: ssl.SSLContext) -> None:
    client = triolet.SSLStream(memory_stream_pair()[0], client_ctx, server_hostname=HOSTNAME)
    with pytest.raises(AttributeError):
        _ = client.no_such_thing


async def test_transport_stream_is_the_wrapped_stream(client_ctx: ssl.SSLContext) -> None:
    transport = memory_stream_pair()[0]
    client = triolet.SSLStream(transport, client_ctx, server_hostname=HOSTNAME)
    assert client.transport_stream is transport


# ------------------------------------------------------------------ failing handshakes


async def test_wrong_hostname_breaks_client_with_verification_error(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client_transport, server_transport = memory_stream_pair()
    client = triolet.SSLStream(client_transport, client_ctx, server_hostname="other.example.org")
    server = triolet.SSLStream(server_transport, server_ctx, server_side=True)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(handshake_may_fail, server)
        cause = await expect_broken_with_cause(client.do_handshake, ssl.SSLCertVerificationError)
        assert "other.example.org" in str(cause) or "mismatch" in str(cause).lower()
        nursery.cancel_scope.cancel()


async def test_untrusted_certificate_breaks_client_with_verification_error(
    server_ctx: ssl.SSLContext,
) -> None:
    stranger_ctx = ssl.create_default_context()
    trustme.CA().configure_trust(stranger_ctx)
    client_transport, server_transport = memory_stream_pair()
    client = triolet.SSLStream(client_transport, stranger_ctx, server_hostname=HOSTNAME)
    server = triolet.SSLStream(server_transport, server_ctx, server_side=True)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(handshake_may_fail, server)
        await expect_broken_with_cause(client.do_handshake, ssl.SSLCertVerificationError)
        nursery.cancel_scope.cancel()


@triolet_only
async def test_server_learns_why_the_client_rejected_its_certificate(
    server_ctx: ssl.SSLContext,
) -> None:
    # The client sends OpenSSL's alert before giving up (trio drops it, and the server
    # waits until the transport closes).
    stranger_ctx = ssl.create_default_context()
    trustme.CA().configure_trust(stranger_ctx)
    client, server = wrap_pair(*memory_stream_pair(), stranger_ctx, server_ctx)

    async def client_side() -> None:
        await expect_broken_with_cause(client.do_handshake, ssl.SSLCertVerificationError)

    async def server_side() -> None:
        cause = await expect_broken_with_cause(server.do_handshake, ssl.SSLError)
        assert "UNKNOWN_CA" in str(cause).upper()

    with triolet.fail_after(5):
        await both(client_side, server_side)


async def test_failed_handshake_leaves_the_transport_open(server_ctx: ssl.SSLContext) -> None:
    stranger_ctx = ssl.create_default_context()
    client_transport, server_transport = memory_stream_pair()
    recording = RecordingStream(client_transport)
    client = triolet.SSLStream(recording, stranger_ctx, server_hostname=HOSTNAME)
    server = triolet.SSLStream(server_transport, server_ctx, server_side=True)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(handshake_may_fail, server)
        await expect_broken_with_cause(client.do_handshake, ssl.SSLCertVerificationError)
        assert not recording.closed
        await client.aclose()
        assert recording.closed
        nursery.cancel_scope.cancel()


async def test_later_operations_on_a_broken_stream_raise_broken(
    server_ctx: ssl.SSLContext,
) -> None:
    client, server = wrap_pair(*memory_stream_pair(), ssl.create_default_context(), server_ctx)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(handshake_may_fail, server)
        await expect_broken_with_cause(client.do_handshake, ssl.SSLCertVerificationError)
        nursery.cancel_scope.cancel()
    operations: list[Callable[[], Awaitable[object]]] = [
        client.do_handshake,
        client.receive_some,
        lambda: client.send_all(b"x"),
    ]
    for operation in operations:
        with pytest.raises(triolet.BrokenResourceError):
            await operation()
    await client.aclose()


async def test_plaintext_client_breaks_server_handshake(server_ctx: ssl.SSLContext) -> None:
    client_transport, server_transport = memory_stream_pair()
    server = triolet.SSLStream(server_transport, server_ctx, server_side=True)
    await client_transport.send_all(b"GET / HTTP/1.0\r\n\r\n")
    await expect_broken_with_cause(server.do_handshake, ssl.SSLError)


async def test_plaintext_server_breaks_client_handshake(client_ctx: ssl.SSLContext) -> None:
    client_transport, server_transport = memory_stream_pair()
    client = triolet.SSLStream(client_transport, client_ctx, server_hostname=HOSTNAME)

    async def plaintext_server() -> None:
        await server_transport.receive_some()
        await server_transport.send_all(b"HTTP/1.0 400 Bad Request\r\n\r\n")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(plaintext_server)
        await expect_broken_with_cause(client.do_handshake, ssl.SSLError)


@pytest.mark.parametrize("https_compatible", [False, True])
async def test_transport_eof_during_handshake_is_broken(
    client_ctx: ssl.SSLContext, https_compatible: bool
) -> None:
    client_transport, server_transport = memory_stream_pair()
    client = triolet.SSLStream(
        client_transport, client_ctx, server_hostname=HOSTNAME, https_compatible=https_compatible
    )

    async def hang_up() -> None:
        await server_transport.receive_some()
        await server_transport.aclose()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(hang_up)
        await expect_broken_with_cause(client.do_handshake, ssl.SSLEOFError)


async def test_transport_errors_pass_through_and_break_the_stream(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    await server.transport_stream.aclose()
    with pytest.raises(triolet.BrokenResourceError) as info:
        for _ in range(10):
            await client.send_all(b"into the void")
    assert not isinstance(info.value.__cause__, ssl.SSLError)
    with pytest.raises(triolet.BrokenResourceError):
        await client.send_all(b"again")


# ------------------------------------------------------------------ concurrency


async def test_second_receiver_is_busy(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(client.receive_some)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await client.receive_some()
        with pytest.raises(triolet.BusyResourceError):
            await client.unwrap()
        # Sending while another task receives is fine.
        await client.wait_send_all_might_not_block()
        await server.send_all(b"wake up")


async def test_second_sender_is_busy(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = wrap_pair(*lockstep_stream_pair(), client_ctx, server_ctx)
    await both(client.do_handshake, server.do_handshake)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(client.send_all, b"first")
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await client.send_all(b"second")
        with pytest.raises(triolet.BusyResourceError):
            await client.wait_send_all_might_not_block()
        assert await server.receive_some() == b"first"


async def test_receiver_and_sender_both_finish_one_handshake(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = wrap_pair(*lockstep_stream_pair(), client_ctx, server_ctx)
    received: list[bytes | bytearray] = []

    async def client_receives() -> None:
        received.append(await client.receive_some())

    async def server_sends() -> None:
        await server.send_all(b"to client")

    async def server_receives() -> None:
        received.append(await server.receive_some())

    async def client_sends() -> None:
        await client.send_all(b"to server")

    await both(client_receives, client_sends, server_receives, server_sends)
    assert sorted(received) == [b"to client", b"to server"]


# ------------------------------------------------------------------ cancellation


async def test_cancelled_handshake_breaks_the_stream(client_ctx: ssl.SSLContext) -> None:
    client = triolet.SSLStream(memory_stream_pair()[0], client_ctx, server_hostname=HOSTNAME)
    with triolet.move_on_after(0.01) as scope:
        await client.do_handshake()
    assert scope.cancelled_caught
    with pytest.raises(triolet.BrokenResourceError):
        await client.do_handshake()
    with pytest.raises(triolet.BrokenResourceError):
        await client.receive_some()


async def test_cancelled_send_all_breaks_the_stream(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = wrap_pair(*lockstep_stream_pair(), client_ctx, server_ctx)
    await both(client.do_handshake, server.do_handshake)
    with triolet.move_on_after(0.01) as scope:
        await client.send_all(b"nobody reads this")
    assert scope.cancelled_caught
    with pytest.raises(triolet.BrokenResourceError):
        await client.send_all(b"more")
    with pytest.raises(triolet.BrokenResourceError):
        await client.receive_some()


async def test_send_all_cancelled_before_it_starts_leaves_the_stream_usable(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    with triolet.CancelScope() as scope:
        scope.cancel()
        await client.send_all(b"never")
    await client.send_all(b"later")
    assert await server.receive_some() == b"later"


async def test_cancelled_receive_while_waiting_leaves_the_stream_usable(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    with triolet.move_on_after(0.01) as scope:
        await client.receive_some()
    assert scope.cancelled_caught
    await server.send_all(b"still here")
    assert await client.receive_some() == b"still here"


# ------------------------------------------------------------------ arguments


async def test_receive_some_rejects_max_bytes_below_one(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, _ = await handshaken_pair(client_ctx, server_ctx)
    for bad in (0, -1):
        with pytest.raises(ValueError):
            await client.receive_some(bad)
    with pytest.raises(TypeError):
        await client.receive_some(1.5)  # type: ignore[arg-type]


async def test_big_send_all_arrives_intact_in_small_reads(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    payload = bytes(range(256)) * 4096  # 1 MiB, several send chunks and many records
    received = bytearray()

    async def receive_all() -> None:
        while len(received) < len(payload):
            chunk = await server.receive_some(10_000)
            assert 0 < len(chunk) <= 10_000
            received.extend(chunk)

    await both(lambda: client.send_all(memoryview(payload)), receive_all)
    assert received == payload


async def test_empty_send_all_is_a_checkpoint_and_sends_nothing(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    with assert_checkpoints():
        await client.send_all(b"")
    await client.send_all(b"x")
    assert await server.receive_some() == b"x"


# ------------------------------------------------------------------ closing


async def test_aclose_sends_close_notify_and_the_peer_sees_a_clean_eof(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    await client.aclose()
    assert await server.receive_some() == b""
    assert await server.receive_some() == b""


async def test_eof_without_close_notify_breaks_the_receiver(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    await client.transport_stream.aclose()
    await expect_broken_with_cause(server.receive_some, ssl.SSLEOFError)
    with pytest.raises(triolet.BrokenResourceError):
        await server.receive_some()


async def test_https_compatible_treats_eof_without_close_notify_as_eof(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx, https_compatible=True)
    await client.send_all(b"last words")
    await client.transport_stream.aclose()
    assert await server.receive_some() == b"last words"
    assert await server.receive_some() == b""


@triolet_only
async def test_https_compatible_eof_is_sticky(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    # Every stream returns b"" again after EOF; trio raises BrokenResourceError here.
    client, server = await handshaken_pair(client_ctx, server_ctx, https_compatible=True)
    await client.transport_stream.aclose()
    assert await server.receive_some() == b""
    assert await server.receive_some() == b""


@pytest.mark.parametrize("https_compatible", [False, True])
async def test_aclose_sends_close_notify_unless_https_compatible(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, https_compatible: bool
) -> None:
    client_transport, server_transport = memory_stream_pair()
    recording = RecordingStream(client_transport)
    client, server = wrap_pair(
        recording, server_transport, client_ctx, server_ctx, https_compatible=https_compatible
    )
    await both(client.do_handshake, server.do_handshake)
    sent_before = len(recording.sent)
    await client.aclose()
    assert recording.closed
    assert (len(recording.sent) > sent_before) is not https_compatible


async def test_https_compatible_aclose_before_handshake_just_closes(
    client_ctx: ssl.SSLContext,
) -> None:
    transport = RecordingStream(memory_stream_pair()[0])
    client = triolet.SSLStream(
        transport, client_ctx, server_hostname=HOSTNAME, https_compatible=True
    )
    await client.aclose()
    assert transport.closed
    assert transport.sent == b""


async def test_aclose_before_handshake_handshakes_then_says_goodbye(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = wrap_pair(*memory_stream_pair(), client_ctx, server_ctx)

    async def server_sees_clean_eof() -> None:
        assert await server.receive_some() == b""

    await both(client.aclose, server_sees_clean_eof)


async def test_aclose_when_the_peer_is_gone_is_quiet(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    await server.transport_stream.aclose()
    await client.aclose()


async def test_cancelled_aclose_still_closes_the_transport(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client_transport, server_transport = lockstep_stream_pair()
    recording = RecordingStream(client_transport)
    client, server = wrap_pair(recording, server_transport, client_ctx, server_ctx)
    await both(client.do_handshake, server.do_handshake)
    # Nobody reads, so close_notify can't be sent: aclose blocks until cancelled.
    with triolet.move_on_after(0.01):
        await client.aclose()
    assert recording.closed
    with pytest.raises(triolet.ClosedResourceError):
        await client.send_all(b"x")


async def test_operations_after_aclose_raise_closed(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, _ = await handshaken_pair(client_ctx, server_ctx)
    await client.aclose()
    await client.aclose()
    operations: list[Callable[[], Awaitable[object]]] = [
        client.receive_some,
        lambda: client.send_all(b"x"),
        client.do_handshake,
        client.unwrap,
        client.wait_send_all_might_not_block,
    ]
    for operation in operations:
        with pytest.raises(triolet.ClosedResourceError):
            await operation()


async def test_aclose_wakes_a_blocked_receiver_with_closed(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, _ = await handshaken_pair(client_ctx, server_ctx)

    async def blocked_receiver() -> None:
        with pytest.raises(triolet.ClosedResourceError):
            await client.receive_some()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(blocked_receiver)
        await wait_all_tasks_blocked()
        await client.aclose()


# ------------------------------------------------------------------ unwrap


async def test_unwrap_hands_back_the_transport_and_trailing_bytes(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)

    client_transport, server_transport = client.transport_stream, server.transport_stream

    async def server_unwraps_then_speaks_plaintext() -> None:
        transport, trailing = await server.unwrap()
        assert transport is server_transport
        assert trailing == b""
        await transport.send_all(b"PLAINTEXT")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(server_unwraps_then_speaks_plaintext)
        await wait_all_tasks_blocked()
        transport, trailing = await client.unwrap()
    assert transport is client_transport
    assert client.transport_stream is None
    received = bytes(trailing)
    while len(received) < len(b"PLAINTEXT"):
        received += await transport.receive_some()
    assert received == b"PLAINTEXT"
    with pytest.raises(triolet.ClosedResourceError):
        await client.receive_some()
    await client.aclose()


async def test_unwrap_after_receiving_the_peers_close_notify(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)

    async def server_unwraps() -> None:
        await server.unwrap()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(server_unwraps)
        assert await client.receive_some() == b""
        await client.unwrap()


async def test_unwrap_before_handshake_handshakes_first(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = wrap_pair(*memory_stream_pair(), client_ctx, server_ctx)
    await both(client.unwrap, server.unwrap)


async def test_unwrap_cancelled_while_waiting_for_the_peer_can_be_retried(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = await handshaken_pair(client_ctx, server_ctx)
    with triolet.move_on_after(0.01) as scope:
        await client.unwrap()
    assert scope.cancelled_caught
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(server.unwrap)
        _, trailing = await client.unwrap()
    assert trailing == b""


# ------------------------------------------------------------------ odd transports


class OneByteAtATime(RecordingStream):
    """Delivers received bytes one at a time: every TLS record arrives in pieces."""

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(1)


async def test_records_arriving_one_byte_at_a_time_are_reassembled(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client_transport, server_transport = memory_stream_pair()
    client, server = wrap_pair(
        OneByteAtATime(client_transport), OneByteAtATime(server_transport), client_ctx, server_ctx
    )
    await both(client.do_handshake, server.do_handshake)
    payload = b"0123456789" * 2000
    received = bytearray()

    async def receive_all() -> None:
        while len(received) < len(payload):
            received.extend(await server.receive_some())

    await both(lambda: client.send_all(payload), receive_all)
    assert received == payload
