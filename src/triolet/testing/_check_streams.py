"""Conformance suites for stream implementations: run them against your own streams.

``check_one_way_stream``, ``check_two_way_stream`` and ``check_half_closeable_stream``
each take a *stream maker* (an async function returning a fresh, connected pair) and
run a list of small checks, each on a pair of its own. A failed check raises
AssertionError saying what the stream did and what the contract asks for, with a note
naming the check.

The contract checked (that of :mod:`triolet.abc`):

* bytes arrive in order, unchanged, whatever the chunking on either side; ``send_all``
  takes bytes, bytearray and memoryview; ``receive_some(max_bytes)`` returns at most
  ``max_bytes`` and rejects ``max_bytes < 1`` with ValueError;
* closing the sending side makes the receiver see ``b""``, again and again;
* after ``aclose`` (even a cancelled one) the closed object raises ClosedResourceError,
  and a task blocked in it at that moment is woken with ClosedResourceError;
* once the receiving side is closed, sending raises BrokenResourceError (sooner or
  later: a transport may accept a few bytes first);
* a second task calling ``send_all``/``wait_send_all_might_not_block`` (or
  ``receive_some``) while one is already in it gets BusyResourceError at once;
* blocked operations are cancellable, and a stream whose operation was cancelled can
  still be closed;
* on a two-way stream, sending and receiving are independent, so both peers can send
  large amounts at the same time without deadlock;
* ``send_eof`` ends one direction only.

Checks that need a ``send_all`` to block use the *clogged* maker: a pair whose sender
blocks until the receiver reads (``lockstep_stream_one_way_pair`` is one; a socket pair
whose buffers were filled first is another). With ``clogged_stream_maker=None`` those
checks are skipped. A clogged pair may already hold bytes in transit, so those checks
never look at the data, only at who blocks and who wakes.

Checks never sleep. "It blocks" is decided with ``wait_all_tasks_blocked``; "it finishes"
waits until it does, but at most 10 seconds on the run's clock, so a stream that hangs
makes a check fail instead of hanging the test suite (instantly, with an autojump
MockClock: but don't use one with real sockets, whose delays it would skip).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from .. import _core
from .._abc import HalfCloseableStream, ReceiveStream, SendStream, Stream
from .._streams import aclose_forcefully
from ._stream_check_harness import (
    SEED,
    Session,
    StreamMaker,
    check_chunk,
    expect_same_bytes,
    open_session,
    receive_exactly,
    receive_until_eof,
    send_in_random_chunks,
    send_then_close,
)

StreamT = TypeVar("StreamT", bound=Stream)

# Big enough that a socket pair's kernel buffers fill up in the two-way check (so a
# stream that can't send and receive at once deadlocks), small enough to stay fast.
_BULK_BYTES = 1 << 20


# ---------------------------------------------------------------- one-way checks


async def _check_stream_types(session: Session[SendStream, ReceiveStream]) -> None:
    """The pair is a SendStream and a ReceiveStream."""
    if not isinstance(session.s, SendStream):
        raise AssertionError(f"{session.s!r} is not a triolet.abc.SendStream")
    if not isinstance(session.r, ReceiveStream):
        raise AssertionError(f"{session.r!r} is not a triolet.abc.ReceiveStream")


async def _check_data_arrives_unchanged(session: Session[SendStream, ReceiveStream]) -> None:
    """Bytes arrive in order and unchanged, whatever the chunk sizes on either side."""
    rng = random.Random(SEED)
    data = rng.randbytes(200_000)
    sender = session.start("send_all() then aclose()", send_then_close, session.s, data)
    receiver = session.start(
        "receive_some() until end of stream", receive_until_eof, session.r, rng
    )
    _, received = await session.finish(sender, receiver)
    expect_same_bytes(received, data)


async def _check_small_sends_and_max_bytes(session: Session[SendStream, ReceiveStream]) -> None:
    """send_all takes every bytes-like type; receive_some(1) returns exactly one byte."""
    sender = session.start(
        "send_all()",
        _send_then_close_each,
        session.s,
        [b"x", bytearray(b"yz"), memoryview(b"abc"), b"", b"!"],
    )
    receiver = session.start("receive_some(1) until end of stream", _receive_bytewise, session.r)
    _, received = await session.finish(sender, receiver)
    expect_same_bytes(received, b"xyzabc!")


async def _receive_bytewise(stream: ReceiveStream) -> bytes:
    received = bytearray()
    while chunk := check_chunk(await stream.receive_some(1), 1):
        received += chunk
    return bytes(received)


async def _send_then_close_each(
    stream: SendStream, chunks: Sequence[bytes | bytearray | memoryview]
) -> None:
    for chunk in chunks:
        await stream.send_all(chunk)
    await stream.aclose()


async def _check_bad_max_bytes_rejected(session: Session[SendStream, ReceiveStream]) -> None:
    """receive_some(0) and receive_some(-1) raise ValueError without waiting for data."""
    for max_bytes in (0, -1):
        await session.expect_error(
            ValueError, f"receive_some({max_bytes})", session.r.receive_some, max_bytes
        )


async def _check_eof_is_sticky(session: Session[SendStream, ReceiveStream]) -> None:
    """After the sender closes, the receiver gets its data, then b"" on every call."""
    sender = session.start("send_all() then aclose()", send_then_close, session.s, b"last words")
    receiver = session.start("receive_some() until end of stream", receive_until_eof, session.r)
    _, received = await session.finish(sender, receiver)
    expect_same_bytes(received, b"last words")
    for _ in range(2):
        again = session.start("receive_some() after end of stream", session.r.receive_some, 10)
        [chunk] = await session.finish(again)
        if chunk != b"":
            raise AssertionError(
                f"receive_some() after end of stream should return b'', got {chunk!r}"
            )


async def _check_async_iteration(session: Session[SendStream, ReceiveStream]) -> None:
    """``async for chunk in receive_stream`` yields the data and stops at end of stream."""
    sender = session.start("send_all() then aclose()", send_then_close, session.s, b"iterate me")
    receiver = session.start("async iteration", _iterate_to_the_end, session.r)
    _, received = await session.finish(sender, receiver)
    expect_same_bytes(received, b"iterate me")


async def _iterate_to_the_end(stream: ReceiveStream) -> bytes:
    received = bytearray()
    async for chunk in stream:
        received += chunk
    return bytes(received)


async def _check_closed_send_stream_refuses(session: Session[SendStream, ReceiveStream]) -> None:
    """A closed send stream: aclose is idempotent, sending raises ClosedResourceError."""
    await session.s.aclose()
    await session.s.aclose()
    await session.expect_error(
        _core.ClosedResourceError, "send_all() on a closed stream", session.s.send_all, b"x"
    )
    await session.expect_error(
        _core.ClosedResourceError,
        "wait_send_all_might_not_block() on a closed stream",
        session.s.wait_send_all_might_not_block,
    )


async def _check_closed_receive_stream_refuses(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """A closed receive stream: aclose is idempotent, receive_some raises ClosedResourceError."""
    await session.r.aclose()
    await session.r.aclose()
    await session.expect_error(
        _core.ClosedResourceError, "receive_some() on a closed stream", session.r.receive_some, 10
    )


async def _check_cancelled_aclose_still_closes(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """aclose_forcefully (a cancelled aclose) leaves both ends closed."""
    await aclose_forcefully(session.s)
    await session.expect_error(
        _core.ClosedResourceError,
        "send_all() after aclose_forcefully()",
        session.s.send_all,
        b"x",
    )
    await aclose_forcefully(session.r)
    await session.expect_error(
        _core.ClosedResourceError,
        "receive_some() after aclose_forcefully()",
        session.r.receive_some,
        10,
    )


async def _check_concurrent_receive_is_busy(session: Session[SendStream, ReceiveStream]) -> None:
    """A second concurrent receive_some raises BusyResourceError; the first is undisturbed."""
    first = await session.expect_blocks("the first receive_some()", session.r.receive_some)
    await session.expect_error(
        _core.BusyResourceError, "a second, concurrent receive_some()", session.r.receive_some
    )
    first.expect_blocked()
    sender = session.start("send_all()", session.s.send_all, b"x")
    _, chunk = await session.finish(sender, first)
    if chunk != b"x":
        raise AssertionError(f"the first receive_some() should get b'x', got {chunk!r}")


async def _check_close_wakes_blocked_receiver(session: Session[SendStream, ReceiveStream]) -> None:
    """Closing the receive stream wakes a task blocked in its receive_some with ClosedResourceError."""
    receiver = await session.expect_blocks(
        "receive_some() blocked while its stream is closed", session.r.receive_some
    )
    await aclose_forcefully(session.r)
    await session.settle(receiver)
    receiver.expect_error(_core.ClosedResourceError)


async def _send_until_broken(stream: SendStream) -> None:
    # A transport may accept some bytes before it notices the peer is gone (a socket
    # learns it from the peer's reset), so give it a bounded number of tries.
    for _ in range(1000):
        await stream.send_all(b"x" * 1024)


async def _check_closed_receiver_breaks_sender(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """Once the receive stream is closed, sending raises BrokenResourceError (eventually)."""
    await aclose_forcefully(session.r)
    await session.expect_error(
        _core.BrokenResourceError,
        "send_all() after the receiving end was closed, repeated",
        _send_until_broken,
        session.s,
    )


async def _check_receive_some_is_cancellable(session: Session[SendStream, ReceiveStream]) -> None:
    """A blocked receive_some raises Cancelled when cancelled; the stream can still be closed."""
    receiver = await session.expect_blocks("a cancelled receive_some()", session.r.receive_some)
    receiver.cancel()
    await session.settle(receiver)
    receiver.expect_error(_core.Cancelled)
    await aclose_forcefully(session.r)
    await aclose_forcefully(session.s)


async def _check_wait_send_all_might_not_block_with_reader(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """With a reader waiting, wait_send_all_might_not_block returns and the data flows."""
    receiver = await session.expect_blocks("receive_some()", session.r.receive_some)
    waiter = session.start(
        "wait_send_all_might_not_block() with a reader waiting",
        session.s.wait_send_all_might_not_block,
    )
    await session.finish(waiter)
    sender = session.start("send_all()", session.s.send_all, b"x")
    _, chunk = await session.finish(sender, receiver)
    if chunk != b"x":
        raise AssertionError(f"receive_some() should get b'x', got {chunk!r}")


# --------------------------------------------------------- clogged one-way checks
# A clogged pair may be two-way with both directions clogged: closing an end that has
# unread bytes waiting makes a socket reset the connection instead of sending EOF, so
# these checks drain the receiver without waiting for end of stream.


async def _drain(stream: ReceiveStream) -> None:
    while await stream.receive_some():
        pass


async def _check_clogged_send_all_waits_for_reader(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """On a clogged stream send_all blocks until the receiver reads."""
    sender = await session.expect_blocks(
        "send_all() on a clogged stream", session.s.send_all, b"x" * 100
    )
    session.start("receive_some() draining the stream", _drain, session.r)
    await session.finish(sender)


async def _check_clogged_concurrent_send_is_busy(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """While send_all is blocked, another send_all or wait_send_all_might_not_block is busy."""
    sender = await session.expect_blocks(
        "send_all() on a clogged stream", session.s.send_all, b"x" * 100
    )
    await session.expect_error(
        _core.BusyResourceError, "a second, concurrent send_all()", session.s.send_all, b"y"
    )
    await session.expect_error(
        _core.BusyResourceError,
        "wait_send_all_might_not_block() during a send_all()",
        session.s.wait_send_all_might_not_block,
    )
    sender.expect_blocked()


async def _check_clogged_wait_send_all_might_not_block(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """On a clogged stream wait_send_all_might_not_block waits for the reader and conflicts with send_all."""
    waiter = await session.expect_blocks(
        "wait_send_all_might_not_block() on a clogged stream",
        session.s.wait_send_all_might_not_block,
    )
    await session.expect_error(
        _core.BusyResourceError,
        "send_all() during a wait_send_all_might_not_block()",
        session.s.send_all,
        b"y",
    )
    waiter.expect_blocked()
    session.start("receive_some() draining the stream", _drain, session.r)
    await session.finish(waiter)


async def _check_clogged_close_wakes_blocked_sender(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """Closing the send stream wakes a task blocked in its send_all with ClosedResourceError."""
    sender = await session.expect_blocks(
        "send_all() blocked while its stream is closed", session.s.send_all, b"x" * 100
    )
    await aclose_forcefully(session.s)
    await session.settle(sender)
    sender.expect_error(_core.ClosedResourceError)


async def _check_clogged_receiver_close_breaks_blocked_sender(
    session: Session[SendStream, ReceiveStream],
) -> None:
    """Closing the receive stream wakes a blocked send_all with BrokenResourceError."""
    sender = await session.expect_blocks(
        "send_all() blocked while the receiving end is closed", session.s.send_all, b"x" * 100
    )
    await aclose_forcefully(session.r)
    await session.settle(sender)
    sender.expect_error(_core.BrokenResourceError)


async def _check_clogged_send_is_cancellable(session: Session[SendStream, ReceiveStream]) -> None:
    """Blocked send_all and wait_send_all_might_not_block raise Cancelled when cancelled."""
    for what, method, args in (
        (
            "a cancelled wait_send_all_might_not_block()",
            session.s.wait_send_all_might_not_block,
            (),
        ),
        ("a cancelled send_all()", session.s.send_all, (b"x" * 100,)),
    ):
        call = await session.expect_blocks(what, method, *args)
        call.cancel()
        await session.settle(call)
        call.expect_error(_core.Cancelled)
    await aclose_forcefully(session.s)
    await aclose_forcefully(session.r)


# ---------------------------------------------------------------- two-way checks


async def _exchange(sender: Stream, receiver: Stream, data: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    async with _core.open_nursery() as nursery:
        nursery.start_soon(send_in_random_chunks, sender, data, rng)
        received = await receive_exactly(receiver, len(data), random.Random(seed + 1))
    return received


async def _check_both_directions_at_once(session: Session[Stream, Stream]) -> None:
    """Both peers send a lot at the same time without deadlock; both receive it intact."""
    a, b = session.s, session.r
    rng = random.Random(SEED)
    a_to_b = rng.randbytes(_BULK_BYTES)
    b_to_a = rng.randbytes(_BULK_BYTES)
    forward = session.start("sending a->b", _exchange, a, b, a_to_b, 1)
    backward = session.start("sending b->a", _exchange, b, a, b_to_a, 3)
    await session.settle(forward, backward)
    if forward.result is None and backward.result is None:
        raise AssertionError(
            "deadlock: with both peers sending at once, neither transfer finished; "
            "a stream's send_all must not keep its receive_some from running"
        )
    expect_same_bytes(forward.expect_success(), a_to_b, " (a->b)")
    expect_same_bytes(backward.expect_success(), b_to_a, " (b->a)")


async def _check_send_while_receiving(session: Session[Stream, Stream]) -> None:
    """A stream can send while a task is blocked in its own receive_some."""
    a, b = session.s, session.r
    a_receiver = await session.expect_blocks("receive_some() on a", a.receive_some)
    ping = session.start("a.send_all() while a is receiving", a.send_all, b"ping")
    b_receiver = session.start("receive_some() on b", b.receive_some)
    _, got = await session.finish(ping, b_receiver)
    if got != b"ping":
        raise AssertionError(f"b should receive b'ping', got {got!r}")
    pong = session.start("b.send_all()", b.send_all, b"pong")
    _, reply = await session.finish(pong, a_receiver)
    if reply != b"pong":
        raise AssertionError(f"a should receive b'pong', got {reply!r}")


# -------------------------------------------------------- half-closeable checks


async def _check_half_closeable_types(
    session: Session[HalfCloseableStream, HalfCloseableStream],
) -> None:
    """Both ends are HalfCloseableStreams."""
    for stream in (session.s, session.r):
        if not isinstance(stream, HalfCloseableStream):
            raise AssertionError(f"{stream!r} is not a triolet.abc.HalfCloseableStream")


async def _send_then_eof(stream: HalfCloseableStream, data: bytes) -> None:
    await stream.send_all(data)
    await stream.send_eof()


async def _check_send_eof_closes_one_direction(
    session: Session[HalfCloseableStream, HalfCloseableStream],
) -> None:
    """After send_eof the peer sees EOF but can still reply, and sending again is refused."""
    a, b = session.s, session.r
    request = session.start("send_all() then send_eof()", _send_then_eof, a, b"request")
    b_receiver = session.start("receive_some() until end of stream", receive_until_eof, b)
    _, got = await session.finish(request, b_receiver)
    expect_same_bytes(got, b"request", " (before send_eof)")
    await session.expect_error(
        _core.ClosedResourceError, "send_all() after send_eof()", a.send_all, b"more"
    )
    await session.finish(session.start("a second send_eof()", a.send_eof))
    reply = session.start("the peer's reply after send_eof()", _send_then_eof, b, b"response")
    a_receiver = session.start("receive_some() until end of stream", receive_until_eof, a)
    _, got = await session.finish(reply, a_receiver)
    expect_same_bytes(got, b"response", " (the reply after send_eof)")


async def _check_clogged_send_eof_is_busy(
    session: Session[HalfCloseableStream, HalfCloseableStream],
) -> None:
    """send_eof while send_all is blocked raises BusyResourceError."""
    await session.expect_blocks("send_all() on a clogged stream", session.s.send_all, b"x" * 100)
    await session.expect_error(
        _core.BusyResourceError, "send_eof() during a send_all()", session.s.send_eof
    )


# ------------------------------------------------------------------ the suites

_Check = Callable[[Session[Any, Any]], Awaitable[None]]

_ONE_WAY_CHECKS: list[_Check] = [
    _check_stream_types,
    _check_data_arrives_unchanged,
    _check_small_sends_and_max_bytes,
    _check_bad_max_bytes_rejected,
    _check_eof_is_sticky,
    _check_async_iteration,
    _check_closed_send_stream_refuses,
    _check_closed_receive_stream_refuses,
    _check_cancelled_aclose_still_closes,
    _check_concurrent_receive_is_busy,
    _check_close_wakes_blocked_receiver,
    _check_closed_receiver_breaks_sender,
    _check_receive_some_is_cancellable,
    _check_wait_send_all_might_not_block_with_reader,
]
_CLOGGED_ONE_WAY_CHECKS: list[_Check] = [
    _check_clogged_send_all_waits_for_reader,
    _check_clogged_concurrent_send_is_busy,
    _check_clogged_wait_send_all_might_not_block,
    _check_clogged_close_wakes_blocked_sender,
    _check_clogged_receiver_close_breaks_blocked_sender,
    _check_clogged_send_is_cancellable,
]
_TWO_WAY_CHECKS: list[_Check] = [_check_both_directions_at_once, _check_send_while_receiving]
_HALF_CLOSEABLE_CHECKS: list[_Check] = [
    _check_half_closeable_types,
    _check_send_eof_closes_one_direction,
]
_CLOGGED_HALF_CLOSEABLE_CHECKS: list[_Check] = [_check_clogged_send_eof_is_busy]


async def _run_checks(
    checks: list[_Check], maker: StreamMaker[Any, Any] | None, label: str = ""
) -> None:
    if maker is None:
        return
    for check in checks:
        try:
            async with open_session(maker) as session:
                await check(session)
        except AssertionError as exc:
            summary = (check.__doc__ or "").strip().splitlines()[0]
            exc.add_note(f"stream check {check.__name__}{label}: {summary}")
            raise


def _flipped(maker: StreamMaker[StreamT, StreamT]) -> StreamMaker[StreamT, StreamT]:
    async def flipped_maker() -> tuple[StreamT, StreamT]:
        left, right = await maker()
        return right, left

    return flipped_maker


async def check_one_way_stream(
    stream_maker: StreamMaker[SendStream, ReceiveStream],
    clogged_stream_maker: StreamMaker[SendStream, ReceiveStream] | None,
) -> None:
    """Check that a one-way stream pair keeps the :class:`~triolet.abc.SendStream` /
    :class:`~triolet.abc.ReceiveStream` contract.

    ``stream_maker`` is an async function returning a fresh connected
    ``(send_stream, receive_stream)``; ``clogged_stream_maker`` likewise, but its
    ``send_all`` must block until the receiver reads (or None to skip the checks that
    need one). Raises AssertionError describing the first broken rule.
    """
    await _run_checks(_ONE_WAY_CHECKS, stream_maker)
    await _run_checks(_CLOGGED_ONE_WAY_CHECKS, clogged_stream_maker)


async def check_two_way_stream(
    stream_maker: StreamMaker[Stream, Stream],
    clogged_stream_maker: StreamMaker[Stream, Stream] | None,
) -> None:
    """Check a pair of connected :class:`~triolet.abc.Stream` objects.

    Runs :func:`check_one_way_stream` in each direction, then checks that the two
    directions are independent (simultaneous bulk sends, sending while receiving).
    The makers return a fresh connected ``(stream_a, stream_b)``.
    """
    for maker, clogged_maker, label in (
        (stream_maker, clogged_stream_maker, " (a->b)"),
        (
            _flipped(stream_maker),
            None if clogged_stream_maker is None else _flipped(clogged_stream_maker),
            " (b->a)",
        ),
    ):
        await _run_checks(_ONE_WAY_CHECKS, maker, label)
        await _run_checks(_CLOGGED_ONE_WAY_CHECKS, clogged_maker, label)
    await _run_checks(_TWO_WAY_CHECKS, stream_maker)


async def check_half_closeable_stream(
    stream_maker: StreamMaker[HalfCloseableStream, HalfCloseableStream],
    clogged_stream_maker: StreamMaker[HalfCloseableStream, HalfCloseableStream] | None,
) -> None:
    """Check a pair of connected :class:`~triolet.abc.HalfCloseableStream` objects.

    Runs :func:`check_two_way_stream`, then checks ``send_eof``: the peer sees end of
    stream while the other direction keeps working, sending afterwards raises
    ClosedResourceError, a second ``send_eof`` is harmless, and (clogged) ``send_eof``
    during a blocked ``send_all`` raises BusyResourceError.
    """
    await check_two_way_stream(stream_maker, clogged_stream_maker)
    await _run_checks(_HALF_CLOSEABLE_CHECKS, stream_maker)
    await _run_checks(_CLOGGED_HALF_CLOSEABLE_CHECKS, clogged_stream_maker)
