"""The stream conformance suites (src/triolet/testing/_check_streams.py).

Good streams pass (see also test_memory_streams.py); each deliberately broken stream
below breaks one rule, and the suite must fail on exactly the check for that rule,
with an AssertionError (not an ExceptionGroup, not a hang) that says what went wrong.
The broken streams wrap correct memory or lockstep streams and spoil one method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

import triolet
from triolet.abc import HalfCloseableStream, ReceiveStream, SendStream, Stream
from triolet.lowlevel import ParkingLot, checkpoint
from triolet.testing import (
    MockClock,
    check_half_closeable_stream,
    check_one_way_stream,
    check_two_way_stream,
    lockstep_stream_one_way_pair,
    lockstep_stream_pair,
    memory_stream_one_way_pair,
    memory_stream_pair,
    memory_stream_pump,
)

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"

Maker = Callable[[], Awaitable[tuple[Any, Any]]]


# ------------------------------------------------------------ forwarding wrappers


class ForwardingSendStream(SendStream):
    def __init__(self, inner: SendStream) -> None:
        self.inner = inner

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()


class ForwardingReceiveStream(ReceiveStream):
    def __init__(self, inner: ReceiveStream) -> None:
        self.inner = inner

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ForwardingHalfCloseableStream(HalfCloseableStream):
    def __init__(self, inner: HalfCloseableStream) -> None:
        self.inner = inner

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.inner.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _WaitingLock:
    """Serialises callers by making them wait: exactly what a stream must NOT do."""

    def __init__(self) -> None:
        self._held = False
        self._lot = ParkingLot()

    async def run(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        while self._held:
            await self._lot.park()
        self._held = True
        try:
            return await fn()
        finally:
            self._held = False
            self._lot.unpark()


def one_way_maker(
    send_type: type[ForwardingSendStream] = ForwardingSendStream,
    receive_type: type[ForwardingReceiveStream] = ForwardingReceiveStream,
    base: Callable[[], tuple[SendStream, ReceiveStream]] = memory_stream_one_way_pair,
) -> Maker:
    async def make() -> tuple[SendStream, ReceiveStream]:
        send_stream, receive_stream = base()
        return send_type(send_stream), receive_type(receive_stream)

    return make


def two_way_maker(
    stream_type: type[ForwardingHalfCloseableStream] = ForwardingHalfCloseableStream,
    base: Callable[[], tuple[HalfCloseableStream, HalfCloseableStream]] = memory_stream_pair,
) -> Maker:
    async def make() -> tuple[HalfCloseableStream, HalfCloseableStream]:
        left, right = base()
        return stream_type(left), stream_type(right)

    return make


async def _lockstep_pair() -> tuple[Stream, Stream]:
    return lockstep_stream_pair()


# ------------------------------------------------------------------ broken streams


class NotASendStream:
    """Has the methods, but does not derive from triolet.abc.SendStream."""

    def __init__(self, inner: SendStream) -> None:
        self.inner = inner

    async def aclose(self) -> None:
        await self.inner.aclose()


class CorruptingSendStream(ForwardingSendStream):
    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        spoiled = bytearray(data)
        if len(spoiled) > 1000:
            spoiled[1000] ^= 0xFF
        await self.inner.send_all(spoiled)


class MaxBytesIgnoringReceiveStream(ForwardingReceiveStream):
    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some()


class ZeroMaxBytesAcceptingReceiveStream(ForwardingReceiveStream):
    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if max_bytes is not None and max_bytes < 1:
            max_bytes = None
        return await self.inner.receive_some(max_bytes)


class EndOfChannelRaisingReceiveStream(ForwardingReceiveStream):
    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        if not data:
            raise triolet.EndOfChannel
        return data


class EofOnlyOnceReceiveStream(ForwardingReceiveStream):
    seen_eof = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.seen_eof:
            raise triolet.ClosedResourceError("end of stream was already reported")
        data = await self.inner.receive_some(max_bytes)
        self.seen_eof = not data
        return data


class DropsDataAfterCloseSendStream(ForwardingSendStream):
    closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            await self.inner.send_all(data)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


class EofAfterCloseReceiveStream(ForwardingReceiveStream):
    closed = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.closed:
            return b""
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


class CancelUnsafeCloseSendStream(ForwardingSendStream):
    async def aclose(self) -> None:
        await checkpoint()  # a cancelled aclose stops here, leaving the stream open
        await self.inner.aclose()


class QueueingReceiveStream(ForwardingReceiveStream):
    def __init__(self, inner: ReceiveStream) -> None:
        super().__init__(inner)
        self.lock = _WaitingLock()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.lock.run(lambda: self.inner.receive_some(max_bytes))  # type: ignore[no-any-return]


class CloseForgetsWaitersReceiveStream(ForwardingReceiveStream):
    closed = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.closed:
            raise triolet.ClosedResourceError
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        self.closed = True
        await checkpoint()


def _never_broken_pair() -> tuple[SendStream, ReceiveStream]:
    send_stream, receive_stream = memory_stream_one_way_pair()

    async def pump_ignoring_closed_receiver() -> None:
        try:
            memory_stream_pump(send_stream, receive_stream)
        except triolet.BrokenResourceError:
            pass

    send_stream.send_all_hook = pump_ignoring_closed_receiver
    return send_stream, receive_stream


class ShieldedReceiveStream(ForwardingReceiveStream):
    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        with triolet.CancelScope(shield=True):
            data = await self.inner.receive_some(max_bytes)
        return data


class NeverReadySendStream(ForwardingSendStream):
    closed = False

    async def wait_send_all_might_not_block(self) -> None:
        if self.closed:
            raise triolet.ClosedResourceError
        await triolet.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


class QueueingSendStream(ForwardingSendStream):
    def __init__(self, inner: SendStream) -> None:
        super().__init__(inner)
        self.lock = _WaitingLock()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.lock.run(lambda: self.inner.send_all(data))


class AlwaysReadySendStream(ForwardingSendStream):
    senders = 0

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.senders += 1
        try:
            await self.inner.send_all(data)
        finally:
            self.senders -= 1

    async def wait_send_all_might_not_block(self) -> None:
        if self.senders:
            raise triolet.BusyResourceError
        await checkpoint()


class CloseForgetsWaitersSendStream(ForwardingSendStream):
    closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            raise triolet.ClosedResourceError
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        if self.closed:
            raise triolet.ClosedResourceError
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        self.closed = True
        await checkpoint()


class HangsWhenBrokenSendStream(ForwardingSendStream):
    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        try:
            await self.inner.send_all(data)
        except triolet.BrokenResourceError:
            await triolet.sleep_forever()


class ShieldedSendStream(ForwardingSendStream):
    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        with triolet.CancelScope(shield=True):
            await self.inner.send_all(data)


class SendWaitsWhileReceivingStream(ForwardingHalfCloseableStream):
    def __init__(self, inner: HalfCloseableStream) -> None:
        super().__init__(inner)
        self.receivers = 0
        self.receiving_done = ParkingLot()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        while self.receivers:
            await self.receiving_done.park()
        await self.inner.send_all(data)

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        self.receivers += 1
        try:
            return await self.inner.receive_some(max_bytes)
        finally:
            self.receivers -= 1
            self.receiving_done.unpark_all()


class NotHalfCloseableStream(Stream):
    def __init__(self, inner: HalfCloseableStream) -> None:
        self.inner = inner

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


class SendEofClosesBothWaysStream(ForwardingHalfCloseableStream):
    async def send_eof(self) -> None:
        await self.inner.aclose()


class SendEofDoesNothingStream(ForwardingHalfCloseableStream):
    async def send_eof(self) -> None:
        await checkpoint()


# ------------------------------------------------------------------------ cases


@dataclass
class BrokenCase:
    suite: Callable[[Maker, Maker | None], Awaitable[None]]
    maker: Maker
    clogged_maker: Maker | None
    message: str
    failing_check: str


_lockstep_one_way = one_way_maker(base=lockstep_stream_one_way_pair)

BROKEN_CASES = {
    "not a SendStream": BrokenCase(
        check_one_way_stream,
        one_way_maker(send_type=NotASendStream),  # type: ignore[arg-type]
        None,
        "is not a triolet.abc.SendStream",
        "_check_stream_types",
    ),
    "corrupts data": BrokenCase(
        check_one_way_stream,
        one_way_maker(send_type=CorruptingSendStream),
        None,
        "data was changed in transit",
        "_check_data_arrives_unchanged",
    ),
    "ignores max_bytes": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=MaxBytesIgnoringReceiveStream),
        None,
        "more than asked for",
        "_check_data_arrives_unchanged",
    ),
    "accepts max_bytes=0": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=ZeroMaxBytesAcceptingReceiveStream),
        None,
        r"receive_some\(0\) should raise ValueError, but it is still blocked",
        "_check_bad_max_bytes_rejected",
    ),
    "end of stream raises": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=EndOfChannelRaisingReceiveStream),
        None,
        "until end of stream should have completed, but it raised EndOfChannel",
        "_check_data_arrives_unchanged",
    ),
    "end of stream reported only once": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=EofOnlyOnceReceiveStream),
        None,
        r"after end of stream should have completed, but it raised ClosedResourceError",
        "_check_eof_is_sticky",
    ),
    "closed send stream drops data silently": BrokenCase(
        check_one_way_stream,
        one_way_maker(send_type=DropsDataAfterCloseSendStream),
        None,
        r"send_all\(\) on a closed stream should raise ClosedResourceError, but it returned None",
        "_check_closed_send_stream_refuses",
    ),
    "closed receive stream reports end of stream": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=EofAfterCloseReceiveStream),
        None,
        r"receive_some\(\) on a closed stream should raise ClosedResourceError, but it returned b''",
        "_check_closed_receive_stream_refuses",
    ),
    "cancelled aclose leaves it open": BrokenCase(
        check_one_way_stream,
        one_way_maker(send_type=CancelUnsafeCloseSendStream),
        None,
        r"after aclose_forcefully\(\) should raise ClosedResourceError, but it returned None",
        "_check_cancelled_aclose_still_closes",
    ),
    "concurrent receive waits instead of failing": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=QueueingReceiveStream),
        None,
        "concurrent receive_some.. should raise BusyResourceError, but it is still blocked",
        "_check_concurrent_receive_is_busy",
    ),
    "close leaves a blocked receiver waiting": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=CloseForgetsWaitersReceiveStream),
        None,
        "should raise ClosedResourceError, but it is still blocked",
        "_check_close_wakes_blocked_receiver",
    ),
    "sending to a closed receiver never breaks": BrokenCase(
        check_one_way_stream,
        one_way_maker(base=_never_broken_pair),
        None,
        "should raise BrokenResourceError, but it returned None",
        "_check_closed_receiver_breaks_sender",
    ),
    "receive_some ignores cancellation": BrokenCase(
        check_one_way_stream,
        one_way_maker(receive_type=ShieldedReceiveStream),
        None,
        "a cancelled receive_some.. should raise Cancelled, but it is still blocked",
        "_check_receive_some_is_cancellable",
    ),
    "wait_send_all_might_not_block never returns": BrokenCase(
        check_one_way_stream,
        one_way_maker(send_type=NeverReadySendStream),
        None,
        "with a reader waiting should have completed, but it is still blocked",
        "_check_wait_send_all_might_not_block_with_reader",
    ),
    "clogged maker is not clogged": BrokenCase(
        check_one_way_stream,
        _lockstep_one_way,
        one_way_maker(),
        r"send_all\(\) on a clogged stream should block here, but it returned None",
        "_check_clogged_send_all_waits_for_reader",
    ),
    "concurrent send waits instead of failing": BrokenCase(
        check_one_way_stream,
        _lockstep_one_way,
        one_way_maker(send_type=QueueingSendStream, base=lockstep_stream_one_way_pair),
        "concurrent send_all.. should raise BusyResourceError, but it is still blocked",
        "_check_clogged_concurrent_send_is_busy",
    ),
    "wait_send_all_might_not_block ignores clogging": BrokenCase(
        check_one_way_stream,
        _lockstep_one_way,
        one_way_maker(send_type=AlwaysReadySendStream, base=lockstep_stream_one_way_pair),
        "on a clogged stream should block here, but it returned None",
        "_check_clogged_wait_send_all_might_not_block",
    ),
    "close leaves a blocked sender waiting": BrokenCase(
        check_one_way_stream,
        _lockstep_one_way,
        one_way_maker(send_type=CloseForgetsWaitersSendStream, base=lockstep_stream_one_way_pair),
        "should raise ClosedResourceError, but it is still blocked",
        "_check_clogged_close_wakes_blocked_sender",
    ),
    "closed receiver leaves a blocked sender waiting": BrokenCase(
        check_one_way_stream,
        _lockstep_one_way,
        one_way_maker(send_type=HangsWhenBrokenSendStream, base=lockstep_stream_one_way_pair),
        "should raise BrokenResourceError, but it is still blocked",
        "_check_clogged_receiver_close_breaks_blocked_sender",
    ),
    "send_all ignores cancellation": BrokenCase(
        check_one_way_stream,
        _lockstep_one_way,
        one_way_maker(send_type=ShieldedSendStream, base=lockstep_stream_one_way_pair),
        r"a cancelled send_all\(\) should raise Cancelled, but it is still blocked",
        "_check_clogged_send_is_cancellable",
    ),
    "sending and receiving exclude each other": BrokenCase(
        check_two_way_stream,
        two_way_maker(stream_type=SendWaitsWhileReceivingStream),
        None,
        "deadlock",
        "_check_both_directions_at_once",
    ),
    "not half-closeable": BrokenCase(
        check_half_closeable_stream,
        two_way_maker(stream_type=NotHalfCloseableStream),  # type: ignore[arg-type]
        None,
        "is not a triolet.abc.HalfCloseableStream",
        "_check_half_closeable_types",
    ),
    "send_eof closes both directions": BrokenCase(
        check_half_closeable_stream,
        two_way_maker(stream_type=SendEofClosesBothWaysStream),
        None,
        "reply after send_eof.. should have completed, but it raised",
        "_check_send_eof_closes_one_direction",
    ),
    "send_eof sends no end of stream": BrokenCase(
        check_half_closeable_stream,
        two_way_maker(stream_type=SendEofDoesNothingStream),
        None,
        "until end of stream should have completed, but it is still blocked",
        "_check_send_eof_closes_one_direction",
    ),
    "send_eof does not conflict with send_all": BrokenCase(
        check_half_closeable_stream,
        two_way_maker(),
        _lockstep_pair,
        r"send_eof\(\) during a send_all\(\) should raise BusyResourceError, but it returned None",
        "_check_clogged_send_eof_is_busy",
    ),
}


@pytest.mark.skipif(UNDER_TRIO, reason="checks triolet's own failure messages")
@pytest.mark.parametrize("case", BROKEN_CASES.values(), ids=BROKEN_CASES.keys())
async def test_checker_fails_on_the_rule_the_stream_breaks(
    case: BrokenCase, autojump_clock: MockClock
) -> None:
    with pytest.raises(AssertionError, match=case.message) as failure:
        await case.suite(case.maker, case.clogged_maker)
    notes = getattr(failure.value, "__notes__", [])
    assert any(f"stream check {case.failing_check}" in note for note in notes), notes


@pytest.mark.skipif(UNDER_TRIO, reason="checks triolet's own failure messages")
async def test_two_way_checker_reports_the_direction_that_failed(
    autojump_clock: MockClock,
) -> None:
    async def make() -> tuple[Stream, Stream]:
        left, right = memory_stream_pair()
        # Only the right-hand stream corrupts what it sends.
        return left, triolet.StapledStream(
            CorruptingSendStream(right.send_stream), right.receive_stream
        )

    with pytest.raises(AssertionError, match="data was changed in transit") as failure:
        await check_two_way_stream(make, None)
    assert any("(b->a)" in note for note in failure.value.__notes__)


async def test_checkers_pass_on_correct_wrapped_streams(autojump_clock: MockClock) -> None:
    await check_one_way_stream(one_way_maker(), None)
    await check_one_way_stream(_lockstep_one_way, _lockstep_one_way)
    await check_half_closeable_stream(two_way_maker(), None)
