"""Cancel scopes: level-triggered cancellation, shields, deadlines, which scope catches.

The property test at the end builds random trees of scopes and checks, against a model
written from trio's documented rules, exactly which scopes catch the cancellation.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triolet
from triolet import lowlevel
from triolet.testing import MockClock, wait_all_tasks_blocked


# ---------------------------------------------------------------------- basics
async def test_cancel_before_any_checkpoint_raises_at_the_next_checkpoint() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        await lowlevel.checkpoint()
        pytest.fail("checkpoint returned in a cancelled scope")  # pragma: no cover
    assert scope.cancelled_caught


async def test_cancel_is_not_a_checkpoint() -> None:
    with triolet.CancelScope() as scope:
        with triolet.testing.assert_no_checkpoints():
            scope.cancel()
    assert scope.cancel_called
    assert not scope.cancelled_caught


async def test_cancel_is_idempotent() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        scope.cancel()
        await lowlevel.checkpoint()
    assert scope.cancelled_caught


async def test_scope_without_cancel_does_not_catch() -> None:
    with triolet.CancelScope() as scope:
        await lowlevel.checkpoint()
    assert not scope.cancel_called
    assert not scope.cancelled_caught


async def test_cancelled_scope_without_checkpoint_does_not_catch() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
    assert scope.cancel_called
    assert not scope.cancelled_caught


async def test_cancellation_is_level_triggered() -> None:
    raised = 0
    with triolet.CancelScope() as scope:
        scope.cancel()
        for _ in range(3):
            try:
                await lowlevel.checkpoint()
            except triolet.Cancelled:
                raised += 1
    assert raised == 3
    assert not scope.cancelled_caught


async def test_cancel_before_entering_cancels_on_entry() -> None:
    scope = triolet.CancelScope()
    scope.cancel()
    with scope:
        await lowlevel.checkpoint()
    assert scope.cancelled_caught


async def test_cancel_after_exit_sets_cancel_called_only() -> None:
    with triolet.CancelScope() as scope:
        pass
    scope.cancel()
    assert scope.cancel_called
    assert not scope.cancelled_caught
    await lowlevel.checkpoint()


async def test_cancel_wakes_a_sleeping_task() -> None:
    async def sleeper(scope: triolet.CancelScope) -> None:
        with scope:
            await triolet.sleep_forever()

    scope = triolet.CancelScope()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper, scope)
        await wait_all_tasks_blocked()
        scope.cancel()
    assert scope.cancelled_caught


async def test_cancelling_an_outer_scope_reaches_tasks_in_inner_scopes() -> None:
    with triolet.CancelScope() as outer:
        with triolet.CancelScope() as inner:
            outer.cancel()
            await lowlevel.checkpoint()
    assert not inner.cancelled_caught
    assert outer.cancelled_caught


async def test_outermost_of_two_cancelled_scopes_catches() -> None:
    with triolet.CancelScope() as outer:
        with triolet.CancelScope() as inner:
            inner.cancel()
            outer.cancel()
            await lowlevel.checkpoint()
    assert not inner.cancelled_caught
    assert outer.cancelled_caught


async def test_outer_cancel_during_unwinding_moves_the_catch_outward() -> None:
    with triolet.CancelScope() as outer:
        with triolet.CancelScope() as inner:
            inner.cancel()
            try:
                await lowlevel.checkpoint()
            finally:
                outer.cancel()
    assert not inner.cancelled_caught
    assert outer.cancelled_caught


async def test_cancelled_is_a_base_exception_not_an_exception() -> None:
    assert issubclass(triolet.Cancelled, BaseException)
    assert not issubclass(triolet.Cancelled, Exception)


async def test_cancelled_has_no_public_constructor() -> None:
    with pytest.raises(TypeError):
        triolet.Cancelled()


async def test_cancelled_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError):

        class MyCancelled(triolet.Cancelled):  # type: ignore[misc]
            pass


async def test_cancelled_can_be_pickled() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        try:
            await lowlevel.checkpoint()
        except triolet.Cancelled as exc:
            copy = pickle.loads(pickle.dumps(exc))
            assert isinstance(copy, triolet.Cancelled)
            raise


async def test_cancel_reason_is_in_the_cancelled_message() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel(reason="shutting down now")
        try:
            await lowlevel.checkpoint()
        except triolet.Cancelled as exc:
            assert "shutting down now" in str(exc)
            raise


async def test_cancel_scope_cannot_be_entered_twice() -> None:
    scope = triolet.CancelScope()
    with scope:
        pass
    with pytest.raises(RuntimeError):
        with scope:
            pass  # pragma: no cover


async def test_cancel_scope_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError):

        class MyScope(triolet.CancelScope):  # type: ignore[misc]
            pass


async def test_exiting_scopes_out_of_order_is_a_runtime_error() -> None:
    outer = triolet.CancelScope()
    inner = triolet.CancelScope()
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(RuntimeError):
        outer.__exit__(None, None, None)


async def test_scope_catches_cancelled_inside_an_exception_group() -> None:
    async def sleeper() -> None:
        await triolet.sleep_forever()

    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sleeper)
            await wait_all_tasks_blocked()
            scope.cancel()
    assert scope.cancelled_caught


async def test_scope_keeps_other_errors_of_a_group_and_drops_cancelled() -> None:
    async def sleeper() -> None:
        await triolet.sleep_forever()

    async def crasher() -> None:
        await wait_all_tasks_blocked()
        raise ValueError("boom")

    with pytest.raises(BaseExceptionGroup) as info:
        with triolet.CancelScope() as scope:
            async with triolet.open_nursery() as outer_nursery:
                outer_nursery.start_soon(crasher)
                async with triolet.open_nursery() as inner_nursery:
                    inner_nursery.start_soon(sleeper)
                    await wait_all_tasks_blocked()
                    scope.cancel()
                    await wait_all_tasks_blocked()
    assert info.value.subgroup(triolet.Cancelled) is None
    assert info.value.subgroup(ValueError) is not None


# ---------------------------------------------------------------------- shields
async def test_shield_hides_an_outer_cancellation() -> None:
    with triolet.CancelScope() as outer:
        outer.cancel()
        with triolet.CancelScope(shield=True):
            await lowlevel.checkpoint()
        with pytest.raises(triolet.Cancelled):
            await lowlevel.checkpoint()


async def test_shielded_scope_survives_outer_cancel_while_sleeping(
    autojump_clock: MockClock,
) -> None:
    done = []

    async def shielded_sleeper() -> None:
        with triolet.CancelScope(shield=True):
            await triolet.sleep(1)
            done.append("slept through the cancel")

    with triolet.CancelScope() as outer:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(shielded_sleeper)
            await wait_all_tasks_blocked()
            outer.cancel()
    assert done == ["slept through the cancel"]


async def test_shielded_scope_still_obeys_its_own_cancel() -> None:
    with triolet.CancelScope() as outer:
        outer.cancel()
        with triolet.CancelScope(shield=True) as shielded:
            shielded.cancel()
            await lowlevel.checkpoint()
        assert shielded.cancelled_caught
        await lowlevel.checkpoint()
    assert outer.cancelled_caught


async def test_removing_a_shield_delivers_the_pending_cancel_to_a_sleeping_task() -> None:
    outer = triolet.CancelScope()
    shield_scope = triolet.CancelScope(shield=True)

    async def sleeper() -> None:
        with outer:
            with shield_scope:
                await triolet.sleep_forever()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper)
        await wait_all_tasks_blocked()
        outer.cancel()
        await wait_all_tasks_blocked()
        assert len(nursery.child_tasks) == 1
        shield_scope.shield = False
    assert outer.cancelled_caught
    assert not shield_scope.cancelled_caught


async def test_removing_a_shield_reaches_tasks_in_nested_nurseries() -> None:
    outer = triolet.CancelScope()
    shield_scope = triolet.CancelScope(shield=True)
    cancelled = []

    async def kid() -> None:
        try:
            await triolet.sleep_forever()
        except triolet.Cancelled:
            cancelled.append("kid")
            raise

    async def holder() -> None:
        with outer:
            with shield_scope:
                async with triolet.open_nursery() as nursery:
                    nursery.start_soon(kid)
                    nursery.start_soon(kid)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(holder)
        await wait_all_tasks_blocked()
        outer.cancel()
        await wait_all_tasks_blocked()
        assert cancelled == []
        shield_scope.shield = False
    assert cancelled == ["kid", "kid"]
    assert outer.cancelled_caught


async def test_adding_a_shield_hides_a_cancel_made_before() -> None:
    with triolet.CancelScope() as outer:
        with triolet.CancelScope() as inner:
            outer.cancel()
            inner.shield = True
            await lowlevel.checkpoint()
            inner.shield = False
            with pytest.raises(triolet.Cancelled):
                await lowlevel.checkpoint()


async def test_shield_setter_rejects_non_bool() -> None:
    scope = triolet.CancelScope()
    with pytest.raises(TypeError):
        scope.shield = 1  # type: ignore[assignment]


async def test_shield_property_reflects_the_constructor() -> None:
    assert triolet.CancelScope(shield=True).shield
    assert not triolet.CancelScope().shield


# ---------------------------------------------------------------------- deadlines
async def test_deadline_cancels_the_scope(autojump_clock: MockClock) -> None:
    with triolet.CancelScope(deadline=triolet.current_time() + 5) as scope:
        await triolet.sleep_forever()
    assert scope.cancelled_caught
    assert triolet.current_time() == 5


async def test_relative_deadline_counts_from_entry(autojump_clock: MockClock) -> None:
    scope = triolet.CancelScope(relative_deadline=3)
    await triolet.sleep(10)
    with scope:
        assert scope.deadline == 13
        await triolet.sleep_forever()
    assert triolet.current_time() == 13


async def test_deadline_in_the_past_cancels_on_entry(mock_clock: MockClock) -> None:
    mock_clock.jump(10)
    with triolet.CancelScope(deadline=5) as scope:
        assert scope.cancel_called
        await lowlevel.checkpoint()
    assert scope.cancelled_caught


async def test_moving_the_deadline_later_postpones_cancellation(
    autojump_clock: MockClock,
) -> None:
    with triolet.CancelScope(deadline=1) as scope:
        scope.deadline = 4
        await triolet.sleep_forever()
    assert triolet.current_time() == 4


async def test_moving_the_deadline_earlier_wakes_a_sleeper(autojump_clock: MockClock) -> None:
    async def sleeper(scope: triolet.CancelScope) -> None:
        with scope:
            await triolet.sleep_forever()

    scope = triolet.CancelScope(deadline=100)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sleeper, scope)
        await wait_all_tasks_blocked()
        scope.deadline = 2
    assert scope.cancelled_caught
    assert triolet.current_time() == 2


async def test_many_exited_deadline_scopes_leave_no_timers(autojump_clock: MockClock) -> None:
    for i in range(1000):
        with triolet.move_on_after(10 + i):
            await triolet.sleep(0)
    assert lowlevel.current_statistics().seconds_to_next_deadline == math.inf
    await triolet.sleep(5)
    assert triolet.current_time() == 5


async def test_setting_deadline_to_inf_removes_it(autojump_clock: MockClock) -> None:
    with triolet.CancelScope(deadline=1) as scope:
        scope.deadline = math.inf
        await triolet.sleep(5)
    assert not scope.cancel_called


async def test_setting_relative_deadline_inside_the_scope_counts_from_now(
    mock_clock: MockClock,
) -> None:
    with triolet.CancelScope() as scope:
        mock_clock.jump(2)
        scope.relative_deadline = 3
        assert scope.deadline == 5
        assert scope.relative_deadline == 3


async def test_cancel_called_notices_an_expired_deadline_without_a_checkpoint(
    mock_clock: MockClock,
) -> None:
    with triolet.CancelScope(deadline=1) as scope:
        mock_clock.jump(2)
        assert scope.cancel_called
    assert not scope.cancelled_caught


async def test_unobserved_expired_deadline_does_not_mark_a_scope_left_by_an_error(
    mock_clock: MockClock,
) -> None:
    with pytest.raises(ValueError):
        with triolet.CancelScope(deadline=1) as scope:
            mock_clock.jump(2)
            raise ValueError
    assert not scope.cancel_called
    assert not scope.cancelled_caught


async def test_deadline_of_an_unentered_relative_scope_is_a_runtime_error() -> None:
    scope = triolet.CancelScope(relative_deadline=3)
    assert scope.relative_deadline == 3
    assert scope.is_relative is True
    with pytest.raises(RuntimeError):
        scope.deadline  # noqa: B018


async def test_relative_deadline_of_an_unentered_absolute_scope_is_a_runtime_error() -> None:
    scope = triolet.CancelScope(deadline=3)
    assert scope.deadline == 3
    assert scope.is_relative is False
    with pytest.raises(RuntimeError):
        scope.relative_deadline  # noqa: B018


async def test_setting_deadline_on_an_unentered_relative_scope_is_a_runtime_error() -> None:
    scope = triolet.CancelScope(relative_deadline=3)
    with pytest.raises(RuntimeError):
        scope.deadline = 7


async def test_setting_relative_deadline_on_an_unentered_absolute_scope_is_a_runtime_error() -> (
    None
):
    scope = triolet.CancelScope(deadline=3)
    with pytest.raises(RuntimeError):
        scope.relative_deadline = 7


async def test_is_relative_is_none_once_entered() -> None:
    with triolet.CancelScope(relative_deadline=3) as scope:
        assert scope.is_relative is None


async def test_scope_without_deadlines_reports_inf() -> None:
    scope = triolet.CancelScope()
    assert scope.deadline == math.inf
    assert scope.relative_deadline == math.inf
    assert scope.is_relative is False


@pytest.mark.parametrize("bad", [math.nan])
async def test_nan_deadline_is_a_value_error(bad: float) -> None:
    with pytest.raises(ValueError):
        triolet.CancelScope(deadline=bad)
    with pytest.raises(ValueError):
        triolet.CancelScope(relative_deadline=bad)
    scope = triolet.CancelScope()
    with pytest.raises(ValueError):
        scope.deadline = bad


async def test_negative_relative_deadline_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        triolet.CancelScope(relative_deadline=-1)


async def test_deadline_and_relative_deadline_together_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        triolet.CancelScope(deadline=1, relative_deadline=1)


# ---------------------------------------------------------------------- effective deadline
async def test_current_effective_deadline_is_inf_without_deadlines() -> None:
    assert triolet.current_effective_deadline() == math.inf


async def test_current_effective_deadline_is_the_nearest_enclosing_deadline(
    mock_clock: MockClock,
) -> None:
    with triolet.CancelScope(deadline=100):
        with triolet.CancelScope(deadline=200):
            assert triolet.current_effective_deadline() == 100
        with triolet.CancelScope(deadline=50):
            assert triolet.current_effective_deadline() == 50


async def test_current_effective_deadline_stops_at_a_shield(mock_clock: MockClock) -> None:
    with triolet.CancelScope(deadline=100):
        with triolet.CancelScope(deadline=300, shield=True):
            assert triolet.current_effective_deadline() == 300


async def test_current_effective_deadline_is_minus_inf_when_cancelled() -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        assert triolet.current_effective_deadline() == -math.inf
        with triolet.CancelScope(shield=True, deadline=math.inf):
            assert triolet.current_effective_deadline() == math.inf


# ---------------------------------------------------------------------- property test
DEADLINES = [None, 0, 1, 2, 3, 4]
# cancel() calls happen at half-seconds, so they never tie with a deadline.
CANCEL_TIMES: list[float | str | None] = [None, None, "before entry", 0.5, 1.5, 2.5, 3.5]
LEAF_SLEEP = 10


@dataclass
class Node:
    shield: bool
    deadline: int | None
    relative: bool
    cancel_at: float | str | None
    children: list[Node] = field(default_factory=list)

    def cancel_time(self) -> float:
        times = [math.inf]
        if self.deadline is not None:
            times.append(self.deadline)
        if self.cancel_at == "before entry":
            times.append(0)
        elif self.cancel_at is not None:
            assert isinstance(self.cancel_at, float)
            times.append(self.cancel_at)
        return min(times)


node_attrs = st.fixed_dictionaries(
    {
        "shield": st.booleans(),
        "deadline": st.sampled_from(DEADLINES),
        "relative": st.booleans(),
        "cancel_at": st.sampled_from(CANCEL_TIMES),
    }
)
trees = st.recursive(
    node_attrs.map(lambda attrs: Node(**attrs)),
    lambda kids: st.tuples(node_attrs, st.lists(kids, min_size=1, max_size=3)).map(
        lambda pair: Node(**pair[0], children=pair[1])
    ),
    max_leaves=8,
)


def all_nodes(node: Node) -> list[Node]:
    found = [node]
    for child in node.children:
        found.extend(all_nodes(child))
    return found


def expected_outcome(
    node: Node, parent_cancelled_at: float, caught: dict[int, bool], exits: dict[int, float]
) -> bool:
    """The documented rules, replayed on virtual time. Returns: did Cancelled escape?

    * A scope is effectively cancelled from the moment it is cancelled (deadline or
      cancel()), or its parent is, unless it is shielded.
    * A leaf sleeps LEAF_SLEEP seconds; it gets Cancelled the moment it is effectively
      cancelled. A node with children waits in its nursery for all of them; waiting there
      is not a cancel point, so it raises only what its children raised.
    * A scope catches the Cancelled that reaches its exit iff it was cancelled itself by
      then, and either it is shielded or its parent is not effectively cancelled by then
      (otherwise an outer scope will catch it). Nothing happens between a cancellation at
      time t and the exits it causes at time t.
    """
    cancelled_at = node.cancel_time()
    if not node.shield:
        cancelled_at = min(cancelled_at, parent_cancelled_at)
    if node.children:
        escaped = [expected_outcome(child, cancelled_at, caught, exits) for child in node.children]
        exit_time = max(exits[id(child)] for child in node.children)
        raised = any(escaped)
    elif cancelled_at < LEAF_SLEEP:
        exit_time, raised = cancelled_at, True
    else:
        exit_time, raised = LEAF_SLEEP, False
    catches = (
        raised
        and node.cancel_time() <= exit_time
        and (node.shield or parent_cancelled_at > exit_time)
    )
    caught[id(node)] = catches
    exits[id(node)] = exit_time
    return raised and not catches


async def run_tree(root: Node) -> tuple[dict[int, bool], dict[int, float]]:
    nodes = all_nodes(root)
    scopes: dict[int, triolet.CancelScope] = {}
    for node in nodes:
        if node.deadline is None:
            scopes[id(node)] = triolet.CancelScope(shield=node.shield)
        elif node.relative:
            scopes[id(node)] = triolet.CancelScope(
                shield=node.shield, relative_deadline=node.deadline
            )
        else:
            scopes[id(node)] = triolet.CancelScope(shield=node.shield, deadline=node.deadline)
        if node.cancel_at == "before entry":
            scopes[id(node)].cancel()
    exits: dict[int, float] = {}

    async def run_node(node: Node) -> None:
        try:
            with scopes[id(node)]:
                if node.children:
                    async with triolet.open_nursery() as nursery:
                        for child in node.children:
                            nursery.start_soon(run_node, child)
                else:
                    await triolet.sleep(LEAF_SLEEP)
        finally:
            exits[id(node)] = triolet.current_time()

    async def canceller() -> None:
        plan: dict[float, list[int]] = {}
        for node in nodes:
            if isinstance(node.cancel_at, float):
                plan.setdefault(node.cancel_at, []).append(id(node))
        for when in sorted(plan):
            await triolet.sleep_until(when)
            for node_id in plan[when]:  # all at once: no checkpoint in between
                scopes[node_id].cancel()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(canceller)
        await run_node(root)
    return {key: scope.cancelled_caught for key, scope in scopes.items()}, exits


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(root=trees)
def test_exactly_the_expected_scopes_catch_cancellation(root: Node) -> None:
    expected_caught: dict[int, bool] = {}
    expected_exits: dict[int, float] = {}
    escaped = expected_outcome(root, math.inf, expected_caught, expected_exits)
    assert not escaped  # nothing outside the tree is cancelled
    caught, exits = triolet.run(run_tree, root, clock=MockClock(autojump_threshold=0))
    assert caught == expected_caught
    assert exits == expected_exits


async def test_cancel_reaches_every_level_of_scopes_and_nurseries_but_not_shielded_branches() -> (
    None
):
    # The outer scope finds what lies below it through task chains: each task's scopes,
    # the nurseries they hold, and those nurseries' children, at any depth.
    reached: list[str] = []
    shields: list[triolet.CancelScope] = []

    async def leaf(label: str, shield: bool) -> None:
        with triolet.CancelScope(shield=shield) as scope:
            if shield:
                shields.append(scope)
            with triolet.CancelScope():
                try:
                    await triolet.sleep_forever()
                except triolet.Cancelled:
                    reached.append(label)
                    raise

    async def middle() -> None:
        with triolet.CancelScope():
            async with triolet.open_nursery() as nursery:
                nursery.start_soon(leaf, "deep", False)
                nursery.start_soon(leaf, "shielded", True)

    async def branch(task_status: triolet.TaskStatus[triolet.CancelScope]) -> None:
        with triolet.CancelScope() as outer:
            task_status.started(outer)
            await middle()

    async with triolet.open_nursery() as nursery:
        outer = await nursery.start(branch)
        await wait_all_tasks_blocked()
        outer.cancel()
        await wait_all_tasks_blocked()
        assert reached == ["deep"]
        # Lifting the shield lets the outer cancellation through to the parked leaf.
        shields[0].shield = False
        await wait_all_tasks_blocked()
        assert sorted(reached) == ["deep", "shielded"]
    assert outer.cancelled_caught
