"""MockClock: a clock for tests, which runs at any rate and can jump ahead.

Virtual time is piecewise linear in real time. ``_origin`` holds the (real, virtual)
pair at the last change of speed; from there virtual time advances ``_speed`` virtual
seconds per real second. Jumps move the virtual side of the origin forward.
"""

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

    # Read by the run loop: real seconds of all-blocked before jumping to the next deadline.
    _idle_jump_after = math.inf
    _runner: Runner | None = None

    def __init__(self, rate: float = 0.0, autojump_threshold: float = math.inf) -> None:
        self._origin = (time.perf_counter(), 0.0)
        self._speed = 0.0
        self.rate = rate
        self.autojump_threshold = autojump_threshold

    def current_time(self) -> float:
        real_origin, virtual_origin = self._origin
        if self._speed == 0.0:
            return virtual_origin
        return virtual_origin + (time.perf_counter() - real_origin) * self._speed

    def jump(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (ValueError if negative)."""
        if seconds < 0:
            raise ValueError(f"time can't go backwards: jump({seconds}) needs seconds >= 0")
        real_origin, virtual_origin = self._origin
        self._origin = (real_origin, virtual_origin + seconds)
        if self._runner is not None:
            self._runner.poll_soon = True

    def deadline_to_sleep_time(self, deadline: float) -> float:
        remaining = deadline - self.current_time()
        if remaining <= 0:
            return 0.0
        # Frozen time never reaches a deadline on its own: sleep "forever" (a day).
        return remaining / self._speed if self._speed else 86400.0

    def start_clock(self) -> None:
        """Nothing to do: a MockClock's time is independent of when the run starts."""

    @property
    def rate(self) -> float:
        """Virtual seconds that pass per real second (>= 0)."""
        return self._speed

    @rate.setter
    def rate(self, new_rate: float) -> None:
        if not new_rate >= 0:
            raise ValueError(f"MockClock rate must be a number >= 0, got {new_rate!r}")
        now_virtual = self.current_time()
        self._origin = (time.perf_counter(), now_virtual)
        self._speed = float(new_rate)

    @property
    def autojump_threshold(self) -> float:
        """Real seconds of everything-blocked after which the clock jumps to the next deadline."""
        return self._idle_jump_after

    @autojump_threshold.setter
    def autojump_threshold(self, new_threshold: float) -> None:
        if not new_threshold >= 0:
            raise ValueError(
                f"autojump_threshold must be a number >= 0 (or math.inf), got {new_threshold!r}"
            )
        self._idle_jump_after = float(new_threshold)
        if self._runner is not None:
            self._runner.entry_queue.wake_loop()  # the loop recomputes its idle timeout

    def _attach_runner(self, runner: Runner | None) -> None:
        self._runner = runner

    def _jump_to_deadline(self, next_deadline: float) -> None:
        gap = next_deadline - self.current_time()
        if next_deadline != math.inf and gap > 0:
            self.jump(gap)

    def __repr__(self) -> str:
        return f"MockClock(time={self.current_time():.6f}, rate={self._speed}, autojump_threshold={self._idle_jump_after})"
