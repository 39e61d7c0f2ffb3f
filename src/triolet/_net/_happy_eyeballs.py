"""Happy Eyeballs (RFC 8305) connection scheduling, without any I/O.

``open_tcp_stream`` resolves a host to several addresses and tries them in a staggered
race. This module decides *when* each attempt starts and *how* the race ends; the caller
does the connecting and reports back. Bytes never flow through here; only events
(an attempt failed, an attempt succeeded, a timer fired) come in and actions go out.

Rules
-----
1. Attempts start in target order, each at most once. Attempt 0 starts at ``start()``.
2. Attempt ``k + 1`` starts as soon as either happens first:
   a. attempt ``k`` fails, or
   b. ``delay`` seconds have passed since attempt ``k`` started.
   (Only the most recent attempt's failure hurries the next one: older attempts are
   already overtaken.)
3. The first attempt to succeed wins: the race is over, nothing else starts, and the
   caller cancels the attempts still running. An attempt that succeeds after the
   winner is surplus: the caller closes its connection.
4. When every target has been tried and every attempt has failed, the race is lost.

Time is whatever clock the caller uses; ``next_start_at`` says when the caller must call
``timer_fired`` next (``math.inf`` when no timer is pending).

Before the race, :func:`reorder_for_rfc_6555` puts the first address of the second
address family in second place, so a broken IPv6 (or IPv4) path costs one ``delay``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class Attempt(enum.Enum):
    """Where one connection attempt stands."""

    NOT_STARTED = "not started"
    RUNNING = "running"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class StartAttempt:
    """Start connecting to target ``index``."""

    index: int


@dataclass(frozen=True)
class Won:
    """Attempt ``index`` won: cancel every attempt still running, use this connection."""

    index: int


@dataclass(frozen=True)
class CloseSurplus:
    """Attempt ``index`` connected after the race was won: close its connection."""

    index: int


@dataclass(frozen=True)
class Lost:
    """Every attempt failed."""


Action = StartAttempt | Won | CloseSurplus | Lost


class HappyEyeballs:
    """The scheduler for one race over ``target_count`` targets (see the module rules)."""

    def __init__(self, target_count: int, delay: float) -> None:
        if target_count < 1:
            raise ValueError(f"need at least one target to connect to, got {target_count}")
        if math.isnan(delay) or delay < 0:
            raise ValueError(f"happy_eyeballs_delay must be >= 0 seconds, got {delay!r}")
        self.delay = delay
        self.attempts = [Attempt.NOT_STARTED] * target_count
        self.started = 0
        self.winner: int | None = None
        self.lost = False
        self.next_start_at = math.inf

    @property
    def finished(self) -> bool:
        """Whether the race is decided (won or lost)."""
        return self.winner is not None or self.lost

    def start(self, now: float) -> list[Action]:
        """Begin the race at time ``now``."""
        if self.started:
            raise RuntimeError("the race has already started")
        return self._start_next(now)

    def timer_fired(self, now: float) -> list[Action]:
        """The caller's timer went off; start the next attempt if it is due."""
        if self.finished or now < self.next_start_at:
            return []
        return self._start_next(now)

    def attempt_failed(self, index: int, now: float) -> list[Action]:
        """Attempt ``index`` failed at time ``now``."""
        self._check_running(index)
        self.attempts[index] = Attempt.FAILED
        if self.finished:
            return []
        if self.started < len(self.attempts):
            if index == self.started - 1:
                return self._start_next(now)
            return []
        if all(state is Attempt.FAILED for state in self.attempts):
            self.lost = True
            self.next_start_at = math.inf
            return [Lost()]
        return []

    def attempt_succeeded(self, index: int) -> list[Action]:
        """Attempt ``index`` connected."""
        self._check_running(index)
        self.attempts[index] = Attempt.SUCCEEDED
        if self.winner is not None:
            return [CloseSurplus(index)]
        self.winner = index
        self.next_start_at = math.inf
        return [Won(index)]

    def _start_next(self, now: float) -> list[Action]:
        index = self.started
        self.attempts[index] = Attempt.RUNNING
        self.started += 1
        if self.started < len(self.attempts):
            self.next_start_at = now + self.delay
        else:
            self.next_start_at = math.inf
        return [StartAttempt(index)]

    def _check_running(self, index: int) -> None:
        if not 0 <= index < len(self.attempts) or self.attempts[index] is not Attempt.RUNNING:
            state = self.attempts[index].value if 0 <= index < len(self.attempts) else "unknown"
            raise RuntimeError(f"attempt {index} is {state}, not running")


def reorder_for_rfc_6555(targets: Sequence[T], family_of: Callable[[T], object]) -> list[T]:
    """Move the first target of a second address family to position 1; keep the rest in order.

    ``family_of(target)`` gives a target's family (for getaddrinfo results: ``target[0]``).
    """
    reordered = list(targets)
    if not reordered:
        return reordered
    first_family = family_of(reordered[0])
    for position, target in enumerate(reordered):
        if family_of(target) != first_family:
            if position > 1:
                reordered.insert(1, reordered.pop(position))
            break
    return reordered
