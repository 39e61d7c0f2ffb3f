"""to_thread / from_thread: worker threads and calls back into the run.

Written against the public API only, so it also runs against real trio:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_threads.py``.
"""

from __future__ import annotations

import contextvars
import threading

import pytest
import sniffio

import triolet
from triolet import from_thread, lowlevel, to_thread
from triolet.testing import (
    active_thread_count,
    assert_checkpoints,
    wait_all_tasks_blocked,
    wait_all_threads_completed,
)

flavor: contextvars.ContextVar[str] = contextvars.ContextVar("flavor", default="plain")


def _noop() -> None:
    pass


async def _cancel_when_all_blocked(scope: triolet.CancelScope) -> None:
    await wait_all_tasks_blocked()
    scope.cancel()


# ---------------------------------------------------------------------- to_thread basics
async def test_run_sync_returns_the_value_and_passes_args() -> None:
    assert await to_thread.run_sync(lambda a, b: a + b, 2, 3) == 5


async def test_run_sync_runs_fn_in_another_thread() -> None:
    ident = await to_thread.run_sync(threading.get_ident)
    assert ident != threading.get_ident()


async def test_run_sync_reraises_the_thread_exception() -> None:
    def fail() -> None:
        raise KeyError("from the thread")

    with pytest.raises(KeyError, match="from the thread"):
        await to_thread.run_sync(fail)


async def test_run_sync_exception_keeps_the_threads_frames_in_its_traceback() -> None:
    def fail_in_the_thread() -> None:
        raise KeyError("from the thread")

    with pytest.raises(KeyError) as info:
        await to_thread.run_sync(fail_in_the_thread)
    assert "fail_in_the_thread" in [entry.name for entry in info.traceback]


async def test_run_sync_reraises_a_base_exception_from_the_thread() -> None:
    class Stop(BaseException):
        pass

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        await to_thread.run_sync(stop)
    assert await to_thread.run_sync(lambda: "worker still usable") == "worker still usable"


async def test_many_tasks_calling_threads_at_once_all_get_their_results() -> None:
    # Workers report back concurrently, often while the loop is busy or just waking:
    # a lost wakeup would leave a task waiting past the deadline.
    results: dict[int, list[int]] = {}

    async def caller(index: int) -> None:
        results[index] = [await to_thread.run_sync(lambda i=i: index * 1000 + i) for i in range(50)]

    with triolet.fail_after(60):
        async with triolet.open_nursery() as nursery:
            for index in range(16):
                nursery.start_soon(caller, index)
    assert results == {index: [index * 1000 + i for i in range(50)] for index in range(16)}


async def test_run_sync_rejects_an_async_function() -> None:
    async def coroutine_function() -> None:
        pass

    with pytest.raises(TypeError):
        await to_thread.run_sync(coroutine_function)  # type: ignore[arg-type, unused-coroutine]


async def test_run_sync_is_a_checkpoint() -> None:
    with assert_checkpoints():
        await to_thread.run_sync(_noop)


async def test_thread_name_defaults_to_function_and_task_name() -> None:
    def report_name() -> str:
        return threading.current_thread().name

    name = await to_thread.run_sync(report_name)
    assert name == f"report_name from {lowlevel.current_task().name}"


async def test_thread_name_argument_names_the_thread() -> None:
    name = await to_thread.run_sync(
        lambda: threading.current_thread().name, thread_name="disk reader"
    )
    assert name == "disk reader"


async def test_contextvars_are_copied_into_the_thread() -> None:
    flavor.set("lemon")

    def read_and_change() -> str:
        seen = flavor.get()
        flavor.set("changed in thread")
        return seen

    assert await to_thread.run_sync(read_and_change) == "lemon"
    assert flavor.get() == "lemon"


async def test_sniffio_does_not_report_a_library_inside_the_thread() -> None:
    def detect() -> str:
        try:
            return sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            return "none"

    assert await to_thread.run_sync(detect) == "none"


# ---------------------------------------------------------------------- cancellation
async def test_cancelled_before_start_raises_without_running_fn() -> None:
    ran = []
    with triolet.CancelScope() as scope:
        scope.cancel()
        await to_thread.run_sync(lambda: ran.append(1))
    assert scope.cancelled_caught
    assert ran == []


async def test_cancel_waits_for_the_thread_and_returns_its_value() -> None:
    release = threading.Event()
    results: list[object] = []
    host_scope = triolet.CancelScope()

    async def host() -> None:
        with host_scope:
            results.append(await to_thread.run_sync(lambda: release.wait() and "done"))
        results.append(host_scope.cancelled_caught)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(host)
        await wait_all_tasks_blocked()
        host_scope.cancel()
        await wait_all_tasks_blocked()
        assert results == []  # still waiting for the thread despite the cancel
        release.set()
    assert results == ["done", False]


