"""Environment switches: TRIOLET_WATCHDOG=<seconds>, TRIOLET_DEBUG_SERVER=1."""

from __future__ import annotations

import os
import warnings

from .._core import _launch
from .._core._run import Runner
from ._server import enable_debug_server
from ._watchdog import LoopWatchdog


def _apply_environment(runner: Runner) -> None:
    threshold = os.environ.get("TRIOLET_WATCHDOG")
    if threshold:
        try:
            runner.instruments.add(LoopWatchdog(float(threshold)))
        except ValueError as exc:
            warnings.warn(
                f"ignoring TRIOLET_WATCHDOG={threshold!r}: {exc}; use a number of seconds > 0",
                RuntimeWarning,
                stacklevel=1,
            )
    if os.environ.get("TRIOLET_DEBUG_SERVER", "") not in ("", "0"):
        enable_debug_server()


def install() -> None:
    if _apply_environment not in _launch._run_start_hooks:
        _launch._run_start_hooks.append(_apply_environment)
