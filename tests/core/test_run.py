"""The run loop: run(), tasks, contexts, statistics, system tasks, internal errors."""

from __future__ import annotations

import contextvars
import gc
import math
import socket
import types

import outcome
import pytest
import sniffio

import triolet
from triolet import lowlevel
from triolet.testing import MockClock, wait_all_tasks_blocked

from .conftest import UNDER_TRIO

color: contextvars.ContextVar[str] = contextvars.ContextVar("color", default="none")


# ---------------------------------------------------------------------- run()
def test_run_returns_the_main_task_value() -> None:
    async def main() -> int:
        return 42

    assert triolet.run(main) == 42


def test_run_passes_positional_args() -> None:
    async def main(a: int, b: str) -> tuple[int, str]:
        return a, b

    assert triolet.run(main, 1, "x") == (1, "x")


def test_run_reraises_main_task_exception_unwrapped() -> None:
    async def main() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        triolet.run(main)


def test_run_can_be_called_again_after_a_run() -> None:
    async def main() -> str:
        await triolet.sleep(0)
        return "ok"

    assert triolet.run(main) == "ok"
    assert triolet.run(main) == "ok"


def test_run_uses_the_given_clock() -> None:
    clock = MockClock()
    clock.jump(123)

    async def main() -> tuple[object, float]:
        return lowlevel.current_clock(), triolet.current_time()

    assert triolet.run(main, clock=clock) == (clock, 123.0)


def test_run_waits_for_system_tasks_to_be_cancelled_when_main_exits() -> None:
    record = []

    async def system_task() -> None:
        try:
            await triolet.sleep_forever()
        finally:
            record.append("system task cancelled")

    async def main() -> None:
        lowlevel.spawn_system_task(system_task)
        await wait_all_tasks_blocked()

    triolet.run(main)
    assert record == ["system task cancelled"]


def test_sniffio_reports_the_library_inside_run() -> None:
    async def main() -> str:
        return sniffio.current_async_library()

    assert triolet.run(main) == ("trio" if UNDER_TRIO else "triolet")


def test_sniffio_is_restored_after_run() -> None:
    async def main() -> None:
        pass

    triolet.run(main)
    with pytest.raises(sniffio.AsyncLibraryNotFoundError):
        sniffio.current_async_library()


# ---------------------------------------------------------------------- in_trio_*
def test_in_trio_run_and_task_are_false_outside_a_run() -> None:
    assert not lowlevel.in_trio_run()
    assert not lowlevel.in_trio_task()


async def test_in_trio_run_and_task_are_true_in_a_task() -> None:
    assert lowlevel.in_trio_run()
    assert lowlevel.in_trio_task()


def test_in_trio_run_is_true_but_in_trio_task_false_in_an_instrument() -> None:
    seen = []

    class Probe(triolet.abc.Instrument):
        def before_run(self) -> None:
            seen.append((lowlevel.in_trio_run(), lowlevel.in_trio_task()))

    async def main() -> None:
        pass

    triolet.run(main, instruments=[Probe()])
    assert seen == [(True, False)]


# ---------------------------------------------------------------------- tasks
async def test_main_task_is_named_after_its_function() -> None:
    assert lowlevel.current_task().name.endswith("test_main_task_is_named_after_its_function")


async def test_start_soon_name_sets_the_task_name() -> None:
    names = []

    async def child() -> None:
        names.append(lowlevel.current_task().name)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child, name="custom-name")
    assert names == ["custom-name"]


async def test_task_name_defaults_to_the_qualified_function_name() -> None:
    names = []

    async def child() -> None:
        names.append(lowlevel.current_task().name)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert names[0].endswith("child")
    assert "." in names[0]


async def test_root_task_is_an_ancestor_of_the_main_task() -> None:
    root = lowlevel.current_root_task()
    assert root is not None
    task = lowlevel.current_task()
    parents = []
    while task.parent_nursery is not None:
        task = task.parent_nursery.parent_task
        parents.append(task)
    assert parents[-1] is root


async def test_child_task_knows_its_parent_nursery() -> None:
    seen = []

    async def child() -> None:
        seen.append(lowlevel.current_task().parent_nursery)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert seen == [nursery]


async def test_task_coro_is_the_running_coroutine() -> None:
    seen = []

    async def child() -> None:
        seen.append(lowlevel.current_task().coro)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert isinstance(seen[0], types.CoroutineType)
    assert seen[0].cr_code.co_name == "child"


async def test_task_child_nurseries_lists_open_nurseries_outermost_first() -> None:
    task = lowlevel.current_task()
    assert task.child_nurseries == []
    async with triolet.open_nursery() as outer:
        async with triolet.open_nursery() as inner:
            assert task.child_nurseries == [outer, inner]
        assert task.child_nurseries == [outer]
    assert task.child_nurseries == []


async def test_task_iter_await_frames_walks_the_await_stack() -> None:
    async def leaf() -> None:
        await triolet.sleep_forever()

    async def middle() -> None:
        await leaf()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(middle)
        await wait_all_tasks_blocked()
        (child,) = nursery.child_tasks
        names = [frame.f_code.co_name for frame, _ in child.iter_await_frames()]
        nursery.cancel_scope.cancel()
    assert names[:2] == ["middle", "leaf"]


