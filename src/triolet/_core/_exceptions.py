"""Exceptions raised by the kernel and shared by the whole library."""

from __future__ import annotations

from typing import Literal

from ._util import NoPublicConstructor

CancelReasonLiteral = Literal[
    "KeyboardInterrupt", "deadline", "explicit", "nursery", "shutdown", "unknown"
]


class Cancelled(BaseException, metaclass=NoPublicConstructor):
    """Raised at a checkpoint inside a cancelled :class:`CancelScope`.

    Let it propagate: the scope that was cancelled catches it on exit. It derives from
    BaseException so that ``except Exception`` does not swallow it by accident.
    Only the library creates these.

    ``source`` says why the scope was cancelled (``"explicit"``, ``"deadline"``,
    ``"nursery"``, ``"KeyboardInterrupt"``, ``"shutdown"`` or ``"unknown"``), ``reason``
    carries the text given to ``cancel(reason=...)`` and ``source_task`` names the task
    that asked for the cancellation, when known.
    """

    source: CancelReasonLiteral
    source_task: str | None
    reason: str | None

    def __init__(
        self,
        *,
        source: CancelReasonLiteral = "unknown",
        source_task: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.source_task = source_task
        self.reason = reason

    def __str__(self) -> str:
        text = f"cancelled due to {self.source}"
        if self.reason is not None:
            text += f" with reason {self.reason!r}"
        if self.source_task is not None:
            text += f" from task {self.source_task}"
        return text

    def __repr__(self) -> str:
        return (
            f"Cancelled(source={self.source!r}, source_task={self.source_task!r}, "
            f"reason={self.reason!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_cancelled, (self.source, self.source_task, self.reason))


def _rebuild_cancelled(
    source: CancelReasonLiteral, source_task: str | None, reason: str | None
) -> Cancelled:
    return Cancelled._create(source=source, source_task=source_task, reason=reason)


class DeadlockError(RuntimeError):
    """Every task is waiting and nothing can ever wake one up (opt-in detection).

    The message includes the task tree, showing what each task waits for.
    """


class TrioInternalError(Exception):
    """A bug in triolet (or memory corruption) broke the run; please report it.

    The original failure, when there is one, is attached as ``__cause__``.
    """


class RunFinishedError(RuntimeError):
    """The run this object belongs to has already finished."""


class WouldBlock(Exception):
    """A ``*_nowait`` operation could not complete without blocking."""


class BusyResourceError(Exception):
    """Two tasks tried to use a resource that allows only one user at a time."""


class ClosedResourceError(Exception):
    """The resource was closed (by this side), or closed while in use."""


class BrokenResourceError(Exception):
    """The resource broke: the other side went away, or an error made it unusable."""


class EndOfChannel(Exception):
    """Every sending side of the channel was closed: no more values will arrive."""
