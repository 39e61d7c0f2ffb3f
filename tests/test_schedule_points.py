"""The scheduling policy of memory channel operations that need not wait.

triolet-specific: trio 0.35 yields at every schedule point. triolet lets up to
``SCHEDULE_POINT_ALLOWANCE`` non-waiting sends and receives in a row (counted over
the whole run) return without yielding; the next one yields. They stay cancel points.
Also the triolet-specific errors of those operations.
"""

from __future__ import annotations

import itertools
import math
import socket

import pytest
from _step_counter import start_step_counter

import triolet
from triolet._core._run import SCHEDULE_POINT_ALLOWANCE
from triolet.testing import assert_checkpoints, assert_no_checkpoints, wait_all_tasks_blocked


async def test_other_tasks_run_at_least_once_per_allowance_plus_one_sends() -> None:
    send_channel, receive_channel = triolet.open_memory_channel[int](math.inf)
    sent = 0
    seen_at: list[int] = []
    done = False

    async def observer() -> None:
        while not done:
            seen_at.append(sent)
            await triolet.lowlevel.checkpoint()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(observer)
        await triolet.lowlevel.checkpoint()  # the observer is now looping
        start = sent
        for item in range(10 * SCHEDULE_POINT_ALLOWANCE):
            await send_channel.send(item)
            sent += 1
        done = True
    gaps = [later - earlier for earlier, later in itertools.pairwise(seen_at)]
    assert seen_at[0] == start
    assert max(gaps) == SCHEDULE_POINT_ALLOWANCE + 1
    assert receive_channel.statistics().current_buffer_used == sent


async def test_receives_that_find_items_also_skip_and_then_yield() -> None:
    send_channel, receive_channel = triolet.open_memory_channel[int](math.inf)
    for item in range(3 * SCHEDULE_POINT_ALLOWANCE):
        send_channel.send_nowait(item)
    async with triolet.open_nursery() as nursery:
        steps = await start_step_counter(nursery)
        received = [await receive_channel.receive() for _ in range(3 * SCHEDULE_POINT_ALLOWANCE)]
        # The receives yielded about once per allowance + 1, not once per item.
        assert 2 <= steps[0] <= 4
        nursery.cancel_scope.cancel()
    assert received == list(range(3 * SCHEDULE_POINT_ALLOWANCE))


async def test_a_task_that_never_waits_still_sees_cancellation_from_another_task() -> None:
    send_channel, receive_channel = triolet.open_memory_channel[int](math.inf)
    scope = triolet.CancelScope()
    loops = 0

    async def busy() -> None:
        nonlocal loops
        with scope:
            while True:  # never waits: the buffer is unbounded and never empty
                await send_channel.send(loops)
                await receive_channel.receive()
                loops += 1

    async def canceller() -> None:
        scope.cancel()  # runs once busy() yields, after at most allowance + 1 operations

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(busy)
        nursery.start_soon(canceller)
    assert scope.cancelled_caught
    assert 0 < loops <= SCHEDULE_POINT_ALLOWANCE


async def test_non_waiting_operations_remain_cancel_points() -> None:
    send_channel, receive_channel = triolet.open_memory_channel[int](math.inf)
    send_channel.send_nowait(1)
    with triolet.CancelScope() as scope:
        scope.cancel()
        await receive_channel.receive()
    assert scope.cancelled_caught
    with triolet.CancelScope() as scope:
        scope.cancel()
        await send_channel.send(2)
    assert scope.cancelled_caught
    assert receive_channel.receive_nowait() == 1
    with pytest.raises(triolet.WouldBlock):
        receive_channel.receive_nowait()


async def test_assert_checkpoints_sees_every_schedule_point() -> None:
    # Inside the block the policy is off, so the helpers judge each operation as trio would.
    send_channel, receive_channel = triolet.open_memory_channel[int](math.inf)
    for _ in range(3):
        with assert_checkpoints():
            await send_channel.send(1)
        with assert_checkpoints():
            await receive_channel.receive()
    with pytest.raises(AssertionError, match="yielded"), assert_no_checkpoints():
        await send_channel.send(1)
    with pytest.raises(AssertionError, match="yielded"), assert_no_checkpoints():
        await receive_channel.receive()