async def test_task_custom_sleep_data_starts_as_none_and_is_writable() -> None:
    seen = []

    async def child() -> None:
        task = lowlevel.current_task()
        seen.append(task.custom_sleep_data)
        task.custom_sleep_data = "mine"
        seen.append(task.custom_sleep_data)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert seen == [None, "mine"]


def test_task_has_no_public_constructor_or_subclass() -> None:
    with pytest.raises(TypeError):

        class MyTask(lowlevel.Task):  # type: ignore[misc]
            pass


async def test_child_tasks_run_concurrently() -> None:
    started = []
    release = triolet.lowlevel.ParkingLot()

    async def child(i: int) -> None:
        started.append(i)
        await release.park()

    async with triolet.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(child, i)
        await wait_all_tasks_blocked()
        assert sorted(started) == [0, 1, 2]
        release.unpark_all()


# ---------------------------------------------------------------------- contextvars
def test_main_task_sees_context_of_run_caller() -> None:
    async def main() -> str:
        return color.get()

    token = color.set("red")
    try:
        assert triolet.run(main) == "red"
    finally:
        color.reset(token)


def test_main_task_context_changes_do_not_leak_out_of_run() -> None:
    async def main() -> None:
        color.set("blue")

    triolet.run(main)
    assert color.get() == "none"


async def test_child_task_runs_in_a_copy_of_its_spawners_context() -> None:
    seen = []

    async def child() -> None:
        seen.append(color.get())
        color.set("child's own")

    color.set("parent")
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert seen == ["parent"]
    assert color.get() == "parent"


async def test_child_context_is_copied_at_spawn_time() -> None:
    seen = []

    async def child() -> None:
        seen.append(color.get())

    color.set("before spawn")
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
        color.set("after spawn")
    assert seen == ["before spawn"]


async def test_sibling_tasks_do_not_share_context_changes() -> None:
    seen = []

    async def setter() -> None:
        color.set("setter")
        await triolet.sleep(0)

    async def reader() -> None:
        await wait_all_tasks_blocked()
        seen.append(color.get())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(setter)
        nursery.start_soon(reader)
    assert seen == ["none"]


async def test_task_context_attribute_holds_the_task_variables() -> None:
    color.set("ctx")
    assert lowlevel.current_task().context.get(color) == "ctx"


# ---------------------------------------------------------------------- statistics
async def test_current_statistics_counts_living_and_runnable_tasks() -> None:
    async def child() -> None:
        await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        before = lowlevel.current_statistics()
        nursery.start_soon(child)
        nursery.start_soon(child)
        after = lowlevel.current_statistics()
        assert after.tasks_living == before.tasks_living + 2
        assert after.tasks_runnable == before.tasks_runnable + 2
        nursery.cancel_scope.cancel()


async def test_current_statistics_seconds_to_next_deadline(mock_clock: MockClock) -> None:
    assert lowlevel.current_statistics().seconds_to_next_deadline == math.inf
    with triolet.move_on_after(5):
        assert lowlevel.current_statistics().seconds_to_next_deadline == 5


async def test_current_statistics_run_sync_soon_queue_size() -> None:
    token = lowlevel.current_trio_token()
    size = lowlevel.current_statistics().run_sync_soon_queue_size
    token.run_sync_soon(lambda: None)
    assert lowlevel.current_statistics().run_sync_soon_queue_size == size + 1
    await wait_all_tasks_blocked()
    assert lowlevel.current_statistics().run_sync_soon_queue_size == size


# ---------------------------------------------------------------------- system tasks
async def test_system_task_is_not_cancelled_by_the_main_tasks_scopes() -> None:
    record = []

    async def system_task() -> None:
        await wait_all_tasks_blocked()
        record.append("system task ran")

    with triolet.CancelScope() as scope:
        scope.cancel()
        lowlevel.spawn_system_task(system_task)
    await wait_all_tasks_blocked()
    await wait_all_tasks_blocked()
    assert record == ["system task ran"]


async def test_system_task_name_and_context() -> None:
    seen = []

    async def system_task() -> None:
        seen.append((lowlevel.current_task().name, color.get()))

    color.set("main's value")
    ctx = contextvars.copy_context()
    lowlevel.spawn_system_task(system_task, name="sys", context=ctx)
    await wait_all_tasks_blocked()
    assert seen == [("sys", "main's value")]


def test_system_task_runs_in_a_copy_of_the_run_callers_context() -> None:
    seen = []

    async def system_task() -> None:
        seen.append(color.get())

    async def main() -> None:
        color.set("main's own")
        lowlevel.spawn_system_task(system_task)
        await wait_all_tasks_blocked()

    token = color.set("run caller's")
    try:
        triolet.run(main)
    finally:
        color.reset(token)
    assert seen == ["run caller's"]


