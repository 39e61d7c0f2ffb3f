"""Timeouts built on cancel scopes: move_on_* returns quietly, fail_* raises TooSlowError."""

from __future__ import annotations

import math
from types import TracebackType

from . import _core

_CancelScope = _core.CancelScope
_new_scope = object.__new__
_INF = math.inf


class TooSlowError(Exception):
    """A :func:`fail_after` / :func:`fail_at` block ran past its deadline."""


def move_on_at(deadline: float, *, shield: bool = False) -> _core.CancelScope:
    """A cancel scope that is cancelled when the clock reaches ``deadline``."""
    if math.isnan(deadline):
        raise ValueError("deadline must not be NaN")
    return _core.CancelScope(deadline=deadline, shield=shield)


def move_on_after(seconds: float, *, shield: bool = False) -> _core.CancelScope:
    """A cancel scope cancelled ``seconds`` after it is entered; the block just stops.

    Check ``scope.cancelled_caught`` afterwards to learn whether it timed out.
    """
    if (type(seconds) is float or type(seconds) is int) and seconds >= 0:  # NaN fails this
        # CancelScope(relative_deadline=seconds, shield=shield) without re-checking seconds.
        scope = _new_scope(_CancelScope)
        if seconds != _INF:
            scope._relative_deadline = float(seconds)
        if shield:
            scope._shield = True
        return scope
    if isinstance(seconds, (int, float)) and seconds < 0:
        raise ValueError(f"timeout must be non-negative, got {seconds!r}")
    return _core.CancelScope(relative_deadline=seconds, shield=shield)  # it explains


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
