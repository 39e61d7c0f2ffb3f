"""One task awaiting ``sleep(0)`` in a loop: the cost of one scheduling checkpoint.

``bare`` is the floor a pure-Python kernel works against: a deque scheduler that runs each step
in the task's ``contextvars`` context, with the checkpoint going through one wrapper coroutine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Coroutine, Generator
from contextvars import copy_context
from typing import Any

from ._common import Result, Stopwatch, trio_like

TITLE = "checkpoint: `await sleep(0)` loop in one task"
UNIT = "checkpoints"
ISSUE = 3
ORDER = 1
SIZE = 200_000
QUICK_SIZE = 20_000
TARGETS = {"trio": 5.0, "asyncio": 2.5}


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)

    async def main() -> Result:
        watch = Stopwatch.started()
        for _ in range(size):
            await lib.sleep(0)
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
            await asyncio.sleep(0)
        return watch.result(size)

    return asyncio.run(main())


class _Reschedule:
    """Awaitable that suspends the task once, asking to go to the back of the run queue."""

    def __await__(self) -> Generator[None, None, None]:
        yield


_RESCHEDULE = _Reschedule()


async def _bare_sleep0() -> None:
    await _RESCHEDULE


def run_bare(size: int) -> Result:
    async def main() -> Result:
        watch = Stopwatch.started()
        for _ in range(size):
            await _bare_sleep0()
        return watch.result(size)

    coro: Coroutine[Any, Any, Result] = main()
    context = copy_context()
    run_queue: deque[Coroutine[Any, Any, Result]] = deque([coro])
    popleft, append, run_in_context = run_queue.popleft, run_queue.append, context.run
    while run_queue:
        task = popleft()
        try:
            run_in_context(task.send, None)
        except StopIteration as done:
            result: Result = done.value
            return result
        append(task)
    raise AssertionError("the bare scheduler ran out of tasks before main returned")
