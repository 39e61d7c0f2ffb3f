"""The run's deadline heap: sleeping tasks and cancel scopes with deadlines.

Entries are ``(deadline, token, owner)``. An owner (a Task or a CancelScope) holds the
token of its one live entry in ``owner._deadline_token``; removing an entry just
zeroes that token, and stale entries are skipped when they reach the top (or swept
out in one pass when they outnumber live ones). Arming and disarming are O(log n)
and O(1), with no searching.
"""

from __future__ import annotations

import heapq
import math
from itertools import count
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cancel import CancelScope
    from ._task import Task


class Deadlines:
    __slots__ = ("_heap", "_live", "_stale", "_tokens")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._tokens = count(1)
        self._live = 0
        self._stale = 0

    def __len__(self) -> int:
        return self._live

    def add(self, owner: CancelScope | Task, deadline: float) -> None:
        """Arm ``owner`` (a scope or a sleeping task) to expire at ``deadline``."""
        token = next(self._tokens)
        owner._deadline_token = token
        heapq.heappush(self._heap, (deadline, token, owner))
        self._live += 1

    def remove(self, owner: CancelScope | Task) -> None:
        """Disarm ``owner``; its heap entry goes stale (no-op if it isn't armed)."""
        if owner._deadline_token:
            owner._deadline_token = 0
            self._live -= 1
            self._stale += 1
            if self._stale > 64 and self._stale > 2 * self._live:
                self._sweep()

    def _sweep(self) -> None:
        self._heap = [entry for entry in self._heap if entry[2]._deadline_token == entry[1]]
        heapq.heapify(self._heap)
        self._stale = 0

    def next_deadline(self) -> float:
        heap = self._heap
        while heap:
            deadline, token, owner = heap[0]
            if owner._deadline_token == token:
                return deadline
            heapq.heappop(heap)
            self._stale -= 1
        return math.inf

    def pop_expired(self, now: float) -> list[Any]:
        """Remove and return every owner whose deadline is ``<= now``, earliest first."""
        heap = self._heap
        expired = []
        while heap and heap[0][0] <= now:
            _, token, owner = heapq.heappop(heap)
            if owner._deadline_token == token:
                owner._deadline_token = 0
                self._live -= 1
                expired.append(owner)
            else:
                self._stale -= 1
        return expired
