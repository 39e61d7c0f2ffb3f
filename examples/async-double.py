# async-double.py: the tutorial's first program. trio.run calls an async function.

import triolet as trio


async def async_double(x):
    return 2 * x


if __name__ == "__main__":
    print(trio.run(async_double, 3))  # prints 6
