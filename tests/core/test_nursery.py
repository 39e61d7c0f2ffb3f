"""Nurseries: waiting for children, error propagation, start(), exception groups."""

from __future__ import annotations

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import MockClock, wait_all_tasks_blocked


async def sleep_forever_task() -> None:
    await triolet.sleep_forever()


async def raise_value_error(message: str = "boom") -> None:
    raise ValueError(message)


# ---------------------------------------------------------------------- waiting
async def test_nursery_waits_for_every_child(autojump_clock: MockClock) -> None:
    finished = []

    async def child(delay: float) -> None:
        await triolet.sleep(delay)
        finished.append(delay)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child, 2)
        nursery.start_soon(child, 1)
    assert sorted(finished) == [1, 2]
    assert triolet.current_time() == 2


async def test_children_start_only_after_the_parent_yields() -> None:
    started = []

    async def child() -> None:
        started.append("child")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
        assert started == []
    assert started == ["child"]


async def test_start_soon_is_not_a_checkpoint() -> None:
    async with triolet.open_nursery() as nursery:
        with triolet.testing.assert_no_checkpoints():
            nursery.start_soon(triolet.sleep, 0)


async def test_empty_nursery_exit_is_a_schedule_point() -> None:
    record = []

    async def child() -> None:
        record.append("child ran")

    async with triolet.open_nursery() as outer:
        outer.start_soon(child)
        for _ in range(2):  # trio may run a batch in either order
            async with triolet.open_nursery():
                pass
        assert record == ["child ran"]


async def test_empty_nursery_exit_in_a_cancelled_scope_does_not_raise() -> None:
    reached = []
    with triolet.CancelScope() as scope:
        scope.cancel()
        async with triolet.open_nursery():
            pass
        reached.append("after the nursery")
    assert reached == ["after the nursery"]
    assert not scope.cancelled_caught


async def test_parent_cancelled_while_waiting_continues_when_children_finish_normally(
    autojump_clock: MockClock,
) -> None:
    reached = []

    async def shielded_child() -> None:
        with triolet.CancelScope(shield=True):
            await triolet.sleep(1)

    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(shielded_child)
            await wait_all_tasks_blocked()
            scope.cancel()
        reached.append("after the nursery")
    assert reached == ["after the nursery"]
    assert not scope.cancelled_caught


async def test_nursery_cancel_scope_cancels_body_and_children() -> None:
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleep_forever_task)
        nursery.start_soon(sleep_forever_task)
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
        await triolet.sleep_forever()
    assert nursery.cancel_scope.cancelled_caught


async def test_child_tasks_lists_the_running_children() -> None:
    async with triolet.open_nursery() as nursery:
        assert nursery.child_tasks == frozenset()
        nursery.start_soon(sleep_forever_task, name="sleeper")
        (task,) = nursery.child_tasks
        assert task.name == "sleeper"
        nursery.cancel_scope.cancel()
    assert nursery.child_tasks == frozenset()


async def test_parent_task_is_the_task_that_opened_the_nursery() -> None:
    async with triolet.open_nursery() as nursery:
        assert nursery.parent_task is lowlevel.current_task()


async def test_start_soon_on_a_closed_nursery_is_a_runtime_error() -> None:
    async with triolet.open_nursery() as nursery:
        pass
    with pytest.raises(RuntimeError):
        nursery.start_soon(sleep_forever_task)


async def test_start_soon_in_the_nursery_block_after_children_exit_still_works() -> None:
    record = []

    async def child(tag: str) -> None:
        record.append(tag)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child, "first")
        await wait_all_tasks_blocked()
        nursery.start_soon(child, "second")
    assert record == ["first", "second"]


async def test_child_can_start_siblings_while_parent_waits() -> None:
    record = []

    async def grandchild() -> None:
        record.append("sibling ran")

    async def child(nursery: triolet.Nursery) -> None:
        await triolet.sleep(0)
        nursery.start_soon(grandchild)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child, nursery)
    assert record == ["sibling ran"]


async def test_nursery_cannot_be_used_with_plain_with() -> None:
    with pytest.raises((RuntimeError, TypeError, AttributeError)):
        with triolet.open_nursery():  # type: ignore[attr-defined]
            pass  # pragma: no cover


