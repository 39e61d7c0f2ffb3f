"""SocketListener: accept connections on a listening SOCK_STREAM socket as SocketStreams."""

from __future__ import annotations

import errno
import socket as _stdlib_socket

from .. import _core
from .._abc import Listener
from ._socket_stream import SocketStream
from ._socket_type import SocketType

_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK})

# accept(2) on Linux reports network errors of the *pending* connection as its own
# result (see its man page); the listening socket is fine, so accept the next one.
# ECONNABORTED: the client gave up before we accepted; EPERM: a firewall rule said no.
# Other errnos of the same kind that some kernels report; only the ones this platform
# defines are kept.
_PENDING_CONNECTION_FAILURES = (
    "ECONNABORTED EPERM EPROTO ENETDOWN ENOPROTOOPT EHOSTDOWN ENONET EHOSTUNREACH "
    "EOPNOTSUPP ENETUNREACH"
)
_IGNORABLE_ACCEPT_ERRNOS = frozenset(
    vars(errno)[name] for name in _PENDING_CONNECTION_FAILURES.split() if name in vars(errno)
)


class SocketListener(Listener[SocketStream]):
    """A :class:`~triolet.abc.Listener` that accepts connections on a listening socket.

    Takes ownership of ``socket``. TypeError if it isn't a triolet socket; ValueError
    if it isn't a listening SOCK_STREAM socket.
    """

    __slots__ = ("socket",)

    def __init__(self, socket: SocketType) -> None:
        if not isinstance(socket, SocketType):
            raise TypeError("SocketListener requires a triolet socket object")
        if socket.type != _stdlib_socket.SOCK_STREAM:
            raise ValueError("SocketListener requires a SOCK_STREAM socket")
        try:
            listening = socket.getsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_ACCEPTCONN)
        except OSError:
            pass  # this platform can't tell; trust the caller
        else:
            if not listening:
                raise ValueError(
                    "SocketListener requires a listening socket; call socket.listen() first"
                )
        self.socket = socket

    async def accept(self) -> SocketStream:
        """Wait for the next connection and return it as a SocketStream. A checkpoint.

        ClosedResourceError if the listener is closed. Errors that belong to the
        pending connection rather than the listener are skipped. Other OSErrors, such
        as EMFILE when out of file descriptors, propagate (``serve_listeners`` waits
        and retries on those).
        """
        while True:
            try:
                sock, _ = await self.socket.accept()
            except OSError as exc:
                if exc.errno in _CLOSED_ERRNOS:
                    raise _core.ClosedResourceError("this listener was already closed") from exc
                if exc.errno not in _IGNORABLE_ACCEPT_ERRNOS:
                    raise
            else:
                return SocketStream(sock)

    async def aclose(self) -> None:
        """Close the listening socket. A checkpoint."""
        self.socket.close()
        await _core.checkpoint()
