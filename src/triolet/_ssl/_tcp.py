"""TLS over TCP in one call: connect, listen, serve."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import NoReturn

from .. import _core
from .._net import SocketStream, open_tcp_listeners, open_tcp_stream, serve_listeners
from .._streams import aclose_forcefully
from ._listener import SSLListener
from ._stream import SSLStream


async def open_ssl_over_tcp_stream(
    host: str | bytes,
    port: int,
    *,
    https_compatible: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    happy_eyeballs_delay: float | None = 0.25,
) -> SSLStream[SocketStream]:
    """Connect to ``host``:``port`` over TCP and return a client :class:`SSLStream`.

    ``host`` is also the name sent as SNI and checked against the server's certificate.
    Without ``ssl_context``, ``ssl.create_default_context()`` is used (system trust
    store, hostname checking) with truncation detection kept on. The handshake happens
    on first use (or ``await stream.do_handshake()``). Raises what
    :func:`open_tcp_stream` raises.
    """
    tcp_stream = await open_tcp_stream(host, port, happy_eyeballs_delay=happy_eyeballs_delay)
    if ssl_context is None:
        ssl_context = ssl.create_default_context()
        # A peer that vanishes without close_notify must not look like a clean EOF.
        ssl_context.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    try:
        return SSLStream(
            tcp_stream, ssl_context, server_hostname=host, https_compatible=https_compatible
        )
    except BaseException:
        await aclose_forcefully(tcp_stream)
        raise


async def open_ssl_over_tcp_listeners(
    port: int,
    ssl_context: ssl.SSLContext,
    *,
    host: str | bytes | None = None,
    https_compatible: bool = False,
    backlog: int | None = None,
) -> list[SSLListener[SocketStream]]:
    """Open TCP listeners (see :func:`open_tcp_listeners`) and wrap each in :class:`SSLListener`."""
    tcp_listeners = await open_tcp_listeners(port, host=host, backlog=backlog)
    return [
        SSLListener(listener, ssl_context, https_compatible=https_compatible)
        for listener in tcp_listeners
    ]


async def serve_ssl_over_tcp(
    handler: Callable[[SSLStream[SocketStream]], Awaitable[object]],
    port: int,
    ssl_context: ssl.SSLContext,
    *,
    host: str | bytes | None = None,
    https_compatible: bool = False,
    backlog: int | None = None,
    handler_nursery: _core.Nursery | None = None,
    task_status: _core.TaskStatus[list[SSLListener[SocketStream]]] = _core.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Serve TLS over TCP on ``port`` forever: ``handler(ssl_stream)`` runs per connection.

    :func:`open_ssl_over_tcp_listeners` then :func:`serve_listeners`. The handler gets a
    server-side :class:`SSLStream` whose handshake has not happened yet (it happens on
    first use, in the handler's task). With ``nursery.start`` you get the listeners
    back, and so the port picked for port 0. Runs until cancelled.
    """
    listeners = await open_ssl_over_tcp_listeners(
        port, ssl_context, host=host, https_compatible=https_compatible, backlog=backlog
    )
    await serve_listeners(
        handler, listeners, handler_nursery=handler_nursery, task_status=task_status
    )
