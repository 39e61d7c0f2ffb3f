"""Getting started: an async function, and the runner that calls the first one."""

import time

import triolet


async def async_double(x):
    return 2 * x


async def double_sleep(x):
    await triolet.sleep(2 * x)


def main():
    print("async_double(3) =", triolet.run(async_double, 3))

    start = time.perf_counter()
    triolet.run(double_sleep, 0.1)  # sleeps for 0.2 seconds
    print(f"double_sleep(0.1) took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
