"""ConflictDetector: refuse, rather than interleave, two tasks using one stream method."""

from __future__ import annotations

from types import TracebackType

from .._core import BusyResourceError


class ConflictDetector:
    """A non-blocking guard around a section that only one task may be inside.

    Streams wrap ``send_all`` / ``receive_some`` (and friends) in ``with detector:``.
    A second task entering while the first is still inside gets
    :class:`~triolet.BusyResourceError` carrying ``message``; it never waits. Interleaving
    two writers' bytes or two readers' chunks is always a bug in the caller, and failing
    loudly is the only behaviour that makes the bug visible.
    """

    __slots__ = ("_in_use", "_message")

    def __init__(self, message: str) -> None:
        self._message = message
        self._in_use = False

    def __enter__(self) -> None:
        if self._in_use:
            raise BusyResourceError(self._message)
        self._in_use = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._in_use = False
