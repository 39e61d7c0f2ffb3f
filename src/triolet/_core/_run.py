"""The run loop.

One :class:`Runner` exists per ``triolet.run()`` call. It owns the run queue, the
deadline heap, the I/O backend, the clock, the instruments and the entry queue.

Invariants
----------
* A task is in exactly one of three states: *running* (it is ``current_task``),
  *runnable* (it is in ``runq`` exactly once, with ``_next_fn``/``_next_arg`` saying how
  to resume it) or *parked* (``_abort_func`` is set; only ``reschedule`` or a
  cancellation makes it runnable again).
* Tasks talk to the loop only through the messages in ``_traps.py``.
* Nothing on the per-step path allocates except what the task itself asks for;
  instruments cost one boolean test per step when none is installed.
* Every task lives in a nursery; the root task (``<init>``) owns the system nursery,
  which holds the main task and the system tasks.

Each pass of the loop has four phases, in this order:

1. TIMEOUT: how long we may block (0 if tasks are runnable; else until the next
   deadline or idle waiter).
2. I/O: poll the backend (always when idle or instrumented; when busy, every ``IO_POLL_STEPS`` task
   steps, so a task spinning on checkpoints can't starve sockets). If the entry queue's
   wakeup fd fired, run its callbacks right here (``serve_entry_queue``).
3. TIME: expire deadlines (wake sleepers, cancel scopes); fire idle waiters and the
   mock clock's autojump when everything stayed blocked.
4. RUN: step each task that was runnable at the start of this phase once.
"""

from __future__ import annotations

import contextvars
import math
import os
import select
import sys
import types
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from contextvars import copy_context
from dataclasses import dataclass
from itertools import count
from time import perf_counter
from types import CoroutineType
from typing import Any, NoReturn, TypeVar

import outcome

from ._abc import Clock, Instrument
from ._asyncgens import AsyncGeneratorTracker
from ._cancel import CancelScope
from ._clocks import SystemClock
from ._deadlines import Deadlines
from ._entry_queue import EntryQueue, TrioToken
from ._exceptions import Cancelled, DeadlockError, TrioInternalError
from ._instruments import Instruments
from ._io_common import FdWaiters, HasFileno, IOEvents, IOStatistics, fileno_of
from ._ki import mark_kernel_code
from ._nursery import Nursery, open_nursery
from ._state import current_runner, current_task_or_error, run_context
from ._task import Task
from ._traps import (
    CHECKPOINT,
    Abort,
    DetachRequest,
    ParkRequest,
    RaiseCancelT,
    wait_task_rescheduled,
    yield_to_loop,
)
from ._util import check_coroutine

RetT = TypeVar("RetT")

# While tasks are runnable, poll for I/O after this many task steps.
IO_POLL_STEPS = 64

_NO_SEND: Any = object()

# How many schedule points of non-waiting channel operations may pass without yielding
# before one must yield (see Runner.free_schedule_points). Counting instead of timing
# keeps the check to a decrement. 128 is Tokio's per-task budget; ours is run-wide.
SCHEDULE_POINT_ALLOWANCE = 128


def schedule_point_allowance() -> int:
    """The allowance for a new run: TRIOLET_STRICT_SCHEDULE_POINTS=1 makes it 0."""
    strict = os.environ.get("TRIOLET_STRICT_SCHEDULE_POINTS", "")
    return 0 if strict not in ("", "0") else SCHEDULE_POINT_ALLOWANCE


@dataclass(frozen=True)
class RunStatistics:
    """A snapshot of the run: see :func:`current_statistics`."""

    tasks_living: int
    tasks_runnable: int
    seconds_to_next_deadline: float
    io_statistics: IOStatistics
    run_sync_soon_queue_size: int


def _make_io_manager(runner: Runner) -> Any:
    if hasattr(select, "epoll"):
        from ._io_epoll import EpollIOManager

        return EpollIOManager(runner)
    from ._io_selectors import SelectorsIOManager

    return SelectorsIOManager(runner)


