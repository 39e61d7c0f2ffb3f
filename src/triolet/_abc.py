"""The abstract interfaces of triolet's high-level API: resources, channels, streams."""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Generic, TypeVar

from ._core import EndOfChannel

if TYPE_CHECKING:
    from typing import Self

    from .socket import SocketType

SendType = TypeVar("SendType", contravariant=True)
ReceiveType = TypeVar("ReceiveType", covariant=True)
T_resource = TypeVar("T_resource", bound="AsyncResource", covariant=True)


class AsyncResource(ABC):
    """Something that must be closed: ``await aclose()``, or use ``async with``."""

    __slots__ = ()

    @abstractmethod
    async def aclose(self) -> None:
        """Close the resource. Idempotent; cancelling it still leaves the resource closed."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Close whatever happened in the block; an exception keeps propagating.
        await self.aclose()


class SendStream(AsyncResource):
    """A stream of bytes you can write to."""

    __slots__ = ()

    @abstractmethod
    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``; returns once the stream has taken it. Not safe to call concurrently."""

    @abstractmethod
    async def wait_send_all_might_not_block(self) -> None:
        """Block until a ``send_all`` would probably not block."""


class ReceiveStream(AsyncResource):
    """A stream of bytes you can read from; async-iterate it to get chunks until EOF."""

    __slots__ = ()

    @abstractmethod
    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Wait for and return some bytes (at most ``max_bytes``); ``b""`` means end of stream."""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes | bytearray:
        # An empty chunk is end-of-stream, which ends ``async for``.
        if chunk := await self.receive_some():
            return chunk
        raise StopAsyncIteration


class Stream(SendStream, ReceiveStream):
    """A two-way byte stream."""

    __slots__ = ()


class HalfCloseableStream(Stream):
    """A two-way stream whose sending side can be closed on its own."""

    __slots__ = ()

    @abstractmethod
    async def send_eof(self) -> None:
        """Close the sending side; the peer sees end of stream. Receiving still works."""


class Listener(AsyncResource, Generic[T_resource]):
    """Accepts incoming connections."""

    __slots__ = ()

    @abstractmethod
    async def accept(self) -> T_resource:
        """Wait for and return the next incoming connection."""


class SendChannel(AsyncResource, Generic[SendType]):
    """The sending end of a channel of Python objects."""

    __slots__ = ()

    @abstractmethod
    async def send(self, value: SendType) -> None:
        """Send ``value``, blocking if the channel is full."""


class ReceiveChannel(AsyncResource, Generic[ReceiveType]):
    """The receiving end of a channel; async-iterate it to receive until the senders close."""

    __slots__ = ()

    @abstractmethod
    async def receive(self) -> ReceiveType:
        """Wait for and return the next value; EndOfChannel once every sender has closed."""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ReceiveType:
        try:
            return await self.receive()
        except EndOfChannel:
            raise StopAsyncIteration from None


T = TypeVar("T")


class Channel(SendChannel[T], ReceiveChannel[T]):
    """A two-way channel (both ends in one object)."""

    __slots__ = ()


# One entry of a getaddrinfo() result: (family, type, proto, canonname, sockaddr).
_AddrInfoEntry = tuple[
    socket.AddressFamily,
    socket.SocketKind,
    int,
    str,
    tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes],
]


class HostnameResolver(ABC):
    """A replacement for the system resolver (see ``triolet.socket.set_custom_hostname_resolver``)."""

    __slots__ = ()

    @abstractmethod
    async def getnameinfo(
        self, sockaddr: tuple[str, int] | tuple[str, int, int, int], flags: int
    ) -> tuple[str, str]:
        """Like ``socket.getnameinfo``."""

    # The parameters mirror socket.getaddrinfo's, kept on two lines for readability.
    # fmt: off
    @abstractmethod
    async def getaddrinfo(
        self, host: bytes | None, port: bytes | str | int | None,
        family: int = 0, type: int = 0, proto: int = 0, flags: int = 0,
    ) -> list[_AddrInfoEntry]:
        """Resolve like ``socket.getaddrinfo``; ``host`` is already IDNA-encoded bytes."""
    # fmt: on


class SocketFactory(ABC):
    """A replacement for socket creation (see ``triolet.socket.set_custom_socket_factory``)."""

    __slots__ = ()

    @abstractmethod
    def socket(self, family: int, type: int, proto: int, /) -> SocketType:
        """Return a new, unconnected triolet socket for ``triolet.socket.socket()``.

        All three arguments are always given: where the caller left one out, triolet
        passes the stdlib's default (``AF_INET``, ``SOCK_STREAM``, ``0``).
        """
