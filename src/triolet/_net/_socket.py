"""triolet sockets over stdlib sockets, and the functions that make them.

Every I/O method follows one pattern, chosen for speed on the common path:

1. ``checkpoint()``: yield to the scheduler, then raise Cancelled if cancelled, so a
   cancelled task never consumes or sends data and every call is a schedule point;
2. try the non-blocking syscall;
3. if it raised BlockingIOError, wait for readiness and retry. The wait parks the task
   (a schedule point and a cancel point too); a cancelled wait transferred nothing.
"""

from __future__ import annotations

import os
import select
import socket as _stdlib_socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _core
from .._abc import SocketFactory
from ._address import resolve_address
from ._socket_type import AddressFormat, SocketType

if TYPE_CHECKING:
    from typing_extensions import Buffer

T = TypeVar("T")

_checkpoint = _core.checkpoint
_wait_socket = _core.wait_socket
_wait_writable = _core.wait_writable
_READ = True
_WRITE = False

_SHUT_WR = _stdlib_socket.SHUT_WR
_SHUT_RDWR = _stdlib_socket.SHUT_RDWR

_socket_factory: _core.RunVar[SocketFactory | None] = _core.RunVar("socket_factory", None)


def set_custom_socket_factory(socket_factory: SocketFactory | None) -> SocketFactory | None:
    """Make this run's :func:`socket` calls go through ``socket_factory``.

    ``None`` restores the default. Returns the previous factory (or None). Must be
    called inside ``triolet.run``; the setting lasts for that run only. Sockets made
    from a file descriptor (``socket(fileno=...)``, :func:`fromfd`) bypass the factory.
    """
    previous = _socket_factory.get()
    _socket_factory.set(socket_factory)
    return previous


