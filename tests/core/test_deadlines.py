"""The deadline heap: lazy arming through the pending lists, stale entries, expiry order."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

import triolet
from triolet._core._deadlines import Deadlines
from triolet.testing import MockClock


class FakeOwner:
    """Stands in for a Task (armed with add) or a CancelScope (armed with add_scope)."""

    _deadline_token = 0

    def __init__(self, name: int, deadline: float = math.inf) -> None:
        self.name = name
        self._deadline = deadline

    def __repr__(self) -> str:
        return f"owner{self.name}"


def stored_entries(deadlines: Deadlines) -> int:
    return len(deadlines._heap) + len(deadlines._pending) + len(deadlines._pending_scopes)


# Each step: (owner index, action, deadline); action 0 = arm as a task, 1 = arm as a scope,
# 2 = disarm, 3 = pop everything due at `deadline`.
steps = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3), st.integers(0, 20)), max_size=120)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_deadlines_agree_with_a_dict_model(script: list[tuple[int, int, int]]) -> None:
    deadlines = Deadlines()
    owners = [FakeOwner(index) for index in range(8)]
    model: dict[int, tuple[float, int]] = {}  # armed owner -> (deadline, when it was armed)
    kind: dict[int, int] = {}  # armed owner -> how it was armed (0 task-like, 1 scope-like)
    for step, (index, action, when) in enumerate(script):
        owner = owners[index]
        if action in (0, 1):
            # Re-arming means disarming first, as Task and CancelScope do.
            deadlines.remove(owner)
            if action == 0:
                deadlines.add(owner, float(when))
            else:
                owner._deadline = float(when)
                deadlines.add_scope(owner)
            model[index] = (float(when), step)
            kind[index] = action
        elif action == 2:
            deadlines.remove(owner)
            model.pop(index, None)
        else:
            expired = deadlines.pop_expired(float(when))
            due = sorted((armed, index) for index, armed in model.items() if armed[0] <= when)
            got = [owner.name for owner in expired]
            assert sorted(got) == sorted(index for _, index in due)
            # Earliest deadline first.
            assert [model[index][0] for index in got] == sorted(d for (d, _), _ in due)
            # Equal deadlines in the order they were armed, among tasks and among scopes
            # (scopes get their place in line when the loop next polls).
            for armed_as in (0, 1):
                assert [i for i in got if kind[i] == armed_as] == [
                    i for _, i in due if kind[i] == armed_as
                ]
            assert all(owner._deadline_token == 0 for owner in expired)
            for _, index in due:
                del model[index]
            # Checked only here (these flush the pending lists), so arming and re-arming
            # between pops pile up in the pending lists, as between two polls.
            assert len(deadlines) == len(model)
            assert deadlines.next_deadline() == min(
                (d for d, _ in model.values()), default=math.inf
            )
            # Everything stored is either live or counted stale: nothing leaks.
            assert stored_entries(deadlines) == len(model) + deadlines._stale
    assert len(deadlines) == len(model)
    assert stored_entries(deadlines) == len(model) + deadlines._stale


def test_many_short_timeouts_leave_nothing_behind() -> None:
    async def main() -> int:
        for _ in range(5_000):
            with triolet.move_on_after(10):
                await triolet.lowlevel.checkpoint()
        runner = triolet._core._state.run_context.runner
        assert runner is not None
        return stored_entries(runner.deadlines)

    assert triolet.run(main) < 200


async def test_a_deadline_moved_several_times_before_a_checkpoint_fires_once_at_the_last(
    autojump_clock: MockClock,
) -> None:
    with triolet.CancelScope(deadline=5) as scope:
        scope.deadline = 3
        scope.deadline = 8
        scope.deadline = 2
        scope.deadline = 6
        await triolet.sleep(10)
    assert scope.cancelled_caught
    assert triolet.current_time() == 6


async def test_scopes_with_equal_deadlines_fire_in_the_order_they_were_armed(
    autojump_clock: MockClock,
) -> None:
    order: list[int] = []

    async def waiter(index: int) -> None:
        with triolet.move_on_at(4):
            await triolet.sleep_forever()
        order.append(index)

    async with triolet.open_nursery() as nursery:
        for index in range(5):
            nursery.start_soon(waiter, index)
    assert order == [0, 1, 2, 3, 4]
    assert triolet.current_time() == 4
