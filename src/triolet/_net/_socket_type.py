"""The public interface of a triolet socket: :class:`SocketType`.

It mirrors the stdlib ``socket.socket`` API with every call that can block turned into
an ``async`` method. ``triolet.socket.socket()`` returns an implementation wrapping a
stdlib socket (see ``_socket.py``); a custom :class:`~triolet.abc.SocketFactory` may
return any other subclass, such as a fake socket for tests. The methods here only
declare the interface.
"""

# mypy: disable-error-code="empty-body"
# (The interface methods below are declarations with ``...`` bodies; ``_declared``
# gives each one its real, NotImplementedError-raising body at class creation.)

from __future__ import annotations

import functools
import inspect
import socket as _stdlib_socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from typing import Self

    from typing_extensions import Buffer

_Fn = TypeVar("_Fn", bound=Callable[..., Any])

AddressFormat = Any
"""A socket address as the stdlib takes it: ``(host, port)``, a path, ..."""


def _declared(declaration: _Fn) -> _Fn:
    """Give an interface declaration a body that raises NotImplementedError.

    The result keeps the declaration's name, docstring and signature (via
    ``__wrapped__``), and stays a coroutine function if the declaration was one, so
    subclasses and introspection see the same interface either way.
    """

    def unimplemented(*args: object, **kwargs: object) -> Any:
        raise NotImplementedError

    async def unimplemented_async(*args: object, **kwargs: object) -> Any:
        raise NotImplementedError

    chosen = unimplemented_async if inspect.iscoroutinefunction(declaration) else unimplemented
    return cast("_Fn", functools.wraps(declaration)(chosen))


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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Closing is all a plain ``with`` block does on the way out; errors propagate.
        self.close()

    # -- what the socket is ------------------------------------------------------------
    @property
    @_declared
    def family(self) -> _stdlib_socket.AddressFamily: ...
    @property
    @_declared
    def type(self) -> _stdlib_socket.SocketKind: ...
    @property
    @_declared
    def proto(self) -> int: ...

    @property
    @_declared
    def did_shutdown_SHUT_WR(self) -> bool:
        """Whether ``shutdown(SHUT_WR)`` or ``shutdown(SHUT_RDWR)`` was called."""

    # -- synchronous calls, straight through to the OS ---------------------------------
    @_declared
    def fileno(self) -> int: ...
    @_declared
    def getsockname(self) -> AddressFormat: ...
    @_declared
    def getpeername(self) -> AddressFormat: ...
    @_declared
    def get_inheritable(self) -> bool: ...
    @_declared
    def set_inheritable(self, inheritable: bool) -> None: ...
    @_declared
    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> int | bytes: ...
    @_declared
    def setsockopt(
        self, level: int, optname: int, value: int | Buffer | None, optlen: int | None = None
    ) -> None: ...
    @_declared
    def listen(self, backlog: int = 128) -> None: ...
    @_declared
    def shutdown(self, flag: int) -> None: ...

    @_declared
    def is_readable(self) -> bool:
        """Whether a receive would return immediately (data, EOF or an error). Not a checkpoint."""

    @_declared
    def close(self) -> None:
        """Close the socket; tasks blocked on it get ClosedResourceError."""

    @_declared
    def detach(self) -> int:
        """Give up ownership of the file descriptor and return it."""

    @_declared
    def dup(self) -> SocketType:
        """A new triolet socket on a duplicate of this file descriptor."""

    # -- calls that may block: checkpoints ----------------------------------------------
    @_declared
    async def bind(self, address: AddressFormat) -> None:
        """Bind to ``address``, resolving hostnames without blocking. A checkpoint."""

    @_declared
    async def connect(self, address: AddressFormat) -> None:
        """Connect to ``address``. A checkpoint; if cancelled, the socket is closed."""

    @_declared
    async def accept(self) -> tuple[SocketType, AddressFormat]:
        """Wait for a connection; return ``(socket, address)``. A checkpoint."""

    @_declared
    async def wait_writable(self) -> None:
        """Block until the socket is writable. A checkpoint."""

    @_declared
    async def sendto(self, *args: Any) -> int:
        """``sendto(data, address)`` or ``sendto(data, flags, address)``. A checkpoint."""

    @_declared
    async def send(self, bytes: Buffer, flags: int = 0, /) -> int: ...
    @_declared
    async def sendmsg(
        self,
        buffers: Iterable[Buffer],
        ancdata: Iterable[tuple[int, int, Buffer]] = (),
        flags: int = 0,
        address: AddressFormat | None = None,
        /,
    ) -> int: ...
    @_declared
    async def recv(self, buflen: int, flags: int = 0, /) -> bytes: ...
    @_declared
    async def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int: ...
    @_declared
    async def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, AddressFormat]: ...
    @_declared
    async def recvfrom_into(
        self, buffer: Buffer, nbytes: int = 0, flags: int = 0
    ) -> tuple[int, AddressFormat]: ...
    @_declared
    async def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]: ...
    @_declared
    async def recvmsg_into(
        self, buffers: Iterable[Buffer], ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[int, list[tuple[int, int, bytes]], int, Any]: ...
