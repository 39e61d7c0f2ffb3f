"""Bulk upload over one loopback TLS connection in 64 KiB chunks; the server reads to EOF.

Server and client share one process and one event loop, so both ends' encryption and
decryption count. SIZE counts 64 KiB chunks; the rate is in MiB/s. See ``_tls.py``.
"""

from __future__ import annotations

from ._common import Result
from ._tls import asyncio_bulk, trio_like_bulk

TITLE = "bulk TLS transfer over loopback, 64 KiB chunks"
UNIT = "MiB"
ISSUE = 8
ORDER = 1
SIZE = 8_192  # 512 MiB
QUICK_SIZE = 512
TARGETS = {"trio": 1.0, "asyncio": 1.0}


def run_triolet(size: int) -> Result:
    return trio_like_bulk("triolet", size)


def run_trio(size: int) -> Result:
    return trio_like_bulk("trio", size)


def run_asyncio(size: int) -> Result:
    return asyncio_bulk(size)