async def test_nursery_has_no_public_constructor() -> None:
    with pytest.raises(TypeError):
        triolet.Nursery()  # type: ignore[call-arg]


# ---------------------------------------------------------------------- errors
async def test_child_error_is_raised_in_an_exception_group() -> None:
    with pytest.raises(ExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(raise_value_error)
    assert [type(e) for e in info.value.exceptions] == [ValueError]


async def test_child_error_cancels_siblings_and_body() -> None:
    cancelled = []

    async def sibling() -> None:
        try:
            await triolet.sleep_forever()
        except triolet.Cancelled:
            cancelled.append("sibling")
            raise

    async def crasher() -> None:
        await wait_all_tasks_blocked()
        raise ValueError("boom")

    with pytest.raises(ExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sibling)
            nursery.start_soon(crasher)
            try:
                await triolet.sleep_forever()
            except triolet.Cancelled:
                cancelled.append("body")
                raise
    assert sorted(cancelled) == ["body", "sibling"]
    assert info.value.subgroup(ValueError) is not None
    assert info.value.subgroup(triolet.Cancelled) is None


async def test_errors_from_several_children_are_all_raised() -> None:
    async def crasher(message: str) -> None:
        await wait_all_tasks_blocked()
        raise ValueError(message)

    async def shielded_crasher() -> None:
        with triolet.CancelScope(shield=True):
            await wait_all_tasks_blocked()
        raise KeyError("second")

    with pytest.raises(BaseExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(crasher, "first")
            nursery.start_soon(shielded_crasher)
    messages = sorted(str(e) for e in info.value.exceptions)
    assert messages == ["'second'", "first"]


async def test_body_error_and_child_error_are_raised_together() -> None:
    async def crasher() -> None:
        with triolet.CancelScope(shield=True):
            await wait_all_tasks_blocked()
        raise KeyError("child")

    with pytest.raises(BaseExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(crasher)
            await wait_all_tasks_blocked()
            raise ValueError("body")
    assert {type(e) for e in info.value.exceptions} == {ValueError, KeyError}


async def test_body_error_waits_for_children_to_finish() -> None:
    finished = []

    async def child() -> None:
        with triolet.CancelScope(shield=True):
            await wait_all_tasks_blocked()
        finished.append("child")

    with pytest.raises(ExceptionGroup):
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child)
            raise ValueError("body")
    assert finished == ["child"]


async def test_body_error_alone_is_wrapped_in_a_group() -> None:
    with pytest.raises(ExceptionGroup) as info:
        async with triolet.open_nursery():
            raise ValueError("body")
    assert [type(e) for e in info.value.exceptions] == [ValueError]


def test_non_strict_nursery_raises_a_lone_error_bare(no_deprecation_warnings: None) -> None:
    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(raise_value_error)

    with pytest.raises(ValueError):
        triolet.run(main, strict_exception_groups=False)


async def crash_when_all_blocked() -> None:
    await wait_all_tasks_blocked()
    raise ValueError("boom")


def test_non_strict_nursery_raises_a_lone_error_bare_after_cancelling_siblings(
    no_deprecation_warnings: None,
) -> None:
    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sleep_forever_task)
            nursery.start_soon(crash_when_all_blocked)
            await triolet.sleep_forever()

    with pytest.raises(ValueError):
        triolet.run(main, strict_exception_groups=False)


def test_non_strict_nursery_raises_a_childs_own_group_as_is(
    no_deprecation_warnings: None,
) -> None:
    async def group_raiser() -> None:
        await wait_all_tasks_blocked()
        raise ExceptionGroup("the child's own", [KeyError("inner")])

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sleep_forever_task)
            nursery.start_soon(group_raiser)

    with pytest.raises(ExceptionGroup) as info:
        triolet.run(main, strict_exception_groups=False)
    assert info.value.message == "the child's own"


