"""Blocking code in worker threads (``to_thread``) and calls back into the run (``from_thread``).

One ``to_thread.run_sync`` call is one :class:`_ThreadCall`. Its life:

1. The calling task (the *host*) takes a limiter token on behalf of the call, hands
   the job to the thread cache and parks in ``wait_task_rescheduled``.
2. The worker runs ``sync_fn`` in a copy of the host's contextvars, stores what it
   returned or raised on the call and queues ``report_back`` with
   ``TrioToken.run_sync_soon``.
3. ``report_back`` runs in the loop's thread: it returns the limiter token and
   reschedules the host with no value, meaning "finished" (the host then returns or
   raises what the worker stored). No task and no outcome object per call.

While it waits, the host also serves the worker's ``from_thread`` requests: a request
reschedules the host with the request object, the host runs it (so the callback sees
the host's cancel scopes, as trio's does) and parks again. The worker blocks on a lock
inside the request until the host has filled in the result.

Cancellation: with ``abandon_on_cancel=False`` the host keeps waiting, and remembers
the kernel's ``raise_cancel`` so that ``from_thread.check_cancelled`` can raise in the
worker. With ``abandon_on_cancel=True`` the host leaves at once; the call is
*abandoned*: its ``task`` is None, its result is dropped, its ``from_thread`` requests
run in system tasks, and its limiter token is returned only when the worker finishes.

Invariant: while a worker runs for a call that is not abandoned, the host is parked,
except while it serves a request, and the worker is then blocked on that request. So
whoever reschedules the host (``report_back`` or a request) always finds it parked.
Every decision that depends on "abandoned or not" is made in the loop's thread.
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from threading import get_ident
from types import CoroutineType
from typing import Any, TypeVar

import outcome

from ._core import (
    Abort,
    ParkingLot,
    RaiseCancelT,
    RunFinishedError,
    RunVar,
    Task,
    TrioToken,
    WouldBlock,
    cancel_shielded_checkpoint,
    checkpoint,
    checkpoint_if_cancelled,
    current_task,
    current_trio_token,
    disable_ki_protection,
    enable_ki_protection,
    external_wakeup_expected,
    in_trio_run,
    reschedule,
    spawn_system_task,
    wait_task_rescheduled,
)
from ._sync import CapacityLimiter
from ._thread_cache import start_uncaptured_job_soon

RetT = TypeVar("RetT")

DEFAULT_THREAD_LIMIT = 40


# ---------------------------------------------------------------------- per-run state
class _RunThreads:
    """What one run knows about its worker threads."""

    __slots__ = (
        "active_count",
        "all_done",
        "all_done_awaited",
        "limiter",
        "running",
        "token",
        "wakeup_expected",
    )

    def __init__(self) -> None:
        self.limiter = CapacityLimiter(DEFAULT_THREAD_LIMIT)
        self.token = current_trio_token()
        # to_thread calls that are still waiting for their worker (abandoned ones excluded).
        self.active_count = 0
        self.all_done = ParkingLot()
        # Whether a task may be parked in all_done: spares a ParkingLot.__bool__ call
        # (a Python call) each time active_count drops to zero.
        self.all_done_awaited = False
        # Workers still running, abandoned ones included: any of them may call back into
        # the run, so while there are some, the deadlock detector must not fire.
        self.running = 0
        # Entered while running > 0; one object for the whole run, re-entered as needed.
        self.wakeup_expected: AbstractContextManager[None] = external_wakeup_expected()

    def call_finished(self) -> None:
        """A call's host stopped waiting for it: its worker is done, or it was abandoned."""
        self.active_count -= 1
        if not self.active_count and self.all_done_awaited:
            self.all_done_awaited = False
            self.all_done.unpark_all()


_run_threads: RunVar[_RunThreads] = RunVar("triolet._threads")


def _threads_of_this_run() -> _RunThreads:
    try:
        return _run_threads.get()
    except LookupError:
        state = _RunThreads()
        _run_threads.set(state)
        return state


# to_thread's shortcut to _run_threads: a RunVar lookup costs a thread-local read, a
# formatted name and two calls, about a twentieth of a round trip. Each task that calls
# to_thread keeps (itself, the state) in its own context. A child task inherits its
# parent's entry and a worker thread gets a copy of it: the task check rejects those.
_run_threads_of_task: contextvars.ContextVar[tuple[Task, _RunThreads] | None] = (
    contextvars.ContextVar("triolet._threads.run_threads_of_task", default=None)
)


def current_default_thread_limiter() -> CapacityLimiter:
    """The :class:`CapacityLimiter` that ``to_thread.run_sync`` uses when given none.

    There is one per run, created on first use with 40 tokens; change its
    ``total_tokens`` to allow more or fewer threads at once. RuntimeError outside a run.
    """
    return _threads_of_this_run().limiter


