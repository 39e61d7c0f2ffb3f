"""The public interface of a triolet socket: :class:`SocketType`.

It mirrors the stdlib ``socket.socket`` API with every call that can block turned into
an ``async`` method. ``triolet.socket.socket()`` returns an implementation wrapping a
stdlib socket (see ``_socket.py``); a custom :class:`~triolet.abc.SocketFactory` may
return any other subclass, such as a fake socket for tests. The methods here only
declare the interface.
"""

from __future__ import annotations

import socket as _stdlib_socket
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Self

    from typing_extensions import Buffer

AddressFormat = Any
"""A socket address as the stdlib takes it: ``(host, port)``, a path, ..."""


class SocketType:
    """A triolet socket. Create one with :func:`triolet.socket.socket`, not directly.

    Subclass it to build sockets for a custom socket factory; every method here raises
    NotImplementedError until overridden.
    """

    __slots__ = ()

    def __init__(self) -> None:
        if type(self) is SocketType:
            raise TypeError(
                "SocketType is an abstract class; create a socket with "
                "triolet.socket.socket() or wrap one with triolet.socket.from_stdlib_socket()"
            )

    # -- context manager and lifetime --------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket; tasks blocked on it get ClosedResourceError."""
        raise NotImplementedError

    def detach(self) -> int:
        """Give up ownership of the file descriptor and return it."""
        raise NotImplementedError

    def dup(self) -> SocketType:
        """A new triolet socket on a duplicate of this file descriptor."""
        raise NotImplementedError

    # -- attributes -----------------------------------------------------------------
    @property
    def family(self) -> _stdlib_socket.AddressFamily:
        raise NotImplementedError

    @property
    def type(self) -> _stdlib_socket.SocketKind:
        raise NotImplementedError

    @property
    def proto(self) -> int:
        raise NotImplementedError

    @property
    def did_shutdown_SHUT_WR(self) -> bool:
        """Whether ``shutdown(SHUT_WR)`` or ``shutdown(SHUT_RDWR)`` was called."""
        raise NotImplementedError

    def fileno(self) -> int:
        raise NotImplementedError

    def get_inheritable(self) -> bool:
        raise NotImplementedError

    def set_inheritable(self, inheritable: bool) -> None:
        raise NotImplementedError

    def getpeername(self) -> AddressFormat:
        raise NotImplementedError

    def getsockname(self) -> AddressFormat:
        raise NotImplementedError

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> int | bytes:
        raise NotImplementedError

    def setsockopt(
        self, level: int, optname: int, value: int | Buffer | None, optlen: int | None = None
    ) -> None:
        raise NotImplementedError

    def listen(self, backlog: int = 128) -> None:
        raise NotImplementedError

    def shutdown(self, flag: int) -> None:
        raise NotImplementedError

    def is_readable(self) -> bool:
        """Whether a receive would return immediately (data, EOF or an error). Not a checkpoint."""
        raise NotImplementedError

    # -- async operations -----------------------------------------------------------
    async def wait_writable(self) -> None:
        """Block until the socket is writable. A checkpoint."""
        raise NotImplementedError

    async def accept(self) -> tuple[SocketType, AddressFormat]:
        """Wait for a connection; return ``(socket, address)``. A checkpoint."""
        raise NotImplementedError

    async def bind(self, address: AddressFormat) -> None:
        """Bind to ``address``, resolving hostnames without blocking. A checkpoint."""
        raise NotImplementedError

    async def connect(self, address: AddressFormat) -> None:
        """Connect to ``address``. A checkpoint; if cancelled, the socket is closed."""
        raise NotImplementedError

    async def recv(self, buflen: int, flags: int = 0, /) -> bytes:
        raise NotImplementedError

    async def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        raise NotImplementedError

    async def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, AddressFormat]:
        raise NotImplementedError

    async def recvfrom_into(
        self, buffer: Buffer, nbytes: int = 0, flags: int = 0
    ) -> tuple[int, AddressFormat]:
        raise NotImplementedError

    async def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]:
        raise NotImplementedError

    async def recvmsg_into(
        self, buffers: Iterable[Buffer], ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[int, list[tuple[int, int, bytes]], int, Any]:
        raise NotImplementedError

    async def send(self, bytes: Buffer, flags: int = 0, /) -> int:
        raise NotImplementedError

    async def sendto(self, *args: Any) -> int:
        """``sendto(data, address)`` or ``sendto(data, flags, address)``. A checkpoint."""
        raise NotImplementedError

    async def sendmsg(
        self,
        buffers: Iterable[Buffer],
        ancdata: Iterable[tuple[int, int, Buffer]] = (),
        flags: int = 0,
        address: AddressFormat | None = None,
        /,
    ) -> int:
        raise NotImplementedError
