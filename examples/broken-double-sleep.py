# broken-double-sleep.py: the tutorial's warning about forgetting an 'await'.
# Python only says "RuntimeWarning: coroutine 'sleep' was never awaited".

import time

import triolet as trio


async def broken_double_sleep(x):
    print("*yawn* Going to sleep")
    start_time = time.perf_counter()

    # Whoops, we forgot the 'await'!
    trio.sleep(2 * x)

    sleep_time = time.perf_counter() - start_time
    print(f"Woke up after {sleep_time:.2f} seconds, feeling well rested!")


if __name__ == "__main__":
    trio.run(broken_double_sleep, 3)
