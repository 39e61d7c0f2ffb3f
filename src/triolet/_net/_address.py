"""Turning the address a user passes to ``bind`` / ``connect`` / ``sendto`` into a sockaddr.

The stdlib resolves hostnames inside ``sock.connect(("example.com", 80))``, blocking the
thread. triolet resolves them first (numeric addresses on the spot, names through
:func:`~triolet.socket.getaddrinfo`) and hands the stdlib a numeric sockaddr.

Rules, for the families that take ``(host, port, ...)`` tuples:

* AF_INET wants ``(host, port)``; AF_INET6 wants ``(host, port[, flowinfo[, scope_id]])``.
  Anything else is a ValueError naming the expected shape.
* ``""`` means "any address" (``None`` to getaddrinfo) and ``"<broadcast>"`` means
  255.255.255.255, as in the stdlib.
* ``local=True`` (bind) asks for a passive address; an AF_INET6 socket that also accepts
  IPv4 (IPV6_V6ONLY off) gets IPv4 hosts as IPv4-mapped IPv6 addresses.
* flowinfo and scope_id given by the user survive resolution.

Other families (AF_UNIX paths, AF_NETLINK tuples, ...) pass through untouched, except that
path-like objects become ``str``/``bytes``.
"""

from __future__ import annotations

import os
import socket as _stdlib_socket
from typing import Any

from ._resolver import getaddrinfo

_NUMERIC_ONLY = _stdlib_socket.AI_NUMERICHOST | _stdlib_socket.AI_NUMERICSERV
_AF_INET = _stdlib_socket.AF_INET
_AF_INET6 = _stdlib_socket.AF_INET6
_AF_UNIX = getattr(_stdlib_socket, "AF_UNIX", None)


async def resolve_address(sock: _stdlib_socket.socket, address: Any, *, local: bool) -> Any:
    """The numeric sockaddr for ``address`` on ``sock``'s family, type and protocol.

    Numeric addresses resolve without yielding; hostnames go through getaddrinfo (a
    checkpoint). Raises ValueError for a malformed address, ``socket.gaierror`` for a
    name that doesn't resolve.
    """
    family = sock.family
    if family == _AF_INET:
        if not isinstance(address, tuple) or len(address) != 2:
            raise ValueError(f"address should be a (host, port) tuple, got {address!r}")
    elif family == _AF_INET6:
        if not isinstance(address, tuple) or not 2 <= len(address) <= 4:
            raise ValueError(
                f"address should be a (host, port, [flowinfo, [scopeid]]) tuple, got {address!r}"
            )
    else:
        if family == _AF_UNIX and isinstance(address, os.PathLike):
            return os.fspath(address)
        return address

    host, port = address[0], address[1]
    if host == "":
        host = None
    elif host == "<broadcast>":
        host = "255.255.255.255"
    flags = 0
    if local:
        flags |= _stdlib_socket.AI_PASSIVE
    if family == _AF_INET6 and not sock.getsockopt(
        _stdlib_socket.IPPROTO_IPV6, _stdlib_socket.IPV6_V6ONLY
    ):
        flags |= _stdlib_socket.AI_V4MAPPED

    infos: list[Any] = []
    if not isinstance(host, str) or host.isascii():  # see getaddrinfo: never numeric
        try:
            infos = _stdlib_socket.getaddrinfo(
                host, port, family, sock.type, sock.proto, flags | _NUMERIC_ONLY
            )
        except _stdlib_socket.gaierror:
            pass
    if not infos:
        infos = await getaddrinfo(host, port, family, sock.type, sock.proto, flags)
    if not infos:
        raise OSError(f"the resolver returned no addresses for {address!r}")
    sockaddr = infos[0][4]
    if family == _AF_INET6 and len(address) > 2:
        resolved = list(sockaddr)
        resolved[2 : len(address)] = address[2:]
        return tuple(resolved)
    return sockaddr
