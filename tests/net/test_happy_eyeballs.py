"""Happy Eyeballs scheduling (src/triolet/_net/_happy_eyeballs.py): pure logic, no sockets.

The main test walks every interleaving of "attempt i failed", "attempt i succeeded",
"the timer fired" and "some time passed" for up to four targets, and after every step
compares the scheduler against a reference computed independently from the rules:
attempt k+1 is due at min(start of k + delay, failure time of k).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from ._helpers import UNDER_TRIO_SHIM

if UNDER_TRIO_SHIM:
    pytest.skip("triolet's own scheduling module; trio has no equivalent", allow_module_level=True)

from triolet._net._happy_eyeballs import (
    Attempt,
    CloseSurplus,
    HappyEyeballs,
    Lost,
    StartAttempt,
    Won,
    reorder_for_rfc_6555,
)

DELAY = 1.0


@dataclass
class Reference:
    """What the rules say should have happened, tracked from the events alone."""

    target_count: int
    now: float = 0.0
    start_times: list[float] = field(default_factory=list)
    fail_times: dict[int, float] = field(default_factory=dict)
    successes: list[int] = field(default_factory=list)

    def next_due(self) -> float:
        if self.successes or len(self.start_times) == self.target_count:
            return math.inf
        if not self.start_times:
            return 0.0
        latest = len(self.start_times) - 1
        due = self.start_times[latest] + DELAY
        return min(due, self.fail_times.get(latest, math.inf))

    def all_failed(self) -> bool:
        return len(self.fail_times) == self.target_count


@dataclass
class Walk:
    machine: HappyEyeballs
    reference: Reference
    log: list[str]
    wins: int = 0
    losses: int = 0


def apply_actions(walk: Walk, actions: Sequence[object]) -> None:
    reference = walk.reference
    for action in actions:
        walk.log.append(repr(action))
        if isinstance(action, StartAttempt):
            assert action.index == len(reference.start_times), walk.log
            assert reference.next_due() <= reference.now, walk.log
            reference.start_times.append(reference.now)
        elif isinstance(action, Won):
            assert reference.successes[0] == action.index, walk.log
            walk.wins += 1
        elif isinstance(action, CloseSurplus):
            assert reference.successes[0] != action.index, walk.log
            assert action.index in reference.successes, walk.log
        elif isinstance(action, Lost):
            assert reference.all_failed() and not reference.successes, walk.log
            walk.losses += 1
        else:  # pragma: no cover
            raise AssertionError(f"unknown action {action!r}")
    check_invariants(walk)


def check_invariants(walk: Walk) -> None:
    machine, reference = walk.machine, walk.reference
    # Every due attempt has started, and no attempt started early.
    assert reference.next_due() > reference.now or machine.finished, walk.log
    assert machine.started == len(reference.start_times), walk.log
    assert machine.next_start_at == reference.next_due(), walk.log
    assert walk.wins <= 1 and walk.losses <= 1 and walk.wins + walk.losses <= 1, walk.log
    assert machine.finished == (walk.wins + walk.losses == 1), walk.log
    if reference.successes:
        assert machine.winner == reference.successes[0], walk.log
    running = sum(state is Attempt.RUNNING for state in machine.attempts)
    assert running == machine.started - len(reference.fail_times) - len(reference.successes)


def possible_events(walk: Walk) -> list[tuple[str, int]]:
    machine = walk.machine
    events = [
        (kind, index)
        for index, state in enumerate(machine.attempts)
        if state is Attempt.RUNNING
        for kind in ("fail", "succeed")
    ]
    if machine.next_start_at < math.inf:
        events.append(("timer", 0))
        events.append(("half-delay passes", 0))
    return events


def step(walk: Walk, event: tuple[str, int]) -> Walk:
    walk = copy.deepcopy(walk)
    kind, index = event
    walk.log.append(f"{kind} {index} at {walk.reference.now}")
    reference = walk.reference
    if kind == "fail":
        reference.fail_times[index] = reference.now
        apply_actions(walk, walk.machine.attempt_failed(index, reference.now))
    elif kind == "succeed":
        reference.successes.append(index)
        apply_actions(walk, walk.machine.attempt_succeeded(index))
    elif kind == "timer":
        reference.now = walk.machine.next_start_at
        apply_actions(walk, walk.machine.timer_fired(reference.now))
    else:
        # Time passes without reaching the deadline; a timer firing early does nothing.
        reference.now += DELAY / 2
        actions = walk.machine.timer_fired(reference.now)
        apply_actions(walk, actions)
    return walk


def explore(target_count: int) -> tuple[int, int, int]:
    machine = HappyEyeballs(target_count, DELAY)
    walk = Walk(machine, Reference(target_count), [])
    apply_actions(walk, machine.start(0.0))
    finished_paths = won = lost = 0
    pending = [walk]
    while pending:
        walk = pending.pop()
        events = possible_events(walk)
        if not events:
            # Nothing can happen any more: the race must be decided.
            assert walk.machine.finished, walk.log
            finished_paths += 1
            won += walk.wins
            lost += walk.losses
            continue
        pending.extend(step(walk, event) for event in events)
    return finished_paths, won, lost


@pytest.mark.parametrize("target_count", [1, 2, 3, 4])
def test_every_interleaving_follows_the_rules(target_count: int) -> None:
    paths, won, lost = explore(target_count)
    assert paths == won + lost
    assert won > 0 and lost > 0


def test_one_target_is_tried_once_and_lost_when_it_fails() -> None:
    machine = HappyEyeballs(1, DELAY)
    assert machine.start(0.0) == [StartAttempt(0)]
    assert machine.next_start_at == math.inf
    assert machine.timer_fired(100.0) == []
    assert machine.attempt_failed(0, 5.0) == [Lost()]
    assert machine.finished and machine.winner is None


def test_failure_of_latest_attempt_starts_next_at_once() -> None:
    machine = HappyEyeballs(3, DELAY)
    machine.start(0.0)
    assert machine.attempt_failed(0, 0.1) == [StartAttempt(1)]
    assert machine.next_start_at == pytest.approx(1.1)


def test_failure_of_overtaken_attempt_starts_nothing() -> None:
    machine = HappyEyeballs(3, DELAY)
    machine.start(0.0)
    assert machine.timer_fired(1.0) == [StartAttempt(1)]
    assert machine.attempt_failed(0, 1.5) == []
    assert machine.next_start_at == 2.0


def test_timer_before_deadline_starts_nothing() -> None:
    machine = HappyEyeballs(2, DELAY)
    machine.start(0.0)
    assert machine.timer_fired(0.999) == []
    assert machine.timer_fired(1.0) == [StartAttempt(1)]


def test_success_after_winner_is_surplus() -> None:
    machine = HappyEyeballs(2, DELAY)
    machine.start(0.0)
    machine.timer_fired(1.0)
    assert machine.attempt_succeeded(1) == [Won(1)]
    assert machine.attempt_succeeded(0) == [CloseSurplus(0)]
    assert machine.winner == 1


def test_lost_only_after_every_target_was_tried() -> None:
    machine = HappyEyeballs(2, DELAY)
    machine.start(0.0)
    assert machine.attempt_failed(0, 0.0) == [StartAttempt(1)]
    assert machine.attempt_failed(1, 0.0) == [Lost()]


def test_zero_delay_starts_next_attempt_on_first_timer() -> None:
    machine = HappyEyeballs(3, 0.0)
    machine.start(0.0)
    assert machine.next_start_at == 0.0
    assert machine.timer_fired(0.0) == [StartAttempt(1)]


def test_infinite_delay_waits_for_each_failure() -> None:
    machine = HappyEyeballs(2, math.inf)
    machine.start(0.0)
    assert machine.next_start_at == math.inf
    assert machine.attempt_failed(0, 50.0) == [StartAttempt(1)]


def test_reports_about_attempts_that_are_not_running_are_rejected() -> None:
    machine = HappyEyeballs(2, DELAY)
    machine.start(0.0)
    with pytest.raises(RuntimeError, match="attempt 1 is not started"):
        machine.attempt_failed(1, 0.0)
    machine.attempt_failed(0, 0.0)
    with pytest.raises(RuntimeError, match="attempt 0 is failed"):
        machine.attempt_succeeded(0)
    with pytest.raises(RuntimeError, match="attempt 7 is unknown"):
        machine.attempt_succeeded(7)


def test_starting_twice_is_an_error() -> None:
    machine = HappyEyeballs(1, DELAY)
    machine.start(0.0)
    with pytest.raises(RuntimeError, match="already started"):
        machine.start(0.0)


@pytest.mark.parametrize("bad_delay", [-0.1, math.nan])
def test_bad_delay_is_rejected(bad_delay: float) -> None:
    with pytest.raises(ValueError, match="happy_eyeballs_delay"):
        HappyEyeballs(1, bad_delay)


def test_no_targets_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one target"):
        HappyEyeballs(0, DELAY)


def reorder_reference(families: list[int]) -> list[int]:
    """RFC 6555 section 5.4, written the slow obvious way."""
    if not families:
        return []
    others = [i for i, family in enumerate(families) if family != families[0]]
    if not others:
        return list(families)
    moved = others[0]
    order = [0, moved] + [i for i in range(1, len(families)) if i != moved]
    return [families[i] for i in order]


def all_family_sequences(max_length: int) -> list[list[int]]:
    sequences: list[list[int]] = [[]]
    for length in range(1, max_length + 1):
        sequences.extend([(code >> bit) & 1 for bit in range(length)] for code in range(2**length))
    return sequences


def test_reorder_for_rfc_6555_matches_reference_for_every_sequence() -> None:
    for families in all_family_sequences(8):
        # Tag each target so we can see that nothing but the one move happened.
        targets = [(family, position) for position, family in enumerate(families)]
        reordered = reorder_for_rfc_6555(targets, lambda target: target[0])
        assert [family for family, _ in reordered] == reorder_reference(families)
        assert sorted(reordered) == sorted(targets)
        if len(set(families)) == 2:
            assert reordered[0][0] != reordered[1][0]


def test_reorder_keeps_a_single_family_untouched() -> None:
    targets = ["a", "b", "c"]
    assert reorder_for_rfc_6555(targets, lambda target: 6) == targets
