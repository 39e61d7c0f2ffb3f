"""open_unix_socket: connect to a Unix domain stream socket by path."""

from __future__ import annotations

import os
import socket as _stdlib_socket

from ._socket import socket
from ._socket_stream import SocketStream


async def open_unix_socket(
    filename: str | bytes | os.PathLike[str] | os.PathLike[bytes],
) -> SocketStream:
    """Connect to the Unix socket at ``filename`` and return a :class:`SocketStream`.

    Raises the OSError from connecting (FileNotFoundError, ConnectionRefusedError, ...)
    with the path in its message; RuntimeError on platforms without Unix sockets.
    A checkpoint.
    """
    if not hasattr(_stdlib_socket, "AF_UNIX"):
        raise RuntimeError("Unix sockets are not supported on this platform")
    sock = socket(_stdlib_socket.AF_UNIX, _stdlib_socket.SOCK_STREAM)
    try:
        await sock.connect(os.fspath(filename))
    except BaseException:
        sock.close()
        raise
    return SocketStream(sock)
