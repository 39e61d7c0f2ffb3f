"""Two tasks bouncing one message back and forth over two channels (asyncio: two Queues).

Channels are ``open_memory_channel(0)`` (trio's recommended default); the asyncio queues are
unbounded, as ``asyncio.Queue()`` is by default. At most one message is ever in flight.
"""

from __future__ import annotations

from ._common import Result, Stopwatch, trio_like

TITLE = "channel ping-pong between two tasks (asyncio: two `asyncio.Queue`)"
UNIT = "round trips"
ISSUE = 4
ORDER = 1
SIZE = 50_000
QUICK_SIZE = 5_000
TARGETS = {"trio": 4.0, "asyncio": 2.0}


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)

    async def main() -> Result:
        ping_send, ping_receive = lib.open_memory_channel(0)
        pong_send, pong_receive = lib.open_memory_channel(0)

        async def ponger() -> None:
            for _ in range(size):
                await pong_send.send(await ping_receive.receive())

        watch = Stopwatch.started()
        async with lib.open_nursery() as nursery:
            nursery.start_soon(ponger)
            for round_trip in range(size):
                await ping_send.send(round_trip)
                await pong_receive.receive()
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
        pings: asyncio.Queue[int] = asyncio.Queue()
        pongs: asyncio.Queue[int] = asyncio.Queue()

        async def ponger() -> None:
            for _ in range(size):
                await pongs.put(await pings.get())

        watch = Stopwatch.started()
        async with asyncio.TaskGroup() as task_group:
            task_group.create_task(ponger())
            for round_trip in range(size):
                await pings.put(round_trip)
                await pongs.get()
        return watch.result(size)

    return asyncio.run(main())
