"""A minimal FIFO hand-off mutex for SSLStream's two transport directions.

Not :class:`triolet.StrictFIFOLock`: the stream needs no owner tracking (only its own
methods take these locks, always in try/finally) and its uncontended path must cost a
flag test, since every send and receive of a busy stream goes through it.
"""

from __future__ import annotations

from .._core import ParkingLot


class FIFOMutex:
    """One holder at a time; waiters get it in arrival order, handed over on release."""

    __slots__ = ("_held", "_waiters")

    def __init__(self) -> None:
        self._held = False
        self._waiters = ParkingLot()

    def locked(self) -> bool:
        """Whether some task holds it."""
        return self._held

    def try_acquire(self) -> bool:
        """Take it if free (True); never blocks, never a checkpoint."""
        if self._held:
            return False
        self._held = True
        return True

    async def acquire(self) -> None:
        """Take it, waiting in line while another task holds it; a cancel point if it waits."""
        if self.try_acquire():
            return
        # release() keeps _held set and makes us the holder before waking us.
        await self._waiters.park()

    def release(self) -> None:
        """Hand it to the longest waiter, or free it."""
        if self._waiters:
            self._waiters.unpark()
        else:
            self._held = False
