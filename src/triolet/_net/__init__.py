"""Networking: sockets, socket streams and listeners, TCP and Unix clients and servers.

Modules, bottom up: ``_resolver`` (getaddrinfo off the loop thread), ``_address``
(user addresses to sockaddrs), ``_socket_type`` / ``_socket`` (triolet sockets),
``_socket_stream`` / ``_socket_listener`` (the stream interfaces), ``_happy_eyeballs``
(I/O-free connection scheduling) and ``_open_tcp_stream``, ``_open_tcp_listeners``,
``_serve_listeners``, ``_open_unix_socket`` (the high-level helpers).
"""

from ._open_tcp_listeners import open_tcp_listeners, serve_tcp
from ._open_tcp_stream import open_tcp_stream
from ._open_unix_socket import open_unix_socket
from ._resolver import encode_hostname
from ._serve_listeners import serve_listeners
from ._socket_listener import SocketListener
from ._socket_stream import SocketStream

__all__ = [
    "SocketListener",
    "SocketStream",
    "encode_hostname",
    "open_tcp_listeners",
    "open_tcp_stream",
    "open_unix_socket",
    "serve_listeners",
    "serve_tcp",
]
