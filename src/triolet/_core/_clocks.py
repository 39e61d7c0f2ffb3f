"""The default clock: the OS monotonic clock, shifted by a random offset.

The offset keeps programs honest: ``triolet.current_time()`` is only meaningful
relative to other readings of the same run's clock, never to ``time.monotonic()``.
"""

from __future__ import annotations

import random
import time

from ._abc import Clock


class SystemClock(Clock):
    """``time.perf_counter()`` plus a large random offset."""

    __slots__ = ("offset",)

    def __init__(self) -> None:
        self.offset = random.uniform(10_000, 200_000)

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        return self.offset + time.perf_counter()

    def deadline_to_sleep_time(self, deadline: float) -> float:
        return deadline - self.current_time()
