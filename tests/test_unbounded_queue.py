"""Tests for triolet.lowlevel.UnboundedQueue (deprecated, kept for compatibility).

Written against the public API only, so they also run against trio 0.35:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_unbounded_queue.py``.
"""

from __future__ import annotations

import pytest

import triolet
from triolet.lowlevel import UnboundedQueue
from triolet.testing import assert_checkpoints, assert_no_checkpoints, wait_all_tasks_blocked

pytestmark = pytest.mark.filterwarnings("ignore::triolet.TrioDeprecationWarning")


def test_creating_an_unbounded_queue_warns_that_it_is_deprecated() -> None:
    with pytest.warns(triolet.TrioDeprecationWarning, match="open_memory_channel"):
        UnboundedQueue[int]()


def test_unbounded_queue_does_not_support_subclassing() -> None:
    with pytest.raises(TypeError):
        type("MyQueue", (UnboundedQueue,), {})


async def test_get_batch_nowait_takes_everything_queued_in_order() -> None:
    queue = UnboundedQueue[int]()
    assert queue.empty()
    assert queue.qsize() == 0
    with pytest.raises(triolet.WouldBlock):
        queue.get_batch_nowait()
    with assert_no_checkpoints():
        queue.put_nowait(1)
        queue.put_nowait(2)
    assert not queue.empty()
    assert queue.qsize() == 2
    assert "2 items" in repr(queue)
    with assert_no_checkpoints():
        assert queue.get_batch_nowait() == [1, 2]
    assert queue.empty()
    with pytest.raises(triolet.WouldBlock):
        queue.get_batch_nowait()


async def test_get_batch_with_items_queued_is_a_checkpoint() -> None:
    queue = UnboundedQueue[str]()
    queue.put_nowait("a")
    with assert_checkpoints():
        assert await queue.get_batch() == ["a"]
    queue.put_nowait("b")
    with triolet.CancelScope() as scope:
        scope.cancel()
        await queue.get_batch()
    assert scope.cancelled_caught
    assert queue.get_batch_nowait() == ["b"]


async def test_woken_getter_gets_the_whole_batch_reserved_for_it() -> None:
    queue = UnboundedQueue[int]()
    batches: list[tuple[str, list[int]]] = []

    async def getter(name: str) -> None:
        batches.append((name, await queue.get_batch()))

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(getter, "first")
        await wait_all_tasks_blocked()
        nursery.start_soon(getter, "second")
        await wait_all_tasks_blocked()
        assert queue.statistics() == triolet.lowlevel.UnboundedQueueStatistics(
            qsize=0, tasks_waiting=2
        )
        queue.put_nowait(1)
        assert queue.statistics().tasks_waiting == 1
        # Items put before the woken getter runs join its batch; nobody else may take it.
        queue.put_nowait(2)
        with pytest.raises(triolet.WouldBlock):
            queue.get_batch_nowait()
        await wait_all_tasks_blocked()
        assert batches == [("first", [1, 2])]
        queue.put_nowait(3)
    assert batches == [("first", [1, 2]), ("second", [3])]


async def test_cancelled_getter_loses_nothing() -> None:
    queue = UnboundedQueue[int]()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(queue.get_batch)
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert queue.statistics().tasks_waiting == 0
    queue.put_nowait(1)
    assert queue.get_batch_nowait() == [1]


async def test_getter_woken_and_cancelled_at_once_keeps_its_batch() -> None:
    queue = UnboundedQueue[int]()
    batches: list[list[int]] = []
    scope = triolet.CancelScope()

    async def getter() -> None:
        with scope:
            batches.append(await queue.get_batch())
            await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(getter)
        await wait_all_tasks_blocked()
        queue.put_nowait(1)
        scope.cancel()
    assert batches == [[1]]
    assert queue.empty()


async def test_async_for_yields_batches() -> None:
    queue = UnboundedQueue[int]()
    batches: list[list[int]] = []

    async def consumer() -> None:
        async for batch in queue:
            batches.append(batch)
            if 3 in batch:
                break

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(consumer)
        await wait_all_tasks_blocked()
        queue.put_nowait(1)
        queue.put_nowait(2)
        await wait_all_tasks_blocked()
        queue.put_nowait(3)
    assert batches == [[1, 2], [3]]
