"""The run's deadline heap: sleeping tasks and cancel scopes with deadlines.

Heap entries are ``(deadline, seq, owner)``; ``seq`` orders equal deadlines by arming
time. An owner (a Task or a CancelScope) says in ``owner._deadline_token`` where it
stands:

* ``0``: not armed;
* ``-seq``: armed, its entry ``(deadline, seq, owner)`` is in ``_heap`` or ``_pending``
  and counted in ``_live``. Disarming zeroes the token: the entry goes stale and is
  skipped when it reaches the top (or swept out when stale entries outnumber live ones);
* ``ARMED_UNLISTED`` (1): a cancel scope armed by ``CancelScope.__enter__``, which only
  appends the scope to ``_pending_scopes``. Nothing is counted or built yet.

Nothing enters the heap until the loop next asks about deadlines (at each poll):
``_flush`` then builds the entries of the scopes still armed and pushes what is pending.
Most timeouts are disarmed long before that (``with move_on_after(10): await
something_quick()``), so arming one is an append and disarming it a store.
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
ARMED_UNLISTED = 1
_TAKEN = 2  # only inside _flush


class Deadlines:
    __slots__ = ("_heap", "_live", "_pending", "_pending_scopes", "_stale", "_tokens")

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._pending: list[_Entry] = []
        # Scopes armed as ARMED_UNLISTED, oldest first. A scope re-armed before a flush
        # is listed twice; the flush keeps the later copy. Disarmed ones are just skipped.
        self._pending_scopes: list[CancelScope] = []
        self._tokens = count(1)
        self._live = 0  # entries whose owner is still armed (in _heap or _pending)
        self._stale = 0  # entries whose owner was disarmed or re-armed since

    def __len__(self) -> int:
        self._flush()
        return self._live

    def add(self, owner: CancelScope | Task, deadline: float) -> None:
        """Arm ``owner`` (a scope or a sleeping task) to expire at ``deadline``."""
        seq = next(self._tokens)
        owner._deadline_token = -seq
        self._pending.append((deadline, seq, owner))
        self._live += 1

    def add_scope(self, scope: CancelScope) -> None:
        """Arm ``scope`` to expire at ``scope._deadline`` (CancelScope.__enter__ inlines this)."""
        scope._deadline_token = ARMED_UNLISTED
        self._pending_scopes.append(scope)

    def remove(self, owner: CancelScope | Task) -> None:
        """Disarm ``owner``; its entry goes stale (no-op if it isn't armed)."""
        token = owner._deadline_token
        if token:
            owner._deadline_token = 0
            if token < 0:
                self._live -= 1
                self._stale += 1
                if self._stale > 64 and self._stale > 2 * self._live:
                    self.collect_garbage()

    def _flush(self) -> None:
        """Move what is pending into the heap, dropping what was disarmed meanwhile."""
        live: list[_Entry] = []
        if self._pending:
            entries = self._pending
            self._pending = []
            live = [entry for entry in entries if entry[2]._deadline_token == -entry[1]]
            self._stale -= len(entries) - len(live)
        scopes = self._pending_scopes
        if scopes:
            self._pending_scopes = []
            if len(scopes) == 1:
                # The usual case at a poll: one timeout around the operation that blocked.
                scope = scopes[0]
                if scope._deadline_token == ARMED_UNLISTED:
                    seq = next(self._tokens)
                    scope._deadline_token = -seq
                    live.append((scope._deadline, seq, scope))
                    self._live += 1
            else:
                self._list_scopes(scopes, live)
        heap = self._heap
        if len(live) == 1:
            heapq.heappush(heap, live[0])
        elif len(live) > len(heap) // 4:
            heap.extend(live)
            heapq.heapify(heap)
        else:
            for entry in live:
                heapq.heappush(heap, entry)

    def _list_scopes(self, scopes: list[CancelScope], live: list[_Entry]) -> None:
        """Append the entries of the ``scopes`` still armed as ARMED_UNLISTED to ``live``."""
        # Latest copy first, so a scope re-armed before this flush is taken once, at the
        # place of its last arming (_TAKEN marks it for the older copies).
        fresh = []
        for scope in reversed(scopes):
            if scope._deadline_token == ARMED_UNLISTED:
                scope._deadline_token = _TAKEN
                fresh.append(scope)
        tokens = self._tokens
        for scope in reversed(fresh):  # oldest arming first: equal deadlines keep order
            seq = next(tokens)
            scope._deadline_token = -seq
            live.append((scope._deadline, seq, scope))
        self._live += len(fresh)

    def collect_garbage(self) -> None:
        """Drop stale entries; called when they outnumber live ones (and there are > 64)."""
        self._flush()
        if self._stale > 64 and self._stale > 2 * self._live:
            self._heap = [entry for entry in self._heap if entry[2]._deadline_token == -entry[1]]
            heapq.heapify(self._heap)
            self._stale = 0

    def next_deadline(self) -> float:
        if self._pending or self._pending_scopes:
            self._flush()
        heap = self._heap
        while heap:
            deadline, seq, owner = heap[0]
            if owner._deadline_token == -seq:
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
            _, seq, owner = heapq.heappop(heap)
            if owner._deadline_token == -seq:
                owner._deadline_token = 0
                self._live -= 1
                expired.append(owner)
            else:
                self._stale -= 1
        return expired
