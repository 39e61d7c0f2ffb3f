"""One TCP connection over loopback: the client sends 64 bytes, waits for the echo, repeats.

Server and client share one process and one event loop. See ``_tcp.py`` for the bodies.
"""

from __future__ import annotations

from ._common import Result
from ._tcp import asyncio_protocols_echo, asyncio_streams_echo, trio_like_echo

TITLE = "one-connection 64-byte TCP echo ping-pong over loopback"
UNIT = "round trips"
ISSUE = 6
ORDER = 1
SIZE = 20_000
QUICK_SIZE = 2_000
TARGETS = {"trio": 2.0, "asyncio": 1.0}


def run_triolet(size: int) -> Result:
    return trio_like_echo("triolet", 1, size)


def run_trio(size: int) -> Result:
    return trio_like_echo("trio", 1, size)


def run_asyncio(size: int) -> Result:
    return asyncio_streams_echo(1, size)


def run_asyncio_protocols(size: int) -> Result:
    return asyncio_protocols_echo(1, size)
