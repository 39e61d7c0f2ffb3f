"""open_signal_receiver.

Public API only; also runs against real trio:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_signals.py``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

import triolet
from triolet import to_thread
from triolet.testing import assert_checkpoints, wait_all_tasks_blocked

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

USR1 = signal.SIGUSR1
USR2 = signal.SIGUSR2


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)


async def test_a_signal_sent_to_ourselves_arrives_once() -> None:
    with triolet.open_signal_receiver(USR1, USR2) as receiver:
        _send(USR1)
        assert await receiver.__anext__() == USR1
        _send(USR2)
        assert await receiver.__anext__() == USR2  # no second copy of USR1 in between


async def test_signals_arrive_in_order_and_repeats_while_pending_coalesce() -> None:
    with triolet.open_signal_receiver(USR1, USR2) as receiver:
        _send(USR2)
        _send(USR1)
        _send(USR2)  # USR2 is still pending: reported once
        received = [await receiver.__anext__(), await receiver.__anext__()]
        _send(USR2)
        received.append(await receiver.__anext__())
    assert received == [USR2, USR1, USR2]


async def test_async_for_yields_signal_numbers() -> None:
    with triolet.open_signal_receiver(USR1) as receiver:
        _send(USR1)
        async for signum in receiver:
            assert signum == USR1
            break


async def test_a_blocked_iterator_wakes_when_a_signal_arrives() -> None:
    with triolet.open_signal_receiver(USR1) as receiver:
        received: list[int] = []
        async with triolet.open_nursery() as nursery:

            async def receive_one() -> None:
                received.append(await receiver.__anext__())

            nursery.start_soon(receive_one)
            await wait_all_tasks_blocked()
            await to_thread.run_sync(_send, USR1)
    assert received == [USR1]


async def test_sigint_goes_to_the_receiver_instead_of_raising() -> None:
    with triolet.open_signal_receiver(signal.SIGINT) as receiver:
        _send(signal.SIGINT)
        assert await receiver.__anext__() == signal.SIGINT


async def test_previous_handlers_are_restored_on_exit() -> None:
    before = {signum: signal.getsignal(signum) for signum in (USR1, USR2, signal.SIGINT)}
    with triolet.open_signal_receiver(USR1, USR2, signal.SIGINT, USR1):
        assert signal.getsignal(USR1) is not before[USR1]
    assert {signum: signal.getsignal(signum) for signum in before} == before


async def test_unread_signals_are_redelivered_to_the_previous_handler() -> None:
    seen: list[int] = []
    previous = signal.signal(USR1, lambda signum, frame: seen.append(signum))
    try:
        with triolet.open_signal_receiver(USR1):
            _send(USR1)
            # Let the delivery reach the receiver (trio hands it over through a task).
            await wait_all_tasks_blocked()
            assert seen == []
        assert seen == [USR1]
    finally:
        signal.signal(USR1, previous)


async def test_next_is_a_checkpoint_and_cancellation_keeps_the_signal_pending() -> None:
    with triolet.open_signal_receiver(USR1) as receiver:
        _send(USR1)
        with triolet.CancelScope() as scope:
            scope.cancel()
            await receiver.__anext__()
        assert scope.cancelled_caught
        with assert_checkpoints():
            assert await receiver.__anext__() == USR1


async def test_two_tasks_iterating_at_once_raise_busy_resource_error() -> None:
    with triolet.open_signal_receiver(USR1) as receiver:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(receiver.__anext__)
            await wait_all_tasks_blocked()
            with pytest.raises(triolet.BusyResourceError):
                await receiver.__anext__()
            nursery.cancel_scope.cancel()


async def test_iterating_after_the_block_exited_raises_runtime_error() -> None:
    with triolet.open_signal_receiver(USR1) as receiver:
        pass
    with pytest.raises(RuntimeError):
        await receiver.__anext__()


async def test_no_signals_raises_type_error() -> None:
    with pytest.raises(TypeError):
        with triolet.open_signal_receiver():
            pass


def test_outside_a_run_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        with triolet.open_signal_receiver(USR1):
            pass


def test_a_run_outside_the_main_thread_raises_runtime_error() -> None:
    errors: list[BaseException] = []

    async def main() -> None:
        with triolet.open_signal_receiver(USR1):
            pass

    def run_in_thread() -> None:
        try:
            triolet.run(main)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run_in_thread)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert signal.getsignal(USR1) is signal.SIG_DFL
