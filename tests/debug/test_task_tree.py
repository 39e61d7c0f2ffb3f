import dataclasses
import json

import triolet
from triolet.lowlevel import format_task_tree, task_tree
from triolet.testing import MockClock, wait_all_tasks_blocked


async def _sleeper(seconds: float) -> None:
    await triolet.sleep(seconds)


async def _waiter(lot: triolet.lowlevel.ParkingLot) -> None:
    await lot.park()


async def _shielded_worker(task_status: triolet.TaskStatus[triolet.CancelScope]) -> None:
    with triolet.CancelScope(shield=True) as shield:
        task_status.started(shield)
        await triolet.sleep_forever()


def test_tree_with_nested_nurseries_and_shields_renders_exactly() -> None:
    rendered: list[str] = []

    async def main() -> None:
        lot = triolet.lowlevel.ParkingLot()
        with triolet.move_on_after(30):
            async with triolet.open_nursery() as outer:
                outer.start_soon(_sleeper, 5, name="sleeper")
                shield = await outer.start(_shielded_worker, name="worker")
                async with triolet.open_nursery() as inner:
                    inner.start_soon(_waiter, lot, name="waiter")
                    await wait_all_tasks_blocked()
                    tree = task_tree()
                    main_info = tree.nurseries[0].children[1]
                    rendered.append(format_task_tree(main_info, stacks=False))
                    json.dumps(dataclasses.asdict(tree))  # serialisable as JSON
                    inner.cancel_scope.cancel(reason="test over")
                shield.cancel()
                outer.cancel_scope.cancel()

    triolet.run(main, clock=MockClock())
    assert rendered[0] == "\n".join(
        [
            "test_task_tree.test_tree_with_nested_nurseries_and_shields_renders_exactly"
            ".<locals>.main [running]",
            "  cancel scope [deadline in 30.000s]",
            "├─ nursery (cancel scope)",
            "│  ├─ sleeper [parked: waiting for sleep until 5.000 (5.000s from now)]",
            "│  └─ worker [parked: waiting for reschedule, in _shielded_worker]",
            "│       cancel scope [shielded]",
            "└─ nursery (cancel scope)",
            "   └─ waiter [parked: waiting for a ParkingLot, in _waiter]",
        ]
    )


def test_tree_reports_cancel_reason_and_await_stack() -> None:
    seen: list[triolet.lowlevel.TaskInfo] = []

    async def main() -> None:
        with triolet.CancelScope() as scope:
            scope.cancel(reason="shutting down")
            seen.append(task_tree().nurseries[0].children[1])

    triolet.run(main)
    info = seen[0]
    assert info.state == "running"
    assert info.cancel_scopes[0].cancel_called
    assert info.cancel_scopes[0].cancel_reason == "shutting down"
    assert info.await_stack[0].function.endswith("main")
    assert info.await_stack[0].filename == __file__


def test_task_tree_outside_a_run_is_a_clear_error() -> None:
    try:
        task_tree()
    except RuntimeError as exc:
        assert "task_tree" in str(exc)
    else:
        raise AssertionError("task_tree() outside a run should raise RuntimeError")
