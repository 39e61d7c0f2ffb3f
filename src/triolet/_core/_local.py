"""RunVar: a variable whose value is per-run (like a ContextVar scoped to one run)."""

from __future__ import annotations

from typing import Generic, TypeVar

from ._state import current_runner, run_context
from ._util import NoPublicConstructor, final

T = TypeVar("T")


class _NoValue:
    """Marker for "no value given"."""


class RunVarToken(Generic[T], metaclass=NoPublicConstructor):
    """Returned by :meth:`RunVar.set`; pass it to :meth:`RunVar.reset` to undo that set."""

    __slots__ = ("_var", "previous_value", "redeemed")

    def __init__(self, var: RunVar[T], previous_value: T | type[_NoValue] = _NoValue) -> None:
        self._var = var
        self.previous_value = previous_value
        self.redeemed = False


@final
class RunVar(Generic[T]):
    """A value that belongs to the current run, shared by all its tasks.

    Use it for per-run caches and singletons (a thread pool, a resolver). Accessing
    it outside of ``triolet.run`` raises RuntimeError.
    """

    __slots__ = ("_default", "_name")

    def __init__(self, name: str, default: T | type[_NoValue] = _NoValue) -> None:
        self._name = name
        self._default = default

    def get(self, default: T | type[_NoValue] = _NoValue) -> T:
        """The value in this run; else ``default``; else the RunVar's default; else LookupError."""
        runner = run_context.runner
        if runner is None:  # the f-string only on the error path: get() is on hot paths
            runner = current_runner(f"RunVar {self._name!r}")
        try:
            return runner.run_vars[self]  # type: ignore[no-any-return]
        except KeyError:
            if default is not _NoValue:
                return default  # type: ignore[return-value]
            if self._default is not _NoValue:
                return self._default  # type: ignore[return-value]
            raise LookupError(self) from None

    def set(self, value: T) -> RunVarToken[T]:
        """Set the value for this run; returns a token for :meth:`reset`."""
        values = current_runner(f"RunVar {self._name!r}").run_vars
        previous = values.get(self, _NoValue)
        token: RunVarToken[T] = RunVarToken._create(self, previous)  # type: ignore[assignment]
        values[self] = value
        return token

    def reset(self, token: RunVarToken[T]) -> None:
        """Restore the value from before the :meth:`set` that returned ``token``."""
        if token is None:
            raise TypeError("reset() needs the token returned by set(), got None")
        if token._var is not self:
            raise ValueError("that token was created by a different RunVar")
        if token.redeemed:
            raise ValueError("that token has already been used to reset this RunVar")
        values = current_runner(f"RunVar {self._name!r}").run_vars
        if token.previous_value is _NoValue:
            values.pop(self, None)
        else:
            values[self] = token.previous_value
        token.redeemed = True

    def __repr__(self) -> str:
        return f"<RunVar name={self._name!r}>"
