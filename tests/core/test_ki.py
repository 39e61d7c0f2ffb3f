"""KeyboardInterrupt (Ctrl-C): delivered at once to unprotected code, at a checkpoint otherwise.

SIGINT is delivered for real (``signal.raise_signal`` / ``os.kill``) inside a run in the
main thread. Those tests call ``triolet.run`` themselves: a KeyboardInterrupt is aimed at
the run's main task, which under the pytest plugin is not the test's own task.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import MockClock, wait_all_tasks_blocked

T = TypeVar("T")


def ctrl_c() -> None:
    signal.raise_signal(signal.SIGINT)


def run(main: Callable[[], Awaitable[T]], **options: Any) -> T:
    """triolet.run, but a stray KeyboardInterrupt fails the test instead of stopping pytest."""
    try:
        return triolet.run(main, **options)
    except KeyboardInterrupt as exc:
        raise AssertionError("an unexpected KeyboardInterrupt escaped the run") from exc


async def ctrl_c_from_a_system_task() -> None:
    # System tasks are KI-protected, so this is "Ctrl-C while the kernel is busy".
    await wait_all_tasks_blocked()
    os.kill(os.getpid(), signal.SIGINT)


# ---------------------------------------------------------------------- delivery
def test_ki_is_raised_at_once_in_unprotected_code() -> None:
    record = []

    async def main() -> None:
        try:
            ctrl_c()
            record.append("kept running")  # pragma: no cover
        except KeyboardInterrupt:
            record.append("interrupted at once")
        await triolet.sleep(0)

    run(main)
    assert record == ["interrupted at once"]


def test_ki_in_protected_code_is_deferred_to_the_next_checkpoint() -> None:
    record = []

    @lowlevel.enable_ki_protection
    async def main() -> None:
        ctrl_c()
        record.append("kept running")
        try:
            await lowlevel.checkpoint()
        except KeyboardInterrupt:
            record.append("interrupted at the checkpoint")

    run(main)
    assert record == ["kept running", "interrupted at the checkpoint"]


def test_ki_in_protected_code_is_raised_by_checkpoint_if_cancelled() -> None:
    record = []

    @lowlevel.enable_ki_protection
    def protected_ctrl_c() -> None:
        ctrl_c()

    async def main() -> None:
        protected_ctrl_c()
        try:
            await lowlevel.checkpoint_if_cancelled()
        except KeyboardInterrupt:
            record.append("interrupted")

    run(main)
    assert record == ["interrupted"]


def test_ki_pending_when_main_returns_is_raised_from_run() -> None:
    @lowlevel.enable_ki_protection
    async def main() -> str:
        ctrl_c()
        return "finished without a checkpoint"

    with pytest.raises(KeyboardInterrupt):
        triolet.run(main)


def test_sleep_forever_in_the_main_task_stops_on_ctrl_c() -> None:
    async def main() -> None:
        lowlevel.spawn_system_task(ctrl_c_from_a_system_task)
        await triolet.sleep_forever()

    with pytest.raises(KeyboardInterrupt):
        triolet.run(main)


def test_ctrl_c_from_another_thread_wakes_a_loop_blocked_in_io_wait() -> None:
    async def send_ctrl_c_from_a_thread() -> None:
        await wait_all_tasks_blocked()
        threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)).start()

    async def main() -> None:
        lowlevel.spawn_system_task(send_ctrl_c_from_a_thread)
        await triolet.sleep_forever()

    with pytest.raises(KeyboardInterrupt):
        triolet.run(main)


def test_ctrl_c_while_main_waits_in_a_nursery_cancels_the_children() -> None:
    cancelled = []

    async def child() -> None:
        try:
            await triolet.sleep_forever()
        except triolet.Cancelled:
            cancelled.append("child")
            raise

    async def main() -> None:
        lowlevel.spawn_system_task(ctrl_c_from_a_system_task)
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child)

    with pytest.raises(BaseExceptionGroup) as info:
        run(main)
    assert info.value.subgroup(KeyboardInterrupt) is not None
    assert cancelled == ["child"]


def test_ki_in_an_unprotected_child_task_is_raised_there() -> None:
    async def child() -> None:
        ctrl_c()

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child)

    with pytest.raises(BaseExceptionGroup) as info:
        run(main)
    assert info.value.subgroup(KeyboardInterrupt) is not None


def test_ctrl_c_in_a_shielded_sleep_still_interrupts_the_main_task() -> None:
    async def main() -> None:
        lowlevel.spawn_system_task(ctrl_c_from_a_system_task)
        with triolet.CancelScope(shield=True):
            await triolet.sleep_forever()

    with pytest.raises(KeyboardInterrupt):
        triolet.run(main)


def test_ctrl_c_while_main_waits_in_start_comes_out_once_grouped() -> None:
    async def server(task_status: triolet.TaskStatus[None]) -> None:
        await triolet.sleep_forever()

    async def main() -> None:
        lowlevel.spawn_system_task(ctrl_c_from_a_system_task)
        async with triolet.open_nursery() as nursery:
            await nursery.start(server)

    with pytest.raises(BaseExceptionGroup) as info:
        run(main)
    assert [type(e) for e in info.value.exceptions] == [KeyboardInterrupt]


def test_run_survives_a_caught_keyboard_interrupt() -> None:
    async def main() -> str:
        lowlevel.spawn_system_task(ctrl_c_from_a_system_task)
        try:
            await triolet.sleep_forever()
        except KeyboardInterrupt:
            pass
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(triolet.sleep, 1)
        with triolet.move_on_after(1):
            await triolet.sleep_forever()
        return "still working"

    assert run(main, clock=MockClock(autojump_threshold=0)) == "still working"


def test_restrict_to_checkpoints_defers_ki_in_unprotected_code() -> None:
    record = []

    async def main() -> None:
        try:
            ctrl_c()
            record.append("kept running")
            await triolet.sleep(0)
        except KeyboardInterrupt:
            record.append("interrupted at the checkpoint")

    run(main, restrict_keyboard_interrupt_to_checkpoints=True)
    assert record == ["kept running", "interrupted at the checkpoint"]


def test_ki_in_a_protected_child_task_goes_to_the_main_task() -> None:
    @lowlevel.enable_ki_protection
    async def child() -> None:
        ctrl_c()

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child)
        await triolet.sleep_forever()

    with pytest.raises((KeyboardInterrupt, BaseExceptionGroup)) as info:
        triolet.run(main)
    if isinstance(info.value, BaseExceptionGroup):
        assert info.value.subgroup(KeyboardInterrupt) is not None


def test_sigint_handler_is_restored_after_run() -> None:
    async def main() -> None:
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler

    run(main)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_custom_sigint_handler_is_left_alone() -> None:
    calls = []

    def custom_handler(signum: int, frame: types.FrameType | None) -> None:
        calls.append(signum)

    async def main() -> bool:
        ctrl_c()
        await triolet.sleep(0)
        return signal.getsignal(signal.SIGINT) is custom_handler

    previous = signal.signal(signal.SIGINT, custom_handler)
    try:
        assert run(main)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls == [signal.SIGINT]


# ---------------------------------------------------------------------- protection
async def test_user_task_is_not_ki_protected() -> None:
    assert not lowlevel.currently_ki_protected()


async def test_enable_ki_protection_protects_an_async_function() -> None:
    @lowlevel.enable_ki_protection
    async def protected() -> bool:
        return lowlevel.currently_ki_protected()

    assert await protected()


async def test_enable_ki_protection_protects_a_sync_function() -> None:
    @lowlevel.enable_ki_protection
    def protected() -> bool:
        return lowlevel.currently_ki_protected()

    assert protected()


async def test_enable_ki_protection_protects_generators() -> None:
    @lowlevel.enable_ki_protection
    def gen() -> Iterator[bool]:
        yield lowlevel.currently_ki_protected()

    @lowlevel.enable_ki_protection
    async def agen() -> types.AsyncGeneratorType[bool, None]:  # type: ignore[misc]
        yield lowlevel.currently_ki_protected()

    results = list(gen())
    async for value in agen():
        results.append(value)
    assert results == [True, True]


async def test_disable_ki_protection_inside_protected_code() -> None:
    @lowlevel.disable_ki_protection
    def unprotected() -> bool:
        return lowlevel.currently_ki_protected()

    @lowlevel.enable_ki_protection
    def protected() -> bool:
        return unprotected()

    assert protected() is False


async def test_protection_is_inherited_by_called_functions() -> None:
    def plain() -> bool:
        return lowlevel.currently_ki_protected()

    @lowlevel.enable_ki_protection
    def protected() -> bool:
        return plain()

    assert protected()


async def test_run_sync_soon_callbacks_are_ki_protected() -> None:
    seen = []
    lowlevel.current_trio_token().run_sync_soon(
        lambda: seen.append(lowlevel.currently_ki_protected())
    )
    await wait_all_tasks_blocked()
    assert seen == [True]


# ---------------------------------------------------------------------- kernel integrity
@contextmanager
def ctrl_c_when_reaching(function: Callable[..., object], marker: str | None) -> Iterator[None]:
    """Deliver SIGINT once ``function`` reaches the source line containing ``marker``.

    With ``marker=None``, deliver it as ``function`` returns. Either way the interrupt
    lands in the middle of kernel code, between two of its statements.
    """
    code = inspect.unwrap(function).__code__
    target = None
    if marker is not None:
        lines, first = inspect.getsourcelines(code)
        target = next(first + i for i, line in enumerate(lines) if marker in line)
    fired = []

    def tracer(frame: types.FrameType, event: str, arg: object) -> object:
        if frame.f_code is not code:
            return None
        if fired:
            return tracer
        if (marker is None and event == "return") or (event == "line" and frame.f_lineno == target):
            fired.append(True)
            ctrl_c()
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)
    assert fired, f"never reached {marker!r} in {function!r}"


async def park_until_timeout(seconds: float) -> bool:
    """Park in a ParkingLot nobody unparks; True if only the timeout woke us."""
    lot = lowlevel.ParkingLot()
    with triolet.move_on_after(seconds) as scope:
        await lot.park()
    return scope.cancelled_caught


@pytest.mark.triolet_only
def test_ctrl_c_inside_sleep_until_leaves_no_stale_timer() -> None:
    from triolet._core import _sleep

    async def main() -> bool:
        try:
            with ctrl_c_when_reaching(_sleep._park_until, None):  # timer armed, not parked
                await triolet.sleep(5)
        except KeyboardInterrupt:
            pass
        return await park_until_timeout(10)

    assert run(main, clock=MockClock(autojump_threshold=0))


@pytest.mark.triolet_only
def test_ctrl_c_inside_wait_all_tasks_blocked_leaves_no_stale_waiter() -> None:
    from triolet._core import _testing

    async def main() -> bool:
        try:
            with ctrl_c_when_reaching(_testing.wait_all_tasks_blocked, "await wait_task"):
                await wait_all_tasks_blocked()
        except KeyboardInterrupt:
            pass
        return await park_until_timeout(10)

    assert run(main, clock=MockClock(autojump_threshold=0))


@pytest.mark.triolet_only
def test_ctrl_c_inside_wait_readable_leaves_no_stale_registration() -> None:
    import socket

    from triolet._core import _run

    async def main() -> None:
        a, b = socket.socketpair()
        with a, b:
            try:
                # Between arming the fd and parking on it.
                with ctrl_c_when_reaching(_run.wait_readable, "await yield_to_loop"):
                    await lowlevel.wait_readable(a)
            except KeyboardInterrupt:
                pass
            b.send(b"x")
            await lowlevel.wait_readable(a)  # BusyResourceError if the first wait stayed

    run(main)


@pytest.mark.triolet_only
def test_ctrl_c_while_setting_a_deadline_keeps_the_scope_consistent() -> None:
    from triolet._core._cancel import CancelScope

    async def main() -> tuple[float, float]:
        with triolet.move_on_after(10):
            with triolet.CancelScope(deadline=5) as scope:
                try:
                    with ctrl_c_when_reaching(CancelScope._set_deadline, "self._deadline ="):
                        scope.deadline = 3
                    await lowlevel.checkpoint()
                except KeyboardInterrupt:
                    pass
                await triolet.sleep_forever()
        return triolet.current_time(), scope.deadline

    # Whichever deadline the scope reports is the one that fires.
    woke_at, deadline = run(main, clock=MockClock(autojump_threshold=0))
    assert woke_at == deadline


@pytest.mark.triolet_only
def test_ctrl_c_while_the_entry_queue_lock_is_held_does_not_deadlock() -> None:
    # In a subprocess, so that a regression hangs only that process.
    program = textwrap.dedent(
        """
        import signal
        import triolet
        from triolet import lowlevel
        from triolet._core._state import run_context

        @lowlevel.enable_ki_protection
        async def main():
            with run_context.runner.entry_queue.lock:
                signal.raise_signal(signal.SIGINT)
            await triolet.sleep_forever()

        try:
            triolet.run(main)
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() == "interrupted", result.stderr