class Runner:
    def __init__(
        self,
        clock: Clock,
        instruments: Sequence[Instrument],
        strict_exception_groups: bool,
    ) -> None:
        self.clock = clock
        # The real clock's offset, so hot paths can read the time without a method call.
        self.clock_offset: float | None = clock.offset if type(clock) is SystemClock else None
        self.strict_exception_groups = strict_exception_groups
        self.runq: deque[Task] = deque()
        self.deadlines = Deadlines()
        self.io = _make_io_manager(self)
        self.entry_queue = EntryQueue()
        self.token = self.entry_queue.token
        # The wakeup fd's registration; its read_task is the entry-queue task while that
        # task lives. It is not in the I/O manager's own table: the loop serves it.
        self.wakeup_waiters = FdWaiters(self.entry_queue.wakeup_fd)
        self.wakeup_needs_drain = True  # until the backend says otherwise (watch_wakeup_fd)
        self.instruments = Instruments(instruments, self._instruments_changed)
        self.instrumented = bool(self.instruments)
        self.current_task: Task | None = None
        self.tasks_living = 0
        self.init_task: Task | None = None
        self.main_task: Task | None = None
        self.main_outcome: outcome.Outcome[Any] | None = None
        self.system_nursery: Nursery | None = None
        self.system_context = contextvars.copy_context()
        self.run_vars: dict[Any, Any] = {}
        self.ki_pending = False
        # Bumped once per I/O poll (at least every IO_POLL_STEPS steps). A watchdog thread
        # that sees the same value and the same current task for long knows that one
        # step is hogging the loop.
        self.polls = 0
        # Poll for I/O and expire deadlines on the next pass, even when busy. Set by
        # MockClock.jump, and by each yield that the scheduling policy forces (so that a
        # task whose operations never wait can't put polls 128 times further apart).
        self.poll_soon = False
        self.init_waiting_for_main = False
        # Deadlock detection (opt-in): None, "raise" or "print".
        self.deadlock_mode: str | None = os.environ.get("TRIOLET_DETECT_DEADLOCKS") or None
        self.deadlock_reported = False
        # Things outside the loop that will call back into it (threads, signal receivers).
        self.external_wakers = 0
        self.idle_waiters: dict[tuple[float, int], Task] = {}
        self._idle_tokens = count()
        self.asyncgens = AsyncGeneratorTracker(self)
        self.internal_errors: list[BaseException] = []
        # Scheduling policy for the schedule points of operations that did not have to wait
        # (a memory channel send or receive that found room or an item): up to
        # ``schedule_point_allowance`` of them in a row, counted run-wide, return without
        # yielding; the next one yields and refills the count. 0 makes every one yield.
        self.schedule_point_allowance = schedule_point_allowance()
        self.free_schedule_points = self.schedule_point_allowance

    def refill_schedule_points(self) -> None:
        """A schedule point the policy does not let pass: count again, and poll soon."""
        allowance = self.free_schedule_points = self.schedule_point_allowance
        if allowance:
            self.poll_soon = True  # the end of a run of skipped yields (see poll_soon)

    def _instruments_changed(self) -> None:
        self.instrumented = bool(self.instruments)

    # ------------------------------------------------------------------ spawning
    def spawn(
        self,
        async_fn: Callable[..., Awaitable[object]],
        args: tuple[object, ...],
        nursery: Nursery | None,
        name: object,
        system: bool = False,
        context: contextvars.Context | None = None,
    ) -> Task:
        # coroutine_or_error()'s fast path, inlined: start_soon runs this for every task.
        if callable(async_fn) and type(async_fn) is not CoroutineType:  # type: ignore[comparison-overlap]
            coro = async_fn(*args)
            if type(coro) is not CoroutineType:
                coro = check_coroutine(async_fn, args, coro)  # accepts, or explains
        else:
            coro = check_coroutine(async_fn, args, None)  # explains
        if context is None:
            context = self.system_context.copy() if system else copy_context()
        # A name that isn't a string yet is worked out only if someone asks for it.
        task = Task()
        task.coro = coro
        task._name = async_fn if name is None else name
        task.context = context
        task._runner = self
        task._parent_nursery = nursery
        # Unbound (the type's send, called with the coroutine): no bound method per task.
        task._send = task._next_fn = type(coro).send
        # Read at every checkpoint and at exit: instance attributes, not class defaults
        # (see CancelScope for why that matters on CPython 3.11).
        task._pending_interrupt = None
        task._parking_lot_breakers = None
        if system:
            task._ki_protected = True
        self.tasks_living += 1
        if nursery is not None:
            nursery._children.add(task)
            task._cancel_status = nursery.cancel_scope
        self.runq.append(task)
        if self.instrumented:
            self.instruments.call("task_spawned", task)
            self.instruments.call("task_scheduled", task)
        return task

    def spawn_coro(
        self,
        coro: Coroutine[Any, Any, Any],
        name: object,
        nursery: Nursery | None,
        context: contextvars.Context | None = None,
    ) -> Task:
        """Spawn a task for a coroutine object that already exists (the main task's)."""
        return self.spawn(lambda: coro, (), nursery, name, False, context)

    def spawn_system_task(
        self,
        async_fn: Callable[..., Awaitable[object]],
        *args: object,
        name: object = None,
        context: contextvars.Context | None = None,
    ) -> Task:
        return self.spawn(async_fn, args, self.system_nursery, name, True, context)

    # ------------------------------------------------------------------ waking
    def reschedule(self, task: Task, next_send: outcome.Outcome[Any] = _NO_SEND) -> None:
        if task._abort_func is None:
            raise RuntimeError(
                f"can't reschedule {task!r}: it is not parked in wait_task_rescheduled "
                "(it is running, already runnable, or finished)"
            )
        if next_send is _NO_SEND:
            task._next_fn = task._send
            task._next_arg = None
        elif isinstance(next_send, outcome.Value):
            task._next_fn = task._send
            task._next_arg = next_send.value
        elif isinstance(next_send, outcome.Error):
            task._next_fn = type(task.coro).throw
            task._next_arg = next_send.error
        else:
            raise TypeError(
                f"reschedule expects an outcome.Value or outcome.Error, not {next_send!r}"
            )
        task._abort_func = None  # only now: a refused call leaves the task parked
        self.runq.append(task)
        if self.instrumented:
            self.instruments.call("task_scheduled", task)

    def wake(self, task: Task, value: object) -> None:
        """``reschedule(task, Value(value))`` without allocating the outcome."""
        task._abort_func = None
        task._next_fn = task._send
        task._next_arg = value
        self.runq.append(task)
        if self.instrumented:
            self.instruments.call("task_scheduled", task)

    def pending_interrupt(self, task: Task) -> BaseException:
        """The exception a cancelled (or Ctrl-C'd main) task gets at its next cancel point."""
        interrupt = task._pending_interrupt
        if interrupt is not None:
            task._pending_interrupt = None
            if isinstance(interrupt, KeyboardInterrupt):
                self.ki_pending = False
            return interrupt
        status = task._cancel_status
        assert status is not None
        return status._make_cancelled()

    def deliver_cancel(self, task: Task) -> None:
        """Ask a parked task's abort function to stop waiting, because it was cancelled."""
        abort = task._abort_func
        if abort is None:
            return
        pending: list[BaseException] = []

        def raise_cancel() -> NoReturn:
            error = self.pending_interrupt(task)
            pending.append(error)
            raise error

        try:
            result = abort(raise_cancel)
        except BaseException as exc:
            self.crash(TrioInternalError(f"abort function of {task!r} raised"), exc)
            return
        if result is Abort.SUCCEEDED:
            if task._abort_func is abort:
                error = pending[0] if pending else self.pending_interrupt(task)
                self.reschedule(task, outcome.Error(error))
        elif result is not Abort.FAILED:
            self.crash(
                TrioInternalError(
                    f"abort function of {task!r} returned {result!r}; it must return "
                    "Abort.SUCCEEDED or Abort.FAILED"
                ),
                None,
            )

    def deliver_ki(self) -> None:
        if not self.ki_pending:
            return
        main = self.main_task
        if main is None or self.main_outcome is not None:
            return  # raised from run() at the end
        main._pending_interrupt = KeyboardInterrupt()
        if main._abort_func is not None:
            self.deliver_cancel(main)

    def crash(self, error: BaseException, cause: BaseException | None) -> None:
        """Record a kernel failure and tear the run down."""
        error.__cause__ = cause
        self.internal_errors.append(error)
        if self.system_nursery is not None:
            self.system_nursery.cancel_scope._record_cancel("shutdown", None, None)

    # ------------------------------------------------------------------ task exit
    def task_finished(self, task: Task, error: BaseException | None, value: object = None) -> None:
        """``task`` returned ``value`` (``error`` is None) or raised ``error``."""
        status = task._cancel_status
        nursery = task._parent_nursery
        if status is not None:
            if nursery is not None and status is not nursery.cancel_scope:
                corrupted = RuntimeError(
                    f"task {task.name!r} exited with a cancel scope still open (cancel scope "
                    "stack corrupted); was a CancelScope entered without being exited?"
                )
                corrupted.__context__ = error
                error = corrupted
        task._cancel_status = None
        self.tasks_living -= 1
        if task is self.main_task:
            self.main_outcome = outcome.Value(value) if error is None else outcome.Error(error)
            if nursery is not None:
                nursery._child_finished(task, None)
            init = self.init_task
            # Only if init is parked waiting for main: if a crash cancelled it, it may be
            # parked in its nursery's exit instead, which only the nursery may wake.
            if init is not None and self.init_waiting_for_main:
                self.init_waiting_for_main = False
                self.wake(init, None)
        elif task is self.init_task:
            if error is not None:
                self.crash(TrioInternalError("a system task crashed the run"), error)
        elif nursery is not None:  # nursery._child_finished(task, error), inlined
            nursery._children.discard(task)
            if error is not None:
                nursery._add_error(error)
            if nursery._parent_waiting:
                nursery._maybe_wake_parent()
        if task._parking_lot_breakers:
            for lot in task._parking_lot_breakers:
                lot.break_lot(task)
            task._parking_lot_breakers = None
        if self.instrumented:
            self.instruments.call("task_exited", task)

    # ------------------------------------------------------------------ the root task
    async def init(self, main_coro: Coroutine[Any, Any, Any], main_name: str) -> None:
        async with open_nursery() as system_nursery:
            self.system_nursery = system_nursery
            self.main_task = self.spawn_coro(
                main_coro, main_name, system_nursery, self.system_context.copy()
            )
            self.spawn_system_task(self.entry_queue_task, name="<TrioToken.run_sync_soon task>")
            if self.main_outcome is None:
                self.init_waiting_for_main = True
                await wait_task_rescheduled(self._abort_init_wait)
            await self.asyncgens.close_survivors()
            system_nursery.cancel_scope._record_cancel("shutdown", None, None)

    def _abort_init_wait(self, raise_cancel: RaiseCancelT) -> Abort:
        self.init_waiting_for_main = False
        return Abort.SUCCEEDED

    async def entry_queue_task(self) -> None:
        # Registers the wakeup fd with the I/O backend, once for the whole run (no
        # re-arming per wakeup), then stays parked: each time the fd fires, the loop
        # itself runs the callbacks in this task's name (see serve_entry_queue), which
        # spares a task step per wakeup. Cancelled at the end of the run, it runs what
        # is left and exits.
        queue = self.entry_queue
        waiters = self.wakeup_waiters
        task = self.current_task
        assert task is not None
        try:
            if self.ki_pending:
                self.deliver_ki()
            queue.run_pending()
            waiters.read_task = task
            task.custom_sleep_data = waiters  # task trees show it waiting for the fd
            edge = self.io.watch_wakeup_fd(queue.wakeup_fd, queue.wakeup_is_counter)
            self.wakeup_needs_drain = not edge
            await wait_task_rescheduled(self._abort_entry_queue_wait)
        except Cancelled:
            queue.run_pending()
            raise
        finally:
            waiters.read_task = None
            task.custom_sleep_data = None

    def _abort_entry_queue_wait(self, raise_cancel: RaiseCancelT) -> Abort:
        return Abort.SUCCEEDED

    def serve_entry_queue(self) -> None:
        """Phase 2, when the wakeup fd fired: run the queued callbacks and deliver a
        pending KeyboardInterrupt, as the parked entry-queue task (its context, and
        ``current_task()`` is that task, as when it ran them itself). Instruments see a
        step of that task around the callbacks, as if the fd had woken it."""
        queue = self.entry_queue
        # Drain before running: a callback queued from now on writes again, so it is
        # either seen by run_pending below or makes the next poll report the fd.
        if self.wakeup_needs_drain:
            queue.drain_wakeups()
        task = self.wakeup_waiters.read_task
        if task is None:
            return  # the entry-queue task has exited: the run is over
        self.current_task = task
        instrumented = self.instrumented
        if instrumented:
            self.instruments.call("before_task_step", task)
        try:
            if self.ki_pending:
                self.deliver_ki()
            task.context.run(queue.run_pending)
        except BaseException as exc:
            self.crash(TrioInternalError("a TrioToken.run_sync_soon callback raised"), exc)
        finally:
            self.current_task = None
            if instrumented:
                self.instruments.call("after_task_step", task)

    # ------------------------------------------------------------------ the loop
    def timeout_until_next_event(self) -> tuple[float, bool]:
        """Phase 1 (idle case): seconds to block, and whether an idle waiter caps it."""
        timeout = math.inf
        next_deadline = self.deadlines.next_deadline()
        offset = self.clock_offset
        if next_deadline != math.inf:
            if offset is not None:  # the system clock, read without a method call
                timeout = next_deadline - (offset + perf_counter())
            else:
                timeout = self.clock.deadline_to_sleep_time(next_deadline)
            if timeout < 0.0:
                timeout = 0.0
        if offset is None or self.idle_waiters:  # the system clock never autojumps
            cushion = self.smallest_idle_cushion()
            if cushion < timeout:
                return cushion, True
        return timeout, False

    def smallest_idle_cushion(self) -> float:
        cushion = getattr(self.clock, "_idle_jump_after", math.inf)
        if self.idle_waiters:
            cushion = min(cushion, min(self.idle_waiters)[0])
        return cushion

    def fire_idle_waiters(self) -> None:
        """Phase 3 (idle case): everything stayed blocked for the smallest cushion."""
        autojump = getattr(self.clock, "_idle_jump_after", math.inf)
        if self.idle_waiters:
            smallest = min(self.idle_waiters)[0]
            if smallest <= autojump:
                for key in sorted(self.idle_waiters):
                    if key[0] == smallest:
                        self.wake(self.idle_waiters.pop(key), None)
                return
        if autojump != math.inf:
            jump = getattr(self.clock, "_jump_to_deadline", None)
            if jump is not None:
                jump(self.deadlines.next_deadline())

    def check_for_deadlock(self) -> None:
        """Idle with no timeout: if nothing can ever wake any task, report it (opt-in)."""
        wakeup_fd = self.entry_queue.wakeup_fd
        if (
            self.entry_queue.pending()
            or self.external_wakers
            or self.idle_waiters
            or self.io.waited_fds() - {wakeup_fd}
        ):
            self.deadlock_reported = False
            return
        if self.deadlock_reported:
            return
        self.deadlock_reported = True
        from ._introspect import format_task_tree, snapshot

        tree = snapshot(self)
        report = "every task is waiting and nothing can wake any of them:\n\n"
        report += format_task_tree(tree) if tree is not None else "(no tasks)"
        main = self.main_task
        if self.deadlock_mode == "print" or main is None or self.main_outcome is not None:
            print(f"triolet: deadlock detected, {report}", file=sys.stderr)
            return
        main._pending_interrupt = DeadlockError(report)
        self.deliver_cancel(main)

    def expire_deadlines(self) -> None:
        deadlines = self.deadlines
        next_deadline = deadlines.next_deadline()
        if next_deadline == math.inf:
            return
        offset = self.clock_offset
        now = offset + perf_counter() if offset is not None else self.clock.current_time()
        if next_deadline > now:
            return  # the usual case at a poll: nothing due yet
        for owner in deadlines.pop_expired(now):
            if isinstance(owner, Task):
                if owner._abort_func is not None:
                    self.wake(owner, None)
            else:
                owner._record_cancel("deadline", None, None)

    def run_loop(self) -> Generator[float, IOEvents, None]:
        """The loop itself, as a generator: it yields an I/O timeout and is sent the events.

        ``run()`` answers each yield by polling the backend in this thread; guest mode
        answers it from a helper thread while the host loop keeps running.
        """
        runq = self.runq
        popleft = runq.popleft
        append = runq.append
        deadlines = self.deadlines
        io = self.io
        steps_since_io = 0
        while self.tasks_living:
            # Phases 1-3 run whenever the loop is idle; while tasks stay runnable, only
            # every IO_POLL_STEPS steps (or at once after a MockClock jump), so a busy
            # loop pays for one step, not one step plus a poll and a clock read.
            if not runq or steps_since_io >= IO_POLL_STEPS or self.instrumented or self.poll_soon:
                self.poll_soon = False
                # ------------------------------------------------------------ 1. TIMEOUT
                idle_primed = False
                if runq:
                    timeout: float = 0
                else:
                    if self.internal_errors:
                        return  # crashed, and the tasks left can't finish: abandon them
                    if self.idle_waiters or self.clock_offset is None:
                        timeout, idle_primed = self.timeout_until_next_event()
                    elif deadlines._live or deadlines._pending_scopes:
                        # The system clock (it never autojumps): until the next deadline.
                        # timeout_until_next_event(), inlined for this usual case.
                        timeout = deadlines.next_deadline() - (self.clock_offset + perf_counter())
                        if timeout < 0.0:
                            timeout = 0.0
                    else:
                        # Nothing timed, and the system clock: block for I/O.
                        timeout = math.inf
                    if timeout == math.inf and self.deadlock_mode is not None:
                        self.check_for_deadlock()
                        if runq:
                            timeout = 0
                # ------------------------------------------------------------ 2. I/O
                steps_since_io = 0
                self.polls += 1
                if self.instrumented:
                    self.instruments.call("before_io_wait", timeout)
                events = yield timeout
                entry_queue_woken = events and io.process_events(events)
                if self.instrumented:
                    if entry_queue_woken and self.wakeup_waiters.read_task is not None:
                        # As if the fd woke the entry-queue task (see serve_entry_queue).
                        self.instruments.call("task_scheduled", self.wakeup_waiters.read_task)
                    self.instruments.call("after_io_wait", timeout)
                if entry_queue_woken:
                    self.serve_entry_queue()  # the wakeup fd fired
                # ------------------------------------------------------------ 3. TIME
                if deadlines._live or deadlines._pending_scopes:
                    self.expire_deadlines()
                if idle_primed and not runq:
                    self.fire_idle_waiters()
            # ---------------------------------------------------------------- 4. RUN
            batch = len(runq)
            steps_since_io += batch
            for _ in range(batch):
                task = popleft()
                self.current_task = task
                if self.instrumented:
                    self.instruments.call("before_task_step", task)
                try:
                    message = task.context.run(task._next_fn, task.coro, task._next_arg)
                except StopIteration as stop:
                    self.current_task = None
                    self.task_finished(task, None, stop.value)
                except BaseException as exc:
                    self.current_task = None
                    tb = exc.__traceback__
                    if tb is not None:
                        exc.__traceback__ = tb.tb_next  # drop the run loop's own frame
                    self.task_finished(task, exc)
                    del exc, tb
                else:
                    self.current_task = None
                    if message is CHECKPOINT:
                        task._next_fn = task._send
                        task._next_arg = task
                        append(task)
                        if self.instrumented:
                            self.instruments.call("task_scheduled", task)
                    elif type(message) is ParkRequest:
                        task._abort_func = message.abort_func
                        if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
                            self.deliver_cancel(task)
                    elif type(message) is DetachRequest:
                        final = message.final_outcome
                        if isinstance(final, outcome.Error):
                            self.task_finished(task, final.error)
                        else:
                            self.task_finished(task, None, final.value)  # type: ignore[attr-defined]
                    else:
                        task._next_fn = type(task.coro).throw
                        task._next_arg = TypeError(
                            f"triolet received an unrecognized yield message {message!r}. Are "
                            "you awaiting something from another async framework (an asyncio "
                            "Future, asyncio.sleep, ...) inside triolet? That can't work "
                            "without a compatibility layer such as anyio."
                        )
                        append(task)
                if self.instrumented:
                    self.instruments.call("after_task_step", task)
                del task