async def test_system_task_does_not_inherit_the_main_task_context_by_default() -> None:
    seen = []

    async def system_task() -> None:
        seen.append(color.get())

    color.set("main only")
    lowlevel.spawn_system_task(system_task)
    await wait_all_tasks_blocked()
    assert seen == ["none"]


async def test_system_task_is_ki_protected() -> None:
    seen = []

    async def system_task() -> None:
        seen.append(lowlevel.currently_ki_protected())

    lowlevel.spawn_system_task(system_task)
    await wait_all_tasks_blocked()
    assert seen == [True]


def test_system_task_crash_raises_trio_internal_error() -> None:
    async def system_task() -> None:
        raise ValueError("system task failure")

    async def main() -> None:
        lowlevel.spawn_system_task(system_task)
        await triolet.sleep_forever()

    with pytest.raises(triolet.TrioInternalError) as info:
        triolet.run(main)
    cause = info.value.__cause__
    if isinstance(cause, BaseExceptionGroup):  # trio wraps it in the system nursery's group
        cause = cause.split(ValueError)[0]
    assert cause is not None
    assert "system task failure" in repr(cause)


# ---------------------------------------------------------------------- internal errors
# trio leaves the abandoned tasks' coroutines to the garbage collector, which complains.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_abort_function_raising_is_a_trio_internal_error() -> None:
    def bad_abort(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        raise ValueError("abort failed")

    async def main() -> None:
        with triolet.CancelScope() as scope:
            scope.cancel()
            await lowlevel.wait_task_rescheduled(bad_abort)

    with pytest.raises(triolet.TrioInternalError):
        triolet.run(main)
    gc.collect()


# ---------------------------------------------------------------------- checkpoints
async def test_checkpoint_yields_to_other_tasks() -> None:
    record = []

    async def child() -> None:
        record.append("child")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
        # trio may run a batch of runnable tasks in either order: two checkpoints suffice.
        for _ in range(2):
            await lowlevel.checkpoint()
        assert record == ["child"]


async def test_checkpoint_raises_cancelled_in_a_cancelled_scope() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(triolet.Cancelled):
            await lowlevel.checkpoint()


async def test_checkpoint_if_cancelled_does_not_yield_when_not_cancelled() -> None:
    record = []

    async def child() -> None:
        record.append("child")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
        for _ in range(2):
            await lowlevel.checkpoint_if_cancelled()
        assert record == []


async def test_checkpoint_if_cancelled_raises_when_cancelled() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        await lowlevel.checkpoint_if_cancelled()
        pytest.fail("checkpoint_if_cancelled returned in a cancelled scope")  # pragma: no cover
    assert scope.cancelled_caught


async def test_cancel_shielded_checkpoint_yields_but_never_raises() -> None:
    record = []

    async def child() -> None:
        record.append("child")

    with triolet.CancelScope() as scope:
        scope.cancel()
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child)
            for _ in range(2):
                await lowlevel.cancel_shielded_checkpoint()
            assert record == ["child"]
    assert scope.cancel_called


async def test_sleep_zero_is_a_checkpoint() -> None:
    with triolet.testing.assert_checkpoints():
        await triolet.sleep(0)


async def test_wait_task_rescheduled_returns_the_rescheduled_value() -> None:
    task = lowlevel.current_task()

    async def waker() -> None:
        lowlevel.reschedule(task, outcome.Value("hello"))

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(waker)
        value = await lowlevel.wait_task_rescheduled(
            lambda _: lowlevel.Abort.SUCCEEDED  # pragma: no cover
        )
    assert value == "hello"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_abort_function_returning_garbage_is_a_trio_internal_error() -> None:
    def bad_abort(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        return "neither SUCCEEDED nor FAILED"  # type: ignore[return-value]

    async def main() -> None:
        with triolet.CancelScope() as scope:
            scope.cancel()
            await lowlevel.wait_task_rescheduled(bad_abort)

    with pytest.raises(triolet.TrioInternalError):
        triolet.run(main)
    gc.collect()


# ---------------------------------------------------------------------- fairness
async def test_a_task_spinning_on_checkpoints_does_not_starve_io() -> None:
    a, b = socket.socketpair()
    done = []

    async def reader() -> None:
        await lowlevel.wait_readable(a)
        done.append("read")

    async def spinner() -> int:
        for spins in range(100_000):
            if done:
                return spins
            await triolet.sleep(0)
        raise AssertionError("the reader never ran")  # pragma: no cover

    with a, b:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(reader)
            await wait_all_tasks_blocked()
            b.send(b"x")
            await spinner()
    assert done == ["read"]


def test_a_task_spinning_on_checkpoints_does_not_starve_timers() -> None:
    woke = []

    async def sleeper() -> None:
        await triolet.sleep(1)
        woke.append(triolet.current_time())

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sleeper)
            for _ in range(1_000_000):
                if woke:
                    return
                await triolet.sleep(0)
            raise AssertionError("the sleeper never woke")  # pragma: no cover

    # Virtual time runs 10,000x faster than real time: the 1 s sleep is 0.1 ms real.
    triolet.run(main, clock=MockClock(rate=10_000))
    assert woke and woke[0] >= 1
