"""Bad input gets a clear error of the type trio users expect, and nothing is lost."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import outcome
import pytest

import triolet
from triolet import lowlevel
from triolet.testing import wait_all_tasks_blocked


async def returns_42() -> int:
    return 42


def sync_function() -> int:
    return 1


def returns_an_asyncio_future() -> asyncio.Future[None]:
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    loop.close()
    return future


# ---------------------------------------------------------------------- not an async function
def test_run_with_a_coroutine_object_is_a_type_error() -> None:
    coro = returns_42()
    with pytest.raises(TypeError, match=r"returns_42"):
        triolet.run(coro)  # type: ignore[arg-type]


def test_run_with_a_sync_function_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        triolet.run(sync_function)  # type: ignore[arg-type]


def test_run_with_a_non_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        triolet.run(42)  # type: ignore[arg-type]


def test_run_with_a_function_returning_an_asyncio_future_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        triolet.run(returns_an_asyncio_future)  # type: ignore[arg-type]


async def test_start_soon_with_a_coroutine_object_is_a_type_error() -> None:
    coro = returns_42()
    async with triolet.open_nursery() as nursery:
        with pytest.raises(TypeError):
            nursery.start_soon(coro)  # type: ignore[arg-type]


async def test_start_soon_with_a_sync_function_is_a_type_error() -> None:
    async with triolet.open_nursery() as nursery:
        with pytest.raises(TypeError):
            nursery.start_soon(sync_function)  # type: ignore[arg-type]


async def test_start_with_a_coroutine_object_is_a_type_error() -> None:
    async def server(task_status: triolet.TaskStatus[None]) -> None:
        task_status.started()  # pragma: no cover

    coro = server(task_status=triolet.TASK_STATUS_IGNORED)
    async with triolet.open_nursery() as nursery:
        with pytest.raises(TypeError):
            await nursery.start(coro)  # type: ignore[arg-type]
    coro.close()


async def test_spawn_system_task_with_a_coroutine_object_is_a_type_error() -> None:
    coro = returns_42()
    with pytest.raises(TypeError):
        lowlevel.spawn_system_task(coro)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- bad numbers
@pytest.mark.parametrize("seconds", [-1, -0.001, -math.inf, math.nan])
async def test_sleep_with_a_bad_duration_is_a_value_error(seconds: float) -> None:
    with pytest.raises(ValueError):
        await triolet.sleep(seconds)


async def test_sleep_until_nan_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        await triolet.sleep_until(math.nan)


async def test_sleep_with_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        await triolet.sleep("1")  # type: ignore[arg-type]


async def test_nan_deadline_on_a_scope_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        triolet.CancelScope(deadline=math.nan)
    with pytest.raises(ValueError):
        triolet.move_on_at(math.nan)


# ---------------------------------------------------------------------- outside a run
SYNC_CALLS_THAT_NEED_A_RUN: list[tuple[str, Callable[[], object]]] = [
    ("current_time", triolet.current_time),
    ("current_effective_deadline", triolet.current_effective_deadline),
    ("current_task", lowlevel.current_task),
    ("current_root_task", lowlevel.current_root_task),
    ("current_clock", lowlevel.current_clock),
    ("current_statistics", lowlevel.current_statistics),
    ("current_trio_token", lowlevel.current_trio_token),
    ("spawn_system_task", lambda: lowlevel.spawn_system_task(returns_42)),
    ("add_instrument", lambda: lowlevel.add_instrument(triolet.abc.Instrument())),
    ("notify_closing", lambda: lowlevel.notify_closing(0)),
    ("CancelScope.__enter__", lambda: triolet.CancelScope().__enter__()),
    ("move_on_after.__enter__", lambda: triolet.move_on_after(1).__enter__()),
    ("ParkingLot.break_lot", lambda: lowlevel.ParkingLot().break_lot()),
]


@pytest.mark.parametrize(
    "call",
    [call for _, call in SYNC_CALLS_THAT_NEED_A_RUN],
    ids=[n for n, _ in SYNC_CALLS_THAT_NEED_A_RUN],
)
def test_sync_call_outside_a_run_is_a_runtime_error(call: Callable[[], object]) -> None:
    with pytest.raises(RuntimeError):
        call()


ASYNC_CALLS_THAT_NEED_A_RUN: list[tuple[str, Callable[[], Awaitable[object]]]] = [
    ("sleep(1)", lambda: triolet.sleep(1)),
    ("sleep_until", lambda: triolet.sleep_until(5)),
    ("checkpoint_if_cancelled", lowlevel.checkpoint_if_cancelled),
    ("wait_all_tasks_blocked", wait_all_tasks_blocked),
    ("ParkingLot.park", lambda: lowlevel.ParkingLot().park()),
]


@pytest.mark.parametrize(
    "make",
    [m for _, m in ASYNC_CALLS_THAT_NEED_A_RUN],
    ids=[n for n, _ in ASYNC_CALLS_THAT_NEED_A_RUN],
)
def test_async_call_outside_a_run_is_a_runtime_error(
    make: Callable[[], Coroutine[Any, Any, object]],
) -> None:
    coro = make()
    with pytest.raises(RuntimeError):
        coro.send(None)
    coro.close()


@pytest.mark.triolet_only  # trio fails with an AttributeError here
def test_open_nursery_outside_a_run_is_a_runtime_error() -> None:
    coro = triolet.open_nursery().__aenter__()
    with pytest.raises(RuntimeError):
        coro.send(None)
    coro.close()


@pytest.mark.parametrize(
    "make", [lambda: triolet.sleep(0), lowlevel.checkpoint, lowlevel.cancel_shielded_checkpoint]
)
def test_checkpoint_under_asyncio_is_a_runtime_error(
    make: Callable[[], Coroutine[Any, Any, object]],
) -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(make())


def test_nested_run_is_a_runtime_error() -> None:
    async def inner() -> None:
        pass  # pragma: no cover

    async def main() -> None:
        with pytest.raises(RuntimeError):
            triolet.run(inner)

    triolet.run(main)


def test_run_from_inside_a_run_leaves_the_outer_run_working() -> None:
    async def inner() -> None:
        pass  # pragma: no cover

    async def main() -> str:
        try:
            triolet.run(inner)
        except RuntimeError:
            pass
        await triolet.sleep(0)
        return "outer run fine"

    assert triolet.run(main) == "outer run fine"


# ---------------------------------------------------------------------- foreign awaitables
async def test_awaiting_an_asyncio_future_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        await returns_an_asyncio_future()


async def test_awaiting_asyncio_sleep_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        await asyncio.sleep(0)


async def test_task_survives_awaiting_a_foreign_awaitable() -> None:
    try:
        await asyncio.sleep(0)
    except TypeError:
        pass
    await triolet.sleep(0)


# ---------------------------------------------------------------------- reschedule misuse
@pytest.mark.triolet_only  # trio treats this as a kernel bug (TrioInternalError)
async def test_reschedule_of_a_running_task_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        lowlevel.reschedule(lowlevel.current_task())


@pytest.mark.triolet_only  # trio treats this as a kernel bug (TrioInternalError)
async def test_reschedule_of_a_runnable_task_is_a_runtime_error() -> None:
    async def child(task_status: triolet.TaskStatus[lowlevel.Task]) -> None:
        task_status.started(lowlevel.current_task())
        await triolet.sleep(0)

    async with triolet.open_nursery() as nursery:
        task = await nursery.start(child)
        # The child is now on the run queue, not parked.
        with pytest.raises(RuntimeError):
            lowlevel.reschedule(task)


@pytest.mark.triolet_only  # trio treats this as a kernel bug (TrioInternalError)
async def test_reschedule_twice_is_a_runtime_error() -> None:
    async def child(task_status: triolet.TaskStatus[lowlevel.Task]) -> None:
        task_status.started(lowlevel.current_task())
        await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.FAILED)

    async with triolet.open_nursery() as nursery:
        task = await nursery.start(child)
        await wait_all_tasks_blocked()
        lowlevel.reschedule(task)
        with pytest.raises(RuntimeError):
            lowlevel.reschedule(task)


@pytest.mark.triolet_only  # trio treats this as a kernel bug (TrioInternalError)
async def test_reschedule_with_a_non_outcome_is_a_type_error() -> None:
    async def child(task_status: triolet.TaskStatus[lowlevel.Task]) -> None:
        task_status.started(lowlevel.current_task())
        await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.FAILED)

    async with triolet.open_nursery() as nursery:
        task = await nursery.start(child)
        await wait_all_tasks_blocked()
        with pytest.raises(TypeError):
            lowlevel.reschedule(task, 42)  # type: ignore[arg-type]
        lowlevel.reschedule(task, outcome.Value(None))
