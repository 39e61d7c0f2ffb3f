"""Timeouts built on cancel scopes: move_on_* returns quietly, fail_* raises TooSlowError."""

from __future__ import annotations

import math
from types import TracebackType

from . import _core

move_on_after = _core.move_on_after


class TooSlowError(Exception):
    """A :func:`fail_after` / :func:`fail_at` block ran past its deadline."""


def move_on_at(deadline: float, *, shield: bool = False) -> _core.CancelScope:
    """A cancel scope that is cancelled when the clock reaches ``deadline``."""
    if math.isnan(deadline):
        raise ValueError("deadline must not be NaN")
    return _core.CancelScope(deadline=deadline, shield=shield)


class _FailScope:
    """Context manager behind fail_at/fail_after: a cancel scope plus TooSlowError."""

    __slots__ = ("_scope",)

    def __init__(self, scope: _core.CancelScope) -> None:
        self._scope = scope

    def __enter__(self) -> _core.CancelScope:
        return self._scope.__enter__()

    def __exit__(
        self,
        etype: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        swallowed = self._scope.__exit__(etype, exc, tb)
        if self._scope.cancelled_caught:
            if swallowed:
                raise TooSlowError
        return swallowed


def fail_at(deadline: float, *, shield: bool = False) -> _FailScope:
    """Like :func:`move_on_at`, but raises TooSlowError if the deadline expires."""
    return _FailScope(move_on_at(deadline, shield=shield))


def fail_after(seconds: float, *, shield: bool = False) -> _FailScope:
    """Like :func:`move_on_after`, but raises TooSlowError if the time runs out."""
    return _FailScope(move_on_after(seconds, shield=shield))