class _SocketImpl(SocketType):
    """The SocketType that :func:`socket` returns: a non-blocking stdlib socket inside."""

    __slots__ = ("_did_shutdown_SHUT_WR", "_sock")

    def __init__(self, sock: _stdlib_socket.socket) -> None:
        if type(sock) is not _stdlib_socket.socket:
            raise TypeError(f"expected object of type 'socket.socket', not {type(sock).__name__!r}")
        self._sock = sock
        self._did_shutdown_SHUT_WR = False
        sock.setblocking(False)

    def __repr__(self) -> str:
        return repr(self._sock).replace("socket.socket", "triolet.socket.socket", 1)

    # -- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        sock = self._sock
        if sock.fileno() != -1:
            if _core.in_trio_run():
                _core.notify_closing(sock)
            sock.close()

    def detach(self) -> int:
        return self._sock.detach()

    def dup(self) -> SocketType:
        return _SocketImpl(self._sock.dup())

    # -- pass-throughs --------------------------------------------------------------------
    @property
    def family(self) -> _stdlib_socket.AddressFamily:
        return self._sock.family

    @property
    def type(self) -> _stdlib_socket.SocketKind:
        return self._sock.type

    @property
    def proto(self) -> int:
        return self._sock.proto

    @property
    def did_shutdown_SHUT_WR(self) -> bool:
        return self._did_shutdown_SHUT_WR

    def fileno(self) -> int:
        return self._sock.fileno()

    def get_inheritable(self) -> bool:
        return self._sock.get_inheritable()

    def set_inheritable(self, inheritable: bool) -> None:
        self._sock.set_inheritable(inheritable)

    def getpeername(self) -> AddressFormat:
        return self._sock.getpeername()

    def getsockname(self) -> AddressFormat:
        return self._sock.getsockname()

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> int | bytes:
        if buflen is None:
            return self._sock.getsockopt(level, optname)
        return self._sock.getsockopt(level, optname, buflen)

    def setsockopt(
        self, level: int, optname: int, value: int | Buffer | None, optlen: int | None = None
    ) -> None:
        if optlen is None:
            if value is None:
                raise TypeError(
                    "setsockopt() with value=None needs optlen (the stdlib's "
                    "setsockopt(level, optname, None, optlen) form)"
                )
            self._sock.setsockopt(level, optname, value)
            return
        if value is not None:
            raise TypeError(f"setsockopt() got value {value!r} and optlen; pass value=None")
        self._sock.setsockopt(level, optname, None, optlen)

    def listen(self, backlog: int = 128) -> None:
        self._sock.listen(backlog)

    def shutdown(self, flag: int) -> None:
        self._sock.shutdown(flag)
        if flag == _SHUT_WR or flag == _SHUT_RDWR:
            self._did_shutdown_SHUT_WR = True

    def is_readable(self) -> bool:
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        return bool(poller.poll(0))

    # -- the non-blocking pattern ------------------------------------------------------
    async def _io(self, reading: bool, fn: Callable[..., T], *args: Any) -> T:
        await _checkpoint()
        try:
            return fn(*args)
        except BlockingIOError:
            return await self._wait_and_retry(reading, fn, *args)

    async def _wait_and_retry(self, reading: bool, fn: Callable[..., T], *args: Any) -> T:
        sock = self._sock
        while True:
            await _wait_socket(sock, reading)
            try:
                return fn(*args)
            except BlockingIOError:
                pass

    # -- async operations -----------------------------------------------------------------
    async def wait_writable(self) -> None:
        await _wait_writable(self._sock)

    async def accept(self) -> tuple[SocketType, AddressFormat]:
        sock, address = await self._io(_READ, self._sock.accept)
        return _SocketImpl(sock), address

    async def bind(self, address: AddressFormat) -> None:
        address = await resolve_address(self._sock, address, local=True)
        await _checkpoint()
        self._sock.bind(address)

    async def connect(self, address: AddressFormat) -> None:
        sock = self._sock
        try:
            await _checkpoint()
            address = await resolve_address(sock, address, local=False)
            try:
                sock.connect(address)
            except BlockingIOError:
                pass
            except OSError as exc:
                if exc.errno is None:
                    raise
                raise _connect_error(exc.errno, address) from None
            else:
                return
            await _wait_writable(sock)
        except BaseException as exc:
            if not isinstance(exc, OSError | ValueError):
                # A half-done connect can't be undone or resumed: don't leave a socket
                # in that unknown state behind (cancellation, KeyboardInterrupt, ...).
                self.close()
            raise
        error = sock.getsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_ERROR)
        if error:
            raise _connect_error(error, address)

    async def recv(self, buflen: int, flags: int = 0, /) -> bytes:
        await _checkpoint()
        sock = self._sock
        try:
            return sock.recv(buflen, flags)
        except BlockingIOError:
            return await self._wait_and_retry(_READ, sock.recv, buflen, flags)

    async def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        return await self._io(_READ, self._sock.recv_into, buffer, nbytes, flags)

    async def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, AddressFormat]:
        return await self._io(_READ, self._sock.recvfrom, bufsize, flags)

    async def recvfrom_into(
        self, buffer: Buffer, nbytes: int = 0, flags: int = 0
    ) -> tuple[int, AddressFormat]:
        return await self._io(_READ, self._sock.recvfrom_into, buffer, nbytes, flags)

    async def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]:
        return await self._io(_READ, self._sock.recvmsg, bufsize, ancbufsize, flags)

    async def recvmsg_into(
        self, buffers: Iterable[Buffer], ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[int, list[tuple[int, int, bytes]], int, Any]:
        # A one-shot iterator would be empty on the retry after a wait.
        buffers = list(buffers)
        return await self._io(_READ, self._sock.recvmsg_into, buffers, ancbufsize, flags)

    async def send(self, bytes: Buffer, flags: int = 0, /) -> int:
        await _checkpoint()
        sock = self._sock
        try:
            return sock.send(bytes, flags)
        except BlockingIOError:
            return await self._wait_and_retry(_WRITE, sock.send, bytes, flags)

    async def sendto(self, *args: Any) -> int:
        address = await resolve_address(self._sock, args[-1], local=False)
        return await self._io(_WRITE, self._sock.sendto, *args[:-1], address)

    async def sendmsg(
        self,
        buffers: Iterable[Buffer],
        ancdata: Iterable[tuple[int, int, Buffer]] = (),
        flags: int = 0,
        address: AddressFormat | None = None,
        /,
    ) -> int:
        buffers = list(buffers)
        ancdata = list(ancdata)
        if address is None:
            return await self._io(_WRITE, self._sock.sendmsg, buffers, ancdata, flags)
        address = await resolve_address(self._sock, address, local=False)
        return await self._io(_WRITE, self._sock.sendmsg, buffers, ancdata, flags, address)


def _connect_error(error: int, address: AddressFormat) -> OSError:
    # OSError(errno, ...) picks the matching subclass (ConnectionRefusedError, ...).
    return OSError(error, f"Error connecting to {address!r}: {os.strerror(error)}")


def from_stdlib_socket(sock: _stdlib_socket.socket) -> SocketType:
    """Wrap a stdlib socket in a triolet socket (and make it non-blocking).

    The triolet socket takes ownership: close it, not ``sock``. TypeError if ``sock``
    is not a ``socket.socket``.
    """
    return _SocketImpl(sock)


def socket(
    family: int = -1,
    type: int = -1,
    proto: int = -1,
    fileno: int | None = None,
) -> SocketType:
    """Create a triolet socket, like ``socket.socket``.

    Without ``fileno``, a custom socket factory (see :func:`set_custom_socket_factory`)
    makes the socket if one is set for this run. With ``fileno``, family, type and
    protocol default to what the descriptor already is.
    """
    if fileno is None:
        factory = _socket_factory.get() if _core.in_trio_run() else None
        if factory is not None:
            return factory.socket(
                _stdlib_socket.AF_INET if family == -1 else family,
                _stdlib_socket.SOCK_STREAM if type == -1 else type,
                0 if proto == -1 else proto,
            )
    return _SocketImpl(_stdlib_socket.socket(family, type, proto, fileno))


def socketpair(
    family: int | None = None,
    type: int = _stdlib_socket.SOCK_STREAM,
    proto: int = 0,
) -> tuple[SocketType, SocketType]:
    """A pair of connected triolet sockets, like ``socket.socketpair``. Not a checkpoint."""
    left, right = _stdlib_socket.socketpair(family, type, proto)
    return _SocketImpl(left), _SocketImpl(right)


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> SocketType:
    """A triolet socket on a duplicate of ``fd``, like ``socket.fromfd``."""
    return _SocketImpl(_stdlib_socket.fromfd(fd, family, type, proto))


def stdlib_socket_of(sock: SocketType) -> _stdlib_socket.socket | None:
    """The stdlib socket inside ``sock``, if it is one of ours (for the streams' fast path)."""
    if type(sock) is _SocketImpl:
        return sock._sock
    return None
