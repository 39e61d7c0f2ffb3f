"""The kernel's two pluggable interfaces: clocks and instruments."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._task import Task


class Clock(ABC):
    """The source of time for a run. Pass an instance to ``triolet.run(clock=...)``."""

    __slots__ = ()

    @abstractmethod
    def start_clock(self) -> None:
        """Called once, just before the run starts."""

    @abstractmethod
    def current_time(self) -> float:
        """The current time, in seconds, on this clock's own timeline."""

    @abstractmethod
    def deadline_to_sleep_time(self, deadline: float) -> float:
        """How many real seconds the loop may sleep before this clock reaches ``deadline``."""


class Instrument(ABC):  # noqa: B024 - every hook is optional
    """Hooks into the run loop, for tracing and monitoring.

    Override the methods you care about; the kernel calls only those. An instrument
    that raises is removed from the run, with a warning naming it.
    """

    __slots__ = ()

    def before_run(self) -> None:
        """The run is starting."""

    def after_run(self) -> None:
        """The run is ending."""

    def task_spawned(self, task: Task) -> None:
        """``task`` was created."""

    def task_scheduled(self, task: Task) -> None:
        """``task`` became runnable."""

    def before_task_step(self, task: Task) -> None:
        """``task`` is about to run until its next yield."""

    def after_task_step(self, task: Task) -> None:
        """``task`` yielded back to the loop (or finished)."""

    def task_exited(self, task: Task) -> None:
        """``task`` finished."""

    def before_io_wait(self, timeout: float) -> None:
        """The loop is about to wait for I/O for up to ``timeout`` seconds."""

    def after_io_wait(self, timeout: float) -> None:
        """The loop finished waiting for I/O (``timeout`` is the limit it was given)."""
