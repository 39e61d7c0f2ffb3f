"""A helper for the scheduling-policy tests: count how often the current task yields.

Importable as ``_step_counter`` from every test module (pytest puts ``tests/`` on
``sys.path``: it is not a package).
"""

from __future__ import annotations

import triolet


async def start_step_counter(nursery: triolet.Nursery) -> list[int]:
    """Start a task that counts its own steps; the count (in a list) starts at 0 now.

    While the caller is the only other runnable task, the count goes up by one each time
    the caller yields.
    """
    steps = [0]

    async def counter() -> None:
        await triolet.lowlevel.checkpoint()
        while True:
            steps[0] += 1
            await triolet.lowlevel.checkpoint()

    nursery.start_soon(counter)
    await triolet.lowlevel.checkpoint()  # the counter has started and waits to run
    return steps
