"""Enter and leave a timeout around one checkpoint: arming and disarming a deadline."""

from __future__ import annotations

from ._common import Result, Stopwatch, trio_like

TITLE = "`with move_on_after(10): await checkpoint()` loop (asyncio: `asyncio.timeout`)"
UNIT = "scopes"
ISSUE = 3
ORDER = 3
SIZE = 100_000
QUICK_SIZE = 10_000
TARGETS = {"trio": 5.0, "asyncio": 2.0}


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)

    async def main() -> Result:
        watch = Stopwatch.started()
        for _ in range(size):
            with lib.move_on_after(10):
                await lib.lowlevel.checkpoint()
        return watch.result(size)

    result: Result = lib.run(main)
    return result


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    async def main() -> Result:
        watch = Stopwatch.started()
        for _ in range(size):
            async with asyncio.timeout(10):
                await asyncio.sleep(0)
        return watch.result(size)

    return asyncio.run(main())