mark_kernel_code(
    Runner.run_loop,
    Runner.spawn,
    Runner.spawn_coro,
    Runner.reschedule,
    Runner.wake,
    Runner.deliver_cancel,
    Runner.task_finished,
    Runner.init,
    Runner.entry_queue_task,
    Runner.serve_entry_queue,
)


_sniffio_override: list[str] = []


def _sniffio_name() -> str:
    return _sniffio_override[-1] if _sniffio_override else "triolet"


# ---------------------------------------------------------------------- public kernel API
@types.coroutine
def checkpoint() -> Generator[object, Any, None]:
    """A full checkpoint: yield to other tasks, then raise Cancelled if cancelled."""
    # A generator-based coroutine: awaiting it costs one generator, not a coroutine
    # wrapped around yield_to_loop's generator. Every sleep(0) and channel op runs this.
    try:
        task: Task = yield CHECKPOINT
    except RuntimeError:
        current_task_or_error("triolet.lowlevel.checkpoint")  # foreign loop: explain
        raise
    if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
        raise task._runner.pending_interrupt(task)


@types.coroutine
def checkpoint_by_policy() -> Generator[object, Any, None]:
    """The checkpoint of an operation that completed without waiting (internal).

    Always a cancel point: raises Cancelled (after yielding) if the task is cancelled.
    A schedule point only when the run's scheduling policy says so: up to
    ``Runner.schedule_point_allowance`` such checkpoints in a row return without
    yielding, and the next one yields. Memory channels apply the same policy inline.
    """
    runner = run_context.runner
    task = runner.current_task if runner is not None else None
    if task is None or runner is None:
        task = current_task_or_error("checkpoint_by_policy")  # raises
        runner = task._runner
    if not (task._cancel_status._effectively_cancelled or task._pending_interrupt):  # type: ignore[union-attr]
        if runner.free_schedule_points:
            runner.free_schedule_points -= 1  # the policy lets this one pass
            return
        runner.refill_schedule_points()
    yield CHECKPOINT
    if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
        raise runner.pending_interrupt(task)


