"""In-memory streams for tests: byte buffers you can fill, drain, hook and close by hand.

``MemorySendStream`` keeps what was sent in a buffer the test reads with ``get_data``;
``MemoryReceiveStream`` hands out what the test put in with ``put_data``. Neither talks
to the other: ``memory_stream_pump`` moves bytes across, and
``memory_stream_one_way_pair`` wires the hooks so every ``send_all`` pumps at once
(an infinitely buffered pipe). Hooks let a test run code at the exact moment a stream
method is called, e.g. to deliver data at a chosen point or to inject a delay.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable

from .. import _core
from .._abc import ReceiveStream, SendStream
from .._streams import ConflictDetector, StapledStream

AsyncHook = Callable[[], Awaitable[object]]
SyncHook = Callable[[], object]


def _check_max_bytes(max_bytes: int | None) -> int | None:
    if max_bytes is None:
        return None
    max_bytes = operator.index(max_bytes)
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be >= 1 (or None for no limit), got {max_bytes}")
    return max_bytes


class _ByteBuffer:
    """An unbounded FIFO of bytes with an end-of-data mark and one blocking reader.

    Invariants: once ``ended`` is set nothing more is appended; a reader is parked in
    ``_reader_lot`` only while the buffer is empty and not ended, and every append or
    end wakes it.
    """

    __slots__ = ("_bytes", "_reader_conflict", "_reader_lot", "ended")

    def __init__(self, busy_message: str) -> None:
        self._bytes = bytearray()
        self.ended = False
        self._reader_lot = _core.ParkingLot()
        self._reader_conflict = ConflictDetector(busy_message)

    def append(self, data: bytes | bytearray | memoryview) -> None:
        if self.ended:
            raise _core.ClosedResourceError("virtual connection closed")
        self._bytes += data
        self._reader_lot.unpark_all()

    def end(self) -> None:
        self.ended = True
        self._reader_lot.unpark_all()

    def end_and_discard(self) -> None:
        self._bytes.clear()
        self.end()

    def _take(self, max_bytes: int | None) -> bytearray:
        if max_bytes is None or max_bytes >= len(self._bytes):
            chunk = self._bytes
            self._bytes = bytearray()
        else:
            chunk = self._bytes[:max_bytes]
            del self._bytes[:max_bytes]
        return chunk

    def take_nowait(self, max_bytes: int | None) -> bytearray:
        max_bytes = _check_max_bytes(max_bytes)
        with self._reader_conflict:
            if not self._bytes and not self.ended:
                raise _core.WouldBlock
            return self._take(max_bytes)

    async def take(self, max_bytes: int | None) -> bytearray:
        max_bytes = _check_max_bytes(max_bytes)
        with self._reader_conflict:
            if self._bytes or self.ended:
                await _core.checkpoint()
            else:
                await self._reader_lot.park()
            return self._take(max_bytes)


class MemorySendStream(SendStream):
    """A :class:`~triolet.abc.SendStream` that collects everything sent into a buffer.

    The test drains the buffer with :meth:`get_data` / :meth:`get_data_nowait`. Three
    optional hooks, public attributes you may reassign at any time, run at the end of
    the matching operation: ``send_all_hook`` (async, after the data was buffered),
    ``wait_send_all_might_not_block_hook`` (async) and ``close_hook`` (sync, on every
    ``close``/``aclose``).
    """

    def __init__(
        self,
        send_all_hook: AsyncHook | None = None,
        wait_send_all_might_not_block_hook: AsyncHook | None = None,
        close_hook: SyncHook | None = None,
    ) -> None:
        self._sending = ConflictDetector("another task is using this stream")
        self._buffer = _ByteBuffer("another task is already fetching data")
        self.send_all_hook = send_all_hook
        self.wait_send_all_might_not_block_hook = wait_send_all_might_not_block_hook
        self.close_hook = close_hook

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` to the buffer, then run ``send_all_hook``. A checkpoint.

        Raises ClosedResourceError once the stream is closed and BusyResourceError if
        another task is already in ``send_all`` or ``wait_send_all_might_not_block``.
        """
        with self._sending:
            await _core.checkpoint()
            self._buffer.append(data)
            if self.send_all_hook is not None:
                await self.send_all_hook()

    async def wait_send_all_might_not_block(self) -> None:
        """Run ``wait_send_all_might_not_block_hook`` if set; otherwise return. A checkpoint.

        Raises ClosedResourceError once the stream is closed and BusyResourceError if
        another task is already sending or waiting.
        """
        with self._sending:
            await _core.checkpoint()
            if self._buffer.ended:
                raise _core.ClosedResourceError("virtual connection closed")
            if self.wait_send_all_might_not_block_hook is not None:
                await self.wait_send_all_might_not_block_hook()

    def close(self) -> None:
        """Close the stream (idempotent), then run ``close_hook``.

        Bytes already buffered stay available to :meth:`get_data`; once they are gone,
        ``get_data`` returns an empty bytearray to say "end of stream".
        """
        self._buffer.end()
        if self.close_hook is not None:
            self.close_hook()

    async def aclose(self) -> None:
        """Same as :meth:`close`, plus a checkpoint (the stream is closed even if cancelled)."""
        self.close()
        await _core.checkpoint()

    async def get_data(self, max_bytes: int | None = None) -> bytearray:
        """Remove and return up to ``max_bytes`` buffered bytes (all of them if None).

        Waits while the buffer is empty; returns an empty bytearray once the stream is
        closed and drained. A checkpoint. Raises BusyResourceError if another task is
        already fetching, ValueError if ``max_bytes`` < 1.
        """
        return await self._buffer.take(max_bytes)

    def get_data_nowait(self, max_bytes: int | None = None) -> bytearray:
        """Like :meth:`get_data`, but raise WouldBlock instead of waiting for data."""
        return self._buffer.take_nowait(max_bytes)


