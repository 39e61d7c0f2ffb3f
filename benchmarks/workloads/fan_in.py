"""100 producers sending into one channel, one consumer draining it (asyncio: one Queue).

Both sides are bounded at ``CAPACITY`` items so producers feel back-pressure in every
implementation (an unbounded ``asyncio.Queue`` would let each producer finish without yielding).
"""

from __future__ import annotations

from ._common import Result, Stopwatch, trio_like

TITLE = "fan-in: 100 producers -> 1 consumer through one channel"
UNIT = "items"
ISSUE = 4
ORDER = 2
SIZE = 100_000
QUICK_SIZE = 10_000
TARGETS = {"trio": 3.0, "asyncio": 1.5}

PRODUCERS = 100
CAPACITY = 100


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)
    per_producer = max(1, size // PRODUCERS)
    total = per_producer * PRODUCERS

    async def main() -> Result:
        send_channel, receive_channel = lib.open_memory_channel(CAPACITY)

        async def producer() -> None:
            for item in range(per_producer):
                await send_channel.send(item)

        watch = Stopwatch.started()
        async with lib.open_nursery() as nursery:
            for _ in range(PRODUCERS):
                nursery.start_soon(producer)
            for _ in range(total):
                await receive_channel.receive()
        return watch.result(total)

    result: Result = lib.run(main)
    return result


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    per_producer = max(1, size // PRODUCERS)
    total = per_producer * PRODUCERS

    async def main() -> Result:
        queue: asyncio.Queue[int] = asyncio.Queue(CAPACITY)

        async def producer() -> None:
            for item in range(per_producer):
                await queue.put(item)

        watch = Stopwatch.started()
        async with asyncio.TaskGroup() as task_group:
            for _ in range(PRODUCERS):
                task_group.create_task(producer())
            for _ in range(total):
                await queue.get()
        return watch.result(total)

    return asyncio.run(main())
