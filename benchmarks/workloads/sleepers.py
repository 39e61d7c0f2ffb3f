"""Many concurrent sleepers with random deadlines, drained; and the memory one sleeping task holds.

Timed phase: spawn ``size`` tasks that each sleep a duration drawn uniformly from 0..50 ms
(fixed seed, the same durations for every implementation) and wait until all have woken.

Memory phase (untimed, ``MEMORY_TASKS`` sleepers): with ``tracemalloc`` tracing, spawn tasks
that sleep for an hour, wait until every one is parked, and divide the growth of traced memory
by the number of tasks. That counts everything a sleeping task keeps alive: task object,
coroutine frames, context copy, timer or cancel-scope entry and the run queue's share.
"""

from __future__ import annotations

import random
import tracemalloc

from ._common import Metric, Result, Stopwatch, trio_like

TITLE = "100,000 concurrent sleepers with random 0-50 ms deadlines, drained"
UNIT = "sleepers"
ISSUE = 3
ORDER = 4
SIZE = 100_000
QUICK_SIZE = 10_000
TARGETS = {"trio": 3.0}
METRICS = {
    "bytes/task": Metric(
        label="memory per sleeping task (tracemalloc)",
        unit="bytes",
        lower_is_better=True,
        targets={"trio": 1.0},
    ),
}

SEED = 20_260_101
MAX_SLEEP = 0.05
MEMORY_TASKS = 10_000
LONG_SLEEP = 3600.0


def _durations(size: int) -> list[float]:
    rng = random.Random(SEED)
    return [rng.uniform(0.0, MAX_SLEEP) for _ in range(size)]


def _memory_tasks(size: int) -> int:
    return min(size, MEMORY_TASKS)


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)
    durations = _durations(size)
    memory_tasks = _memory_tasks(size)

    async def drain() -> Stopwatch:
        watch = Stopwatch.started()
        async with lib.open_nursery() as nursery:
            for duration in durations:
                nursery.start_soon(lib.sleep, duration)
        watch.stop()
        return watch

    parked = 0

    async def counted_sleeper() -> None:
        nonlocal parked
        parked += 1
        await lib.sleep(LONG_SLEEP)

    async def bytes_per_task() -> float:
        async with lib.open_nursery() as nursery:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(memory_tasks):
                nursery.start_soon(counted_sleeper)
            while parked < memory_tasks:
                await lib.sleep(0)
            after = tracemalloc.get_traced_memory()[0]
            nursery.cancel_scope.cancel()
        return (after - before) / memory_tasks

    watch: Stopwatch = lib.run(drain)
    tracemalloc.start()
    memory: float = lib.run(bytes_per_task)
    tracemalloc.stop()
    return watch.result(size, {"bytes/task": memory})


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    durations = _durations(size)
    memory_tasks = _memory_tasks(size)

    async def drain() -> Stopwatch:
        watch = Stopwatch.started()
        async with asyncio.TaskGroup() as task_group:
            for duration in durations:
                task_group.create_task(asyncio.sleep(duration))
        watch.stop()
        return watch

    parked = 0

    async def counted_sleeper() -> None:
        nonlocal parked
        parked += 1
        await asyncio.sleep(LONG_SLEEP)

    async def bytes_per_task() -> float:
        this_task = asyncio.current_task()
        async with asyncio.TaskGroup() as task_group:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(memory_tasks):
                task_group.create_task(counted_sleeper())
            while parked < memory_tasks:
                await asyncio.sleep(0)
            after = tracemalloc.get_traced_memory()[0]
            for sleeping in asyncio.all_tasks():
                if sleeping is not this_task:
                    sleeping.cancel()
        return (after - before) / memory_tasks

    watch = asyncio.run(drain())
    tracemalloc.start()
    memory = asyncio.run(bytes_per_task())
    tracemalloc.stop()
    return watch.result(size, {"bytes/task": memory})
