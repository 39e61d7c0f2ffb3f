"""Helpers for testing code that uses triolet."""

from .._core import MockClock, assert_checkpoints, assert_no_checkpoints, wait_all_tasks_blocked
from ._sequencer import Sequencer
from ._trio_test import trio_test

__all__ = [
    "MockClock",
    "Sequencer",
    "assert_checkpoints",
    "assert_no_checkpoints",
    "trio_test",
    "wait_all_tasks_blocked",
]
