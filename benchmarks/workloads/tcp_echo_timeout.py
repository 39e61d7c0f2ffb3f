"""One TCP connection, 64-byte echo ping-pong, each round trip under its own timeout.

The everyday shape of a client with a deadline per request: ``fail_after`` (asyncio:
``asyncio.timeout``) is armed before the round trip and disarmed after it, so the loop
has a live deadline at every poll. Compare with ``tcp_echo_one`` for the cost of the
timeouts. See ``_tcp.py`` for the bodies.
"""

from __future__ import annotations

from ._common import Result
from ._tcp import asyncio_streams_echo, trio_like_echo

TITLE = "one-connection 64-byte TCP echo, a timeout around each round trip"
UNIT = "round trips"
ISSUE = 6
ORDER = 5
SIZE = 20_000
QUICK_SIZE = 2_000
TARGETS: dict[str, float] = {}


def run_triolet(size: int) -> Result:
    return trio_like_echo("triolet", 1, size, timeout=True)


def run_trio(size: int) -> Result:
    return trio_like_echo("trio", 1, size, timeout=True)


def run_asyncio(size: int) -> Result:
    return asyncio_streams_echo(1, size, timeout=True)