async def checkpoint_if_cancelled() -> None:
    """Raise Cancelled if the current task is cancelled; otherwise return (no yield).

    A cancel point but not a schedule point.
    """
    runner = run_context.runner
    task = runner.current_task if runner is not None else None
    if task is None:
        task = current_task_or_error("checkpoint_if_cancelled")
    if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
        await checkpoint()


def reschedule(task: Task, next_send: outcome.Outcome[Any] = _NO_SEND) -> None:
    """Wake a task parked in :func:`wait_task_rescheduled`, resuming it with ``next_send``.

    ``next_send`` is an ``outcome.Value`` (returned) or ``outcome.Error`` (raised);
    default ``Value(None)``. RuntimeError if the task is not parked.
    """
    task._runner.reschedule(task, next_send)


def current_task() -> Task:
    """The task that is running now. RuntimeError outside of a task."""
    runner = run_context.runner
    task = runner.current_task if runner is not None else None
    if task is None:  # only the error path pays for the explanation
        return current_task_or_error("current_task")
    return task


def current_root_task() -> Task | None:
    """The root task of the current run (the ancestor of every task)."""
    return current_runner("current_root_task").init_task


def current_clock() -> Clock:
    """The clock the current run uses."""
    return current_runner("current_clock").clock


def current_time() -> float:
    """The current time on the run's clock, in seconds (only differences are meaningful)."""
    return current_runner("current_time").clock.current_time()


