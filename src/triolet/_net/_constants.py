"""Every constant of the stdlib ``socket`` module (AF_*, SOCK_*, SO_*, IPPROTO_*, ...).

The names are copied from the stdlib when this module is imported, so each platform gets
exactly the constants it has; ``triolet.socket`` re-exports them with a star import.
"""

from __future__ import annotations

import socket as _stdlib_socket

# Names that are ints in the stdlib socket module but are not socket constants (errno
# values it imports for its own use).
_NOT_SOCKET_CONSTANTS = frozenset({"EAGAIN", "EBADF", "EWOULDBLOCK"})

CONSTANT_NAMES: list[str] = sorted(
    name
    for name, value in vars(_stdlib_socket).items()
    if not name.startswith("_")
    and isinstance(value, int)
    and not isinstance(value, bool)
    and name not in _NOT_SOCKET_CONSTANTS
)

# Copied from the stdlib at import time: each platform gets exactly the constants it
# has. Type checkers can't see these assignments; triolet.socket tells them what to expect.
globals().update({name: getattr(_stdlib_socket, name) for name in CONSTANT_NAMES})
