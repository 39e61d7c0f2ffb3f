"""The loop watchdog: notice a task step that keeps the event loop busy too long.

A daemon thread samples ``(runner.batches, runner.current_task)`` a few times per
threshold. The kernel bumps ``batches`` once per scheduling pass while a watchdog is
attached, and each task runs at most once per pass, so seeing the same pair for longer
than the threshold means one single step has been running that long: the task is
blocking the loop (``time.sleep``, heavy CPU work, a blocking call). Nothing is added
to the per-step path.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING

from .._core import Instrument
from .._core._state import current_runner

if TYPE_CHECKING:
    from .._core._run import Runner

logger = logging.getLogger("triolet.watchdog")


class LoopWatchdog(Instrument):
    """An instrument that reports task steps blocking the loop for over ``threshold`` seconds.

    Use ``triolet.run(main, instruments=[LoopWatchdog()])``, add it to a running loop with
    ``triolet.lowlevel.add_instrument``, or set ``TRIOLET_WATCHDOG=0.1`` in the
    environment. Each stall is reported once, through :meth:`on_stall` (which logs a
    warning to the ``triolet.watchdog`` logger, with the stuck task's name and stack);
    reports are limited to one per ``min_interval`` seconds. Subclass and override
    :meth:`on_stall` to handle stalls yourself. Costs nothing per task step.
    """

    def __init__(self, threshold: float = 0.1, *, min_interval: float = 1.0) -> None:
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0 seconds, got {threshold!r}")
        self.threshold = threshold
        self.min_interval = min_interval
        self.stalls_reported = 0
        self._runner: Runner | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop_thread_id = 0
        self._last_report = -float("inf")

    # Instrument hooks: only once per run, so the loop pays nothing per step.
    def before_run(self) -> None:
        self._start(current_runner("LoopWatchdog"))

    def after_run(self) -> None:
        self._stop.set()
        if self._runner is not None:
            self._runner.count_batches = False
        self._runner = None

    def _added_during_run(self, runner: Runner) -> None:
        self._start(runner)

    def _removed_during_run(self) -> None:
        self.after_run()

    def _start(self, runner: Runner) -> None:
        self._runner = runner
        runner.count_batches = True
        self._loop_thread_id = threading.get_ident()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._watch, name="triolet loop watchdog", daemon=True
        )
        self._thread.start()

    def on_stall(self, task_name: str, seconds: float, stack: str) -> None:
        """Called from the watchdog thread when a step has blocked the loop ``seconds`` long."""
        logger.warning(
            "task %r has blocked the triolet event loop for %.3f s (threshold %.3f s); it is "
            "running synchronous code without awaiting. Its stack:\n%s",
            task_name,
            seconds,
            self.threshold,
            stack,
        )

    def _watch(self) -> None:
        interval = self.threshold / 4
        seen: tuple[int, object] | None = None
        since = 0.0
        reported_key: tuple[int, object] | None = None
        while not self._stop.wait(interval):
            runner = self._runner
            if runner is None:
                return
            task = runner.current_task
            key = (runner.batches, task)
            now = time.monotonic()
            if task is None or key != seen:
                seen, since = key, now
                continue
            stalled_for = now - since
            if stalled_for < self.threshold or key == reported_key:
                continue
            if now - self._last_report < self.min_interval:
                continue
            frame = sys._current_frames().get(self._loop_thread_id)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "(unknown)"
            reported_key = key
            self._last_report = now
            self.stalls_reported += 1
            try:
                self.on_stall(task.name, stalled_for, stack)
            except Exception:  # a broken handler must not kill the watchdog
                logger.exception("LoopWatchdog.on_stall raised")
