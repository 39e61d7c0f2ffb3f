"""The loop watchdog: notice a task step that keeps the event loop busy too long.

A sampler looks at ``(runner.polls, runner.current_task)`` a few times per threshold. The kernel bumps ``polls`` at every I/O poll, which happens at least every
``IO_POLL_STEPS`` task steps, so seeing the same pair for longer than the threshold means
the loop has been stuck in that task: it is blocking the loop (``time.sleep``, heavy CPU
work, a blocking call). Nothing is added to the per-step path.

The sampler is an interval timer (SIGALRM) when the run is in the main thread and
SIGALRM is free: the handler runs in the loop's own thread, at the exact frame that is
stuck, and no second Python thread exists to contend for the GIL (a periodically waking
thread measurably slows a busy loop). Elsewhere a daemon thread samples instead.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
import traceback
import types
from typing import TYPE_CHECKING, Any

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
        self._loop_thread_id = 0
        self._last_report = -float("inf")
        self._seen: tuple[int, object] | None = None
        self._since = 0.0
        self._reported: tuple[int, object] | None = None
        self._previous_alarm: Any = None
        self._using_alarm = False

    # Instrument hooks: only once per run, so the loop pays nothing per step.
    def before_run(self) -> None:
        self._start(current_runner("LoopWatchdog"))

    def after_run(self) -> None:
        self._stop.set()
        self._runner = None
        if self._using_alarm:
            self._using_alarm = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous_alarm)

    def _added_during_run(self, runner: Runner) -> None:
        self._start(runner)

    def _removed_during_run(self) -> None:
        self.after_run()

    def _start(self, runner: Runner) -> None:
        self._runner = runner
        self._loop_thread_id = threading.get_ident()
        self._seen = None
        interval = self.threshold / 2
        if threading.current_thread() is threading.main_thread() and signal.getsignal(
            signal.SIGALRM
        ) in (signal.SIG_DFL, None):
            self._previous_alarm = signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, interval, interval)
            self._using_alarm = True
            return
        self._stop.clear()
        threading.Thread(
            target=self._watch_from_thread,
            args=(interval,),
            name="triolet loop watchdog",
            daemon=True,
        ).start()

    def on_stall(self, task_name: str, seconds: float, stack: str) -> None:
        """Called when a step has blocked the loop ``seconds`` long (from a signal handler in
        the loop's thread, or from the watchdog thread)."""
        logger.warning(
            "task %r has blocked the triolet event loop for %.3f s (threshold %.3f s); it is "
            "running synchronous code without awaiting. Its stack:\n%s",
            task_name,
            seconds,
            self.threshold,
            stack,
        )

    def _on_alarm(self, signum: int, frame: types.FrameType | None) -> None:
        self._sample(frame)

    def _watch_from_thread(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._sample(sys._current_frames().get(self._loop_thread_id))

    def _sample(self, frame: types.FrameType | None) -> None:
        runner = self._runner
        if runner is None:
            return
        task = runner.current_task
        key = (runner.polls, task)
        now = time.monotonic()
        if task is None or key != self._seen:
            self._seen, self._since = key, now
            return
        stalled_for = now - self._since
        if stalled_for < self.threshold or key == self._reported:
            return
        if now - self._last_report < self.min_interval:
            return
        stack = "".join(traceback.format_stack(frame)) if frame is not None else "(unknown)"
        self._reported = key
        self._last_report = now
        self.stalls_reported += 1
        try:
            self.on_stall(task.name, stalled_for, stack)
        except Exception:  # a broken handler must not break the loop or the watchdog
            logger.exception("LoopWatchdog.on_stall raised")
