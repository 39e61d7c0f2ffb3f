"""open_tcp_listeners and serve_tcp: listen on every address a host resolves to."""

from __future__ import annotations

import errno
import socket as _stdlib_socket
import sys
from collections.abc import Awaitable, Callable

from .. import _core
from ._resolver import getaddrinfo
from ._serve_listeners import serve_listeners
from ._socket import socket
from ._socket_listener import SocketListener
from ._socket_stream import SocketStream
from ._socket_type import SocketType

# The largest backlog the listen() syscall takes; Linux then caps it at somaxconn.
_MAX_BACKLOG = 0xFFFF


def _backlog(backlog: int | None) -> int:
    if backlog is None:
        return _MAX_BACKLOG
    if not isinstance(backlog, int):
        raise TypeError(f"backlog must be an int or None, not {backlog!r}")
    return min(backlog, _MAX_BACKLOG)


async def open_tcp_listeners(
    port: int, *, host: str | bytes | None = None, backlog: int | None = None
) -> list[SocketListener]:
    """Listen for TCP connections on ``port``, on every address ``host`` resolves to.

    ``host=None`` listens on every interface (one listener per address family, e.g.
    ``0.0.0.0`` and ``::``). ``port=0`` picks a free port (per listener; read it from
    ``listener.socket.getsockname()``). ``backlog`` defaults to the system maximum.

    TypeError if ``port`` isn't an int. OSError if a socket can't be bound (the message
    names the address and port, e.g. when the port is already in use); any listeners
    opened before the failure are closed.
    """
    if not isinstance(port, int):
        raise TypeError(f"port must be an int not {port!r}")
    listen_backlog = _backlog(backlog)
    addresses = await getaddrinfo(
        host, port, type=_stdlib_socket.SOCK_STREAM, flags=_stdlib_socket.AI_PASSIVE
    )

    listeners: list[SocketListener] = []
    unsupported: list[OSError] = []
    try:
        for family, type_, proto, _, sockaddr in addresses:
            try:
                sock = socket(family, type_, proto)
            except OSError as exc:
                if exc.errno == errno.EAFNOSUPPORT:
                    unsupported.append(exc)
                    continue
                raise
            try:
                await _bind_and_listen(sock, family, sockaddr, listen_backlog)
                listeners.append(SocketListener(sock))
            except BaseException:
                sock.close()
                raise
    except BaseException:
        for listener in listeners:
            listener.socket.close()
        raise

    if not listeners and unsupported:
        message = f"this system supports none of the address families that {host!r} resolves to"
        raise OSError(errno.EAFNOSUPPORT, message) from ExceptionGroup(message, unsupported)
    return listeners


async def _bind_and_listen(sock: SocketType, family: int, sockaddr: object, backlog: int) -> None:
    if sys.platform != "win32":
        # Restart a server at once even while old connections linger in TIME_WAIT.
        sock.setsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_REUSEADDR, 1)
    if family == _stdlib_socket.AF_INET6:
        # One listener per family: the IPv6 one must not also claim the IPv4 port.
        sock.setsockopt(_stdlib_socket.IPPROTO_IPV6, _stdlib_socket.IPV6_V6ONLY, 1)
    try:
        await sock.bind(sockaddr)
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"{exc.strerror}: can't bind to {sockaddr!r} (port {sockaddr[1]})",  # type: ignore[index]
        ) from None
    sock.listen(backlog)


async def serve_tcp(
    handler: Callable[[SocketStream], Awaitable[object]],
    port: int,
    *,
    host: str | bytes | None = None,
    backlog: int | None = None,
    handler_nursery: _core.Nursery | None = None,
    task_status: _core.TaskStatus[list[SocketListener]] = _core.TASK_STATUS_IGNORED,
) -> None:
    """Serve TCP on ``port`` forever: ``handler(stream)`` runs in a new task per connection.

    :func:`open_tcp_listeners` followed by :func:`serve_listeners`; see those for the
    arguments. With ``nursery.start(serve_tcp, handler, 0)`` you get the listeners back
    (and so the port that was picked). Runs until cancelled.
    """
    listeners = await open_tcp_listeners(port, host=host, backlog=backlog)
    await serve_listeners(
        handler, listeners, handler_nursery=handler_nursery, task_status=task_status
    )
