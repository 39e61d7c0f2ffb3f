"""SocketStream: the byte-stream interface over a connected SOCK_STREAM socket.

``send_all`` and ``receive_some`` are the hot paths of every server, so for TCP sockets
made by :func:`triolet.socket.socket` they talk to the stdlib socket directly (see the
pattern at the top of ``_socket.py``): one checkpoint (a yield, then the cancel check),
then the syscall, then a park only if the syscall would block. Sockets from a custom
socket factory, and non-TCP sockets, go through their async methods instead.

``receive_some`` also remembers whether its last ``recv`` drained the kernel buffer (it
returned fewer bytes than asked for). If so, the next call waits before calling
``recv``: in request/response traffic the speculative ``recv`` would almost always fail
with EAGAIN, and a syscall is the most expensive thing on this path. Parking is a
checkpoint too, so the call's guarantees don't change. This is sound because the wait
(``wait_socket``, edge-triggered on epoll) reports every event after that ``recv``,
and for TCP a short read leaves nothing queued behind it: the exceptions, end of stream
and urgent data, are remembered by the I/O backend. A Unix stream socket may stop short
with data still queued (at a boundary of passed credentials or fds), so it doesn't get
this path.

Errors: a socket closed by us gives ClosedResourceError; any other OSError (reset by
peer, broken pipe, ...) gives BrokenResourceError with the OSError as its cause. Two
tasks sending at once, or receiving at once, give BusyResourceError.
"""

from __future__ import annotations

import errno
import socket as _stdlib_socket
from typing import TYPE_CHECKING, Final

from .. import _core
from .._abc import HalfCloseableStream
from ._socket import stdlib_socket_of
from ._socket_type import SocketType

if TYPE_CHECKING:
    from typing_extensions import Buffer

DEFAULT_RECEIVE_SIZE: Final = 65536

_checkpoint = _core.checkpoint
# A cancel point, and a schedule point when the run's scheduling policy says so (as for
# memory channels): the checkpoint of a send in a request/response exchange.
_checkpoint_by_policy = _core.checkpoint_by_policy
_wait_socket = _core.wait_socket
_BusyResourceError = _core.BusyResourceError
_ClosedResourceError = _core.ClosedResourceError
_BrokenResourceError = _core.BrokenResourceError

_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK})


def translate_socket_error(exc: OSError) -> Exception:
    """The stream-level exception for an OSError raised by a socket operation (raise it ``from exc``)."""
    if exc.errno in _CLOSED_ERRNOS:
        return _ClosedResourceError("this socket was already closed")
    return _BrokenResourceError(f"socket connection broken: {exc}")


def _byte_view(data: Buffer) -> bytes | bytearray | memoryview:
    if type(data) is bytes or type(data) is bytearray:
        return data
    return memoryview(data).cast("B")


