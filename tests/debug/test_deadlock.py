import socket

import pytest

import triolet
from triolet.testing import wait_all_tasks_blocked


async def _receive_then_send(
    receive: triolet.MemoryReceiveChannel[int], send: triolet.MemorySendChannel[int]
) -> None:
    value = await receive.receive()
    await send.send(value)


def test_two_tasks_waiting_on_each_others_channels_raise_deadlock_error() -> None:
    async def main() -> None:
        triolet.lowlevel.enable_deadlock_detection("raise")
        a_send, a_receive = triolet.open_memory_channel[int](0)
        b_send, b_receive = triolet.open_memory_channel[int](0)
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(_receive_then_send, a_receive, b_send, name="alice")
            nursery.start_soon(_receive_then_send, b_receive, a_send, name="bob")

    with pytest.raises(ExceptionGroup) as info:
        triolet.run(main)
    [error] = info.value.exceptions
    assert isinstance(error, triolet.DeadlockError)
    report = str(error)
    assert "alice [parked" in report and "bob [parked" in report
    assert "MemoryReceiveChannel.receive" in report


async def test_waiting_on_a_socket_is_not_a_deadlock() -> None:
    triolet.lowlevel.enable_deadlock_detection("raise")
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)

        async def reader() -> None:
            await triolet.lowlevel.wait_readable(left)

        async with triolet.open_nursery() as nursery:
            nursery.start_soon(reader)
            await wait_all_tasks_blocked()
            # Everything is parked, but the socket can still wake the reader.
            right.send(b"x")


async def test_waiting_on_a_timer_is_not_a_deadlock(autojump_clock: object) -> None:
    triolet.lowlevel.enable_deadlock_detection("raise")
    await triolet.sleep(10)


async def test_print_mode_reports_without_raising(
    capsys: pytest.CaptureFixture[str],
) -> None:
    triolet.lowlevel.enable_deadlock_detection("print")
    lot = triolet.lowlevel.ParkingLot()

    async def stuck() -> None:
        await lot.park()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(stuck, name="stuck-task")
        await wait_all_tasks_blocked()
        assert capsys.readouterr().err == ""
        # Now only the unparking can happen from here; show that print mode didn't fire
        # while this task could still run, then release the lot.
        lot.unpark_all()


def test_deadlock_detection_rejects_unknown_modes() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="mode"):
            triolet.lowlevel.enable_deadlock_detection("explode")  # type: ignore[arg-type]

    triolet.run(main)