async def test_abandon_on_cancel_leaves_at_once_and_keeps_the_token() -> None:
    release = threading.Event()
    limiter = triolet.CapacityLimiter(1)
    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(_cancel_when_all_blocked, scope)
            await to_thread.run_sync(release.wait, abandon_on_cancel=True, limiter=limiter)
    assert scope.cancelled_caught
    assert limiter.borrowed_tokens == 1  # the thread still runs and holds its token
    assert active_thread_count() == 0  # abandoned calls are not waited for
    release.set()
    async with limiter:  # the abandoned thread gives its token back when it finishes
        pass


async def test_check_cancelled_raises_in_the_thread_after_the_host_is_cancelled() -> None:
    release = threading.Event()

    def worker() -> str:
        release.wait()
        from_thread.check_cancelled()
        return "not cancelled"

    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:

            async def cancel_then_release() -> None:
                await _cancel_when_all_blocked(scope)
                release.set()

            nursery.start_soon(cancel_then_release)
            await to_thread.run_sync(worker)
    assert scope.cancelled_caught


async def test_check_cancelled_returns_when_not_cancelled() -> None:
    await to_thread.run_sync(from_thread.check_cancelled)


async def test_check_cancelled_raises_in_an_abandoned_thread() -> None:
    release = threading.Event()
    outcome_in_thread: list[str] = []
    finished = triolet.CapacityLimiter(1)

    def worker() -> None:
        release.wait()
        try:
            from_thread.check_cancelled()
            outcome_in_thread.append("returned")
        except triolet.Cancelled:
            outcome_in_thread.append("Cancelled")

    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(_cancel_when_all_blocked, scope)
            await to_thread.run_sync(worker, abandon_on_cancel=True, limiter=finished)
    release.set()
    async with finished:
        pass
    assert outcome_in_thread == ["Cancelled"]


async def test_check_cancelled_outside_a_worker_thread_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        from_thread.check_cancelled()
    errors: list[BaseException] = []

    def foreign() -> None:
        try:
            from_thread.check_cancelled()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=foreign)
    thread.start()
    await to_thread.run_sync(thread.join)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)


# ---------------------------------------------------------------------- the limiter
async def test_default_limiter_has_40_tokens_and_is_shared_within_a_run() -> None:
    limiter = to_thread.current_default_thread_limiter()
    assert limiter.total_tokens == 40
    assert to_thread.current_default_thread_limiter() is limiter


def test_each_run_gets_its_own_default_limiter() -> None:
    async def get_limiter() -> triolet.CapacityLimiter:
        return to_thread.current_default_thread_limiter()

    assert triolet.run(get_limiter) is not triolet.run(get_limiter)


async def test_default_limiter_counts_the_running_thread() -> None:
    limiter = to_thread.current_default_thread_limiter()
    assert await to_thread.run_sync(lambda: limiter.borrowed_tokens) == 1
    assert limiter.borrowed_tokens == 0


async def test_thousand_calls_under_a_limiter_of_three_never_exceed_three() -> None:
    limiter = triolet.CapacityLimiter(3)
    lock = threading.Lock()
    running = 0
    most_at_once = 0

    def work() -> None:
        nonlocal running, most_at_once
        with lock:
            running += 1
            most_at_once = max(most_at_once, running)
        with lock:
            running -= 1

    async with triolet.open_nursery() as nursery:
        for _ in range(1000):
            nursery.start_soon(lambda: to_thread.run_sync(work, limiter=limiter))
    assert 1 <= most_at_once <= 3
    assert limiter.borrowed_tokens == 0


async def test_calls_waiting_for_a_token_can_be_cancelled() -> None:
    limiter = triolet.CapacityLimiter(1)
    release = threading.Event()
    ran = []
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(lambda: to_thread.run_sync(release.wait, limiter=limiter))
        await wait_all_tasks_blocked()
        with triolet.move_on_after(0) as scope:
            await to_thread.run_sync(lambda: ran.append(1), limiter=limiter)
        release.set()
    assert scope.cancelled_caught
    assert ran == []


# ---------------------------------------------------------------------- from_thread
async def test_from_thread_run_runs_in_the_waiting_task() -> None:
    host = lowlevel.current_task()

    async def which_task() -> lowlevel.Task:
        await triolet.sleep(0)
        return lowlevel.current_task()

    assert await to_thread.run_sync(from_thread.run, which_task) is host