def current_trio_token() -> TrioToken:
    """The :class:`TrioToken` of the current run, for use from other threads."""
    return current_runner("current_trio_token").token


def current_statistics() -> RunStatistics:
    """Counters describing the current run (tasks, deadlines, I/O waiters, queued callbacks)."""
    runner = current_runner("current_statistics")
    next_deadline = runner.deadlines.next_deadline()
    seconds = next_deadline - runner.clock.current_time() if next_deadline != math.inf else math.inf
    return RunStatistics(
        tasks_living=runner.tasks_living,
        tasks_runnable=len(runner.runq),
        seconds_to_next_deadline=seconds,
        io_statistics=runner.io.statistics(),
        run_sync_soon_queue_size=runner.entry_queue.size(),
    )


def current_effective_deadline() -> float:
    """The earliest deadline that applies to the current task; -inf if it is already cancelled."""
    task = current_task_or_error("current_effective_deadline")
    scope: CancelScope | None = task._cancel_status
    if scope is not None and scope._effectively_cancelled:
        return -math.inf
    deadline = math.inf
    while scope is not None:
        if scope._cancel_called:
            return -math.inf
        deadline = min(deadline, scope._deadline)
        if scope._shield:
            break
        scope = scope._parent
    return deadline


def spawn_system_task(
    async_fn: Callable[..., Awaitable[object]],
    *args: object,
    name: object = None,
    context: contextvars.Context | None = None,
) -> Task:
    """Start a task in the system nursery: not cancelled with the main task's scopes.

    System tasks are protected from KeyboardInterrupt; they are cancelled when the
    main task exits. An exception escaping one crashes the run with TrioInternalError.
    """
    return current_runner("spawn_system_task").spawn_system_task(
        async_fn, *args, name=name, context=context
    )


