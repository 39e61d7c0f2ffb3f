"""Coming from asyncio: the asyncio half of each comparison (see triolet_version.py)."""

import asyncio
import time


async def fetch(number):
    await asyncio.sleep(0.01 * (3 - number))
    return number * 10


async def concurrent_tasks():
    async with asyncio.TaskGroup() as task_group:
        tasks = [task_group.create_task(fetch(number)) for number in range(3)]
    print("results:", [task.result() for task in tasks])


async def timeouts():
    try:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(10)
    except TimeoutError:
        print("timed out")


async def producer_consumer():
    queue = asyncio.Queue(maxsize=1)
    done = object()

    async def producer():
        for item in ["a", "b", "c"]:
            await queue.put(item)
        await queue.put(done)  # tell the consumer there is no more

    async def consumer():
        while (item := await queue.get()) is not done:
            print("consumed", item)

    async with asyncio.TaskGroup() as task_group:
        task_group.create_task(producer())
        task_group.create_task(consumer())


def blocking_work(seconds):
    time.sleep(seconds)
    return "slept in a thread"


async def threads():
    print(await asyncio.to_thread(blocking_work, 0.01))


async def cancellation():
    async def background():
        try:
            await asyncio.sleep(10)
        finally:
            print("background task cleaned up")

    task = asyncio.create_task(background())
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        print("background task cancelled")


async def main():
    for example in [concurrent_tasks, timeouts, producer_consumer, threads, cancellation]:
        await example()


if __name__ == "__main__":
    asyncio.run(main())