async def test_from_thread_run_sync_runs_in_the_loop_thread() -> None:
    loop_thread = threading.get_ident()
    assert await to_thread.run_sync(from_thread.run_sync, threading.get_ident) == loop_thread


async def test_from_thread_calls_see_the_threads_contextvars() -> None:
    def worker() -> tuple[str, str]:
        flavor.set("set in thread")

        async def read() -> str:
            return flavor.get()

        return from_thread.run(read), from_thread.run_sync(flavor.get)

    assert await to_thread.run_sync(worker) == ("set in thread", "set in thread")


async def test_from_thread_reraises_the_callback_exception() -> None:
    async def fail() -> None:
        raise ValueError("async boom")

    def fail_sync() -> None:
        raise LookupError("sync boom")

    with pytest.raises(ValueError, match="async boom"):
        await to_thread.run_sync(from_thread.run, fail)
    with pytest.raises(LookupError, match="sync boom"):
        await to_thread.run_sync(from_thread.run_sync, fail_sync)


async def test_thread_calling_back_while_the_host_is_cancelled_gets_cancelled() -> None:
    seen_in_thread: list[str] = []

    def worker() -> None:
        try:
            from_thread.run(triolet.sleep_forever)
        except triolet.Cancelled:
            seen_in_thread.append("Cancelled")
            raise

    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(_cancel_when_all_blocked, scope)
            await to_thread.run_sync(worker)
    assert scope.cancelled_caught
    assert seen_in_thread == ["Cancelled"]


async def test_abandoned_thread_calls_back_into_a_system_task() -> None:
    release = threading.Event()
    finished = triolet.CapacityLimiter(1)
    seen: list[object] = []

    def worker() -> None:
        release.wait()

        async def which_task() -> lowlevel.Task:
            return lowlevel.current_task()

        seen.append(from_thread.run(which_task))

    host = lowlevel.current_task()
    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(_cancel_when_all_blocked, scope)
            await to_thread.run_sync(worker, abandon_on_cancel=True, limiter=finished)
    release.set()
    async with finished:
        pass
    assert len(seen) == 1 and seen[0] is not host


async def test_from_thread_with_a_token_works_from_a_foreign_thread() -> None:
    token = lowlevel.current_trio_token()
    results: list[object] = []

    async def double(x: int) -> int:
        await triolet.sleep(0)
        return 2 * x

    def foreign() -> None:
        results.append(from_thread.run(double, 21, trio_token=token))
        results.append(from_thread.run_sync(threading.get_ident, trio_token=token))

    thread = threading.Thread(target=foreign)
    thread.start()
    await to_thread.run_sync(thread.join)
    assert results == [42, threading.get_ident()]


async def test_from_thread_without_a_token_in_a_foreign_thread_raises_runtime_error() -> None:
    errors: list[BaseException] = []

    def foreign() -> None:
        for call in (
            lambda: from_thread.run_sync(_noop),
            lambda: from_thread.run(triolet.sleep, 0),
        ):
            try:
                call()
            except BaseException as exc:
                errors.append(exc)

    thread = threading.Thread(target=foreign)
    thread.start()
    await to_thread.run_sync(thread.join)
    assert [type(error) for error in errors] == [RuntimeError, RuntimeError]


@pytest.mark.parametrize("with_token", [False, True])
async def test_from_thread_in_the_loop_thread_raises_runtime_error(with_token: bool) -> None:
    token = lowlevel.current_trio_token() if with_token else None
    with pytest.raises(RuntimeError):
        from_thread.run_sync(_noop, trio_token=token)
    with pytest.raises(RuntimeError):
        from_thread.run(triolet.sleep, 0, trio_token=token)


async def test_from_thread_with_a_non_token_raises_runtime_error() -> None:
    def worker() -> None:
        from_thread.run_sync(_noop, trio_token="not a token")  # type: ignore[arg-type]

    with pytest.raises(RuntimeError):
        await to_thread.run_sync(worker)


def test_from_thread_after_the_run_finished_raises_run_finished_error() -> None:
    async def get_token() -> lowlevel.TrioToken:
        return lowlevel.current_trio_token()

    token = triolet.run(get_token)
    with pytest.raises(triolet.RunFinishedError):
        from_thread.run_sync(_noop, trio_token=token)
    with pytest.raises(triolet.RunFinishedError):
        from_thread.run(triolet.sleep, 0, trio_token=token)


async def test_from_thread_run_rejects_a_sync_function() -> None:
    with pytest.raises(TypeError):
        await to_thread.run_sync(from_thread.run, _noop)


