"""Coming from asyncio: the triolet half of each comparison (see asyncio_version.py)."""

import time

import triolet


async def fetch(number):
    await triolet.sleep(0.01 * (3 - number))
    return number * 10


async def concurrent_tasks():
    results = [None] * 3

    async def fetch_into(number):
        results[number] = await fetch(number)

    async with triolet.open_nursery() as nursery:
        for number in range(3):
            nursery.start_soon(fetch_into, number)
    print("results:", results)


async def timeouts():
    try:
        with triolet.fail_after(0.05):
            await triolet.sleep(10)
    except triolet.TooSlowError:
        print("timed out")


async def producer_consumer():
    send_channel, receive_channel = triolet.open_memory_channel(1)

    async def producer(send_channel):
        async with send_channel:  # closing it tells the consumer there is no more
            for item in ["a", "b", "c"]:
                await send_channel.send(item)

    async def consumer(receive_channel):
        async with receive_channel:
            async for item in receive_channel:
                print("consumed", item)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(producer, send_channel)
        nursery.start_soon(consumer, receive_channel)


def blocking_work(seconds):
    time.sleep(seconds)
    return "slept in a thread"


async def threads():
    print(await triolet.to_thread.run_sync(blocking_work, 0.01))


async def cancellation():
    async def background():
        try:
            await triolet.sleep(10)
        finally:
            print("background task cleaned up")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(background)
        await triolet.sleep(0.01)
        nursery.cancel_scope.cancel()
    print("background task cancelled")


async def main():
    for example in [concurrent_tasks, timeouts, producer_consumer, threads, cancellation]:
        await example()


if __name__ == "__main__":
    triolet.run(main)