class external_wakeup_expected:
    """Mark a stretch during which something outside the loop (a thread, a signal
    handler) is expected to call back into it, so the opt-in deadlock detector does not
    mistake the wait for a deadlock. For library code such as ``to_thread``.
    """

    __slots__ = ("_runner",)

    def __init__(self) -> None:
        self._runner = current_runner("external_wakeup_expected")

    def __enter__(self) -> None:
        self._runner.external_wakers += 1

    def __exit__(self, *exc_info: object) -> None:
        self._runner.external_wakers -= 1


def add_instrument(instrument: Instrument) -> None:
    """Start calling ``instrument``'s hooks in the current run."""
    runner = current_runner("add_instrument")
    runner.instruments.add(instrument)
    # before_run has passed: instruments that start work there (LoopWatchdog) hook in here.
    added_during_run = getattr(instrument, "_added_during_run", None)
    if added_during_run is not None:
        added_during_run(runner)


def remove_instrument(instrument: Instrument) -> None:
    """Stop calling ``instrument``; KeyError if it is not installed."""
    current_runner("remove_instrument").instruments.remove(instrument)
    removed_during_run = getattr(instrument, "_removed_during_run", None)
    if removed_during_run is not None:
        removed_during_run()


def in_trio_run() -> bool:
    """Whether this thread is inside a triolet run (in a task or in the loop's code)."""
    return run_context.runner is not None


