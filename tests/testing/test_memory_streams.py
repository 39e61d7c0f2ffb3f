"""Memory and lockstep test streams (src/triolet/testing/_memory_streams.py, _lockstep_streams.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triolet
from triolet.abc import HalfCloseableStream, ReceiveStream, SendStream, Stream
from triolet.testing import (
    MemoryReceiveStream,
    MemorySendStream,
    assert_checkpoints,
    check_half_closeable_stream,
    check_one_way_stream,
    check_two_way_stream,
    lockstep_stream_one_way_pair,
    lockstep_stream_pair,
    memory_stream_one_way_pair,
    memory_stream_pair,
    memory_stream_pump,
    wait_all_tasks_blocked,
)

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"
triolet_only = pytest.mark.skipif(UNDER_TRIO, reason="triolet's own choice; trio differs")


# ------------------------------------------------------------- MemorySendStream


async def test_send_all_buffers_data_for_get_data_nowait() -> None:
    stream = MemorySendStream()
    await stream.send_all(b"abc")
    await stream.send_all(memoryview(b"def"))
    assert stream.get_data_nowait(2) == b"ab"
    assert stream.get_data_nowait() == b"cdef"
    with pytest.raises(triolet.WouldBlock):
        stream.get_data_nowait()


async def test_send_all_copies_the_data() -> None:
    stream = MemorySendStream()
    data = bytearray(b"before")
    await stream.send_all(data)
    data[:] = b"after!"
    assert await stream.get_data() == b"before"


async def test_get_data_returns_a_bytearray() -> None:
    stream = MemorySendStream()
    await stream.send_all(b"x")
    assert type(await stream.get_data()) is bytearray


async def test_get_data_waits_for_data() -> None:
    stream = MemorySendStream()
    received: list[bytes | bytearray] = []

    async def get() -> None:
        received.append(await stream.get_data())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(get)
        await wait_all_tasks_blocked()
        assert received == []
        await stream.send_all(b"hello")
    assert received == [b"hello"]


async def test_get_data_after_close_returns_pending_data_then_empty() -> None:
    stream = MemorySendStream()
    await stream.send_all(b"pending")
    stream.close()
    assert await stream.get_data() == b"pending"
    assert await stream.get_data() == b""
    assert stream.get_data_nowait() == b""


async def test_close_wakes_a_waiting_get_data_with_empty_result() -> None:
    stream = MemorySendStream()
    received: list[bytes | bytearray] = []

    async def get() -> None:
        received.append(await stream.get_data())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(get)
        await wait_all_tasks_blocked()
        stream.close()
    assert received == [b""]


async def test_concurrent_get_data_is_busy() -> None:
    stream = MemorySendStream()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(stream.get_data)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await stream.get_data()
        with pytest.raises(triolet.BusyResourceError):
            stream.get_data_nowait()
        await stream.send_all(b"x")


@pytest.mark.parametrize("max_bytes", [0, -1])
async def test_get_data_rejects_max_bytes_below_one(max_bytes: int) -> None:
    stream = MemorySendStream()
    with pytest.raises(ValueError):
        await stream.get_data(max_bytes)
    with pytest.raises(ValueError):
        stream.get_data_nowait(max_bytes)


async def test_closed_send_stream_refuses_to_send() -> None:
    stream = MemorySendStream()
    await stream.aclose()
    with pytest.raises(triolet.ClosedResourceError):
        await stream.send_all(b"x")
    with pytest.raises(triolet.ClosedResourceError):
        await stream.wait_send_all_might_not_block()


async def test_send_all_hook_runs_after_the_data_is_buffered() -> None:
    seen: list[bytearray] = []

    async def hook() -> None:
        seen.append(stream.get_data_nowait())

    stream = MemorySendStream(send_all_hook=hook)
    await stream.send_all(b"abc")
    assert seen == [b"abc"]


async def test_wait_send_all_might_not_block_runs_its_hook() -> None:
    calls: list[str] = []

    async def hook() -> None:
        calls.append("waited")

    stream = MemorySendStream(wait_send_all_might_not_block_hook=hook)
    await stream.wait_send_all_might_not_block()
    assert calls == ["waited"]


async def test_send_close_hook_runs_on_every_close() -> None:
    calls: list[str] = []
    stream = MemorySendStream(close_hook=lambda: calls.append("closed"))
    stream.close()
    stream.close()
    await stream.aclose()
    assert calls == ["closed", "closed", "closed"]


async def test_send_hooks_are_public_and_reassignable() -> None:
    calls: list[str] = []

    async def hook() -> None:
        calls.append("new hook")

    stream = MemorySendStream()
    assert stream.send_all_hook is None
    assert stream.wait_send_all_might_not_block_hook is None
    assert stream.close_hook is None
    stream.send_all_hook = hook
    await stream.send_all(b"x")
    assert calls == ["new hook"]


async def test_send_all_while_another_send_all_is_in_its_hook_is_busy() -> None:
    async def blocking_hook() -> None:
        await triolet.sleep_forever()

    stream = MemorySendStream(send_all_hook=blocking_hook)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(stream.send_all, b"first")
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await stream.send_all(b"second")
        with pytest.raises(triolet.BusyResourceError):
            await stream.wait_send_all_might_not_block()
        nursery.cancel_scope.cancel()


async def test_send_stream_operations_are_checkpoints() -> None:
    stream = MemorySendStream()
    with assert_checkpoints():
        await stream.send_all(b"x")
    with assert_checkpoints():
        await stream.wait_send_all_might_not_block()
    with assert_checkpoints():
        await stream.get_data()
    with assert_checkpoints():
        await stream.aclose()


async def test_cancelled_aclose_still_closes_the_send_stream() -> None:
    stream = MemorySendStream()
    with triolet.CancelScope() as scope:
        scope.cancel()
        await stream.aclose()
    assert scope.cancelled_caught
    with pytest.raises(triolet.ClosedResourceError):
        await stream.send_all(b"x")


# ----------------------------------------------------------- MemoryReceiveStream


async def test_receive_some_returns_put_data_up_to_max_bytes() -> None:
    stream = MemoryReceiveStream()
    stream.put_data(b"hello")
    chunk = await stream.receive_some(2)
    assert chunk == b"he"
    assert type(chunk) is bytearray
    assert await stream.receive_some() == b"llo"


async def test_receive_some_waits_for_put_data() -> None:
    stream = MemoryReceiveStream()
    received: list[bytes | bytearray] = []

    async def receive() -> None:
        received.append(await stream.receive_some())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(receive)
        await wait_all_tasks_blocked()
        assert received == []
        stream.put_data(b"data")
    assert received == [b"data"]


async def test_put_eof_makes_receive_some_return_empty_every_time() -> None:
    stream = MemoryReceiveStream()
    stream.put_data(b"tail")
    stream.put_eof()
    assert await stream.receive_some() == b"tail"
    assert await stream.receive_some() == b""
    assert await stream.receive_some() == b""


async def test_put_data_after_put_eof_is_refused() -> None:
    stream = MemoryReceiveStream()
    stream.put_eof()
    with pytest.raises(triolet.ClosedResourceError):
        stream.put_data(b"late")


async def test_closed_receive_stream_refuses_and_discards_unread_data() -> None:
    stream = MemoryReceiveStream()
    stream.put_data(b"unread")
    await stream.aclose()
    with pytest.raises(triolet.ClosedResourceError):
        await stream.receive_some()
    with pytest.raises(triolet.ClosedResourceError):
        stream.put_data(b"more")


async def test_closing_wakes_a_blocked_receive_with_closed_resource_error() -> None:
    stream = MemoryReceiveStream()

    async def receive() -> None:
        with pytest.raises(triolet.ClosedResourceError):
            await stream.receive_some()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(receive)
        await wait_all_tasks_blocked()
        stream.close()


async def test_concurrent_receive_some_is_busy() -> None:
    stream = MemoryReceiveStream()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(stream.receive_some)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await stream.receive_some()
        stream.put_data(b"x")


@pytest.mark.parametrize("max_bytes", [0, -1])
async def test_receive_some_rejects_max_bytes_below_one(max_bytes: int) -> None:
    stream = MemoryReceiveStream()
    stream.put_data(b"data")
    with pytest.raises(ValueError):
        await stream.receive_some(max_bytes)


async def test_receive_some_hook_runs_before_waiting_and_can_supply_data() -> None:
    async def hook() -> None:
        stream.put_data(b"from the hook")

    stream = MemoryReceiveStream(receive_some_hook=hook)
    assert await stream.receive_some() == b"from the hook"


async def test_receive_close_hook_runs_on_every_close() -> None:
    calls: list[str] = []
    stream = MemoryReceiveStream(close_hook=lambda: calls.append("closed"))
    stream.close()
    await stream.aclose()
    assert calls == ["closed", "closed"]
    assert stream.receive_some_hook is None


async def test_receive_stream_operations_are_checkpoints() -> None:
    stream = MemoryReceiveStream()
    stream.put_data(b"ready")
    with assert_checkpoints():
        await stream.receive_some()
    with assert_checkpoints():
        await stream.aclose()


async def test_cancelled_receive_some_loses_no_data() -> None:
    stream = MemoryReceiveStream()
    stream.put_data(b"keep me")
    with triolet.CancelScope() as scope:
        scope.cancel()
        await stream.receive_some()
    assert scope.cancelled_caught
    assert await stream.receive_some() == b"keep me"


# -------------------------------------------------------------------- the pump


async def test_pump_with_nothing_to_move_returns_false() -> None:
    assert memory_stream_pump(MemorySendStream(), MemoryReceiveStream()) is False


async def test_pump_moves_at_most_max_bytes() -> None:
    send_stream, receive_stream = MemorySendStream(), MemoryReceiveStream()
    await send_stream.send_all(b"hello")
    assert memory_stream_pump(send_stream, receive_stream, max_bytes=2) is True
    assert await receive_stream.receive_some() == b"he"
    assert memory_stream_pump(send_stream, receive_stream) is True
    assert await receive_stream.receive_some() == b"llo"


async def test_pump_passes_end_of_stream_on() -> None:
    send_stream, receive_stream = MemorySendStream(), MemoryReceiveStream()
    await send_stream.aclose()
    assert memory_stream_pump(send_stream, receive_stream) is True
    assert await receive_stream.receive_some() == b""


async def test_pump_into_a_closed_receive_stream_is_broken() -> None:
    send_stream, receive_stream = MemorySendStream(), MemoryReceiveStream()
    await send_stream.send_all(b"lost")
    await receive_stream.aclose()
    with pytest.raises(triolet.BrokenResourceError):
        memory_stream_pump(send_stream, receive_stream)


# ----------------------------------------------------------- memory stream pairs


async def test_one_way_pair_delivers_data_at_once() -> None:
    send_stream, receive_stream = memory_stream_one_way_pair()
    await send_stream.send_all(b"abc")
    await send_stream.send_all(b"def")
    assert await receive_stream.receive_some() == b"abcdef"


async def test_one_way_pair_close_delivers_end_of_stream() -> None:
    send_stream, receive_stream = memory_stream_one_way_pair()
    await send_stream.send_all(b"bye")
    await send_stream.aclose()
    assert await receive_stream.receive_some() == b"bye"
    assert await receive_stream.receive_some() == b""


async def test_one_way_pair_send_after_receiver_closed_is_broken() -> None:
    send_stream, receive_stream = memory_stream_one_way_pair()
    await receive_stream.aclose()
    with pytest.raises(triolet.BrokenResourceError):
        await send_stream.send_all(b"x")


async def test_one_way_pair_can_be_pumped_by_hand() -> None:
    send_stream, receive_stream = memory_stream_one_way_pair()
    send_stream.send_all_hook = None
    await send_stream.send_all(b"held back")
    received: list[bytes | bytearray] = []

    async def receive() -> None:
        received.append(await receive_stream.receive_some())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(receive)
        await wait_all_tasks_blocked()
        assert received == []
        assert memory_stream_pump(send_stream, receive_stream)
    assert received == [b"held back"]


async def test_memory_pair_is_two_connected_stapled_streams() -> None:
    left, right = memory_stream_pair()
    assert isinstance(left, triolet.StapledStream)
    assert isinstance(left.send_stream, MemorySendStream)
    assert isinstance(left.receive_stream, MemoryReceiveStream)
    await left.send_all(b"to the right")
    assert await right.receive_some() == b"to the right"
    await right.send_all(b"to the left")
    assert await left.receive_some() == b"to the left"


async def test_memory_pair_send_eof_keeps_the_other_direction_open() -> None:
    left, right = memory_stream_pair()
    await left.send_eof()
    assert await right.receive_some() == b""
    await right.send_all(b"still open")
    assert await left.receive_some() == b"still open"
    with pytest.raises(triolet.ClosedResourceError):
        await left.send_all(b"x")


async def _memory_one_way_pair() -> tuple[SendStream, ReceiveStream]:
    return memory_stream_one_way_pair()


async def _memory_pair() -> tuple[HalfCloseableStream, HalfCloseableStream]:
    return memory_stream_pair()


async def test_memory_one_way_pair_passes_check_one_way_stream() -> None:
    await check_one_way_stream(_memory_one_way_pair, None)


async def test_memory_pair_passes_check_half_closeable_stream() -> None:
    await check_half_closeable_stream(_memory_pair, None)


# ------------------------------------------------------------------ lockstep


async def test_lockstep_send_all_waits_until_the_receiver_took_everything() -> None:
    send_stream, receive_stream = lockstep_stream_one_way_pair()
    sent = False

    async def send() -> None:
        nonlocal sent
        await send_stream.send_all(b"hello")
        sent = True

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(send)
        await wait_all_tasks_blocked()
        assert not sent
        assert await receive_stream.receive_some(2) == b"he"
        await wait_all_tasks_blocked()
        assert not sent
        assert await receive_stream.receive_some() == b"llo"
        await wait_all_tasks_blocked()
        assert sent


async def test_lockstep_empty_send_does_not_wait_for_a_receiver() -> None:
    send_stream, _ = lockstep_stream_one_way_pair()
    with assert_checkpoints():
        await send_stream.send_all(b"")


async def test_lockstep_wait_send_all_might_not_block_waits_for_a_receiver() -> None:
    send_stream, receive_stream = lockstep_stream_one_way_pair()
    ready = False

    async def wait_ready() -> None:
        nonlocal ready
        await send_stream.wait_send_all_might_not_block()
        ready = True

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(wait_ready)
        await wait_all_tasks_blocked()
        assert not ready
        nursery.start_soon(receive_stream.receive_some)
        await wait_all_tasks_blocked()
        assert ready
        await send_stream.send_all(b"x")


async def test_lockstep_receiver_close_breaks_a_blocked_sender() -> None:
    send_stream, receive_stream = lockstep_stream_one_way_pair()

    async def send() -> None:
        with pytest.raises(triolet.BrokenResourceError):
            await send_stream.send_all(b"nobody listens")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(send)
        await wait_all_tasks_blocked()
        await receive_stream.aclose()
    with pytest.raises(triolet.BrokenResourceError):
        await send_stream.send_all(b"x")


async def test_lockstep_sender_close_gives_a_blocked_receiver_end_of_stream() -> None:
    send_stream, receive_stream = lockstep_stream_one_way_pair()
    received: list[bytes | bytearray] = []

    async def receive() -> None:
        received.append(await receive_stream.receive_some())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(receive)
        await wait_all_tasks_blocked()
        await send_stream.aclose()
    assert received == [b""]


@triolet_only
async def test_lockstep_cancelled_send_all_withdraws_unreceived_bytes() -> None:
    send_stream, receive_stream = lockstep_stream_one_way_pair()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(send_stream.send_all, b"withdrawn")
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    received: list[bytes | bytearray] = []

    async def receive() -> None:
        received.append(await receive_stream.receive_some())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(receive)
        await wait_all_tasks_blocked()
        await send_stream.send_all(b"fresh")
    assert received == [b"fresh"]


async def _lockstep_one_way_pair() -> tuple[SendStream, ReceiveStream]:
    return lockstep_stream_one_way_pair()


async def _lockstep_pair() -> tuple[Stream, Stream]:
    return lockstep_stream_pair()


async def _lockstep_half_closeable_pair() -> tuple[HalfCloseableStream, HalfCloseableStream]:
    return lockstep_stream_pair()


async def test_lockstep_one_way_pair_passes_check_one_way_stream_clogged_too() -> None:
    await check_one_way_stream(_lockstep_one_way_pair, _lockstep_one_way_pair)


async def test_lockstep_pair_passes_check_two_way_stream_clogged_too() -> None:
    await check_two_way_stream(_lockstep_pair, _lockstep_pair)


async def test_lockstep_pair_passes_check_half_closeable_stream() -> None:
    # Not with itself as the clogged maker: its send_eof closes the send stream, which
    # (as in trio) does not conflict with a blocked send_all.
    await check_half_closeable_stream(_lockstep_half_closeable_pair, None)


# ---------------------------------------------------------- property: chunking

chunk_lists = st.lists(st.binary(max_size=50), max_size=20)
receive_sizes = st.lists(st.one_of(st.none(), st.integers(1, 60)), min_size=1, max_size=10)


async def _transfer(
    pair: Callable[[], tuple[SendStream, ReceiveStream]],
    chunks: list[bytes],
    sizes: list[int | None],
) -> bytes:
    send_stream, receive_stream = pair()
    received = bytearray()

    async def send_everything() -> None:
        for chunk in chunks:
            await send_stream.send_all(chunk)
        await send_stream.aclose()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(send_everything)
        for turn in itertools.count():
            max_bytes = sizes[turn % len(sizes)]
            chunk = await receive_stream.receive_some(max_bytes)
            if not chunk:
                break
            assert max_bytes is None or len(chunk) <= max_bytes
            received += chunk
    return bytes(received)


@pytest.mark.parametrize(
    "pair", [memory_stream_one_way_pair, lockstep_stream_one_way_pair], ids=["memory", "lockstep"]
)
@settings(max_examples=60, deadline=None, database=None)
@given(chunks=chunk_lists, sizes=receive_sizes)
def test_bytes_arrive_unchanged_whatever_the_chunking(
    pair: Callable[[], tuple[SendStream, ReceiveStream]],
    chunks: list[bytes],
    sizes: list[int | None],
) -> None:
    assert triolet.run(_transfer, pair, chunks, sizes) == b"".join(chunks)