def test_non_strict_group_collapses_when_an_outer_scope_takes_its_cancelled(
    no_deprecation_warnings: None,
) -> None:
    async def main() -> bool:
        outer = triolet.CancelScope()

        async def crasher() -> None:
            await wait_all_tasks_blocked()
            outer.cancel()
            raise ValueError("boom")

        with pytest.raises(ValueError):
            with outer:
                async with triolet.open_nursery() as nursery:
                    nursery.start_soon(sleep_forever_task)
                    nursery.start_soon(crasher)
        return outer.cancelled_caught

    assert triolet.run(main, strict_exception_groups=False)


def test_non_strict_nested_nurseries_raise_a_lone_error_bare(
    no_deprecation_warnings: None,
) -> None:
    async def main() -> None:
        async with triolet.open_nursery() as outer_nursery:
            outer_nursery.start_soon(sleep_forever_task)
            async with triolet.open_nursery() as inner_nursery:
                inner_nursery.start_soon(sleep_forever_task)
                inner_nursery.start_soon(crash_when_all_blocked)

    with pytest.raises(ValueError):
        triolet.run(main, strict_exception_groups=False)


def test_non_strict_nursery_still_groups_several_errors(no_deprecation_warnings: None) -> None:
    async def crasher(message: str) -> None:
        with triolet.CancelScope(shield=True):
            await wait_all_tasks_blocked()
        raise ValueError(message)

    async def main() -> None:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(crasher, "a")
            nursery.start_soon(crasher, "b")

    with pytest.raises(ExceptionGroup) as info:
        triolet.run(main, strict_exception_groups=False)
    assert len(info.value.exceptions) == 2


async def test_open_nursery_strict_argument_overrides_the_run_default(
    no_deprecation_warnings: None,
) -> None:
    with pytest.raises(ValueError):
        async with triolet.open_nursery(strict_exception_groups=False) as nursery:
            nursery.start_soon(raise_value_error)


def test_strict_open_nursery_inside_non_strict_run_groups(no_deprecation_warnings: None) -> None:
    async def main() -> None:
        async with triolet.open_nursery(strict_exception_groups=True) as nursery:
            nursery.start_soon(raise_value_error)

    with pytest.raises(ExceptionGroup):
        triolet.run(main, strict_exception_groups=False)


async def test_nursery_swallows_cancellation_of_its_own_scope() -> None:
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleep_forever_task)
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert nursery.cancel_scope.cancelled_caught


async def test_outer_cancel_propagates_through_a_nursery_to_its_scope() -> None:
    with triolet.CancelScope() as outer:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sleep_forever_task)
            await wait_all_tasks_blocked()
            outer.cancel()
            await triolet.sleep_forever()
    assert outer.cancelled_caught
    assert not nursery.cancel_scope.cancelled_caught


