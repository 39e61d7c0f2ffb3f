"""The sans-I/O DTLS record helpers: parsing, cookies, HelloVerifyRequest, packing.

Real ClientHellos come from pyOpenSSL in memory-BIO mode; no sockets, no event loop.
Triolet internals, so skipped when ``import triolet`` loads trio.
"""

from __future__ import annotations

import pytest

SSL = pytest.importorskip("OpenSSL.SSL")

try:
    from triolet._dtls._records import (
        COOKIE_LIFETIME,
        BadPacket,
        EpochZeroNumberer,
        Record,
        client_hello_untrusted,
        hello_verify_request,
        make_cookie,
        pack_datagrams,
        records_untrusted,
        valid_cookie,
    )
except ImportError:  # ``import triolet`` loaded trio
    pytest.skip("tests triolet's own DTLS record helpers", allow_module_level=True)

KEY = b"k" * 32
ADDRESS = ("127.0.0.1", 4433)


def client_hello_datagram() -> bytes:
    connection = SSL.Connection(SSL.Context(SSL.DTLS_METHOD), None)
    connection.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        connection.do_handshake()
    data: bytes = connection.bio_read(65536)
    return data


def test_client_hello_is_recognised_with_an_empty_cookie() -> None:
    hello = client_hello_untrusted(client_hello_datagram())
    assert hello is not None
    assert hello.cookie == b""
    assert hello.record_sequence == 0


def test_cookie_round_trip_is_valid_for_the_same_client_only() -> None:
    hello = client_hello_untrusted(client_hello_datagram())
    assert hello is not None
    cookie = make_cookie(KEY, 100.0, ADDRESS, hello)
    echoed = type(hello)(hello.record_sequence, cookie, hello.hello_without_cookie)
    assert valid_cookie(KEY, 100.0, ADDRESS, echoed)
    assert not valid_cookie(KEY, 100.0, ("127.0.0.1", 4434), echoed)
    assert not valid_cookie(b"other key" * 4, 100.0, ADDRESS, echoed)
    assert not valid_cookie(KEY, 100.0, ADDRESS, hello)


def test_cookies_expire_after_two_lifetimes() -> None:
    hello = client_hello_untrusted(client_hello_datagram())
    assert hello is not None
    cookie = make_cookie(KEY, 100.0, ADDRESS, hello)
    echoed = type(hello)(hello.record_sequence, cookie, hello.hello_without_cookie)
    assert valid_cookie(KEY, 100.0 + COOKIE_LIFETIME, ADDRESS, echoed)
    assert not valid_cookie(KEY, 100.0 + 2 * COOKIE_LIFETIME, ADDRESS, echoed)


def test_client_accepts_our_hello_verify_request_and_echoes_the_cookie() -> None:
    connection = SSL.Connection(SSL.Context(SSL.DTLS_METHOD), None)
    connection.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        connection.do_handshake()
    hello = client_hello_untrusted(connection.bio_read(65536))
    assert hello is not None
    cookie = make_cookie(KEY, 0.0, ADDRESS, hello)
    connection.bio_write(hello_verify_request(hello, cookie))
    with pytest.raises(SSL.WantReadError):
        connection.do_handshake()
    second = client_hello_untrusted(connection.bio_read(65536))
    assert second is not None
    assert second.cookie == cookie
    assert valid_cookie(KEY, 0.0, ADDRESS, second)


@pytest.mark.parametrize(
    "datagram",
    [b"\x16\xfe\xfd", b"\x16\xfe\xfd\x00\x00" + b"\x00" * 6 + b"\x00\x50" + b"short"],
)
def test_truncated_records_are_bad_packets(datagram: bytes) -> None:
    with pytest.raises(BadPacket):
        list(records_untrusted(datagram))


def test_non_handshake_datagrams_are_not_client_hellos() -> None:
    application_data = Record(23, b"\xfe\xfd", 1, 5, b"ciphertext").encode()
    assert client_hello_untrusted(application_data) is None
    assert client_hello_untrusted(b"") is None


def test_renumbering_touches_only_epoch_zero_and_never_repeats() -> None:
    numberer = EpochZeroNumberer(7)
    flight = [Record(22, b"\xfe\xfd", 0, 0, b"a"), Record(22, b"\xfe\xfd", 1, 0, b"b")]
    first = numberer.renumber(flight)
    again = numberer.renumber(flight)
    assert [r.sequence for r in first] == [7, 0]
    assert [r.sequence for r in again] == [8, 0]


def test_packing_keeps_order_and_fills_datagrams_up_to_the_mtu() -> None:
    records = [Record(22, b"\xfe\xfd", 0, n, bytes(100)) for n in range(10)]
    datagrams = pack_datagrams(records, 300)
    assert all(len(datagram) <= 300 for datagram in datagrams)
    assert [r.sequence for d in datagrams for r in records_untrusted(d)] == list(range(10))
    assert len(datagrams) == 5


def test_a_record_larger_than_the_mtu_travels_alone() -> None:
    records = [Record(23, b"\xfe\xfd", 1, 0, bytes(500)), Record(23, b"\xfe\xfd", 1, 1, b"x")]
    datagrams = pack_datagrams(records, 200)
    assert len(datagrams) == 2
