"""Spawn 10,000 do-nothing children in one nursery (asyncio: TaskGroup) and wait for them all."""

from __future__ import annotations

from ._common import Result, Stopwatch, trio_like

TITLE = "spawn and join 10,000 tasks"
UNIT = "tasks"
ISSUE = 3
ORDER = 2
SIZE = 50_000
QUICK_SIZE = 10_000
TARGETS = {"trio": 3.0, "asyncio": 1.5}

BATCH = 10_000


async def _child() -> None:
    pass


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)
    batches = max(1, size // BATCH)

    async def main() -> Result:
        watch = Stopwatch.started()
        for _ in range(batches):
            async with lib.open_nursery() as nursery:
                for _ in range(BATCH):
                    nursery.start_soon(_child)
        return watch.result(batches * BATCH)

    result: Result = lib.run(main)
    return result


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    batches = max(1, size // BATCH)

    async def main() -> Result:
        watch = Stopwatch.started()
        for _ in range(batches):
            async with asyncio.TaskGroup() as task_group:
                for _ in range(BATCH):
                    task_group.create_task(_child())
        return watch.result(batches * BATCH)

    return asyncio.run(main())
