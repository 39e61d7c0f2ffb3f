"""DTLSEndpoint: one UDP socket shared by many DTLS channels, and the server's front door.

A system task (``_receive_loop``) reads every datagram and routes it by source address:
to that peer's channel if there is one; otherwise, while ``serve`` runs, through the
stateless cookie exchange of ``_records`` (no state is kept for a client until it echoes
a valid cookie), and then to a new server-side channel handed to ``serve``. Anything else
is dropped, as UDP servers must. The loop holds the endpoint only weakly, so an endpoint
nobody references can be garbage-collected (close it to be sure its socket closes).
"""

from __future__ import annotations

import errno
import secrets
import socket as _stdlib_socket
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from .._core import (
    TASK_STATUS_IGNORED,
    BusyResourceError,
    ClosedResourceError,
    TaskStatus,
    current_time,
    open_nursery,
    spawn_system_task,
)
from ._channel import DTLSChannel
from ._openssl import require_openssl
from ._queue import DroppingQueue
from ._records import (
    BadPacket,
    client_hello_untrusted,
    hello_verify_request,
    make_cookie,
    may_open_with_client_hello,
    valid_cookie,
)

if TYPE_CHECKING:
    from typing import Self

    from OpenSSL import SSL

    from .._net._socket_type import SocketType

# Bigger than any UDP payload.
MAX_DATAGRAM_SIZE: Final = 65536 + 512
# Errors a UDP socket reports for an earlier datagram (ICMP): they say nothing about
# the next one, so the receive loop carries on.
_TRANSIENT_ERRNOS: Final = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH}
)


class DTLSEndpoint:
    """DTLS over one UDP socket: make client channels with :meth:`connect`, or :meth:`serve`.

    ``socket`` is a bound (for a server) ``triolet.socket`` datagram socket; the endpoint
    owns it from now on and closes it in :meth:`close`. Each channel buffers up to
    ``incoming_packets_buffer`` datagrams (more are dropped and counted in its
    statistics); pending new connections are bounded the same way. Must be created
    inside ``triolet.run``. ImportError (naming ``pip install triolet[dtls]``) without
    pyOpenSSL; ValueError for a socket that is not ``SOCK_DGRAM``.
    """

    def __init__(self, socket: SocketType, *, incoming_packets_buffer: int = 10) -> None:
        require_openssl()
        if socket.type != _stdlib_socket.SOCK_DGRAM:
            raise ValueError("DTLSEndpoint needs a SOCK_DGRAM (UDP) socket")
        self.socket = socket
        self.incoming_packets_buffer = incoming_packets_buffer
        self._channels: dict[Any, DTLSChannel] = {}
        self._listening_context: SSL.Context | None = None
        self._cookie_key = secrets.token_bytes(32)
        self._new_channels: DroppingQueue[DTLSChannel] = DroppingQueue(incoming_packets_buffer)
        self._closed = False
        spawn_system_task(_receive_loop, weakref.ref(self), socket, name="DTLS receive loop")

    # ------------------------------------------------------------------ helpers
    def _check_open(self) -> None:
        if self._closed:
            raise ClosedResourceError("this DTLSEndpoint was closed")

    def _default_mtu(self) -> int:
        # Ethernet's 1500 bytes minus the IP header (20 bytes v4, 40 v6) and UDP's 8.
        return 1452 if self.socket.family == _stdlib_socket.AF_INET6 else 1472

    def _normalize(self, address: Any) -> Any:
        """The address as recvfrom reports it, so replies find their channel."""
        host, port, *rest = address
        try:
            infos = _stdlib_socket.getaddrinfo(
                host,
                port,
                self.socket.family,
                _stdlib_socket.SOCK_DGRAM,
                0,
                _stdlib_socket.AI_NUMERICHOST,
            )
        except _stdlib_socket.gaierror:
            raise ValueError(
                f"DTLSEndpoint.connect() needs a numeric IP address, got {host!r}; resolve "
                "names first with triolet.socket.getaddrinfo()"
            ) from None
        sockaddr = infos[0][4]
        if rest and len(sockaddr) == 4:
            return (sockaddr[0], sockaddr[1], *rest)
        return sockaddr

    def _forget(self, channel: DTLSChannel) -> None:
        if self._channels.get(channel.peer_address) is channel:
            del self._channels[channel.peer_address]

    # ------------------------------------------------------------------ routing
    async def _dispatch(self, packet: bytes, address: Any) -> None:
        channel = self._channels.get(address)
        if channel is not None and not (
            channel._opening_hello is not None and may_open_with_client_hello(packet)
        ):
            channel._deliver(packet)
            return
        ssl_context = self._listening_context
        if ssl_context is None:
            return
        try:
            hello = client_hello_untrusted(packet)
        except BadPacket:
            hello = None
        if channel is not None and (
            hello is None or hello.hello_without_cookie == channel._opening_hello
        ):
            # Handshake traffic of the existing server channel, or a retransmission of
            # the ClientHello that opened it.
            channel._deliver(packet)
            return
        if hello is None:
            return
        # A new connection; from a peer we already have a channel with, it means the
        # peer started over (a restarted client reusing its port). Only once it passes
        # the cookie exchange (proving it owns the address) does it replace the old one.
        now = current_time()
        if not valid_cookie(self._cookie_key, now, address, hello):
            reply = hello_verify_request(hello, make_cookie(self._cookie_key, now, address, hello))
            try:
                await self.socket.sendto(reply, address)
            except OSError:
                pass
            return
        SSL = require_openssl()
        channel = DTLSChannel(self, address, ssl_context)
        channel._numberer.next_sequence = hello.record_sequence
        channel._ssl.set_accept_state()
        channel._ssl.bio_write(packet)
        try:
            # Takes the (already validated) ClientHello and sets the sequence numbers
            # the client expects after a HelloVerifyRequest.
            channel._ssl.DTLSv1_listen()
        except SSL.Error:
            return
        channel._opening_hello = hello.hello_without_cookie
        if self._new_channels.put_nowait(channel):
            old = self._channels.get(address)
            if old is not None:
                old._set_replaced()
            self._channels[address] = channel

    # ------------------------------------------------------------------ public API
    def connect(self, address: tuple[str, int], ssl_context: SSL.Context) -> DTLSChannel:
        """A client channel to ``address`` (a numeric IP and port); not a checkpoint.

        The handshake happens on the channel's first use or ``do_handshake()``.
        ``ssl_context`` is a pyOpenSSL ``SSL.Context`` made with ``SSL.DTLS_METHOD``.
        ClosedResourceError if the endpoint is closed.
        """
        self._check_open()
        peer = self._normalize(address)
        channel = DTLSChannel(self, peer, ssl_context)
        channel._ssl.set_connect_state()
        old = self._channels.get(peer)
        if old is not None:
            old.close()
        self._channels[peer] = channel
        return channel

    async def serve(
        self,
        ssl_context: SSL.Context,
        async_fn: Callable[..., Awaitable[object]],
        *args: object,
        task_status: TaskStatus[None] = TASK_STATUS_IGNORED,
    ) -> None:
        """Accept DTLS clients forever: ``async_fn(channel, *args)`` runs per new client.

        Clients must first pass the stateless cookie exchange. Each handler runs in its
        own task; its channel is closed when it returns. A client that starts a new
        handshake from the address of an existing channel (a restarted client reusing
        its port) gets a new channel and handler; the old channel's operations then
        raise BrokenResourceError. ``task_status.started()`` is
        called once new clients are being accepted. Runs until cancelled; raises
        ClosedResourceError when the endpoint is closed and BusyResourceError if
        another ``serve`` is already running on this endpoint. Installs cookie callbacks on
        ``ssl_context`` (the endpoint checks the cookies itself), so the context must
        not have made connections before its first ``serve`` (ValueError otherwise).
        """
        self._check_open()
        if self._listening_context is not None:
            raise BusyResourceError("another task is already serving on this DTLSEndpoint")
        _install_cookie_callbacks(ssl_context)

        async def handle(channel: DTLSChannel) -> None:
            with channel:
                await async_fn(channel, *args)

        self._listening_context = ssl_context
        try:
            async with open_nursery() as nursery:
                task_status.started()
                while True:
                    channel = await self._new_channels.get()
                    nursery.start_soon(handle, channel)
        finally:
            self._listening_context = None

    def close(self) -> None:
        """Close the socket and every channel; idempotent. ``serve`` raises ClosedResourceError."""
        if self._closed:
            return
        self._closed = True
        self.socket.close()
        for channel in list(self._channels.values()):
            channel.close()
        self._new_channels.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Closing is all a plain ``with`` block does on the way out; errors propagate.
        self.close()


