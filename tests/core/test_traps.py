"""The low-level traps: wait_task_rescheduled / reschedule / abort, and coroutine detaching."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Generator
from typing import Any

import outcome
import pytest

import triolet
from triolet import lowlevel
from triolet.testing import wait_all_tasks_blocked


@types.coroutine
def yield_to_foreign_driver(value: object) -> Generator[object, object, object]:
    """What code running under a foreign event loop does: yield that loop's messages."""
    return (yield value)


def never_aborts(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
    return lowlevel.Abort.FAILED


def always_aborts(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
    return lowlevel.Abort.SUCCEEDED


async def park_in_child(
    nursery: triolet.Nursery,
    abort_fn: Any,
    results: list[object],
    *scopes: triolet.CancelScope,
) -> lowlevel.Task:
    """Start a child parked in wait_task_rescheduled inside ``scopes`` (outermost first).

    Returns the child's task once it is parked. Cancelling one of the scopes cancels the
    child without cancelling the caller.
    """

    async def child(task_status: triolet.TaskStatus[lowlevel.Task]) -> None:
        with contextlib.ExitStack() as stack:
            for scope in scopes:
                stack.enter_context(scope)
            task_status.started(lowlevel.current_task())
            try:
                results.append(("returned", await lowlevel.wait_task_rescheduled(abort_fn)))
            except BaseException as exc:
                results.append(("raised", type(exc)))
                raise

    task: lowlevel.Task = await nursery.start(child)
    await wait_all_tasks_blocked()
    return task


# ---------------------------------------------------------------------- reschedule
async def test_reschedule_with_a_value_returns_it() -> None:
    results: list[object] = []
    async with triolet.open_nursery() as nursery:
        task = await park_in_child(nursery, never_aborts, results)
        lowlevel.reschedule(task, outcome.Value(42))
    assert results == [("returned", 42)]


async def test_reschedule_without_an_outcome_returns_none() -> None:
    results: list[object] = []
    async with triolet.open_nursery() as nursery:
        task = await park_in_child(nursery, never_aborts, results)
        lowlevel.reschedule(task)
    assert results == [("returned", None)]


async def test_reschedule_with_an_error_raises_it() -> None:
    results: list[object] = []
    with pytest.raises(ExceptionGroup):
        async with triolet.open_nursery() as nursery:
            task = await park_in_child(nursery, never_aborts, results)
            lowlevel.reschedule(task, outcome.Error(KeyError("wake with an error")))
    assert results == [("raised", KeyError)]


async def test_reschedule_is_not_a_checkpoint() -> None:
    results: list[object] = []
    async with triolet.open_nursery() as nursery:
        task = await park_in_child(nursery, never_aborts, results)
        with triolet.testing.assert_no_checkpoints():
            lowlevel.reschedule(task)


# ---------------------------------------------------------------------- abort
async def test_cancel_calls_the_abort_function_and_succeeded_raises_cancelled() -> None:
    results: list[object] = []
    calls = []

    def abort_fn(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        calls.append("abort")
        return lowlevel.Abort.SUCCEEDED

    scope = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        await park_in_child(nursery, abort_fn, results, scope)
        scope.cancel()
    assert calls == ["abort"]
    assert results == [("raised", triolet.Cancelled)]


async def test_abort_failed_keeps_the_task_parked_until_rescheduled() -> None:
    results: list[object] = []
    scope = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        task = await park_in_child(nursery, never_aborts, results, scope)
        scope.cancel()
        await wait_all_tasks_blocked()
        assert results == []
        lowlevel.reschedule(task, outcome.Value("woken anyway"))
    assert results == [("returned", "woken anyway")]


async def test_abort_function_is_called_once_per_park() -> None:
    results: list[object] = []
    calls = []

    def abort_fn(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        calls.append("abort")
        return lowlevel.Abort.FAILED

    outer, inner = triolet.CancelScope(), triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        task = await park_in_child(nursery, abort_fn, results, outer, inner)
        inner.cancel()
        outer.cancel()
        inner.cancel()
        await wait_all_tasks_blocked()
        lowlevel.reschedule(task)
    assert calls == ["abort"]


async def test_parking_while_already_cancelled_calls_abort_at_once() -> None:
    calls = []

    def abort_fn(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        calls.append("abort")
        return lowlevel.Abort.SUCCEEDED

    with triolet.CancelScope() as scope:
        scope.cancel()
        await lowlevel.wait_task_rescheduled(abort_fn)
    assert calls == ["abort"]
    assert scope.cancelled_caught


async def test_raise_cancel_can_be_captured_and_delivered_later() -> None:
    results: list[object] = []
    captured: list[outcome.Outcome[object]] = []

    def abort_fn(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        captured.append(outcome.capture(raise_cancel))
        return lowlevel.Abort.FAILED

    scope = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        task = await park_in_child(nursery, abort_fn, results, scope)
        scope.cancel()
        await wait_all_tasks_blocked()
        assert isinstance(captured[0], outcome.Error)
        assert isinstance(captured[0].error, triolet.Cancelled)
        lowlevel.reschedule(task, captured[0])
    assert results == [("raised", triolet.Cancelled)]


async def test_abort_function_sees_the_task_still_parked() -> None:
    seen = []

    def abort_fn(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        seen.append(lowlevel.current_task() is not None)
        return lowlevel.Abort.SUCCEEDED

    results: list[object] = []
    scope = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        await park_in_child(nursery, abort_fn, results, scope)
        scope.cancel()
    assert seen == [True]


async def test_shielded_park_is_not_aborted() -> None:
    results: list[object] = []
    calls = []

    def abort_fn(raise_cancel: lowlevel.RaiseCancelT) -> lowlevel.Abort:
        calls.append("abort")  # pragma: no cover
        return lowlevel.Abort.SUCCEEDED  # pragma: no cover

    outer = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        task = await park_in_child(
            nursery, abort_fn, results, outer, triolet.CancelScope(shield=True)
        )
        outer.cancel()
        await wait_all_tasks_blocked()
        lowlevel.reschedule(task, outcome.Value("done"))
    assert calls == []
    assert results == [("returned", "done")]


# ---------------------------------------------------------------------- detaching
async def test_temporarily_detached_coroutine_can_be_driven_and_reattached() -> None:
    record: list[object] = []

    async def child(task_status: triolet.TaskStatus[lowlevel.Task]) -> None:
        task = lowlevel.current_task()
        task_status.started(task)
        first = await lowlevel.temporarily_detach_coroutine_object(never_aborts)
        record.append(("detached, got", first))
        reply = await yield_to_foreign_driver("hello driver")
        record.append(("driver replied", reply))
        await lowlevel.reattach_detached_coroutine_object(task, "goodbye driver")
        record.append("back in triolet")
        await triolet.sleep(0)

    async with triolet.open_nursery() as nursery:
        task = await nursery.start(child)
        await wait_all_tasks_blocked()
        coro = task.coro
        assert coro.send("first value") == "hello driver"
        assert coro.send("a reply") == "goodbye driver"
    assert record == [
        ("detached, got", "first value"),
        ("driver replied", "a reply"),
        "back in triolet",
    ]


async def test_permanently_detached_task_finishes_and_its_coroutine_lives_on() -> None:
    record: list[object] = []
    coros = []

    async def child() -> None:
        coros.append(lowlevel.current_task().coro)
        await lowlevel.permanently_detach_coroutine_object(outcome.Value(None))
        record.append("running under the new driver")
        await yield_to_foreign_driver("from the detached coroutine")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert record == []  # the nursery saw the task finish
    coro = coros[0]
    assert coro.send(None) == "from the detached coroutine"
    assert record == ["running under the new driver"]
    coro.close()


async def test_permanently_detached_task_with_an_error_outcome_raises_in_its_nursery() -> None:
    coros = []

    async def child() -> None:
        coros.append(lowlevel.current_task().coro)
        await lowlevel.permanently_detach_coroutine_object(outcome.Error(KeyError("detached")))

    with pytest.raises(ExceptionGroup) as info:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(child)
    assert info.value.subgroup(KeyError) is not None
    coros[0].close()


async def test_permanently_detaching_with_an_open_nursery_is_a_runtime_error() -> None:
    async with triolet.open_nursery():
        with pytest.raises(RuntimeError):
            await lowlevel.permanently_detach_coroutine_object(outcome.Value(None))
