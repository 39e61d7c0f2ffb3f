# double-sleep.py: an async function that has to be async, because it awaits trio.sleep.

import triolet as trio


async def double_sleep(x):
    await trio.sleep(2 * x)


if __name__ == "__main__":
    trio.run(double_sleep, 3)  # does nothing for 6 seconds then returns
