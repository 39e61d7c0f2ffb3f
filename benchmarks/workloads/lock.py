"""100 tasks taking turns on one ``Lock``, each holding it across one checkpoint.

The checkpoint inside the critical section guarantees contention in every implementation:
``asyncio.Lock.acquire`` does not yield when the lock is free, so without it one task could
take the lock over and over without anyone else ever waiting.
"""

from __future__ import annotations

from ._common import Result, Stopwatch, trio_like

TITLE = "`Lock` contended by 100 tasks (`async with lock: await sleep(0)`)"
UNIT = "acquisitions"
ISSUE = 4
ORDER = 4
SIZE = 50_000
QUICK_SIZE = 5_000
TARGETS = {"trio": 3.0, "asyncio": 1.5}

CONTENDERS = 100


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)
    per_task = max(1, size // CONTENDERS)

    async def main() -> Result:
        lock = lib.Lock()

        async def contender() -> None:
            for _ in range(per_task):
                async with lock:
                    await lib.sleep(0)

        watch = Stopwatch.started()
        async with lib.open_nursery() as nursery:
            for _ in range(CONTENDERS):
                nursery.start_soon(contender)
        return watch.result(per_task * CONTENDERS)

    result: Result = lib.run(main)
    return result


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    per_task = max(1, size // CONTENDERS)

    async def main() -> Result:
        lock = asyncio.Lock()

        async def contender() -> None:
            for _ in range(per_task):
                async with lock:
                    await asyncio.sleep(0)

        watch = Stopwatch.started()
        async with asyncio.TaskGroup() as task_group:
            for _ in range(CONTENDERS):
                task_group.create_task(contender())
        return watch.result(per_task * CONTENDERS)

    return asyncio.run(main())
