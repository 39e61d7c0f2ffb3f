"""The sans-I/O TLS engine behind SSLStream: bytes shuttled by hand, no event loop.

These look at triolet's internals, so they are skipped when ``import triolet`` loads
trio (``PYTHONPATH=/tmp/trioshim``).
"""

from __future__ import annotations

import ssl

import pytest
import trustme

try:
    from triolet._ssl._tls_engine import NEED_DATA, TLSEngine, TLSEvent, TLSState
except ImportError:  # ``import triolet`` loaded trio
    pytest.skip("tests triolet's own TLS engine", allow_module_level=True)

HOSTNAME = "engine-test.example.org"


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


def make_engines(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, *, https_compatible: bool = False
) -> tuple[TLSEngine, TLSEngine]:
    client = TLSEngine(
        client_ctx, server_side=False, server_hostname=HOSTNAME, https_compatible=https_compatible
    )
    server = TLSEngine(
        server_ctx, server_side=True, server_hostname=None, https_compatible=https_compatible
    )
    return client, server


def shuttle(source: TLSEngine, sink: TLSEngine) -> int:
    data = source.bytes_to_send()
    if data:
        sink.receive_bytes(data)
    return len(data)


def handshake(client: TLSEngine, server: TLSEngine) -> None:
    for _ in range(10):
        client_result = client.handshake()
        shuttle(client, server)
        server_result = server.handshake()
        shuttle(server, client)
        if client_result is None and server_result is None:
            return
    raise AssertionError("handshake did not finish in 10 rounds")


def test_handshake_moves_both_engines_to_open(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx)
    assert client.state is TLSState.HANDSHAKING
    assert client.handshake() is NEED_DATA
    assert client.has_bytes_to_send
    handshake(client, server)
    assert client.state is server.state is TLSState.OPEN
    assert client.handshake_done and server.handshake_done
    assert client.ssl_object.version() == server.ssl_object.version()


def test_application_data_round_trips(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx)
    handshake(client, server)
    assert server.read(100) is NEED_DATA
    assert client.write(b"hello") is None
    shuttle(client, server)
    assert server.read(100) == b"hello"


def test_read_drains_several_records_up_to_max_bytes(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx)
    handshake(client, server)
    client.write(b"x" * 100_000)
    shuttle(client, server)
    first = server.read(50_000)
    assert first == b"x" * 50_000
    rest = server.read(1_000_000)
    assert rest == b"x" * 50_000
    assert server.read(10) is NEED_DATA


def test_tls13_server_defers_session_tickets(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx)
    handshake(client, server)
    assert server.ssl_object.version() == "TLSv1.3"
    assert not server.has_bytes_to_send
    server.write(b"data")
    assert server.has_bytes_to_send
    # The tickets leave first, then the data: the client reads it all in order.
    shuttle(server, client)
    assert client.read(100) == b"data"


def test_close_notify_reads_as_clean_eof_forever(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx)
    handshake(client, server)
    client.send_close_notify()
    shuttle(client, server)
    assert server.read(10) == b""
    assert server.read(10) == b""
    assert server.state is TLSState.OPEN


def test_eof_without_close_notify_fails_the_engine(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx)
    handshake(client, server)
    server.receive_bytes(b"")
    with pytest.raises(ssl.SSLEOFError):
        server.read(10)
    assert server.state is TLSState.BROKEN


def test_https_compatible_eof_without_close_notify_is_clean_after_handshake(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx, https_compatible=True)
    handshake(client, server)
    server.receive_bytes(b"")
    assert server.read(10) == b""
    assert server.state is TLSState.OPEN


def test_https_compatible_eof_during_handshake_still_fails(client_ctx: ssl.SSLContext) -> None:
    client = TLSEngine(
        client_ctx, server_side=False, server_hostname=HOSTNAME, https_compatible=True
    )
    assert client.handshake() is NEED_DATA
    client.receive_bytes(b"")
    with pytest.raises(ssl.SSLEOFError):
        client.handshake()
    assert client.state is TLSState.BROKEN


def test_garbage_from_the_peer_fails_with_an_ssl_error(server_ctx: ssl.SSLContext) -> None:
    server = TLSEngine(server_ctx, server_side=True, server_hostname=None, https_compatible=False)
    server.receive_bytes(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(ssl.SSLError):
        server.handshake()
    assert server.state is TLSState.BROKEN


def test_rejected_certificate_leaves_an_alert_to_send(server_ctx: ssl.SSLContext) -> None:
    client, server = make_engines(ssl.create_default_context(), server_ctx)
    client.handshake()
    shuttle(client, server)
    server.handshake()
    shuttle(server, client)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.handshake()
    assert client.has_bytes_to_send
    shuttle(client, server)
    with pytest.raises(ssl.SSLError, match=r"(?i)unknown.ca"):
        server.handshake()


def test_shutdown_exchanges_close_notify_and_keeps_trailing_bytes(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    client, server = make_engines(client_ctx, server_ctx)
    handshake(client, server)
    assert client.shutdown() is NEED_DATA
    shuttle(client, server)
    assert server.shutdown() is None
    server_ciphertext = server.bytes_to_send()
    client.receive_bytes(server_ciphertext + b"plaintext after TLS")
    assert client.shutdown() is None
    assert client.trailing_bytes() == b"plaintext after TLS"


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [
        (TLSState.HANDSHAKING, TLSEvent.HANDSHAKE_DONE, TLSState.OPEN),
        (TLSState.HANDSHAKING, TLSEvent.FAILED, TLSState.BROKEN),
        (TLSState.OPEN, TLSEvent.FAILED, TLSState.BROKEN),
        (TLSState.OPEN, TLSEvent.UNWRAPPED, TLSState.CLOSED),
        (TLSState.BROKEN, TLSEvent.CLOSED, TLSState.CLOSED),
        (TLSState.CLOSED, TLSEvent.FAILED, TLSState.CLOSED),
    ],
)
def test_state_table_transitions(
    client_ctx: ssl.SSLContext, start: TLSState, event: TLSEvent, end: TLSState
) -> None:
    engine = TLSEngine(
        client_ctx, server_side=False, server_hostname=HOSTNAME, https_compatible=False
    )
    engine._state = start
    assert engine.fire(event) is end


@pytest.mark.parametrize(
    ("start", "event"),
    [
        (TLSState.OPEN, TLSEvent.HANDSHAKE_DONE),
        (TLSState.CLOSED, TLSEvent.HANDSHAKE_DONE),
        (TLSState.BROKEN, TLSEvent.UNWRAPPED),
        (TLSState.HANDSHAKING, TLSEvent.UNWRAPPED),
    ],
)
def test_state_table_rejects_impossible_transitions(
    client_ctx: ssl.SSLContext, start: TLSState, event: TLSEvent
) -> None:
    engine = TLSEngine(
        client_ctx, server_side=False, server_hostname=HOSTNAME, https_compatible=False
    )
    engine._state = start
    with pytest.raises(RuntimeError, match="no transition"):
        engine.fire(event)
