"""Switches for the kernel's opt-in debugging features."""

from __future__ import annotations

from typing import Literal

from .._core._state import current_runner


def enable_deadlock_detection(mode: Literal["raise", "print"] | None = "raise") -> None:
    """Detect, in the current run, the moment every task waits with nothing able to wake it.

    ``"raise"`` raises :class:`triolet.DeadlockError` (with the task tree in its message)
    in the main task; ``"print"`` prints the report to stderr and keeps waiting; ``None``
    turns detection off. Waiting on sockets, timers, threads started with ``to_thread``,
    signals or subprocesses never counts as a deadlock. Set the environment variable
    ``TRIOLET_DETECT_DEADLOCKS=raise`` (or ``print``) to enable it for every run.
    """
    if mode not in ("raise", "print", None):
        raise ValueError(f"mode must be 'raise', 'print' or None, not {mode!r}")
    runner = current_runner("enable_deadlock_detection")
    runner.deadlock_mode = mode
    runner.deadlock_reported = False
