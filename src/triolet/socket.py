"""triolet.socket: the stdlib ``socket`` API, with every blocking operation made async.

Every constant of the stdlib module is here too (``triolet.socket.AF_INET``, ...), as
are its non-blocking helper functions. The functions that would block on DNS
(``gethostbyname`` and friends) are left out: use :func:`getaddrinfo`.
"""

from __future__ import annotations

from socket import (
    CAPI,
    CMSG_LEN,
    CMSG_SPACE,
    AddressFamily,
    SocketKind,
    gaierror,
    gethostname,
    has_ipv6,
    herror,
    htonl,
    htons,
    if_indextoname,
    if_nameindex,
    if_nametoindex,
    inet_aton,
    inet_ntoa,
    inet_ntop,
    inet_pton,
    ntohl,
    ntohs,
    sethostname,
)
from typing import TYPE_CHECKING

from ._net._constants import *  # noqa: F403
from ._net._constants import CONSTANT_NAMES as _CONSTANT_NAMES
from ._net._resolver import (
    getaddrinfo,
    getnameinfo,
    getprotobyname,
    set_custom_hostname_resolver,
)
from ._net._socket import (
    from_stdlib_socket,
    fromfd,
    set_custom_socket_factory,
    socket,
    socketpair,
)
from ._net._socket_type import SocketType

__all__ = [
    "CAPI",
    "CMSG_LEN",
    "CMSG_SPACE",
    "AddressFamily",
    "SocketKind",
    "SocketType",
    "from_stdlib_socket",
    "fromfd",
    "gaierror",
    "getaddrinfo",
    "gethostname",
    "getnameinfo",
    "getprotobyname",
    "has_ipv6",
    "herror",
    "htonl",
    "htons",
    "if_indextoname",
    "if_nameindex",
    "if_nametoindex",
    "inet_aton",
    "inet_ntoa",
    "inet_ntop",
    "inet_pton",
    "ntohl",
    "ntohs",
    "set_custom_hostname_resolver",
    "set_custom_socket_factory",
    "sethostname",
    "socket",
    "socketpair",
]
__all__ += _CONSTANT_NAMES

if TYPE_CHECKING:
    # The constants (AF_INET, SO_REUSEADDR, ...) are copied from the stdlib when
    # triolet starts, whichever the platform has, so no fixed list could be right
    # everywhere. To a type checker, any other name in this module is an int constant.
    def __getattr__(name: str) -> int: ...
