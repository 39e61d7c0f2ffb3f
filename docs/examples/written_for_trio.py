"""Porting from trio: a program written for trio, unchanged.

Run it on triolet with:  python -m triolet run --as-trio written_for_trio.py
"""

import sniffio
import trio


async def report():
    library = sniffio.current_async_library()
    print(f"'import trio' gave {trio.__name__}; sniffio says {library!r}")


async def main():
    async with trio.open_nursery() as nursery:
        nursery.start_soon(report)
        with trio.move_on_after(0.05):
            await trio.sleep_forever()
    print("done")


if __name__ == "__main__":
    trio.run(main)