def active_thread_count() -> int:
    """How many ``to_thread.run_sync`` calls in this run are waiting for their thread.

    Abandoned calls (cancelled with ``abandon_on_cancel=True``) no longer count.
    """
    return _threads_of_this_run().active_count


async def wait_all_threads_completed() -> None:
    """Wait until :func:`active_thread_count` is zero. A checkpoint."""
    state = _threads_of_this_run()
    if not state.active_count:
        await checkpoint()
    while state.active_count:
        state.all_done_awaited = True
        await state.all_done.park()


# ---------------------------------------------------------------------- worker side
# The to_thread call each worker thread is running, by thread id: from_thread's default
# target. Each thread writes only its own key, and a single dict operation is atomic, so
# no lock; it is cheaper than a threading.local on the to_thread round trip.
_call_by_thread: dict[int, _ThreadCall] = {}


class _ThreadCall:
    """One ``to_thread.run_sync`` call; also the borrower of its limiter token."""

    __slots__ = (
        "abandon_on_cancel",
        "abandoned_by",
        "args",
        "context",
        "error",
        "limiter",
        "name",
        "raise_cancel",
        "run_threads",
        "sync_fn",
        "task",
        "value",
    )

    def __init__(
        self,
        sync_fn: Callable[..., Any],
        args: tuple[Any, ...],
        name: str,
        task: Task,
        run_threads: _RunThreads,
        limiter: CapacityLimiter,
        abandon_on_cancel: bool,
    ) -> None:
        self.sync_fn: Callable[..., Any] | None = sync_fn
        self.args: tuple[Any, ...] = args
        self.context = contextvars.copy_context()
        self.name = name
        # The host task while it waits; None once the call finished or was abandoned.
        self.task: Task | None = task
        self.run_threads = run_threads
        self.limiter = limiter
        self.abandon_on_cancel = abandon_on_cancel
        self.raise_cancel: RaiseCancelT | None = None
        # The Cancelled (or KeyboardInterrupt) the host left with, once abandoned.
        self.abandoned_by: BaseException | None = None
        # What sync_fn returned, or what it raised (then error is not None).
        self.value: Any = None
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<to_thread.run_sync call in thread {self.name!r}>"

    # -- in the worker thread ----------------------------------------------------
    def run_in_worker(self) -> None:
        # Never raises: the thread cache's uncaptured jobs leave catching to us.
        sync_fn = self.sync_fn
        assert sync_fn is not None
        args = self.args
        self.sync_fn = None
        self.args = ()
        thread_id = get_ident()
        _call_by_thread[thread_id] = self
        try:
            result = self.context.run(sync_fn, *args)
            if isinstance(result, CoroutineType):
                result.close()
                raise TypeError(
                    f"to_thread.run_sync expected a synchronous function, but {sync_fn!r} "
                    "returned a coroutine: async functions can't run in a thread; await them "
                    "directly in the task instead"
                )
            self.value = result
        except BaseException as exc:
            self.error = exc
        finally:
            del _call_by_thread[thread_id]

    def deliver(self) -> None:
        try:
            self.run_threads.token.run_sync_soon(self.report_back)
        except RunFinishedError:
            pass  # only an abandoned call can outlive its run; nobody wants the result

    # -- in the loop's thread ----------------------------------------------------
    def report_back(self) -> None:
        self.limiter.release_on_behalf_of(self)
        # Undoes the counting at the end of to_thread_run_sync.
        run_threads = self.run_threads
        run_threads.running -= 1
        if not run_threads.running:
            run_threads.wakeup_expected.__exit__(None, None, None)
        task = self.task
        if task is not None:
            self.task = None
            run_threads.call_finished()
            reschedule(task)

    def abort(self, raise_cancel: RaiseCancelT) -> Abort:
        if not self.abandon_on_cancel:
            # Keep waiting; the worker may look at this with from_thread.check_cancelled.
            self.raise_cancel = raise_cancel
            return Abort.FAILED
        try:
            raise_cancel()
        except BaseException as exc:
            # The host leaves with this very exception (the kernel reuses it).
            self.abandoned_by = exc
        self.task = None
        self.run_threads.call_finished()
        return Abort.SUCCEEDED


