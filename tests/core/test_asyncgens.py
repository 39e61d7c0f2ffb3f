"""Async generators abandoned mid-iteration are finalized inside the run that started them."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import warnings
from collections.abc import AsyncIterator

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import wait_all_tasks_blocked


def make_agen(record: list[object], tag: str) -> AsyncIterator[int]:
    async def agen() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2  # pragma: no cover
        finally:
            record.append((tag, "finally", lowlevel.in_trio_task()))
            try:
                await triolet.sleep(0)
                record.append((tag, "awaited"))
            except triolet.Cancelled:
                record.append((tag, "cancelled"))
                raise

    return agen()


def test_survivor_is_closed_before_run_returns() -> None:
    record: list[object] = []
    keep = []

    async def main() -> None:
        agen = make_agen(record, "survivor")
        await agen.__anext__()
        keep.append(agen)  # still referenced when the run ends
        record.append("main done")

    triolet.run(main)
    assert record[0] == "main done"
    assert record[1] == ("survivor", "finally", True)


def test_survivor_cleanup_runs_cancelled() -> None:
    record: list[object] = []
    keep = []

    async def main() -> None:
        agen = make_agen(record, "survivor")
        await agen.__anext__()
        keep.append(agen)

    triolet.run(main)
    assert record[-1] == ("survivor", "cancelled")


def test_survivor_blocking_forever_in_finally_does_not_hang_the_run() -> None:
    keep = []

    async def stubborn() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            await triolet.sleep_forever()

    async def main() -> str:
        agen = stubborn()
        await agen.__anext__()
        keep.append(agen)
        return "done"

    assert triolet.run(main) == "done"


async def test_collected_generator_is_finalized_during_the_run() -> None:
    record: list[object] = []
    agen = make_agen(record, "collected")
    await agen.__anext__()
    del agen
    gc.collect()
    await wait_all_tasks_blocked()
    assert record[:1] == [("collected", "finally", True)]
    assert record[1:] == [("collected", "cancelled")]


async def test_fully_iterated_generator_needs_no_finalization() -> None:
    record: list[object] = []
    agen = make_agen(record, "finished")
    values = [value async for value in agen]  # type: ignore[attr-defined]
    assert values == [1, 2]
    assert record == [("finished", "finally", True), ("finished", "awaited")]


def test_generator_raising_in_finally_does_not_crash_the_run() -> None:
    keep = []

    async def broken() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            raise ValueError("cleanup failed")

    async def main() -> str:
        agen = broken()
        await agen.__anext__()
        keep.append(agen)
        return "done"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert triolet.run(main) == "done"


@pytest.mark.triolet_only  # trio reports it with the logging module instead
def test_generator_raising_in_finally_is_reported_with_a_warning() -> None:
    keep = []

    async def broken() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            raise ValueError("cleanup failed")

    async def main() -> None:
        agen = broken()
        await agen.__anext__()
        keep.append(agen)

    with pytest.warns(RuntimeWarning, match="cleanup failed"):
        triolet.run(main)


def test_asyncgen_hooks_are_restored_after_run() -> None:
    before = sys.get_asyncgen_hooks()

    async def main() -> None:
        assert sys.get_asyncgen_hooks() != before

    triolet.run(main)
    assert sys.get_asyncgen_hooks() == before


def test_generator_started_before_the_run_is_not_finalized_by_it() -> None:
    record: list[object] = []

    async def plain() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            record.append("finalized")

    agen = plain()
    step = agen.__anext__()
    with pytest.raises(StopIteration):
        step.send(None)  # first iteration outside any run

    async def main() -> None:
        await wait_all_tasks_blocked()

    triolet.run(main)
    assert record == []
    with pytest.raises(StopIteration):
        agen.aclose().send(None)
    assert record == ["finalized"]


@pytest.mark.triolet_only
def test_generator_collected_while_the_entry_queue_lock_is_held_does_not_deadlock() -> None:
    # In a subprocess, so that a regression hangs only that process.
    program = textwrap.dedent(
        """
        import gc
        import triolet
        from triolet.testing import wait_all_tasks_blocked
        from triolet._core._state import run_context

        record = []

        async def agen():
            try:
                yield 1
            finally:
                record.append("finalized")

        async def main():
            g = agen()
            await g.__anext__()
            with run_context.runner.entry_queue.lock:
                del g  # the finalizer runs right here, under the lock
                gc.collect()
            await wait_all_tasks_blocked()
            print(record)

        triolet.run(main)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() == "['finalized']", result.stderr
