"""Debugging: the loop watchdog names a task that blocks the event loop."""

import logging
import time

import triolet


async def blocks_the_loop():
    time.sleep(0.3)  # the bug: a blocking call; 'await triolet.sleep(0.3)' was meant


async def heartbeat():
    for _ in range(3):
        print("heartbeat")
        await triolet.sleep(0.05)


async def main():
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(heartbeat)
        nursery.start_soon(blocks_the_loop)


if __name__ == "__main__":
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    triolet.run(main, instruments=[triolet.lowlevel.LoopWatchdog(threshold=0.1)])
