"""``lowlevel.UnboundedQueue``: a queue that never blocks producers and hands out batches.

Deprecated (as in trio) in favour of ``open_memory_channel(math.inf)``; kept for code
that still uses it.

The batch rule: when an item arrives in an empty queue and a task is waiting, that task
is woken and the whole batch is reserved for it (items put before it runs join the same
batch; ``get_batch_nowait`` from others meanwhile raises WouldBlock). With nobody
waiting, the batch is up for grabs (``_can_get``). A woken getter that is cancelled in
the same instant still takes its batch: the kernel never aborts a rescheduled task.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Generic, Self, TypeVar

from ._core import (
    ParkingLot,
    WouldBlock,
    cancel_shielded_checkpoint,
    checkpoint_if_cancelled,
    enable_ki_protection,
)
from ._core._util import final
from ._deprecate import TrioDeprecationWarning

T = TypeVar("T")


@dataclass(frozen=True)
class UnboundedQueueStatistics:
    """``qsize``: items queued; ``tasks_waiting``: tasks blocked in ``get_batch``."""

    qsize: int
    tasks_waiting: int


@final
class UnboundedQueue(Generic[T]):
    """A FIFO queue without a size limit, read a batch (everything queued) at a time.

    Deprecated: use ``triolet.open_memory_channel(math.inf)``. ``put_nowait`` never
    blocks; ``get_batch`` waits until at least one item is queued. ``async for batch in
    queue`` reads batches forever.
    """

    __slots__ = ("_can_get", "_data", "_lot")

    def __init__(self) -> None:
        warnings.warn(
            TrioDeprecationWarning(
                "triolet.lowlevel.UnboundedQueue is deprecated since Trio 0.9.0; use "
                "triolet.open_memory_channel(math.inf) instead "
                "(https://github.com/python-trio/trio/issues/497)"
            ),
            stacklevel=2,
        )
        self._lot = ParkingLot()
        self._data: list[T] = []
        # True when the queued items are not yet reserved for a woken getter.
        self._can_get = False

    def __repr__(self) -> str:
        return f"<UnboundedQueue holding {len(self._data)} items>"

    def qsize(self) -> int:
        """How many items are queued."""
        return len(self._data)

    def empty(self) -> bool:
        """Whether no items are queued."""
        return not self._data

    @enable_ki_protection
    def put_nowait(self, obj: T) -> None:
        """Queue ``obj``. Never blocks; not a checkpoint."""
        if not self._data:
            if self._lot:
                self._lot.unpark(count=1)
            else:
                self._can_get = True
        self._data.append(obj)

    def _take_batch(self) -> list[T]:
        batch = self._data
        self._data = []
        self._can_get = False
        return batch

    @enable_ki_protection
    def get_batch_nowait(self) -> list[T]:
        """Take every queued item, oldest first, without blocking. Not a checkpoint.

        WouldBlock if the queue is empty (or its items are reserved for a waiting task).
        """
        if not self._can_get:
            raise WouldBlock
        return self._take_batch()

    @enable_ki_protection
    async def get_batch(self) -> list[T]:
        """Wait until an item is queued, then take every queued item. A checkpoint."""
        if not self._can_get:
            # A cancel point. put_nowait() reserves the batch for us before it wakes us.
            await self._lot.park()
            return self._take_batch()
        await checkpoint_if_cancelled()
        batch = self._take_batch()
        await cancel_shielded_checkpoint()
        return batch

    def statistics(self) -> UnboundedQueueStatistics:
        """Queued items and waiting tasks."""
        return UnboundedQueueStatistics(qsize=len(self._data), tasks_waiting=len(self._lot))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> list[T]:
        return await self.get_batch()
