"""Starting and finishing a run: ``run()`` (we own the thread) and ``start_guest_run()``.

Both drive the same generator, ``Runner.run_loop()``: it yields how long it may wait
for I/O and is sent the events that arrived. ``run()`` answers by polling right here.
Guest mode answers from a helper thread, then hops back onto the host loop's thread
(through the host's ``run_sync_soon_threadsafe``) for the next tick, so triolet tasks
always run in the host's thread, between the host's own callbacks.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import outcome
import sniffio

from ._abc import Clock, Instrument
from ._clocks import SystemClock
from ._exceptions import TrioInternalError
from ._io_common import IOEvents
from ._ki import KIManager, mark_kernel_code
from ._run import Runner, _sniffio_name
from ._state import active_runners, run_context
from ._util import coroutine_or_error, name_of

RetT = TypeVar("RetT")

# Called with each new Runner before its first step (the debugging layer registers
# here to honour TRIOLET_WATCHDOG / TRIOLET_DEBUG_SERVER without the kernel importing it).
_run_start_hooks: list[Callable[[Runner], None]] = []


def _refuse_nested_run() -> None:
    if run_context.runner is not None:
        raise RuntimeError(
            "Attempted to call run() from inside a run(); use 'await' (or a nursery) to "
            "run async code from async code"
        )


def _open_run(
    async_fn: Callable[..., Awaitable[object]],
    args: tuple[object, ...],
    clock: Clock | None,
    instruments: Sequence[Instrument],
    restrict_keyboard_interrupt_to_checkpoints: bool,
    strict_exception_groups: bool,
) -> tuple[Runner, KIManager]:
    """Create the runner, install per-run hooks and spawn the root task.

    Leaves ``run_context.runner`` pointing at the new runner.
    """
    main_coro = coroutine_or_error(async_fn, args)
    runner = Runner(clock or SystemClock(), instruments, strict_exception_groups)
    ki = KIManager()
    run_context.runner = runner
    runner.clock.start_clock()
    attach = getattr(runner.clock, "_attach_runner", None)
    if attach is not None:
        attach(runner)
    active_runners.add(runner)
    for hook in _run_start_hooks:
        hook(runner)
    runner.instruments.call("before_run")
    ki.install(runner, restrict_keyboard_interrupt_to_checkpoints)
    runner.asyncgens.install()
    runner.init_task = runner.spawn(
        runner.init, (main_coro, name_of(async_fn)), None, "<init>", system=True
    )
    return runner, ki


def _close_run(runner: Runner, ki: KIManager) -> None:
    """Undo everything :func:`_open_run` installed (always runs, even after a crash)."""
    runner.asyncgens.uninstall()
    ki.uninstall()
    active_runners.discard(runner)
    try:
        runner.instruments.call("after_run")
    finally:
        runner.entry_queue.close()
        runner.io.close()
        run_context.runner = None
        detach = getattr(runner.clock, "_attach_runner", None)
        if detach is not None:
            detach(None)


def _final_outcome(runner: Runner) -> outcome.Outcome[Any]:
    if runner.internal_errors:
        return outcome.Error(runner.internal_errors[0])
    result = runner.main_outcome
    if result is None:
        return outcome.Error(TrioInternalError("the run ended without a result from the main task"))
    if runner.ki_pending:
        interrupt = KeyboardInterrupt()
        if isinstance(result, outcome.Error):
            interrupt.__context__ = result.error
        return outcome.Error(interrupt)
    return result


def run(
    async_fn: Callable[..., Awaitable[RetT]],
    *args: object,
    clock: Clock | None = None,
    instruments: Sequence[Instrument] = (),
    restrict_keyboard_interrupt_to_checkpoints: bool = False,
    strict_exception_groups: bool = True,
) -> RetT:
    """Run ``async_fn(*args)`` as the main task of a new event loop and return its result.

    Blocks until the main task and every task it started have finished. Raises
    whatever the main task raised; RuntimeError if called inside another run in this
    thread; TypeError if ``async_fn`` is not an async function (or is a coroutine
    object: pass the function, not ``async_fn()``).
    """
    _refuse_nested_run()
    previous_sniffio = sniffio.thread_local.name
    runner, ki = _open_run(
        async_fn,
        args,
        clock,
        instruments,
        restrict_keyboard_interrupt_to_checkpoints,
        strict_exception_groups,
    )
    try:
        sniffio.thread_local.name = _sniffio_name()
        loop = runner.run_loop()
        wait_for_events = runner.io.wait_for_events
        try:
            timeout = next(loop)
            while True:
                timeout = loop.send(wait_for_events(timeout))
        except StopIteration:
            pass
    except BaseException as exc:
        raise TrioInternalError("internal error in triolet: the run loop itself failed") from exc
    finally:
        sniffio.thread_local.name = previous_sniffio
        _close_run(runner, ki)
    return _final_outcome(runner).unwrap()  # type: ignore[no-any-return]


class _GuestDriver:
    """Runs one guest-mode run: ticks on the host thread, I/O waits on a helper thread."""

    def __init__(
        self,
        runner: Runner,
        ki: KIManager,
        run_sync_soon_threadsafe: Callable[[Callable[[], object]], object],
        run_sync_soon_not_threadsafe: Callable[[Callable[[], object]], object],
        done_callback: Callable[[outcome.Outcome[Any]], object],
    ) -> None:
        self.runner = runner
        self.ki = ki
        self.threadsafe = run_sync_soon_threadsafe
        self.not_threadsafe = run_sync_soon_not_threadsafe
        self.done_callback = done_callback
        self.loop = runner.run_loop()
        self.started = False
        self.waits: queue.SimpleQueue[float | None] = queue.SimpleQueue()
        self.io_thread = threading.Thread(
            target=self._io_thread_main, name="triolet guest I/O", daemon=True
        )
        self.io_thread.start()

    def _io_thread_main(self) -> None:
        wait_for_events = self.runner.io.wait_for_events
        while True:
            timeout = self.waits.get()
            if timeout is None:
                return
            events = wait_for_events(timeout)
            try:
                self.threadsafe(functools.partial(self.tick, events))
            except RuntimeError:
                return  # the host loop has stopped (closed): nobody is left to run the guest

    def first_tick(self) -> None:
        self.tick([])

    def tick(self, events: IOEvents) -> None:
        runner = self.runner
        previous_runner = run_context.runner
        previous_sniffio = sniffio.thread_local.name
        run_context.runner = runner
        sniffio.thread_local.name = _sniffio_name()
        finished = False
        try:
            if not self.started:
                self.started = True
                timeout = next(self.loop)
            else:
                timeout = self.loop.send(events)
        except StopIteration:
            finished = True
        except BaseException as exc:
            error = TrioInternalError("internal error in triolet: the guest run loop failed")
            error.__cause__ = exc
            runner.internal_errors.append(error)
            finished = True
        finally:
            sniffio.thread_local.name = previous_sniffio
            run_context.runner = previous_runner
        if finished:
            self.waits.put(None)
            run_context.runner = runner
            try:
                _close_run(runner, self.ki)
            finally:
                run_context.runner = previous_runner
            self.done_callback(_final_outcome(runner))
        elif timeout <= 0:
            # Runnable tasks: poll without blocking here, and let the host run in between.
            self.not_threadsafe(functools.partial(self.tick, runner.io.wait_for_events(0)))
        else:
            self.waits.put(timeout)


def start_guest_run(
    async_fn: Callable[..., Awaitable[RetT]],
    *args: object,
    run_sync_soon_threadsafe: Callable[[Callable[[], object]], object],
    done_callback: Callable[[outcome.Outcome[RetT]], object],
    run_sync_soon_not_threadsafe: Callable[[Callable[[], object]], object] | None = None,
    host_uses_signal_set_wakeup_fd: bool = False,
    clock: Clock | None = None,
    instruments: Sequence[Instrument] = (),
    restrict_keyboard_interrupt_to_checkpoints: bool = False,
    strict_exception_groups: bool = True,
) -> None:
    """Start ``async_fn(*args)`` as a triolet run hosted inside another event loop.

    triolet's tasks then run on the host loop's thread, scheduled through
    ``run_sync_soon_threadsafe`` (and ``run_sync_soon_not_threadsafe`` when given);
    waiting for I/O happens in a helper thread. ``done_callback`` receives the main
    task's outcome (an ``outcome.Value`` or ``outcome.Error``) when the run ends.
    Returns at once.
    """
    _refuse_nested_run()
    runner, ki = _open_run(
        async_fn,
        args,
        clock,
        instruments,
        restrict_keyboard_interrupt_to_checkpoints,
        strict_exception_groups,
    )
    run_context.runner = None  # between ticks, this thread belongs to the host
    driver = _GuestDriver(
        runner,
        ki,
        run_sync_soon_threadsafe,
        run_sync_soon_not_threadsafe or run_sync_soon_threadsafe,
        done_callback,
    )
    (run_sync_soon_not_threadsafe or run_sync_soon_threadsafe)(driver.first_tick)


mark_kernel_code(run, start_guest_run, _GuestDriver.tick, _open_run, _close_run)