def test_strict_schedule_points_environment_variable_makes_every_operation_yield(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIOLET_STRICT_SCHEDULE_POINTS", "1")

    async def main() -> None:
        send_channel, receive_channel = triolet.open_memory_channel[int](math.inf)
        async with triolet.open_nursery() as nursery:
            steps = await start_step_counter(nursery)
            for item in range(10):
                await send_channel.send(item)
                await receive_channel.receive()
            assert steps[0] == 20
            nursery.cancel_scope.cancel()

    triolet.run(main)


# Cancellation shielded while a cancelled operation is in its yield. trio 0.35 fails both
# with "AssertionError: this should never happen" from checkpoint_if_cancelled.
async def test_send_whose_cancellation_is_shielded_mid_checkpoint_still_delivers() -> None:
    # The sender is cancelled when it calls send(), so send() goes to raise Cancelled at
    # its cancel point; while it is in that yield, another task shields it and fills the
    # buffer. The send must then wait for room and deliver, not drop its item.
    send_channel, receive_channel = triolet.open_memory_channel[str](1)
    inner = triolet.CancelScope()
    sent: list[str] = []

    async def sender() -> None:
        with triolet.CancelScope() as outer:
            with inner:
                outer.cancel()
                await send_channel.send("sender's")
                sent.append("sender's")

    async def shield_and_fill() -> None:
        inner.shield = True
        send_channel.send_nowait("filler")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sender)
        nursery.start_soon(shield_and_fill)
        await wait_all_tasks_blocked()
        received = [receive_channel.receive_nowait()]
        await wait_all_tasks_blocked()
        received.append(receive_channel.receive_nowait())  # WouldBlock if the item was lost
    assert sent == ["sender's"]
    assert received == ["filler", "sender's"]


async def test_receive_whose_cancellation_is_shielded_mid_checkpoint_still_receives() -> None:
    # As above for a receiver: the item it saw when it was called is taken by another
    # task meanwhile, so it must wait for the next one.
    send_channel, receive_channel = triolet.open_memory_channel[str](1)
    send_channel.send_nowait("first")
    inner = triolet.CancelScope()
    received: list[str] = []
    stolen: list[str] = []

    async def receiver() -> None:
        with triolet.CancelScope() as outer:
            with inner:
                outer.cancel()
                received.append(await receive_channel.receive())

    async def shield_and_steal() -> None:
        inner.shield = True
        stolen.append(receive_channel.receive_nowait())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(receiver)
        nursery.start_soon(shield_and_steal)
        await wait_all_tasks_blocked()
        assert received == []
        send_channel.send_nowait("second")
    assert stolen == ["first"]
    assert received == ["second"]


@pytest.mark.parametrize("operation", ["send", "receive"])
def test_channel_operations_outside_a_run_name_themselves(operation: str) -> None:
    send_channel, receive_channel = triolet.open_memory_channel[int](1)
    if operation == "send":
        coroutine = send_channel.send(1)
        name = "MemorySendChannel.send"
    else:
        coroutine = receive_channel.receive()
        name = "MemoryReceiveChannel.receive"
    with pytest.raises(RuntimeError, match=f"{name} must be called from inside triolet.run"):
        coroutine.send(None)


async def test_io_is_polled_at_least_once_per_allowance_plus_one_operations() -> None:
    # A task whose channel operations never wait yields only once per allowance + 1 of
    # them; each such yield also makes the loop poll for I/O, so a task waiting for a
    # socket that is already readable wakes within that many operations.
    send_channel, receive_channel = triolet.open_memory_channel[int](math.inf)
    reader, writer = socket.socketpair()
    woke = False
    operations = 0

    async def wait_for_data() -> None:
        nonlocal woke
        await triolet.lowlevel.wait_readable(reader)
        woke = True

    with reader, writer:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(wait_for_data)
            await wait_all_tasks_blocked()
            writer.send(b"x")  # not a checkpoint: nothing polls until someone yields
            while not woke:
                await send_channel.send(operations)
                await receive_channel.receive()
                operations += 2
    assert operations <= 2 * (SCHEDULE_POINT_ALLOWANCE + 1)
