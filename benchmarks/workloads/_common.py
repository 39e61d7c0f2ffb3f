"""The contract between a workload module and the harness.

This module must stay import-light: it is imported in every benchmark child process, so it
must not import triolet, trio or asyncio (each child loads only the implementation it measures).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from types import ModuleType


@dataclass(frozen=True)
class Result:
    """What one ``run_<impl>(size)`` call measured.

    ``ops`` operations took ``seconds`` of wall-clock time (the timed section only: imports and
    event-loop start-up are excluded) and, if measured, ``cpu_seconds`` of this process's CPU
    time. ``metrics`` holds extra named numbers, such as ``{"bytes/task": 912.0}``; each name
    must be declared in the module's ``METRICS``.
    """

    ops: int
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float | None = None


class Stopwatch:
    """Sums wall-clock and process CPU time over one or more start/stop intervals.

    CPU time leaves out the time the process spent preempted by other processes, which on a
    shared machine is most of the noise. It counts every thread of the process, so it is only
    meaningful for workloads whose work happens in the event loop's thread.
    """

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self._wall_started: float | None = None
        self._cpu_started = 0.0

    @classmethod
    def started(cls) -> Stopwatch:
        """A new stopwatch, already running."""
        watch = cls()
        watch.start()
        return watch

    def start(self) -> None:
        self._wall_started = time.perf_counter()
        self._cpu_started = time.process_time()

    def stop(self) -> None:
        if self._wall_started is not None:
            self.cpu += time.process_time() - self._cpu_started
            self.wall += time.perf_counter() - self._wall_started
            self._wall_started = None

    def result(self, ops: int, metrics: dict[str, float] | None = None) -> Result:
        """Stop (if running) and report ``ops`` operations over the time measured."""
        self.stop()
        return Result(ops, self.wall, metrics or {}, cpu_seconds=self.cpu)


@dataclass(frozen=True)
class Metric:
    """Declares an extra number a workload reports besides throughput.

    ``targets`` maps an implementation name to the ratio triolet/that-implementation that the
    issue asks for; with ``lower_is_better`` the ratio must be at most the target, otherwise at
    least.
    """

    label: str
    unit: str
    lower_is_better: bool = True
    targets: dict[str, float] = field(default_factory=dict)


def trio_like(name: str) -> ModuleType:
    """Import ``triolet`` or ``trio`` by name, so one workload body serves both.

    Raises whatever the import raises; the child reports it as "n/a" for that implementation.
    """
    return importlib.import_module(name)
