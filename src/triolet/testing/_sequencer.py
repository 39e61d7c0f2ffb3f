"""Sequencer: force tasks to run pieces of code in a chosen order (for tests)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .. import _core


class _Gate:
    """A one-shot flag that tasks can wait on."""

    __slots__ = ("_lot", "opened")

    def __init__(self) -> None:
        self._lot = _core.ParkingLot()
        self.opened = False

    def open(self) -> None:
        self.opened = True
        self._lot.unpark_all()

    async def wait(self) -> None:
        if self.opened:
            await _core.checkpoint()
        else:
            await self._lot.park()


class Sequencer:
    """Run blocks of code in a fixed global order, across tasks.

    ``async with sequencer(n):`` waits until every block with a smaller number has
    finished (numbers start at 0 and must each be used once). Cancelling a waiting
    task breaks the sequence: every waiter then gets RuntimeError.
    """

    def __init__(self) -> None:
        self._gates: defaultdict[int, _Gate] = defaultdict(_Gate)
        self._claimed: set[int] = set()
        self._broken = False

    @asynccontextmanager
    async def __call__(self, position: int) -> AsyncIterator[None]:
        if position in self._claimed:
            raise RuntimeError(f"Attempted to reuse sequence point {position}")
        if self._broken:
            raise RuntimeError("sequence broken!")
        self._claimed.add(position)
        if position != 0:
            try:
                await self._gates[position].wait()
            except _core.Cancelled:
                self._broken = True
                for gate in list(self._gates.values()):
                    gate.open()
                raise RuntimeError("Sequencer wait cancelled -- sequence broken") from None
            if self._broken:
                raise RuntimeError("sequence broken!")
        try:
            yield
        finally:
            self._gates[position + 1].open()