async def test_from_thread_run_sync_rejects_an_async_function() -> None:
    async def coroutine_function() -> None:
        pass

    with pytest.raises(TypeError):
        await to_thread.run_sync(from_thread.run_sync, coroutine_function)


async def test_sniffio_reports_the_library_inside_from_thread_callbacks() -> None:
    expected = sniffio.current_async_library()

    async def detect() -> str:
        return sniffio.current_async_library()

    def worker() -> tuple[str, str]:
        return from_thread.run(detect), from_thread.run_sync(sniffio.current_async_library)

    assert await to_thread.run_sync(worker) == (expected, expected)


# ---------------------------------------------------------------------- thread accounting
async def test_active_thread_count_counts_waiting_calls() -> None:
    release = threading.Event()
    assert active_thread_count() == 0
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(lambda: to_thread.run_sync(release.wait))
        nursery.start_soon(lambda: to_thread.run_sync(release.wait))
        await wait_all_tasks_blocked()
        assert active_thread_count() == 2
        release.set()
    assert active_thread_count() == 0


async def test_wait_all_threads_completed_waits_for_running_threads() -> None:
    release = threading.Event()
    finished: list[str] = []

    async def waiter() -> None:
        await wait_all_threads_completed()
        finished.append("waiter")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(lambda: to_thread.run_sync(release.wait))
        await wait_all_tasks_blocked()
        nursery.start_soon(waiter)
        await wait_all_tasks_blocked()
        assert finished == []
        release.set()
    assert finished == ["waiter"]


async def test_wait_all_threads_completed_returns_when_no_threads_run() -> None:
    await wait_all_threads_completed()


async def test_nested_to_thread_call_from_a_worker_runs_via_from_thread() -> None:
    def worker() -> int:
        return from_thread.run(to_thread.run_sync, lambda: 7)  # type: ignore[no-any-return]

    assert await to_thread.run_sync(worker) == 7


async def test_run_started_in_a_worker_thread_counts_its_own_threads() -> None:
    # The worker's contextvars are a copy of the host task's, and the inner run's tasks
    # start from a copy of those: nothing of the outer run may leak into the inner one.
    async def inner_main() -> int:
        release = threading.Event()
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(lambda: to_thread.run_sync(release.wait, abandon_on_cancel=True))
            await wait_all_tasks_blocked()
            count = active_thread_count()
            nursery.cancel_scope.cancel()
        release.set()
        return count

    await to_thread.run_sync(_noop)
    assert await to_thread.run_sync(triolet.run, inner_main) == 1
    assert active_thread_count() == 0


async def test_sequential_calls_reuse_a_cached_worker_thread() -> None:
    idents = {await to_thread.run_sync(threading.get_ident) for _ in range(50)}
    # One thread in practice; a worker that went idle elsewhere in between may take a turn.
    assert len(idents) <= 2


# ---------------------------------------------------------------------- triolet only
@pytest.mark.skipif(
    not hasattr(lowlevel, "enable_deadlock_detection"), reason="triolet's deadlock detector"
)
async def test_waiting_for_a_thread_is_not_reported_as_a_deadlock() -> None:
    lowlevel.enable_deadlock_detection("raise")  # type: ignore[attr-defined]
    release = threading.Event()
    waiting = threading.Event()

    def worker() -> str:
        waiting.set()
        release.wait()
        return "done"

    async with triolet.open_nursery() as nursery:
        results: list[str] = []

        async def call() -> None:
            results.append(await to_thread.run_sync(worker))

        nursery.start_soon(call)
        # The loop idles with every task waiting: only the thread can end the wait.
        await to_thread.run_sync(waiting.wait)
        timer = threading.Timer(0.05, release.set)
        timer.start()
    timer.join()
    assert results == ["done"]


async def test_run_sync_accepts_a_limiter_with_only_the_on_behalf_of_methods() -> None:
    # trio's contract for limiter= (anyio relies on it): acquire/release_on_behalf_of only.
    class OnlyOnBehalfOf:
        def __init__(self) -> None:
            self.inner = triolet.CapacityLimiter(1)

        async def acquire_on_behalf_of(self, borrower: object) -> None:
            await self.inner.acquire_on_behalf_of(borrower)

        def release_on_behalf_of(self, borrower: object) -> None:
            self.inner.release_on_behalf_of(borrower)

    limiter = OnlyOnBehalfOf()
    assert await triolet.to_thread.run_sync(lambda: 42, limiter=limiter) == 42  # type: ignore[arg-type]
    assert limiter.inner.borrowed_tokens == 0
