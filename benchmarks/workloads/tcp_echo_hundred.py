"""100 TCP connections over loopback, each doing 64-byte echo round trips at the same time.

Server and clients share one process and one event loop; the rate is the aggregate over
all connections. See ``_tcp.py`` for the bodies.
"""

from __future__ import annotations

from ._common import Result
from ._tcp import asyncio_protocols_echo, asyncio_streams_echo, trio_like_echo

TITLE = "100 concurrent TCP connections doing 64-byte echo ping-pong (aggregate)"
UNIT = "round trips"
ISSUE = 6
ORDER = 2
SIZE = 50_000
QUICK_SIZE = 5_000
TARGETS = {"trio": 2.0, "asyncio": 1.0}
CONNECTIONS = 100


def run_triolet(size: int) -> Result:
    return trio_like_echo("triolet", CONNECTIONS, size // CONNECTIONS)


def run_trio(size: int) -> Result:
    return trio_like_echo("trio", CONNECTIONS, size // CONNECTIONS)


def run_asyncio(size: int) -> Result:
    return asyncio_streams_echo(CONNECTIONS, size // CONNECTIONS)


def run_asyncio_protocols(size: int) -> Result:
    return asyncio_protocols_echo(CONNECTIONS, size // CONNECTIONS)
