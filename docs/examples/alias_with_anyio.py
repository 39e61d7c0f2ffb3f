"""Porting from trio: install the alias first, then use a library that talks to trio."""

import triolet

triolet.install_trio_alias()  # before anything imports trio

import anyio  # noqa: E402  (must come after the alias)


async def worker(number, results):
    await anyio.sleep(0.01 * number)
    results.append(number)


async def main():
    results = []
    async with anyio.create_task_group() as task_group:
        for number in range(3):
            task_group.start_soon(worker, number, results)
    answer = await anyio.to_thread.run_sync(sum, results)
    print(f"anyio's trio backend ran on triolet: sum of {sorted(results)} is {answer}")
    print("trio is triolet:", __import__("trio") is triolet)


if __name__ == "__main__":
    anyio.run(main, backend="trio")