class MemoryReceiveStream(ReceiveStream):
    """A :class:`~triolet.abc.ReceiveStream` whose data the test feeds in by hand.

    :meth:`put_data` makes bytes available to ``receive_some`` and :meth:`put_eof`
    marks the end of the stream. Hooks, public attributes: ``receive_some_hook``
    (async, runs at the start of every ``receive_some``, before it waits for data, so
    it can supply the data) and ``close_hook`` (sync, on every ``close``/``aclose``).
    """

    def __init__(
        self,
        receive_some_hook: AsyncHook | None = None,
        close_hook: SyncHook | None = None,
    ) -> None:
        self._receiving = ConflictDetector("another task is using this stream")
        self._buffer = _ByteBuffer("another task is using this stream")
        self._closed = False
        self.receive_some_hook = receive_some_hook
        self.close_hook = close_hook

    async def receive_some(self, max_bytes: int | None = None) -> bytearray:
        """Return up to ``max_bytes`` bytes, waiting until some were put; a checkpoint.

        Returns an empty bytearray after :meth:`put_eof` once the data is drained.
        Raises ClosedResourceError if this stream is (or gets, while waiting) closed,
        BusyResourceError if another task is already receiving, ValueError if
        ``max_bytes`` < 1.
        """
        max_bytes = _check_max_bytes(max_bytes)
        with self._receiving:
            await _core.checkpoint()
            if self._closed:
                raise _core.ClosedResourceError("this MemoryReceiveStream was closed")
            if self.receive_some_hook is not None:
                await self.receive_some_hook()
            data = await self._buffer.take(max_bytes)
            if self._closed:
                raise _core.ClosedResourceError("this MemoryReceiveStream was closed")
            return data

    def close(self) -> None:
        """Close the stream (idempotent): unread data is discarded, a waiting
        ``receive_some`` raises ClosedResourceError. Then runs ``close_hook``."""
        self._closed = True
        self._buffer.end_and_discard()
        if self.close_hook is not None:
            self.close_hook()

    async def aclose(self) -> None:
        """Same as :meth:`close`, plus a checkpoint (the stream is closed even if cancelled)."""
        self.close()
        await _core.checkpoint()

    def put_data(self, data: bytes | bytearray | memoryview) -> None:
        """Make ``data`` available to ``receive_some``.

        Raises ClosedResourceError after :meth:`put_eof` or :meth:`close`.
        """
        self._buffer.append(data)

    def put_eof(self) -> None:
        """Mark the end of the data: once drained, ``receive_some`` returns ``b""``."""
        self._buffer.end()


def memory_stream_pump(
    memory_send_stream: MemorySendStream,
    memory_receive_stream: MemoryReceiveStream,
    *,
    max_bytes: int | None = None,
) -> bool:
    """Move up to ``max_bytes`` buffered bytes from a send stream to a receive stream.

    If the send stream is closed and drained, passes the end of stream on instead
    (``put_eof``). Returns False if there was nothing to move, True otherwise. Raises
    BrokenResourceError if the receive stream was closed. Not a checkpoint: it never
    blocks, so hooks can call it.
    """
    try:
        data = memory_send_stream.get_data_nowait(max_bytes)
    except _core.WouldBlock:
        return False
    try:
        if data:
            memory_receive_stream.put_data(data)
        else:
            memory_receive_stream.put_eof()
    except _core.ClosedResourceError:
        raise _core.BrokenResourceError("MemoryReceiveStream was closed") from None
    return True


def memory_stream_one_way_pair() -> tuple[MemorySendStream, MemoryReceiveStream]:
    """Create a connected ``(MemorySendStream, MemoryReceiveStream)`` with unlimited buffering.

    Every ``send_all`` and ``close`` on the send stream pumps at once, so data shows up
    on the receive side immediately and ``send_all`` never blocks. Sending after the
    receive stream was closed raises BrokenResourceError. The hooks installed here are
    the send stream's ``send_all_hook`` and ``close_hook``; replace them to take manual
    control of the flow with :func:`memory_stream_pump`.
    """
    send_stream = MemorySendStream()
    receive_stream = MemoryReceiveStream()

    def pump_everything() -> None:
        memory_stream_pump(send_stream, receive_stream)

    async def pump_everything_async() -> None:
        pump_everything()

    send_stream.send_all_hook = pump_everything_async
    send_stream.close_hook = pump_everything
    return send_stream, receive_stream


def memory_stream_pair() -> tuple[
    StapledStream[MemorySendStream, MemoryReceiveStream],
    StapledStream[MemorySendStream, MemoryReceiveStream],
]:
    """Create two connected two-way streams with unlimited buffering in each direction.

    Each is a :class:`~triolet.StapledStream` of one
    :func:`memory_stream_one_way_pair`'s send half and the other's receive half, so
    their hooks can be adjusted as for one-way pairs. ``send_eof`` is supported.
    """
    a_to_b_send, a_to_b_receive = memory_stream_one_way_pair()
    b_to_a_send, b_to_a_receive = memory_stream_one_way_pair()
    return (
        StapledStream(a_to_b_send, b_to_a_receive),
        StapledStream(b_to_a_send, a_to_b_receive),
    )