class SocketStream(HalfCloseableStream):
    """A :class:`~triolet.abc.HalfCloseableStream` over a connected SOCK_STREAM socket.

    Takes ownership of ``socket``. TCP_NODELAY is switched on (small writes go out at
    once; ``send_all`` already batches). TypeError if ``socket`` isn't a triolet socket,
    ValueError if it isn't SOCK_STREAM. The underlying socket is ``.socket``.
    """

    __slots__ = ("_answering", "_drained", "_receiving", "_sending", "_sock", "socket")

    def __init__(self, socket: SocketType) -> None:
        if not isinstance(socket, SocketType):
            raise TypeError("SocketStream requires a triolet socket object")
        if socket.type != _stdlib_socket.SOCK_STREAM:
            raise ValueError("SocketStream requires a SOCK_STREAM socket")
        self.socket = socket
        self._sock = None
        if socket.family == _stdlib_socket.AF_INET or socket.family == _stdlib_socket.AF_INET6:
            self._sock = stdlib_socket_of(socket)
        self._sending = False
        self._receiving = False
        self._drained = False
        self._answering = False  # received data since the last send_all
        try:
            socket.setsockopt(_stdlib_socket.IPPROTO_TCP, _stdlib_socket.TCP_NODELAY, True)
        except OSError:
            pass  # not TCP (a Unix socket, say): nothing to switch off

    # -- sending ----------------------------------------------------------------------
    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send every byte of ``data``; returns when the kernel has taken them all.

        ClosedResourceError after ``send_eof`` or ``aclose``; BrokenResourceError if the
        connection broke; BusyResourceError if another task is sending. A checkpoint;
        on TCP, when it answers data received since the previous send, its schedule
        point follows the run's scheduling policy (see the porting guide). If
        cancelled, an unknown amount of ``data`` has been sent.
        """
        if self._sending:
            raise _BusyResourceError("another task is currently sending data on this SocketStream")
        self._sending = True
        try:
            sock = self._sock
            if sock is None:
                if self.socket.did_shutdown_SHUT_WR:
                    raise _ClosedResourceError("can't send data after sending EOF")
                await self._send_all_generic(data)
                return
            if self.socket._did_shutdown_SHUT_WR:  # type: ignore[attr-defined]
                raise _ClosedResourceError("can't send data after sending EOF")
            if self._answering:
                # Data arrived since our last send: an exchange, where yielding before
                # the send only delays it (the task soon waits for the reply anyway).
                self._answering = False
                await _checkpoint_by_policy()
            else:
                # Send after send (a stream of data): yield, so that whoever consumes
                # it keeps up and the socket buffer does not fill.
                await _checkpoint()
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            else:
                if sent == len(data):
                    return
            # Release every view before returning: a live view of a bytearray stops its
            # owner from resizing it.
            with memoryview(_byte_view(data)) as view:
                total = len(view)
                while sent < total:
                    await _wait_socket(sock, False)
                    with view[sent:] as remaining:
                        try:
                            sent += sock.send(remaining)
                        except BlockingIOError:
                            pass
        except OSError as exc:
            raise translate_socket_error(exc) from exc
        finally:
            self._sending = False

    async def _send_all_generic(self, data: Buffer) -> None:
        with memoryview(_byte_view(data)) as view:
            if not view:
                if self.socket.fileno() == -1:
                    raise _ClosedResourceError("this socket was already closed")
                await _core.checkpoint()
                return
            sent = 0
            total = len(view)
            while sent < total:
                with view[sent:] as remaining:
                    sent += await self.socket.send(remaining)

    async def wait_send_all_might_not_block(self) -> None:
        """Block until the socket's send buffer has room. A checkpoint.

        ClosedResourceError if the stream is closed; BusyResourceError if another task
        is sending.
        """
        if self._sending:
            raise _BusyResourceError("another task is currently sending data on this SocketStream")
        self._sending = True
        try:
            if self.socket.fileno() == -1:
                raise _ClosedResourceError("this socket was already closed")
            await self.socket.wait_writable()
        except OSError as exc:
            raise translate_socket_error(exc) from exc
        finally:
            self._sending = False

    async def send_eof(self) -> None:
        """Shut down the sending side (``shutdown(SHUT_WR)``); the peer reads EOF.

        Does nothing if already done. BusyResourceError if another task is sending;
        ClosedResourceError if the stream is closed. A checkpoint.
        """
        if self._sending:
            raise _BusyResourceError("another task is currently sending data on this SocketStream")
        self._sending = True
        try:
            await _core.checkpoint()
            if self.socket.did_shutdown_SHUT_WR:
                return
            self.socket.shutdown(_stdlib_socket.SHUT_WR)
        except OSError as exc:
            raise translate_socket_error(exc) from exc
        finally:
            self._sending = False

    # -- receiving ----------------------------------------------------------------------
    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Wait for data and return up to ``max_bytes`` of it (default 64 KiB).

        Returns ``b""`` at end of stream. ValueError if ``max_bytes < 1``;
        ClosedResourceError if closed; BrokenResourceError if the connection broke;
        BusyResourceError if another task is receiving. A checkpoint.
        """
        if self._receiving:
            raise _BusyResourceError(
                "another task is currently receiving data on this SocketStream"
            )
        if max_bytes is None:
            max_bytes = DEFAULT_RECEIVE_SIZE
        elif max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes!r}")
        self._receiving = True
        try:
            sock = self._sock
            if sock is None:
                return await self.socket.recv(max_bytes)
            if self._drained:
                # The last receive emptied the kernel buffer: rather than a recv() that
                # would most likely fail with EAGAIN, ask epoll first.
                await _wait_socket(sock, True)
            else:
                await _checkpoint()
                try:
                    data = sock.recv(max_bytes)
                except BlockingIOError:
                    await _wait_socket(sock, True)
                else:
                    self._drained = len(data) < max_bytes
                    self._answering = True
                    return data
            while True:
                try:
                    data = sock.recv(max_bytes)
                except BlockingIOError:
                    await _wait_socket(sock, True)
                else:
                    self._drained = len(data) < max_bytes
                    self._answering = True
                    return data
        except OSError as exc:
            raise translate_socket_error(exc) from exc
        finally:
            self._receiving = False

    # -- lifetime and options ---------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the socket. Tasks blocked on it get ClosedResourceError. A checkpoint."""
        self.socket.close()
        await _core.checkpoint()

    def setsockopt(
        self, level: int, option: int, value: int | Buffer | None, length: int | None = None
    ) -> None:
        """Set a socket option on the underlying socket (see ``socket.setsockopt``)."""
        self.socket.setsockopt(level, option, value, length)

    def getsockopt(self, level: int, option: int, buffersize: int = 0) -> int | bytes:
        """Read a socket option from the underlying socket (see ``socket.getsockopt``)."""
        if buffersize == 0:
            return self.socket.getsockopt(level, option)
        return self.socket.getsockopt(level, option, buffersize)
