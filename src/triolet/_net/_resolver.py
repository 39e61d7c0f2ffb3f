"""Name resolution: ``getaddrinfo`` / ``getnameinfo`` without blocking the loop.

Numeric hosts and ports are resolved on the loop thread with ``AI_NUMERICHOST |
AI_NUMERICSERV`` (the C library answers those without touching the network). Everything
else goes to the custom resolver installed for this run, or to the stdlib functions in a
worker thread that is abandoned on cancellation (a DNS lookup can't be interrupted, and
the caller should not have to wait for it).

Hostnames are IDNA 2008 encoded (with UTS 46 mapping) before they reach any resolver,
so every resolver sees the same bytes the system resolver would be asked for.
"""

from __future__ import annotations

import socket as _stdlib_socket
from typing import TYPE_CHECKING, TypeVar

import idna

from .. import _core
from .._abc import HostnameResolver

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

GetAddrInfoResult = list[
    tuple[
        _stdlib_socket.AddressFamily,
        _stdlib_socket.SocketKind,
        int,
        str,
        tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes],
    ]
]

_NUMERIC_ONLY = _stdlib_socket.AI_NUMERICHOST | _stdlib_socket.AI_NUMERICSERV

_hostname_resolver: _core.RunVar[HostnameResolver | None] = _core.RunVar("hostname_resolver", None)


def encode_hostname(hostname: str) -> bytes:
    """Return the bytes that triolet hands to the resolver for ``hostname``.

    ASCII names pass through unchanged; other names are IDNA 2008 encoded with UTS 46
    mapping (so ``"Bücher.example"`` becomes ``b"xn--bcher-kva.example"``). Raises
    ``idna.IDNAError`` (a ``UnicodeError``) for a name IDNA can't encode. Not a checkpoint.
    """
    if hostname.isascii():
        return hostname.encode("ascii")
    return idna.encode(hostname, uts46=True)


def set_custom_hostname_resolver(
    hostname_resolver: HostnameResolver | None,
) -> HostnameResolver | None:
    """Route this run's ``getaddrinfo`` / ``getnameinfo`` through ``hostname_resolver``.

    ``None`` restores the system resolver. Returns the previous resolver (or None).
    Must be called inside ``triolet.run``; the setting lasts for that run only.
    """
    previous = _hostname_resolver.get()
    _hostname_resolver.set(hostname_resolver)
    return previous


def _describe(host: object, port: object) -> str:
    return f"host {host!r}, port {port!r}"


async def getaddrinfo(
    host: bytes | str | None,
    port: bytes | str | int | None,
    family: int = 0,
    type: int = 0,
    proto: int = 0,
    flags: int = 0,
) -> GetAddrInfoResult:
    """Resolve ``host`` and ``port`` like ``socket.getaddrinfo``, without blocking the loop.

    String hostnames are IDNA encoded first (see :func:`triolet.lowlevel.encode_hostname`).
    Numeric addresses are answered directly; other names go to the custom resolver, if
    one is set, or to the system resolver in a worker thread. Raises ``socket.gaierror``
    (its message names the host and port) when the name can't be resolved. A checkpoint.
    """
    await _core.checkpoint_if_cancelled()
    # Non-ASCII names are never numeric; the stdlib would run them through its own,
    # older IDNA codec first, so keep them away from it.
    if not isinstance(host, str) or host.isascii():
        try:
            numeric = _stdlib_socket.getaddrinfo(
                host, port, family, type, proto, flags | _NUMERIC_ONLY
            )
        except _stdlib_socket.gaierror:
            pass
        else:
            await _core.cancel_shielded_checkpoint()
            return numeric  # type: ignore[return-value]

    encoded_host = encode_hostname(host) if isinstance(host, str) else host
    resolver = _hostname_resolver.get()
    if resolver is not None:
        return await resolver.getaddrinfo(encoded_host, port, family, type, proto, flags)
    return await _in_thread(
        _system_getaddrinfo, _describe(host, port), encoded_host, port, family, type, proto, flags
    )


async def getnameinfo(
    sockaddr: tuple[str, int] | tuple[str, int, int, int], flags: int
) -> tuple[str, str]:
    """Translate ``sockaddr`` to a ``(host, port)`` pair like ``socket.getnameinfo``.

    Uses the custom resolver if one is set, otherwise the system resolver in a worker
    thread. A checkpoint.
    """
    resolver = _hostname_resolver.get()
    if resolver is not None:
        return await resolver.getnameinfo(sockaddr, flags)
    return await _in_thread(_stdlib_socket.getnameinfo, f"address {sockaddr!r}", sockaddr, flags)


async def getprotobyname(name: str) -> int:
    """Look up a protocol number by name (``"tcp"`` -> 6) in a worker thread. A checkpoint."""
    return await _in_thread(_stdlib_socket.getprotobyname, f"protocol {name!r}", name)


def _system_getaddrinfo(
    host: bytes | None,
    port: bytes | str | int | None,
    family: int,
    type: int,
    proto: int,
    flags: int,
) -> GetAddrInfoResult:
    return _stdlib_socket.getaddrinfo(host, port, family, type, proto, flags)  # type: ignore[return-value]


async def _in_thread(fn: Callable[..., T], what: str, *args: object) -> T:
    from .. import to_thread

    try:
        return await to_thread.run_sync(fn, *args, abandon_on_cancel=True)
    except _stdlib_socket.gaierror as exc:
        # The C library's messages ("Name or service not known") don't say which
        # name failed; a user juggling several connections needs to know.
        raise _stdlib_socket.gaierror(exc.errno, f"{exc.strerror} ({what})") from None
