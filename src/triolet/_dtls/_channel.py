"""DTLSChannel: one DTLS association with one peer, sharing its endpoint's UDP socket.

The endpoint's receive loop drops this peer's datagrams into ``_packets``; the channel
feeds them to a pyOpenSSL ``Connection`` in memory-BIO mode and sends what it writes,
packed into datagrams of at most the ciphertext MTU (``_records.pack_datagrams``).

Handshake retransmission is ours, timed by triolet's clock (OpenSSL's own timer reads the
wall clock and is never consulted): after sending a flight we wait for the peer; if
nothing makes OpenSSL move on before the timeout, the last flight goes out again, with
fresh sequence numbers on its plaintext records, and the timeout doubles (capped at
``MAX_RETRANSMIT_TIMEOUT``). After the handshake, whatever OpenSSL writes while reading
(a retransmission the peer asked for by repeating its last flight) is sent at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .._abc import Channel
from .._core import (
    BrokenResourceError,
    CancelScope,
    ClosedResourceError,
    EndOfChannel,
    ParkingLot,
    checkpoint,
    current_time,
)
from .._ssl import NeedHandshakeError
from ._openssl import require_openssl
from ._queue import DroppingQueue
from ._records import EpochZeroNumberer, Record, pack_datagrams, records_untrusted

if TYPE_CHECKING:
    from typing import Self

    from OpenSSL import SSL

    from ._endpoint import DTLSEndpoint

MAX_RETRANSMIT_TIMEOUT: Final = 60.0
# Larger than any UDP payload, so one read takes everything OpenSSL wrote.
_BIO_READ_SIZE: Final = 1 << 17
_MAX_PLAINTEXT: Final = 1 << 16


@dataclass
class DTLSChannelStatistics:
    """Counters for a :class:`DTLSChannel`.

    ``incoming_packets_dropped_in_trio``: datagrams for this channel that arrived while
    its buffer (``incoming_packets_buffer`` on the endpoint) was full, and were dropped.
    """

    incoming_packets_dropped_in_trio: int


class DTLSChannel(Channel[bytes]):
    """An encrypted, unreliable datagram channel to one peer, made by a :class:`DTLSEndpoint`.

    Get one from ``endpoint.connect(address, ssl_context)`` (client) or as the argument
    of a ``DTLSEndpoint.serve`` handler (server); do not construct it yourself. Each
    :meth:`send` is one datagram for the peer's :meth:`receive`; datagrams may be lost,
    duplicated or reordered, as with UDP. The handshake runs on first use, or explicitly
    with :meth:`do_handshake`. ``endpoint`` and ``peer_address`` are public attributes.
    """

    def __init__(self, endpoint: DTLSEndpoint, peer_address: Any, ctx: SSL.Context) -> None:
        self._SSL = require_openssl()
        self.endpoint = endpoint
        self.peer_address = peer_address
        self._ssl: SSL.Connection = self._SSL.Connection(ctx, None)
        self._packets: DroppingQueue[bytes] = DroppingQueue(endpoint.incoming_packets_buffer)
        self._packets_dropped = 0
        self._numberer = EpochZeroNumberer()
        # Memory BIOs can't tell OpenSSL the path MTU; without this option it would fall
        # back to a tiny one during the handshake, ignoring the MTU we set.
        self._ssl.set_options(self._SSL.OP_NO_QUERY_MTU)
        self._mtu = endpoint._default_mtu()
        self._ssl.set_ciphertext_mtu(self._mtu)
        self._closed = False
        self._broken: BaseException | None = None
        # Server side: the body (minus cookie) of the ClientHello that opened this channel,
        # so the endpoint can tell its retransmissions from a peer starting over.
        self._opening_hello: bytes | None = None
        self._replaced = False
        self._peer_closed = False
        self._handshake_done = False
        self._handshake_running = False
        self._handshake_finished = ParkingLot()

    # ------------------------------------------------------------------ endpoint side
    def _deliver(self, packet: bytes) -> None:
        """Called by the endpoint's receive loop for each datagram from our peer."""
        if not self._packets.put_nowait(packet):
            self._packets_dropped += 1

    def _set_replaced(self) -> None:
        """The peer opened a new connection from the same address: this one is over."""
        self._replaced = True
        self._packets.close()  # wakes a waiting receive or handshake
        self.endpoint._forget(self)

    async def _next_packet(self) -> bytes:
        try:
            return await self._packets.get()
        except ClosedResourceError:
            self._check_usable()  # says why, if it was not an ordinary close
            raise

    # ------------------------------------------------------------------ plumbing
    def _check_usable(self) -> None:
        if self._closed:
            raise ClosedResourceError("this DTLSChannel was closed")
        if self._replaced:
            raise BrokenResourceError(
                "the peer started a new DTLS connection from the same address, which "
                "replaced this one; its handler gets the new channel"
            )
        if self._broken is not None:
            raise BrokenResourceError("this DTLSChannel is broken by an earlier DTLS error")

    def _fail(self, exc: BaseException) -> BrokenResourceError:
        self._broken = exc
        return BrokenResourceError(f"DTLS failed: {exc}")

    def _take_output(self) -> list[Record]:
        """Every record OpenSSL has written since the last call."""
        chunks = []
        while True:
            try:
                chunks.append(self._ssl.bio_read(_BIO_READ_SIZE))
            except self._SSL.WantReadError:
                break
        return list(records_untrusted(b"".join(chunks))) if chunks else []

    async def _send_records(self, records: list[Record]) -> None:
        if not records:
            return
        renumbered = self._numberer.renumber(records)
        for datagram in pack_datagrams(renumbered, self._mtu):
            await self.endpoint.socket.sendto(datagram, self.peer_address)

    # ------------------------------------------------------------------ handshake
    async def do_handshake(self, *, initial_retransmit_timeout: float = 1.0) -> None:
        """Perform the DTLS handshake, if not done yet; a checkpoint.

        Retransmits the last flight after ``initial_retransmit_timeout`` seconds without
        progress, doubling the wait each time. Other tasks calling it meanwhile wait for
        this one. BrokenResourceError (cause: the OpenSSL error) if it fails;
        ClosedResourceError if the channel or endpoint is closed. Cancelling it leaves
        the handshake resumable.
        """
        self._check_usable()
        if self._handshake_done:
            await checkpoint()
            return
        while self._handshake_running:
            await self._handshake_finished.park()
            self._check_usable()
            if self._handshake_done:
                return
        self._handshake_running = True
        try:
            await self._run_handshake(initial_retransmit_timeout)
        finally:
            self._handshake_running = False
            self._handshake_finished.unpark_all()

    async def _run_handshake(self, initial_timeout: float) -> None:
        SSL = self._SSL
        flight: list[Record] = []
        timeout = initial_timeout
        deadline = math.inf
        while True:
            try:
                self._ssl.do_handshake()
                done = True
            except SSL.WantReadError:
                done = False
            except SSL.Error as exc:
                await self._send_records(self._take_output())
                raise self._fail(exc) from exc
            written = self._take_output()
            if written:
                flight = written
                timeout = initial_timeout
                await self._send_records(flight)
                deadline = current_time() + timeout
            if done:
                self._handshake_done = True
                return
            packet = None
            with CancelScope(deadline=deadline):
                packet = await self._next_packet()
            if packet is None:
                await self._send_records(flight)
                timeout = min(timeout * 2, MAX_RETRANSMIT_TIMEOUT)
                deadline = current_time() + timeout
                continue
            self._ssl.bio_write(packet)

    # ------------------------------------------------------------------ data
    async def send(self, data: bytes) -> None:
        """Encrypt ``data`` and send it as one datagram; handshakes first if needed.

        A checkpoint. ClosedResourceError if closed; BrokenResourceError if DTLS failed.
        Datagrams larger than :meth:`get_cleartext_mtu` may be fragmented or dropped by
        the network.
        """
        self._check_usable()
        if not self._handshake_done:
            await self.do_handshake()
        try:
            self._ssl.send(data)
        except self._SSL.Error as exc:
            raise self._fail(exc) from exc
        await self._send_records(self._take_output())

    async def receive(self) -> bytes:
        """Wait for the next datagram from the peer and return its decrypted contents.

        Handshakes first if needed. A checkpoint. EndOfChannel after the peer's
        ``close_notify``; ClosedResourceError if the channel or endpoint is closed;
        BrokenResourceError if DTLS failed. Forged or damaged datagrams are dropped
        silently, as DTLS requires.
        """
        self._check_usable()
        if not self._handshake_done:
            await self.do_handshake()
        SSL = self._SSL
        while True:
            if self._peer_closed:
                await checkpoint()
                raise EndOfChannel("the peer closed this DTLS association")
            try:
                data: bytes = self._ssl.recv(_MAX_PLAINTEXT)
            except SSL.WantReadError:
                await self._send_records(self._take_output())
                self._ssl.bio_write(await self._next_packet())
                continue
            except SSL.ZeroReturnError:
                self._peer_closed = True
                continue
            except SSL.Error as exc:
                await self._send_records(self._take_output())
                raise self._fail(exc) from exc
            await self._send_records(self._take_output())
            return data

    # ------------------------------------------------------------------ MTU and stats
    def get_cleartext_mtu(self) -> int:
        """The largest ``send`` that fits in one datagram of the current ciphertext MTU.

        NeedHandshakeError before the handshake (the cipher decides the overhead).
        """
        if not self._handshake_done:
            raise NeedHandshakeError("call do_handshake() before get_cleartext_mtu()")
        mtu: int = self._ssl.get_cleartext_mtu()
        return mtu

    def set_ciphertext_mtu(self, new_mtu: int) -> None:
        """Set the largest datagram (UDP payload) to send; handshake messages are split to fit.

        The default is a guess from the socket's family: 1500 minus the IP and UDP
        headers. Set it lower if your path has a smaller MTU.
        """
        self._mtu = new_mtu
        self._ssl.set_ciphertext_mtu(new_mtu)

    def statistics(self) -> DTLSChannelStatistics:
        """Counters for this channel; see :class:`DTLSChannelStatistics`."""
        return DTLSChannelStatistics(incoming_packets_dropped_in_trio=self._packets_dropped)

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Close the channel without telling the peer (DTLS has no reliable goodbye).

        Idempotent; pending and later calls raise ClosedResourceError. The endpoint and
        its socket stay open.
        """
        if self._closed:
            return
        self._closed = True
        self._packets.close()
        self.endpoint._forget(self)

    async def aclose(self) -> None:
        """:meth:`close`, then a checkpoint."""
        self.close()
        await checkpoint()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Closing is all a plain ``with`` block does on the way out; errors propagate.
        self.close()
