"""getaddrinfo / getnameinfo, IDNA, custom resolvers and socket factories
(src/triolet/_net/_resolver.py, set_custom_socket_factory in _socket.py)."""

from __future__ import annotations

import socket as stdlib_socket
from typing import Any

import pytest

import triolet
import triolet.socket as tsocket
from triolet.lowlevel import encode_hostname
from triolet.testing import assert_checkpoints

from ._helpers import message_check


class RecordingResolver(triolet.abc.HostnameResolver):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def getaddrinfo(self, *args: Any) -> Any:
        self.calls.append(("getaddrinfo", *args))
        port = args[1] if isinstance(args[1], int) else 4242
        return [(tsocket.AF_INET, tsocket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    async def getnameinfo(self, *args: Any) -> Any:
        self.calls.append(("getnameinfo", *args))
        return ("resolved.example", "4242")


class RecordingFactory(triolet.abc.SocketFactory):
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []

    def socket(self, family: Any = None, type: Any = None, proto: Any = None) -> Any:
        self.calls.append((family, type, proto))
        return tsocket.from_stdlib_socket(stdlib_socket.socket(family, type, proto))


@pytest.mark.parametrize(
    ("hostname", "encoded"),
    [
        ("example.com", b"example.com"),
        ("ÉXAMPLE.com", b"xn--xample-9ua.com"),
        ("straße.de", b"xn--strae-oqa.de"),
        ("Bücher.example", b"xn--bcher-kva.example"),
        ("127.0.0.1", b"127.0.0.1"),
        ("::1", b"::1"),
        ("a..b", b"a..b"),  # ASCII passes through even when IDNA would refuse it
    ],
)
def test_encode_hostname(hostname: str, encoded: bytes) -> None:
    assert encode_hostname(hostname) == encoded


def test_encode_hostname_rejects_what_idna_cannot_encode() -> None:
    with pytest.raises(UnicodeError):
        encode_hostname("☃..com")


async def test_numeric_getaddrinfo_matches_the_stdlib() -> None:
    expected = stdlib_socket.getaddrinfo("127.0.0.1", 80, type=stdlib_socket.SOCK_STREAM)
    assert await tsocket.getaddrinfo("127.0.0.1", 80, type=tsocket.SOCK_STREAM) == expected


async def test_numeric_getaddrinfo_is_a_checkpoint() -> None:
    with assert_checkpoints():
        await tsocket.getaddrinfo("::1", 443)


async def test_getaddrinfo_of_a_name_uses_a_thread() -> None:
    result = await tsocket.getaddrinfo("localhost", 80, type=tsocket.SOCK_STREAM)
    assert ("127.0.0.1", 80) in [entry[4][:2] for entry in result]


async def test_unknown_host_is_gaierror_naming_the_host() -> None:
    with pytest.raises(tsocket.gaierror, match=message_check("nonexistent.invalid")):
        await tsocket.getaddrinfo("nonexistent.invalid", 80)


async def test_custom_resolver_gets_idna_encoded_bytes() -> None:
    resolver = RecordingResolver()
    assert tsocket.set_custom_hostname_resolver(resolver) is None
    try:
        await tsocket.getaddrinfo("Bücher.example", "http", 0, tsocket.SOCK_STREAM)
        await tsocket.getaddrinfo(b"bytes.example", 80)
        assert await tsocket.getnameinfo(("127.0.0.1", 80), 0) == ("resolved.example", "4242")
    finally:
        assert tsocket.set_custom_hostname_resolver(None) is resolver
    assert resolver.calls == [
        ("getaddrinfo", b"xn--bcher-kva.example", "http", 0, tsocket.SOCK_STREAM, 0, 0),
        ("getaddrinfo", b"bytes.example", 80, 0, 0, 0, 0),
        ("getnameinfo", ("127.0.0.1", 80), 0),
    ]


async def test_numeric_hosts_skip_the_custom_resolver() -> None:
    resolver = RecordingResolver()
    tsocket.set_custom_hostname_resolver(resolver)
    try:
        await tsocket.getaddrinfo("127.0.0.1", 80)
    finally:
        tsocket.set_custom_hostname_resolver(None)
    assert resolver.calls == []


async def test_bind_resolves_names_through_the_custom_resolver_passively() -> None:
    resolver = RecordingResolver()
    tsocket.set_custom_hostname_resolver(resolver)
    try:
        with tsocket.socket() as sock:
            await sock.bind(("name.example", 0))
            assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        tsocket.set_custom_hostname_resolver(None)
    assert resolver.calls == [
        (
            "getaddrinfo",
            b"name.example",
            0,
            tsocket.AF_INET,
            tsocket.SOCK_STREAM,
            0,
            tsocket.AI_PASSIVE,
        )
    ]


async def test_getnameinfo_with_the_system_resolver() -> None:
    flags = tsocket.NI_NUMERICHOST | tsocket.NI_NUMERICSERV
    assert await tsocket.getnameinfo(("127.0.0.1", 80), flags) == ("127.0.0.1", "80")


async def test_getprotobyname() -> None:
    assert await tsocket.getprotobyname("tcp") == stdlib_socket.IPPROTO_TCP


async def test_custom_socket_factory_makes_sockets_without_fileno() -> None:
    factory = RecordingFactory()
    assert tsocket.set_custom_socket_factory(factory) is None
    try:
        tsocket.socket().close()
        tsocket.socket(tsocket.AF_INET6, tsocket.SOCK_DGRAM).close()
        with tsocket.socket() as real:
            tsocket.socket(fileno=real.detach()).close()
    finally:
        assert tsocket.set_custom_socket_factory(None) is factory
    assert factory.calls == [
        (tsocket.AF_INET, tsocket.SOCK_STREAM, 0),
        (tsocket.AF_INET6, tsocket.SOCK_DGRAM, 0),
        (tsocket.AF_INET, tsocket.SOCK_STREAM, 0),
    ]


async def test_non_ascii_names_reach_the_resolver_idna_2008_encoded() -> None:
    # IDNA 2003 (the stdlib codec) would turn "straße" into "strasse".
    resolver = RecordingResolver()
    tsocket.set_custom_hostname_resolver(resolver)
    try:
        await tsocket.getaddrinfo("straße.example", 80)
        with tsocket.socket() as sock:
            await sock.bind(("straße.example", 0))
    finally:
        tsocket.set_custom_hostname_resolver(None)
    assert [call[1] for call in resolver.calls] == [b"xn--strae-oqa.example"] * 2
