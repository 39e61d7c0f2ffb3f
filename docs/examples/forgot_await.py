"""Getting started: what happens when an 'await' is missing."""

import time

import triolet


async def broken_double_sleep(x):
    print("going to sleep")
    start = time.perf_counter()
    triolet.sleep(2 * x)  # the bug: no 'await', so nothing sleeps
    print(f"woke up after {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    triolet.run(broken_double_sleep, 0.1)
