"""Spawning and reaping a child: ``await run_process(["true"])`` in a loop.

Each operation forks/execs ``true``, waits for it to exit and reaps it. asyncio's counterpart
is ``create_subprocess_exec("true")`` followed by ``wait()``.
"""

from __future__ import annotations

import time

from ._common import Result, trio_like

TITLE = '`run_process(["true"])`, one at a time'
UNIT = "processes"
ISSUE = 5
ORDER = 2
SIZE = 500
QUICK_SIZE = 50
TARGETS = {"trio": 1.0}


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)

    async def main() -> Result:
        await lib.run_process(["true"])
        start = time.perf_counter()
        for _ in range(size):
            await lib.run_process(["true"])
        return Result(size, time.perf_counter() - start)

    result: Result = lib.run(main)
    return result


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    async def main() -> Result:
        process = await asyncio.create_subprocess_exec("true")
        await process.wait()
        start = time.perf_counter()
        for _ in range(size):
            process = await asyncio.create_subprocess_exec("true")
            await process.wait()
        return Result(size, time.perf_counter() - start)

    return asyncio.run(main())
