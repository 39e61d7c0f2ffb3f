"""Differential test: random trees of cancel scopes, nurseries and failing tasks behave
exactly as under trio 0.35 (which the test extras install).

Each program is a tree of cancel scopes (shielded or not, with deadlines and timed
cancel() calls); a scope's body either opens a nursery for its children (started with
start_soon, or with start() and a later task_status.started()) or, at a leaf, sleeps or
raises at a given time. Both libraries run it under an autojumping MockClock,
with strict and with loose exception groups, and must agree on which scopes caught
cancellation, when each scope was left, and what escaped (group shapes compared
without regard to order). No two events happen at the same instant, so no outcome
depends on the order in which trio happens to run a batch of tasks, except that when a
task fails its nursery cancels the siblings at that instant: for those programs trio's
random batch order gives a few possible outcomes, and triolet's must be one of them.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import triolet

trio = pytest.importorskip("trio")
trio_testing = pytest.importorskip("trio.testing")

Action = tuple[Any, ...]
ERRORS: dict[str, type[Exception]] = {"ValueError": ValueError, "KeyError": KeyError}


@dataclass
class Node:
    shield: bool
    deadline: int | None
    cancel_at: float | None
    body: Action | None
    started_after: float | None = None  # set: started with nursery.start(), not start_soon()
    children: list[Node] = field(default_factory=list)


leaf_actions = st.one_of(
    st.tuples(st.just("sleep"), st.sampled_from([1.25, 2.25, 10, 20])),
    st.tuples(st.just("raise"), st.sampled_from([0.75, 1.75, 2.75]), st.sampled_from(list(ERRORS))),
    st.tuples(st.just("shielded_sleep"), st.sampled_from([1.25, 5])),
)
body_actions = st.one_of(
    st.none(),
    st.just(("sleep", 1.25)),
    st.just(("sleep", 20)),
    st.just(("raise", 2.25, "KeyError")),
)
scope_attrs = st.fixed_dictionaries(
    {
        "shield": st.sampled_from([False, False, False, True]),
        "deadline": st.sampled_from([None, None, 1, 2, 3, 4]),
        "cancel_at": st.sampled_from([None, None, None, 0.5, 1.5, 2.5, 3.5]),
        "started_after": st.sampled_from([None, None, None, 0.25, 1.25]),
    }
)
trees = st.recursive(
    st.tuples(scope_attrs, leaf_actions).map(lambda p: Node(**p[0], body=p[1])),
    lambda kids: st.tuples(scope_attrs, body_actions, st.lists(kids, min_size=1, max_size=3)).map(
        lambda p: Node(**p[0], body=p[1], children=p[2])
    ),
    max_leaves=10,
)


# How often trio runs a program whose triolet outcome differs from trio's first one: a
# variant that trio produces with probability p is missed with probability (1 - p) ** 10.
TRIO_RUNS = 10


def all_nodes(node: Node) -> list[Node]:
    found = [node]
    for child in node.children:
        found.extend(all_nodes(child))
    return found


def shape(exc: BaseException | None) -> Any:
    if exc is None:
        return None
    if isinstance(exc, BaseExceptionGroup):
        return ["group", sorted((shape(e) for e in exc.exceptions), key=json.dumps)]
    return type(exc).__name__


def run_program(lib: ModuleType, mock_clock: type[Any], root: Node, strict: bool) -> Any:
    nodes = all_nodes(root)
    index = {id(node): i for i, node in enumerate(nodes)}

    async def act(action: Action | None, node_index: int) -> None:
        # Every time in the program is offset by its node's index/1000, so no two events
        # (wake-ups, deadlines, cancel() calls) coincide and no outcome depends on the
        # order in which trio runs a batch of tasks.
        if action is None:
            return
        duration = action[1] + node_index / 1000
        if action[0] == "sleep":
            await lib.sleep(duration)
        elif action[0] == "raise":
            await lib.sleep(duration)
            raise ERRORS[action[2]](action[0])
        else:
            with lib.CancelScope(shield=True):
                await lib.sleep(duration)

    async def main() -> Any:
        scopes = [
            lib.CancelScope(shield=node.shield)
            if node.deadline is None
            else lib.CancelScope(shield=node.shield, deadline=node.deadline + i / 1000)
            for i, node in enumerate(nodes)
        ]
        exits: dict[int, float] = {}

        async def run_node(node: Node, task_status: Any = None) -> None:
            try:
                with scopes[index[id(node)]]:
                    if task_status is not None:
                        assert node.started_after is not None
                        await lib.sleep(node.started_after + index[id(node)] / 1000)
                        task_status.started()
                    if node.children:
                        async with lib.open_nursery() as nursery:
                            for child in node.children:
                                if child.started_after is None:
                                    nursery.start_soon(run_node, child)
                                else:
                                    await nursery.start(run_node, child)
                            await act(node.body, index[id(node)])
                    else:
                        await act(node.body, index[id(node)])
            finally:
                exits[index[id(node)]] = lib.current_time()

        async def canceller() -> None:
            plan: dict[float, list[int]] = {}
            for i, node in enumerate(nodes):
                if node.cancel_at is not None:
                    plan.setdefault(node.cancel_at + i / 1000, []).append(i)
            for when in sorted(plan):
                await lib.sleep_until(when)
                for i in plan[when]:
                    scopes[i].cancel()

        escaped = None
        with lib.move_on_after(50) as guard:
            try:
                async with lib.open_nursery() as top:
                    top.start_soon(canceller)
                    await run_node(root)
            except BaseException as exc:
                escaped = shape(exc)
        return {
            "caught": [scope.cancelled_caught for scope in scopes],
            "exits": exits,
            "escaped": escaped,
            "guard": guard.cancelled_caught,
        }

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trio deprecates strict_exception_groups=False
        return lib.run(main, clock=mock_clock(autojump_threshold=0), strict_exception_groups=strict)


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(root=trees, strict=st.booleans())
# Found by hypothesis: node 3 exits without calling started() at 1.252, and whether node
# 7 enters its (already cancelled) scope before the resulting cancellation depends on
# trio's batch order.
@example(
    root=Node(
        shield=False,
        deadline=None,
        cancel_at=None,
        body=None,
        started_after=None,
        children=[
            Node(shield=False, deadline=None, cancel_at=None, body=("sleep", 1.25)),
            Node(
                shield=False,
                deadline=None,
                cancel_at=None,
                body=None,
                started_after=1.25,
                children=[
                    Node(
                        shield=False,
                        deadline=None,
                        cancel_at=0.5,
                        body=("sleep", 1.25),
                        started_after=0.25,
                    ),
                    Node(shield=False, deadline=None, cancel_at=None, body=("sleep", 1.25)),
                    Node(shield=False, deadline=None, cancel_at=None, body=("sleep", 1.25)),
                ],
            ),
            Node(
                shield=False,
                deadline=None,
                cancel_at=None,
                body=None,
                children=[Node(shield=False, deadline=None, cancel_at=0.5, body=("sleep", 1.25))],
            ),
        ],
    ),
    strict=False,
)
def test_random_scope_and_nursery_trees_behave_as_under_trio(root: Node, strict: bool) -> None:
    actual = run_program(triolet, triolet.testing.MockClock, root, strict)
    # Events are spread apart in time, but a task failing makes its nursery cancel its
    # siblings at that instant, and trio runs the tasks woken together in a random order.
    # So trio may give a few different results: triolet must give one of them.
    outcomes = []
    for _ in range(TRIO_RUNS):
        expected = run_program(trio, trio_testing.MockClock, root, strict)
        if actual == expected:
            return
        outcomes.append(expected)
    assert actual in outcomes