async def test_child_exception_traceback_includes_the_child_frame() -> None:
    with pytest.raises(ExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(raise_value_error)
    (error,) = info.value.exceptions
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "raise_value_error" in frames


# ---------------------------------------------------------------------- start()
async def test_start_returns_the_value_passed_to_started() -> None:
    async def server(task_status: triolet.TaskStatus[str]) -> None:
        task_status.started("listening")
        await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        value = await nursery.start(server)
        assert value == "listening"
        nursery.cancel_scope.cancel()


async def test_start_without_a_value_returns_none() -> None:
    async def server(task_status: triolet.TaskStatus[None]) -> None:
        task_status.started()

    async with triolet.open_nursery() as nursery:
        assert await nursery.start(server) is None


async def test_start_waits_until_started_is_called(autojump_clock: MockClock) -> None:
    async def slow_server(task_status: triolet.TaskStatus[float]) -> None:
        await triolet.sleep(5)
        task_status.started(triolet.current_time())

    async with triolet.open_nursery() as nursery:
        assert await nursery.start(slow_server) == 5


async def test_start_passes_args_and_name() -> None:
    seen = []

    async def server(a: int, b: int, task_status: triolet.TaskStatus[None]) -> None:
        seen.append((a, b, lowlevel.current_task().name))
        task_status.started()

    async with triolet.open_nursery() as nursery:
        await nursery.start(server, 1, 2, name="my-server")
    assert seen == [(1, 2, "my-server")]


async def test_started_task_moves_into_the_target_nursery() -> None:
    async def server(task_status: triolet.TaskStatus[None]) -> None:
        task_status.started()
        await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        await nursery.start(server)
        (task,) = nursery.child_tasks
        assert task.parent_nursery is nursery
        nursery.cancel_scope.cancel()


async def test_eventual_parent_nursery_is_set_while_starting() -> None:
    seen = []

    async def server(task_status: triolet.TaskStatus[None]) -> None:
        task = lowlevel.current_task()
        seen.append(task.eventual_parent_nursery)
        task_status.started()
        seen.append(task.eventual_parent_nursery)

    async with triolet.open_nursery() as nursery:
        await nursery.start(server)
    assert seen == [nursery, None]


async def test_error_before_started_is_raised_from_start() -> None:
    async def broken(task_status: triolet.TaskStatus[None]) -> None:
        raise ValueError("failed to start")

    async with triolet.open_nursery() as nursery:
        with pytest.raises(ValueError, match="failed to start"):
            await nursery.start(broken)
    assert not nursery.cancel_scope.cancel_called


async def test_error_after_started_goes_to_the_target_nursery() -> None:
    async def crashes_later(task_status: triolet.TaskStatus[None]) -> None:
        task_status.started()
        await wait_all_tasks_blocked()
        raise ValueError("after start")

    with pytest.raises(ExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            await nursery.start(crashes_later)
    assert info.value.subgroup(ValueError) is not None


async def test_returning_without_calling_started_is_a_runtime_error() -> None:
    async def lazy(task_status: triolet.TaskStatus[None]) -> None:
        return

    async with triolet.open_nursery() as nursery:
        with pytest.raises(RuntimeError):
            await nursery.start(lazy)


async def test_calling_started_twice_is_a_runtime_error() -> None:
    errors = []

    async def twice(task_status: triolet.TaskStatus[None]) -> None:
        task_status.started()
        try:
            task_status.started()
        except RuntimeError as exc:
            errors.append(exc)

    async with triolet.open_nursery() as nursery:
        await nursery.start(twice)
    assert len(errors) == 1


async def test_start_is_cancelled_by_the_callers_scope_before_started() -> None:
    async def never_starts(task_status: triolet.TaskStatus[None]) -> None:
        await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        with triolet.CancelScope() as scope:
            scope.cancel()
            await nursery.start(never_starts)
        assert scope.cancelled_caught
        assert not nursery.cancel_scope.cancel_called


async def test_started_task_is_not_cancelled_with_the_callers_scope_afterwards(
    autojump_clock: MockClock,
) -> None:
    finished = []

    async def server(task_status: triolet.TaskStatus[None]) -> None:
        task_status.started()
        await triolet.sleep(1)
        finished.append("server")

    async with triolet.open_nursery() as nursery:
        with triolet.CancelScope() as caller_scope:
            await nursery.start(server)
            caller_scope.cancel()
    assert finished == ["server"]


async def test_started_in_a_cancelled_start_leaves_the_task_to_the_callers_scope() -> None:
    async def server(task_status: triolet.TaskStatus[str]) -> None:
        try:
            await triolet.sleep_forever()
        finally:
            task_status.started("too late")  # while Cancelled propagates

    async with triolet.open_nursery() as nursery:
        with triolet.CancelScope() as caller_scope:
            caller_scope.cancel()
            await nursery.start(server)
        assert caller_scope.cancelled_caught
        assert nursery.child_tasks == frozenset()
    assert not nursery.cancel_scope.cancel_called


async def test_start_returns_the_value_if_a_cancelled_start_finishes_normally() -> None:
    async def shielded_server(task_status: triolet.TaskStatus[str]) -> None:
        with triolet.CancelScope(shield=True):
            task_status.started("value")

    async with triolet.open_nursery() as nursery:
        with triolet.CancelScope() as caller_scope:
            caller_scope.cancel()
            assert await nursery.start(shielded_server) == "value"


async def test_error_before_started_is_raised_bare_after_cancelling_the_tasks_children() -> None:
    async def broken(task_status: triolet.TaskStatus[None]) -> None:
        async with triolet.open_nursery() as own_nursery:
            own_nursery.start_soon(sleep_forever_task)
            await wait_all_tasks_blocked()
            raise KeyError("failed to start")

    async with triolet.open_nursery() as nursery:
        with pytest.raises(ExceptionGroup) as info:
            await nursery.start(broken)
    # The task's own (strict) nursery groups its error; start() adds no second layer.
    assert [type(e) for e in info.value.exceptions] == [KeyError]


async def test_start_on_a_closed_nursery_is_a_runtime_error() -> None:
    async def server(task_status: triolet.TaskStatus[None]) -> None:
        task_status.started()  # pragma: no cover

    async with triolet.open_nursery() as nursery:
        pass
    with pytest.raises(RuntimeError):
        await nursery.start(server)


async def test_nursery_block_end_waits_for_a_pending_start(autojump_clock: MockClock) -> None:
    record = []

    async def server(task_status: triolet.TaskStatus[None]) -> None:
        await triolet.sleep(1)
        task_status.started()
        await triolet.sleep(1)
        record.append("server done")

    async def starter(nursery: triolet.Nursery) -> None:
        await nursery.start(server)

    async with triolet.open_nursery() as outer:
        async with triolet.open_nursery() as inner:
            outer.start_soon(starter, inner)
            await wait_all_tasks_blocked()
        assert record == ["server done"]
        assert triolet.current_time() == 2


async def test_started_may_be_called_inside_the_tasks_own_nursery() -> None:
    async def server(task_status: triolet.TaskStatus[str]) -> None:
        async with triolet.open_nursery() as own_nursery:
            own_nursery.start_soon(sleep_forever_task)
            task_status.started("serving")

    async with triolet.open_nursery() as nursery:
        assert await nursery.start(server) == "serving"
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()


async def test_started_task_takes_its_children_out_of_the_callers_scope() -> None:
    async def server(task_status: triolet.TaskStatus[None]) -> None:
        async with triolet.open_nursery() as own_nursery:
            own_nursery.start_soon(sleep_forever_task)
            task_status.started()
            await triolet.sleep_forever()

    caller_scope = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        with caller_scope:
            await nursery.start(server)
        caller_scope.cancel()
        await wait_all_tasks_blocked()
        assert len(nursery.child_tasks) == 1
        (server_task,) = nursery.child_tasks
        (own_nursery,) = server_task.child_nurseries
        assert len(own_nursery.child_tasks) == 1
        nursery.cancel_scope.cancel()


async def test_task_status_ignored_started_does_nothing() -> None:
    triolet.TASK_STATUS_IGNORED.started()
    triolet.TASK_STATUS_IGNORED.started("value")


async def test_start_soon_of_a_task_status_function_uses_the_default() -> None:
    seen = []

    async def server(task_status: triolet.TaskStatus[None] = triolet.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        seen.append("ran")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(server)
    assert seen == ["ran"]


async def test_started_task_keeps_its_own_cancel_scopes_when_moving() -> None:
    scopes = []

    async def server(task_status: triolet.TaskStatus[None]) -> None:
        with triolet.CancelScope() as inner:
            scopes.append(inner)
            task_status.started()
            await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        await nursery.start(server)
        await wait_all_tasks_blocked()
        scopes[0].cancel()
    assert scopes[0].cancelled_caught


async def test_started_may_be_called_while_the_task_runs_children_of_its_own() -> None:
    # hypercorn and trio-websocket do this: open a nursery, start workers, then report.
    async def server(task_status: triolet.TaskStatus[str]) -> None:
        async with triolet.open_nursery() as inner:
            inner.start_soon(triolet.sleep_forever)
            await triolet.lowlevel.checkpoint()
            task_status.started("ready")
            await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        assert await nursery.start(server) == "ready"
        # The server and its worker moved with it: cancelling the target nursery stops both.
        nursery.cancel_scope.cancel()


async def test_cancel_status_exposes_effectively_cancelled_like_trio() -> None:
    status = triolet.lowlevel.current_task()._cancel_status  # type: ignore[attr-defined]
    assert status.effectively_cancelled is False
    with triolet.CancelScope() as scope:
        scope.cancel()
        inner = triolet.lowlevel.current_task()._cancel_status  # type: ignore[attr-defined]
        assert inner.effectively_cancelled is True