def in_trio_task() -> bool:
    """Whether a triolet task is running in this thread right now."""
    runner = run_context.runner
    return runner is not None and runner.current_task is not None


async def wait_readable(fd: int | HasFileno) -> None:
    """Block until ``fd`` (an int or socket-like object) is readable. A checkpoint.

    BusyResourceError if another task already waits to read it; ClosedResourceError
    if :func:`notify_closing` is called on it meanwhile.
    """
    runner = run_context.runner
    task = runner.current_task if runner is not None else None
    if task is None:
        task = current_task_or_error("wait_readable")
    if type(fd) is not int or fd < 0:
        fd = fileno_of(fd)
    await yield_to_loop(task._runner.io.arm(task, fd, True))


async def wait_writable(fd: int | HasFileno) -> None:
    """Block until ``fd`` is writable. A checkpoint. Errors as for :func:`wait_readable`."""
    runner = run_context.runner
    task = runner.current_task if runner is not None else None
    if task is None:
        task = current_task_or_error("wait_writable")
    if type(fd) is not int or fd < 0:
        fd = fileno_of(fd)
    await yield_to_loop(task._runner.io.arm(task, fd, False))


def notify_closing(fd: int | HasFileno) -> None:
    """Tell the loop that ``fd`` is about to be closed: its waiters get ClosedResourceError."""
    current_runner("notify_closing").io.notify_closing(fd)


# A Ctrl-C between arming an fd and parking on it would leave the fd registered.
mark_kernel_code(wait_readable, wait_writable)
