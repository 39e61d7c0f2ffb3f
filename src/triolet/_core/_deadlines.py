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
    __slots__ = ("_heap", "_live", "_tokens")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._tokens = count(1)
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def _add(self, deadline: float, owner: Any) -> None:
        token = next(self._tokens)
        owner._deadline_token = token
        heapq.heappush(self._heap, (deadline, token, owner))
        self._live += 1

    def _remove(self, owner: Any) -> None:
        if owner._deadline_token:
            owner._deadline_token = 0
            self._live -= 1
            heap = self._heap
            if len(heap) > 64 and len(heap) > 3 * self._live:
                self._heap = [entry for entry in heap if entry[2]._deadline_token == entry[1]]
                heapq.heapify(self._heap)

    def add_scope(self, scope: CancelScope) -> None:
        self._add(scope._deadline, scope)

    def remove_scope(self, scope: CancelScope) -> None:
        self._remove(scope)

    def add_sleeper(self, task: Task, deadline: float) -> None:
        self._add(deadline, task)

    def remove_sleeper(self, task: Task) -> None:
        self._remove(task)

    def next_deadline(self) -> float:
        heap = self._heap
        while heap:
            deadline, token, owner = heap[0]
            if owner._deadline_token == token:
                return deadline
            heapq.heappop(heap)
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
        return expired
