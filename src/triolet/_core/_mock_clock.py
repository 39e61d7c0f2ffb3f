"""MockClock: a clock for tests, which runs at any rate and can jump ahead."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from ._abc import Clock

if TYPE_CHECKING:
    from ._run import Runner


class MockClock(Clock):
    """A virtual clock starting at 0.

    ``rate`` is virtual seconds per real second (0, the default, means time stands
    still unless you :meth:`jump`). With ``autojump_threshold`` set, whenever every task
    has been blocked for that many *real* seconds, the clock jumps straight to the next
    deadline: ``MockClock(autojump_threshold=0)`` makes timeouts in tests instant.
    """

    def __init__(self, rate: float = 0.0, autojump_threshold: float = math.inf) -> None:
        self._real_base = 0.0
        self._virtual_base = 0.0
        self._rate = 0.0
        self._autojump_threshold = math.inf
        self._runner: Runner | None = None
        self.rate = rate
        self.autojump_threshold = autojump_threshold

    def __repr__(self) -> str:
        return f"<MockClock, time={self.current_time():.7f}, rate={self._rate} @ {id(self):#x}>"

    @property
    def rate(self) -> float:
        """Virtual seconds that pass per real second (>= 0)."""
        return self._rate

    @rate.setter
    def rate(self, new_rate: float) -> None:
        if new_rate < 0:
            raise ValueError(f"rate must be >= 0, got {new_rate}")
        real = time.perf_counter()
        self._virtual_base = self._real_to_virtual(real)
        self._real_base = real
        self._rate = float(new_rate)

    @property
    def autojump_threshold(self) -> float:
        """Real seconds of everything-blocked after which the clock jumps to the next deadline."""
        return self._autojump_threshold

    @autojump_threshold.setter
    def autojump_threshold(self, new_threshold: float) -> None:
        if math.isnan(new_threshold) or new_threshold < 0:
            raise ValueError(f"autojump_threshold must be >= 0, got {new_threshold}")
        self._autojump_threshold = float(new_threshold)
        if self._runner is not None:
            self._runner.entry_queue.wake_loop()  # the loop recomputes its idle timeout

    def _real_to_virtual(self, real: float) -> float:
        return self._virtual_base + (real - self._real_base) * self._rate

    def _attach_runner(self, runner: Runner | None) -> None:
        self._runner = runner

    def _autojump(self, next_deadline: float) -> None:
        if next_deadline != math.inf:
            gap = next_deadline - self.current_time()
            if gap > 0:
                self.jump(gap)

    def start_clock(self) -> None:
        """Nothing to do: a MockClock's time is independent of when the run starts."""

    def current_time(self) -> float:
        return self._real_to_virtual(time.perf_counter())

    def deadline_to_sleep_time(self, deadline: float) -> float:
        virtual_wait = deadline - self.current_time()
        if virtual_wait <= 0:
            return 0.0
        if self._rate > 0:
            return virtual_wait / self._rate
        return 999999999.0

    def jump(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (ValueError if negative)."""
        if seconds < 0:
            raise ValueError(f"time can't go backwards: jump({seconds}) needs seconds >= 0")
        self._virtual_base += seconds
        if self._runner is not None:
            self._runner.time_jumped = True