@enable_ki_protection
async def to_thread_run_sync(
    sync_fn: Callable[..., RetT],
    *args: Any,
    thread_name: str | None = None,
    abandon_on_cancel: bool = False,
    limiter: CapacityLimiter | None = None,
) -> RetT:
    """Run ``sync_fn(*args)`` in a worker thread and return (or raise) its outcome.

    Use it for blocking calls that would otherwise stall the event loop. The thread
    runs in a copy of the caller's contextvars, and may call back into the run with
    :mod:`triolet.from_thread`. At most ``limiter.total_tokens`` calls sharing a
    ``limiter`` run at once (default: :func:`current_default_thread_limiter`, 40
    tokens); the others wait for a token. ``thread_name`` names the thread while it
    runs (default: ``"<function name> from <task name>"``).

    This is a checkpoint. Once the thread has started it can't be interrupted: if the
    caller is cancelled, the call still waits for ``sync_fn`` to return, unless
    ``abandon_on_cancel=True``, in which case it raises Cancelled at once and the
    thread's eventual result is discarded (the limiter token stays taken until the
    thread finishes). TypeError if ``sync_fn`` is an async function.
    """
    await checkpoint_if_cancelled()
    task = current_task()
    cached = _run_threads_of_task.get()
    if cached is not None and cached[0] is task:
        run_threads = cached[1]
    else:
        run_threads = _threads_of_this_run()
        _run_threads_of_task.set((task, run_threads))
    if limiter is None:
        limiter = run_threads.limiter
    if thread_name is None:
        thread_name = f"{getattr(sync_fn, '__name__', None)} from {task.name}"
    call = _ThreadCall(
        sync_fn, args, thread_name, task, run_threads, limiter, bool(abandon_on_cancel)
    )
    # Only our own CapacityLimiter is known to have the nowait variant; trio's contract
    # for limiter= objects (anyio passes its own) is acquire/release_on_behalf_of only.
    if type(limiter) is CapacityLimiter:
        try:
            limiter.acquire_on_behalf_of_nowait(call)
        except WouldBlock:
            await limiter.acquire_on_behalf_of(call)
    else:
        await limiter.acquire_on_behalf_of(call)
    try:
        start_uncaptured_job_soon(call.run_in_worker, call.deliver, thread_name)
    except BaseException:
        limiter.release_on_behalf_of(call)
        raise
    # report_back undoes this (see _RunThreads for the two counters).
    run_threads.active_count += 1
    run_threads.running += 1
    if run_threads.running == 1:
        run_threads.wakeup_expected.__enter__()
    while True:
        request: _FromThreadRequest | None = await wait_task_rescheduled(call.abort)
        if request is None:
            error = call.error
            if error is not None:
                call.error = None
                try:
                    raise error
                finally:
                    del error  # no cycle through this frame's traceback
            value: RetT = call.value
            call.value = None
            return value
        await request.serve_in_host(task)


# ---------------------------------------------------------------------- from_thread
class _FromThreadRequest:
    """A worker's request to run a function in the loop's thread; the worker waits on it."""

    __slots__ = ("args", "context", "done", "fn", "is_async", "result")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], is_async: bool) -> None:
        self.fn = fn
        self.args = args
        self.is_async = is_async
        self.context = contextvars.copy_context()
        self.result: outcome.Outcome[Any] | None = None
        # Held until the result is in: the worker blocks acquiring it.
        self.done = threading.Lock()
        self.done.acquire()

    def finish(self, result: outcome.Outcome[Any]) -> None:
        self.result = result
        self.done.release()

    def wait(self) -> Any:
        self.done.acquire()
        result = self.result
        assert result is not None
        self.result = None
        return result.unwrap()

    @disable_ki_protection
    def call_sync_fn(self) -> Any:
        result = self.fn(*self.args)
        if inspect.iscoroutine(result):
            result.close()
            raise TypeError(
                f"from_thread.run_sync expected a synchronous function, but {self.fn!r} "
                "returned a coroutine; use from_thread.run for async functions"
            )
        return result

    @disable_ki_protection
    async def call_async_fn(self) -> Any:
        coro = self.fn(*self.args)
        if not inspect.iscoroutine(coro):
            raise TypeError(
                f"from_thread.run expected an async function, but {self.fn!r} returned "
                f"{type(coro).__name__!r}, not a coroutine; use from_thread.run_sync for "
                "synchronous functions"
            )
        return await coro

    # -- in the host task --------------------------------------------------------
    async def serve_in_host(self, host: Task) -> None:
        if not self.is_async:
            self.finish(outcome.capture(self.context.run, self.call_sync_fn))
            return
        # Run the async function in the worker's contextvars: swap the task's context,
        # and yield once so that the next step already runs in it (and again to undo).
        host_context = host.context
        host.context = self.context
        try:
            await cancel_shielded_checkpoint()
            result = await outcome.acapture(self.call_async_fn)
        finally:
            host.context = host_context
        await cancel_shielded_checkpoint()
        self.finish(result)

    # -- from the entry queue, in the loop's thread ------------------------------
    def dispatch(self, call: _ThreadCall | None) -> None:
        host = call.task if call is not None else None
        if host is not None:
            reschedule(host, outcome.Value(self))
        elif self.is_async:
            try:
                spawn_system_task(self.serve_in_system_task, name=self.fn, context=self.context)
            except RuntimeError as exc:
                error = RunFinishedError("the run is shutting down; can't start a new task")
                error.__cause__ = exc
                self.finish(outcome.Error(error))
        else:
            self.finish(outcome.capture(self.context.run, self.call_sync_fn))

    async def serve_in_system_task(self) -> None:
        self.finish(await outcome.acapture(self.call_async_fn))


