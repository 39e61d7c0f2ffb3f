"""One ``Event.set()`` waking 10,000 parked waiters, repeated.

Only the wake-up is timed: from ``set()`` until every waiter has run and the nursery (asyncio:
TaskGroup) has joined them. Spawning the waiters and waiting until all are parked is not timed.
"""

from __future__ import annotations

from typing import Any

from ._common import Result, Stopwatch, trio_like

TITLE = "`Event.set()` waking 10,000 waiters"
UNIT = "wake-ups"
ISSUE = 4
ORDER = 3
SIZE = 100_000
QUICK_SIZE = 10_000
TARGETS = {"trio": 3.0}

WAITERS = 10_000


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)
    rounds = max(1, size // WAITERS)

    parked = 0

    async def waiter(event: Any) -> None:
        nonlocal parked
        parked += 1
        await event.wait()

    async def main() -> Result:
        nonlocal parked
        watch = Stopwatch()
        for _ in range(rounds):
            event = lib.Event()
            parked = 0
            async with lib.open_nursery() as nursery:
                for _ in range(WAITERS):
                    nursery.start_soon(waiter, event)
                while parked < WAITERS:
                    await lib.sleep(0)
                watch.start()
                event.set()
            watch.stop()
        return watch.result(rounds * WAITERS)

    result: Result = lib.run(main)
    return result


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    rounds = max(1, size // WAITERS)

    parked = 0

    async def waiter(event: Any) -> None:
        nonlocal parked
        parked += 1
        await event.wait()

    async def main() -> Result:
        nonlocal parked
        watch = Stopwatch()
        for _ in range(rounds):
            event = asyncio.Event()
            parked = 0
            async with asyncio.TaskGroup() as task_group:
                for _ in range(WAITERS):
                    task_group.create_task(waiter(event))
                while parked < WAITERS:
                    await asyncio.sleep(0)
                watch.start()
                event.set()
            watch.stop()
        return watch.result(rounds * WAITERS)

    return asyncio.run(main())
