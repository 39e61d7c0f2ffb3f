"""Full TLS handshakes over loopback TCP, one connection after another, both ends in-process.

Each connection: TCP connect, handshake (TLS 1.3, trustme certificate), close_notify,
close. SIZE counts connections. See ``_tls.py``.
"""

from __future__ import annotations

from ._common import Result
from ._tls import asyncio_handshakes, trio_like_handshakes

TITLE = "TLS handshakes over loopback (client and server in one process)"
UNIT = "handshakes"
ISSUE = 8
ORDER = 2
SIZE = 1_000
QUICK_SIZE = 100
TARGETS = {"trio": 1.0}


def run_triolet(size: int) -> Result:
    return trio_like_handshakes("triolet", size)


def run_trio(size: int) -> Result:
    return trio_like_handshakes("trio", size)


def run_asyncio(size: int) -> Result:
    return asyncio_handshakes(size)
