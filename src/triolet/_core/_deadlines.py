"""The run's deadline heap: sleeping tasks and cancel scopes with deadlines.

Entries are ``(deadline, token, owner)``. An owner (a Task or a CancelScope) holds the
token of its one live entry in ``owner._deadline_token``; removing an entry just
zeroes that token, and stale entries are skipped when they reach the top (or swept
out in one pass when they outnumber live ones).

Arming is cheaper still: a new entry goes on an unsorted ``_pending`` list and enters
the heap only when the loop next asks about deadlines (every poll). Most timeouts are
disarmed long before that (``with move_on_after(10): await something_quick()``), so
they never cost a heap push at all: arming is an append, disarming a store.
"""

from __future__ import annotations

import heapq
import math
from itertools import count
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cancel import CancelScope
    from ._task import Task

_Entry = tuple[float, int, Any]


class Deadlines:
    __slots__ = ("_heap", "_live", "_pending", "_pending_scopes", "_stale", "_tokens")

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._pending: list[_Entry] = []
        # Cancel scopes armed by CancelScope.__enter__ (which inlines the arming): just the
        # scope; its entry is built from scope._deadline and scope._deadline_token when flushed.
        self._pending_scopes: list[CancelScope] = []
        self._tokens = count(1)
        self._live = 0
        # Disarmed entries still sitting in _heap or _pending.
        self._stale = 0

    def __len__(self) -> int:
        return self._live

    def add(self, owner: CancelScope | Task, deadline: float) -> None:
        """Arm ``owner`` (a scope or a sleeping task) to expire at ``deadline``."""
        token = next(self._tokens)
        owner._deadline_token = token
        self._pending.append((deadline, token, owner))
        self._live += 1

    def add_scope(self, scope: CancelScope) -> None:
        """Arm ``scope`` to expire at ``scope._deadline`` (CancelScope.__enter__ inlines this)."""
        scope._deadline_token = next(self._tokens)
        self._pending_scopes.append(scope)
        self._live += 1

    def remove(self, owner: CancelScope | Task) -> None:
        """Disarm ``owner``; its entry goes stale (no-op if it isn't armed)."""
        if owner._deadline_token:
            owner._deadline_token = 0
            self._live -= 1
            self._stale += 1
            if self._stale > 64 and self._stale > 2 * self._live:
                self.collect_garbage()

    def _flush(self) -> None:
        """Move the live pending entries into the heap and drop the stale ones."""
        pending = self._pending
        self._pending = []
        live = [entry for entry in pending if entry[2]._deadline_token == entry[1]]
        stale = len(pending) - len(live)
        if self._pending_scopes:
            scopes = self._pending_scopes
            self._pending_scopes = []
            # A scope re-armed before a flush is listed twice; both copies become the same
            # entry, and the extra one is counted stale when it surfaces (as if re-armed).
            for scope in scopes:
                if scope._deadline_token:
                    live.append((scope._deadline, scope._deadline_token, scope))
                else:
                    stale += 1
        self._stale -= stale
        heap = self._heap
        if len(live) > len(heap) // 4:
            heap.extend(live)
            heapq.heapify(heap)
        else:
            for entry in live:
                heapq.heappush(heap, entry)

    def collect_garbage(self) -> None:
        """Drop stale entries; called when they outnumber live ones (and there are > 64)."""
        if self._pending or self._pending_scopes:
            self._flush()
        if self._stale > 64 and self._stale > 2 * self._live:
            self._heap = [entry for entry in self._heap if entry[2]._deadline_token == entry[1]]
            heapq.heapify(self._heap)
            self._stale = 0

    def next_deadline(self) -> float:
        if self._pending or self._pending_scopes:
            self._flush()
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
        if self._pending or self._pending_scopes:
            self._flush()
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