# Contexts that already carry our cookie callbacks: pyOpenSSL refuses to change a
# context once it has made a connection, so a second serve() must not try again.
_CONTEXTS_WITH_COOKIE_CALLBACKS: weakref.WeakSet[SSL.Context] = weakref.WeakSet()


def _install_cookie_callbacks(ssl_context: SSL.Context) -> None:
    if ssl_context in _CONTEXTS_WITH_COOKIE_CALLBACKS:
        return
    try:
        ssl_context.set_cookie_generate_callback(_unused_cookie_generator)
        ssl_context.set_cookie_verify_callback(_cookie_already_verified)
    except ValueError as exc:
        raise ValueError(
            "DTLSEndpoint.serve() must install cookie callbacks on its SSL.Context, and "
            "pyOpenSSL refuses to change a context that has already made connections; "
            "pass a server context that has not been used elsewhere"
        ) from exc
    _CONTEXTS_WITH_COOKIE_CALLBACKS.add(ssl_context)


def _unused_cookie_generator(connection: SSL.Connection) -> bytes:
    # OpenSSL never asks: clients reach OpenSSL only after the endpoint's own exchange.
    return b"\x00" * 16


def _cookie_already_verified(connection: SSL.Connection, cookie: bytes) -> bool:
    return True


async def _receive_loop(endpoint_ref: weakref.ref[DTLSEndpoint], sock: SocketType) -> None:
    while True:
        try:
            packet, address = await sock.recvfrom(MAX_DATAGRAM_SIZE)
        except ClosedResourceError:
            return
        except OSError as exc:
            if exc.errno in _TRANSIENT_ERRNOS:
                continue
            return
        endpoint = endpoint_ref()
        if endpoint is None or endpoint._closed:
            return
        await endpoint._dispatch(packet, address)
        del endpoint
