"""Bulk upload over one loopback TCP connection in 64 KiB chunks; the server reads to EOF.

Server and client share one process and one event loop. SIZE counts 64 KiB chunks; the
rate is in MiB/s. The clock starts once the connection is established, so the reader is
running from the first chunk and keeps up with the writer. (Start it before the server
accepts and the writer first fills the socket buffers; from then on every 64 KiB recv
costs about twice as much on the gVisor loopback this was tuned on, and trio and triolet
both run at roughly 2 GiB/s, bound by that copy.) See ``_tcp.py`` for the bodies.
"""

from __future__ import annotations

from ._common import Result
from ._tcp import asyncio_protocols_bulk, asyncio_streams_bulk, trio_like_bulk

TITLE = "bulk TCP transfer over loopback, 64 KiB chunks"
UNIT = "MiB"
ISSUE = 6
ORDER = 3
SIZE = 16_384  # 1 GiB
QUICK_SIZE = 1_024
TARGETS = {"trio": 1.5}


def run_triolet(size: int) -> Result:
    return trio_like_bulk("triolet", size)


def run_trio(size: int) -> Result:
    return trio_like_bulk("trio", size)


def run_asyncio(size: int) -> Result:
    return asyncio_streams_bulk(size)


def run_asyncio_protocols(size: int) -> Result:
    return asyncio_protocols_bulk(size)