def _send_request(
    what: str, fn: Callable[..., Any], args: tuple[Any, ...], is_async: bool, trio_token: object
) -> Any:
    if in_trio_run():
        raise RuntimeError(
            f"from_thread.{what} was called from the event loop's own thread; it blocks "
            "until the loop has run the function, so it only works from other threads. "
            "In async code, call (or await) the function directly."
        )
    call: _ThreadCall | None = None
    if trio_token is None:
        call = _call_by_thread.get(get_ident())
        if call is None:
            raise RuntimeError(
                f"from_thread.{what} was called from a thread that was not started by "
                "to_thread.run_sync, so it doesn't know which run to call into; pass "
                "trio_token=triolet.lowlevel.current_trio_token() (taken inside the run)"
            )
        token = call.run_threads.token
    elif isinstance(trio_token, TrioToken):
        token = trio_token
    else:
        raise RuntimeError(
            f"from_thread.{what} got trio_token={trio_token!r}, which is not a TrioToken; "
            "get one with triolet.lowlevel.current_trio_token()"
        )
    request = _FromThreadRequest(fn, args, is_async)
    token.run_sync_soon(request.dispatch, call)
    return request.wait()


def from_thread_run(
    afn: Callable[..., Awaitable[RetT]], *args: Any, trio_token: TrioToken | None = None
) -> RetT:
    """From a worker thread, run ``await afn(*args)`` in the run and return its result.

    Blocks the calling thread until ``afn`` finishes; its exception is re-raised here.
    In a thread started by ``to_thread.run_sync`` (and not abandoned), ``afn`` runs in
    the task that is waiting for the thread, so that task's cancel scopes apply: if it
    is cancelled, ``afn`` gets Cancelled and so does this call. Otherwise (``trio_token``
    given, or the thread was abandoned) ``afn`` runs as a new system task.

    RuntimeError if called from the event loop's thread, or from a foreign thread
    without ``trio_token``; RunFinishedError if the run has ended; TypeError if ``afn``
    is not an async function.
    """
    if inspect.iscoroutine(afn):
        afn.close()
        raise TypeError(
            "from_thread.run expected an async function, but got a coroutine object: pass "
            "the function and its arguments, as from_thread.run(fn, arg), not fn(arg)"
        )
    result: RetT = _send_request("run", afn, args, True, trio_token)
    return result


def from_thread_run_sync(
    fn: Callable[..., RetT], *args: Any, trio_token: TrioToken | None = None
) -> RetT:
    """From a worker thread, call ``fn(*args)`` in the event loop's thread; return its result.

    Blocks the calling thread until ``fn`` has run; its exception is re-raised here.
    In a thread started by ``to_thread.run_sync`` (and not abandoned) ``fn`` runs in the
    waiting task; otherwise in the loop's callback task. Errors as for
    :func:`from_thread_run`; TypeError if ``fn`` is an async function.
    """
    if inspect.iscoroutinefunction(fn):
        raise TypeError(
            f"from_thread.run_sync expected a synchronous function, but {fn!r} is an async "
            "function; use from_thread.run for it"
        )
    result: RetT = _send_request("run_sync", fn, args, False, trio_token)
    return result


def check_cancelled() -> None:
    """In a thread started by ``to_thread.run_sync``: raise Cancelled if its caller was cancelled.

    Lets long-running thread code stop early when the task waiting for it has been
    cancelled (or, for an abandoned thread, has already left). Returns normally
    otherwise. RuntimeError when called from any other thread, including the loop's.
    """
    call = _call_by_thread.get(get_ident())
    if call is None:
        raise RuntimeError(
            "from_thread.check_cancelled only works in threads started by "
            "to_thread.run_sync; this thread was not, so there is no cancellation to check"
        )
    abandoned_by = call.abandoned_by
    if abandoned_by is not None:
        raise copy.copy(abandoned_by)
    raise_cancel = call.raise_cancel
    if raise_cancel is not None:
        raise_cancel()
