"""Test helpers that need real sockets."""

from __future__ import annotations

import socket as _stdlib_socket

from .._net import SocketListener, SocketStream
from .._net._socket import socket

# A listener bound to "every interface" can be reached on loopback.
_WILDCARD_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


async def open_stream_to_socket_listener(socket_listener: SocketListener) -> SocketStream:
    """Connect to ``socket_listener`` and return the client's end as a SocketStream.

    Works for TCP listeners (a wildcard address is reached over loopback) and Unix
    socket listeners. A checkpoint.
    """
    family = socket_listener.socket.family
    address = socket_listener.socket.getsockname()
    if family in (_stdlib_socket.AF_INET, _stdlib_socket.AF_INET6):
        host = _WILDCARD_TO_LOOPBACK.get(address[0], address[0])
        address = (host, *address[1:])
    sock = socket(family, _stdlib_socket.SOCK_STREAM)
    try:
        await sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return SocketStream(sock)
