"""Round trips through a worker thread: ``await to_thread.run_sync(noop)`` in a loop.

Each operation hands a job to a (cached) worker thread, waits for it and gets the result back
into the task. asyncio's counterpart is ``asyncio.to_thread`` (its default executor).

Measured in process CPU time (all threads): one call at a time means the loop thread and the
worker take turns, so on an idle machine CPU time and wall-clock time agree (within 2% here),
while on this shared machine only CPU time is spared the preemption by other processes.
"""

from __future__ import annotations

from ._common import Result, Stopwatch, trio_like

TITLE = "`to_thread.run_sync(noop)` round trips, one task"
UNIT = "round trips"
ISSUE = 5
ORDER = 1
SIZE = 20_000
QUICK_SIZE = 2_000
TARGETS = {"trio": 2.0, "asyncio": 1.0}


def _noop() -> None:
    pass


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)

    async def main() -> Result:
        run_sync = lib.to_thread.run_sync
        await run_sync(_noop)  # start the first worker outside the timed section
        watch = Stopwatch.started()
        for _ in range(size):
            await run_sync(_noop)
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
        await asyncio.to_thread(_noop)
        watch = Stopwatch.started()
        for _ in range(size):
            await asyncio.to_thread(_noop)
        return watch.result(size)

    return asyncio.run(main())
