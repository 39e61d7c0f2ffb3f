"""A small bounded queue that drops instead of blocking: UDP's own manners.

The endpoint's receive loop must never wait on a slow consumer, so ``put_nowait``
refuses (returns False) when the queue is full and the caller counts the drop.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

from .._core import (
    ClosedResourceError,
    ParkingLot,
    cancel_shielded_checkpoint,
    checkpoint_if_cancelled,
)

T = TypeVar("T")


class DroppingQueue(Generic[T]):
    """FIFO of at most ``capacity`` items; ``get`` waits, ``put_nowait`` never does."""

    __slots__ = ("_capacity", "_closed", "_items", "_waiters")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: deque[T] = deque()
        self._waiters = ParkingLot()
        self._closed = False

    def put_nowait(self, item: T) -> bool:
        """Append ``item``; False (and nothing stored) if full or closed."""
        if self._closed or len(self._items) >= self._capacity:
            return False
        self._items.append(item)
        self._waiters.unpark()
        return True

    async def get(self) -> T:
        """Wait for and return the oldest item; a checkpoint.

        ClosedResourceError once the queue is closed (items left are discarded).
        """
        await checkpoint_if_cancelled()
        while True:
            if self._items:
                item = self._items.popleft()
                # Shielded: a cancellation here would lose the item just taken.
                await cancel_shielded_checkpoint()
                return item
            if self._closed:
                raise ClosedResourceError("this DTLS endpoint or channel was closed")
            await self._waiters.park()

    def close(self) -> None:
        """Discard the items and wake every waiter with ClosedResourceError."""
        self._closed = True
        self._items.clear()
        self._waiters.unpark_all()
