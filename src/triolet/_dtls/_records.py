"""Sans-I/O DTLS 1.2 record handling: parse, renumber and pack records; stateless cookies.

No sockets and no OpenSSL here: datagrams in, datagrams and verdicts out. Everything
that parses bytes from the network is named ``*_untrusted`` and raises
:class:`BadPacket` rather than trusting a length field.

Wire formats (RFC 6347):

    record      content_type:1 version:2 epoch:2 sequence_number:6 length:2 fragment
    handshake   msg_type:1 length:3 message_seq:2 fragment_offset:3 fragment_length:3 body
    ClientHello client_version:2 random:32 session_id:<1> cookie:<1> cipher_suites:<2>
                compression_methods:<1> extensions:<2>       (<n>: n-byte length prefix)
    HelloVerifyRequest  server_version:2 cookie:<1>

Rules this module implements:

- Stateless cookie exchange: a server answers a ClientHello without a valid cookie with
  a HelloVerifyRequest carrying ``cookie = tick || HMAC(key, tick, address, hello)``, where
  ``hello`` is the ClientHello body without its cookie and ``tick`` counts
  ``COOKIE_LIFETIME`` periods; a cookie from this tick or the previous one is valid. Only
  then does the server keep any state for the client.
- The HelloVerifyRequest echoes the ClientHello's record sequence number (RFC 6347 4.2.1).
- Epoch-0 records (plaintext handshake) are renumbered by :class:`EpochZeroNumberer` as
  they leave, so a retransmitted flight never reuses a sequence number the peer has seen
  (it would drop the copy as a replay). Encrypted records (epoch > 0) cannot be touched:
  their sequence number is authenticated.
- Records are packed whole into datagrams of at most the ciphertext MTU; a record larger
  than the MTU travels alone.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

CONTENT_TYPE_HANDSHAKE: Final = 22
HANDSHAKE_CLIENT_HELLO: Final = 1
HANDSHAKE_HELLO_VERIFY_REQUEST: Final = 3
# HelloVerifyRequest always speaks DTLS 1.0, whatever version is negotiated later.
DTLS10_VERSION: Final = b"\xfe\xff"

RECORD_HEADER: Final = struct.Struct("!B2sH6sH")
HANDSHAKE_HEADER_SIZE: Final = 12
COOKIE_LIFETIME: Final = 30.0
_MAC_SIZE: Final = 16


class BadPacket(Exception):
    """A datagram that is not well-formed DTLS (truncated, inconsistent lengths, ...)."""


@dataclass(frozen=True)
class Record:
    """One DTLS record as it appears on the wire."""

    content_type: int
    version: bytes
    epoch: int
    sequence: int
    payload: bytes

    def encode(self) -> bytes:
        return (
            RECORD_HEADER.pack(
                self.content_type,
                self.version,
                self.epoch,
                self.sequence.to_bytes(6, "big"),
                len(self.payload),
            )
            + self.payload
        )


def records_untrusted(datagram: bytes) -> Iterator[Record]:
    """The records in ``datagram``, in order; BadPacket at the first malformed one."""
    offset = 0
    size = len(datagram)
    while offset < size:
        if size - offset < RECORD_HEADER.size:
            raise BadPacket("truncated record header")
        content_type, version, epoch, sequence, length = RECORD_HEADER.unpack_from(datagram, offset)
        start = offset + RECORD_HEADER.size
        end = start + length
        if end > size:
            raise BadPacket("record longer than its datagram")
        yield Record(
            content_type, version, epoch, int.from_bytes(sequence, "big"), datagram[start:end]
        )
        offset = end


# ---------------------------------------------------------------------- ClientHello


@dataclass(frozen=True)
class ClientHello:
    """What a server needs from an initial ClientHello to run the cookie exchange."""

    record_sequence: int
    cookie: bytes
    # The ClientHello body minus its cookie: what the cookie is bound to.
    hello_without_cookie: bytes


def _take(data: bytes, offset: int, length_size: int) -> tuple[bytes, int]:
    """Read a ``length_size``-byte length prefix and the bytes it announces."""
    end_of_length = offset + length_size
    if end_of_length > len(data):
        raise BadPacket("truncated length prefix")
    length = int.from_bytes(data[offset:end_of_length], "big")
    end = end_of_length + length
    if end > len(data):
        raise BadPacket("field longer than its message")
    return data[end_of_length:end], end


def may_open_with_client_hello(datagram: bytes) -> bool:
    """A cheap test: does ``datagram`` open with an epoch-0 handshake record?

    Encrypted traffic (epoch 1 and up) never does, so an established channel's datagrams
    skip the ClientHello parsing.
    """
    return (
        len(datagram) > RECORD_HEADER.size
        and datagram[0] == CONTENT_TYPE_HANDSHAKE
        and datagram[3:5] == b"\x00\x00"
    )


def client_hello_untrusted(datagram: bytes) -> ClientHello | None:
    """The ClientHello that opens ``datagram``, or None if it does not open with one.

    Only an epoch-0, unfragmented ClientHello in the first record counts: that is what
    a client's first flight looks like. BadPacket if it claims to be one but is malformed.
    """
    try:
        first = next(records_untrusted(datagram))
    except StopIteration:
        return None
    if first.content_type != CONTENT_TYPE_HANDSHAKE or first.epoch != 0:
        return None
    payload = first.payload
    if len(payload) < HANDSHAKE_HEADER_SIZE or payload[0] != HANDSHAKE_CLIENT_HELLO:
        return None
    length = int.from_bytes(payload[1:4], "big")
    fragment_offset = int.from_bytes(payload[6:9], "big")
    fragment_length = int.from_bytes(payload[9:12], "big")
    if fragment_offset != 0 or fragment_length != length:
        raise BadPacket("fragmented ClientHello")
    body = payload[HANDSHAKE_HEADER_SIZE:]
    if len(body) != length:
        raise BadPacket("ClientHello length disagrees with its record")
    session_id_end = 2 + 32
    _, cookie_start = _take(body, session_id_end, 1)
    cookie, cookie_end = _take(body, cookie_start, 1)
    return ClientHello(
        record_sequence=first.sequence,
        cookie=cookie,
        hello_without_cookie=body[:cookie_start] + body[cookie_end:],
    )


# ---------------------------------------------------------------------- cookies


def _cookie_mac(key: bytes, tick: int, address: object, hello: ClientHello) -> bytes:
    message = b"%d|%r|" % (tick, address) + hello.hello_without_cookie
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_SIZE]


def make_cookie(key: bytes, now: float, address: object, hello: ClientHello) -> bytes:
    """The cookie a HelloVerifyRequest hands to the client at ``address``."""
    tick = int(now // COOKIE_LIFETIME)
    return tick.to_bytes(8, "big") + _cookie_mac(key, tick, address, hello)


def valid_cookie(key: bytes, now: float, address: object, hello: ClientHello) -> bool:
    """Whether ``hello`` carries a cookie this server issued to ``address`` recently."""
    cookie = hello.cookie
    if len(cookie) != 8 + _MAC_SIZE:
        return False
    tick = int.from_bytes(cookie[:8], "big")
    if tick not in (int(now // COOKIE_LIFETIME), int(now // COOKIE_LIFETIME) - 1):
        return False
    return hmac.compare_digest(cookie[8:], _cookie_mac(key, tick, address, hello))


def hello_verify_request(hello: ClientHello, cookie: bytes) -> bytes:
    """A datagram holding a HelloVerifyRequest that answers ``hello`` with ``cookie``."""
    body = DTLS10_VERSION + bytes([len(cookie)]) + cookie
    length = len(body).to_bytes(3, "big")
    handshake = (
        bytes([HANDSHAKE_HELLO_VERIFY_REQUEST])
        + length
        + (0).to_bytes(2, "big")
        + (0).to_bytes(3, "big")
        + length
        + body
    )
    record = Record(CONTENT_TYPE_HANDSHAKE, DTLS10_VERSION, 0, hello.record_sequence, handshake)
    return record.encode()


# ---------------------------------------------------------------------- outgoing


class EpochZeroNumberer:
    """Gives outgoing plaintext (epoch-0) records strictly increasing sequence numbers."""

    __slots__ = ("next_sequence",)

    def __init__(self, first_sequence: int = 0) -> None:
        self.next_sequence = first_sequence

    def renumber(self, records: list[Record]) -> list[Record]:
        """``records`` with each epoch-0 one given the next sequence number."""
        renumbered = []
        for record in records:
            if record.epoch == 0:
                record = Record(
                    record.content_type,
                    record.version,
                    0,
                    self.next_sequence,
                    record.payload,
                )
                self.next_sequence += 1
            renumbered.append(record)
        return renumbered


def pack_datagrams(records: list[Record], mtu: int) -> list[bytes]:
    """Encode ``records`` and group them, in order, into datagrams of at most ``mtu`` bytes."""
    datagrams: list[bytes] = []
    current = b""
    for record in records:
        encoded = record.encode()
        if current and len(current) + len(encoded) > mtu:
            datagrams.append(current)
            current = b""
        current += encoded
    if current:
        datagrams.append(current)
    return datagrams
