"""Lockstep streams: a one-way pipe with no buffer at all, for testing flow control.

``send_all`` returns only after the receiver has taken every byte, and
``wait_send_all_might_not_block`` returns only once a receiver is waiting. Code that
works over this pipe cannot depend on the transport buffering anything, which is the
point: it flushes out deadlocks that a kernel socket buffer would hide.

Both ends share one :class:`_LockstepPipe`. Rules of the pipe, checked after every
wake-up (all three kinds of waiter park in one ParkingLot, and every state change wakes
them all to re-check):

* a sender offers its bytes in ``pending`` and waits until ``pending`` is empty;
* a receiver takes bytes from ``pending``; with none offered it waits, announcing
  itself through ``receiver_waiting``;
* the sender's side closed: offered bytes are withdrawn, a waiting receiver sees EOF;
* the receiver's side closed: a sender still waiting gets BrokenResourceError.
"""

from __future__ import annotations

from .. import _core
from .._abc import ReceiveStream, SendStream
from .._streams import ConflictDetector, StapledStream
from ._memory_streams import _check_max_bytes


class _LockstepPipe:
    __slots__ = (
        "_state_changed",
        "pending",
        "receive_conflict",
        "receiver_closed",
        "receiver_waiting",
        "send_conflict",
        "sender_closed",
    )

    def __init__(self) -> None:
        self.pending = bytearray()
        self.sender_closed = False
        self.receiver_closed = False
        self.receiver_waiting = False
        self._state_changed = _core.ParkingLot()
        self.send_conflict = ConflictDetector("another task is using this stream")
        self.receive_conflict = ConflictDetector("another task is using this stream")

    def notify(self) -> None:
        self._state_changed.unpark_all()

    async def wait_for_change(self) -> None:
        await self._state_changed.park()

    def close_sender(self) -> None:
        self.sender_closed = True
        self.pending.clear()
        self.notify()

    def close_receiver(self) -> None:
        self.receiver_closed = True
        self.notify()

    def _raise_if_cannot_send(self) -> None:
        if self.sender_closed:
            raise _core.ClosedResourceError("this stream was closed")
        if self.receiver_closed:
            raise _core.BrokenResourceError("the receiving end was closed")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        with self.send_conflict:
            self._raise_if_cannot_send()
            if not data:
                await _core.checkpoint()
                self._raise_if_cannot_send()
                return
            self.pending += data
            self.notify()
            try:
                while True:
                    await self.wait_for_change()
                    if self.sender_closed:
                        raise _core.ClosedResourceError("this stream was closed while sending")
                    if not self.pending:
                        return
                    if self.receiver_closed:
                        raise _core.BrokenResourceError("the receiving end was closed")
            except BaseException:
                # The send failed (cancelled, or a closed end): whatever the receiver
                # has not taken yet was never delivered, so take it back.
                self.pending.clear()
                raise

    async def wait_send_all_might_not_block(self) -> None:
        with self.send_conflict:
            if self.sender_closed:
                raise _core.ClosedResourceError("this stream was closed")
            await _core.checkpoint()
            while not (self.receiver_waiting or self.receiver_closed or self.sender_closed):
                await self.wait_for_change()
            if self.sender_closed:
                raise _core.ClosedResourceError("this stream was closed while waiting")

    async def receive_some(self, max_bytes: int | None) -> bytearray:
        max_bytes = _check_max_bytes(max_bytes)
        with self.receive_conflict:
            await _core.checkpoint()
            while True:
                if self.receiver_closed:
                    raise _core.ClosedResourceError("this stream was closed")
                if self.pending:
                    return self._take(max_bytes)
                if self.sender_closed:
                    return bytearray()
                self.receiver_waiting = True
                self.notify()
                try:
                    await self.wait_for_change()
                finally:
                    self.receiver_waiting = False

    def _take(self, max_bytes: int | None) -> bytearray:
        if max_bytes is None:
            max_bytes = len(self.pending)
        chunk = self.pending[:max_bytes]
        del self.pending[:max_bytes]
        self.notify()
        return chunk


class _LockstepSendStream(SendStream):
    """The sending end of a lockstep pipe."""

    def __init__(self, pipe: _LockstepPipe) -> None:
        self._pipe = pipe

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Hand ``data`` to the receiver; return once it has taken all of it. A checkpoint.

        Raises ClosedResourceError if this end is closed (before or during the call),
        BrokenResourceError if the receiving end is, BusyResourceError if another task
        is sending. If the call fails or is cancelled, bytes not yet received are
        withdrawn. An empty ``data`` returns without waiting for a receiver.
        """
        await self._pipe.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until a receiver is waiting (or the receiving end is closed). A checkpoint."""
        await self._pipe.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        """Close this end: the receiver sees end of stream. Idempotent; a checkpoint."""
        self._pipe.close_sender()
        await _core.checkpoint()


class _LockstepReceiveStream(ReceiveStream):
    """The receiving end of a lockstep pipe."""

    def __init__(self, pipe: _LockstepPipe) -> None:
        self._pipe = pipe

    async def receive_some(self, max_bytes: int | None = None) -> bytearray:
        """Wait until the sender offers bytes; take up to ``max_bytes``. A checkpoint.

        Returns an empty bytearray once the sending end is closed. Raises
        ClosedResourceError if this end is closed (before or during the call),
        BusyResourceError if another task is receiving, ValueError if ``max_bytes`` < 1.
        """
        return await self._pipe.receive_some(max_bytes)

    async def aclose(self) -> None:
        """Close this end: a sender gets BrokenResourceError. Idempotent; a checkpoint."""
        self._pipe.close_receiver()
        await _core.checkpoint()


def lockstep_stream_one_way_pair() -> tuple[SendStream, ReceiveStream]:
    """Create a connected ``(SendStream, ReceiveStream)`` with no buffering whatsoever.

    ``send_all`` blocks until the receiver has taken all of the data;
    ``wait_send_all_might_not_block`` blocks until a ``receive_some`` is waiting.
    """
    pipe = _LockstepPipe()
    return _LockstepSendStream(pipe), _LockstepReceiveStream(pipe)


def lockstep_stream_pair() -> tuple[
    StapledStream[SendStream, ReceiveStream],
    StapledStream[SendStream, ReceiveStream],
]:
    """Create two connected two-way streams, each direction a lockstep one-way pair.

    ``send_eof`` closes the sending direction (the lockstep ends have no ``send_eof``).
    """
    a_to_b_send, a_to_b_receive = lockstep_stream_one_way_pair()
    b_to_a_send, b_to_a_receive = lockstep_stream_one_way_pair()
    return (
        StapledStream(a_to_b_send, b_to_a_receive),
        StapledStream(b_to_a_send, a_to_b_receive),
    )
