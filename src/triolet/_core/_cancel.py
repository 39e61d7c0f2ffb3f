"""Cancel scopes: the tree that decides which tasks are cancelled.

Invariants:

* A scope is entered once, by one task (its *owner*), and exited by that task in
  LIFO order. While active it sits in a tree: its parent is the scope that was the
  owner's innermost scope when it was entered (or the nursery scope a child task was
  spawned under).
* Every task points at its innermost scope (``task._cancel_status``). "Am I
  cancelled?" is ``task._cancel_status._effectively_cancelled``: one attribute read.
* ``_effectively_cancelled = cancel_called or (not shield and parent effectively
  cancelled)``. It is recomputed only when something changes (cancel, shield,
  entering, re-parenting), walking just the affected subtree, and each newly
  cancelled task that is parked gets its abort function called. Scopes keep no list
  of their children: the walk finds them through the tasks living in each scope (its
  owner, and its nursery's children), whose chains of scopes lead back to it.
* A scope catches ``Cancelled`` on exit when it was cancelled itself and no
  cancellation from further out is visible to it; otherwise the exception travels on
  to the outer scope that will catch it.
"""

from __future__ import annotations

import math
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING

from ._deadlines import ARMED_UNLISTED
from ._exceptions import Cancelled, CancelReasonLiteral
from ._state import current_task_or_error, run_context
from ._util import final

if TYPE_CHECKING:
    from typing import Self

    from ._nursery import Nursery
    from ._run import Runner
    from ._task import Task

_NEW, _ACTIVE, _EXITED = 0, 1, 2
_INF = math.inf


def _check_number(value: float, what: str) -> float:
    if not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number (int or float), not {type(value).__name__}")
    if math.isnan(value):
        raise ValueError(f"{what} must not be NaN")
    return float(value)


# Marks the groups raised by nurseries with strict_exception_groups=False.
LOOSE_GROUP_NOTE = (
    "This group was raised by a nursery with strict_exception_groups=False: once the "
    "Cancelled errors are taken out of it, a lone error left in it is raised on its own. "
    "Use strict_exception_groups=True (the default) to always get groups."
)


def collapse_loose_groups(exc: BaseException) -> BaseException:
    """Replace every loose group in ``exc`` (itself included) that holds one error by that error.

    Called when a cancel scope has taken its Cancelled errors out of a group. Other
    groups are rebuilt only if something inside them changed.
    """
    if not isinstance(exc, BaseExceptionGroup):
        return exc
    children = [collapse_loose_groups(child) for child in exc.exceptions]
    if len(children) == 1 and LOOSE_GROUP_NOTE in getattr(exc, "__notes__", ()):
        return children[0]
    if all(new is old for new, old in zip(children, exc.exceptions, strict=True)):
        return exc
    rebuilt = exc.derive(children)
    rebuilt.__traceback__ = exc.__traceback__
    rebuilt.__cause__ = exc.__cause__
    rebuilt.__context__ = exc.__context__
    if hasattr(exc, "__notes__"):
        rebuilt.__notes__ = list(exc.__notes__)
    return rebuilt


@final
class CancelScope:
    """A region of code that can be cancelled as a unit, by hand or by a deadline.

    Use as ``with CancelScope(...) as scope:``. Each scope may be entered only once.
    ``deadline`` is an absolute time on the run's clock; ``relative_deadline`` is
    turned into ``current_time() + relative_deadline`` when the scope is entered;
    ``shield=True`` hides cancellations from outside while the scope is active.
    """

    # Rarely-set state has class-level defaults, so a new scope writes only the attributes
    # every hot path reads (no __slots__: the instance dict is shared-key). The hot ones
    # must be instance attributes: on CPython 3.11 an attribute read that falls back to
    # the class is about three times slower, and checkpoints read _effectively_cancelled.
    cancelled_caught = False
    _cancel_origin: CancelScope | None = None
    _cancel_source: CancelReasonLiteral = "unknown"
    _cancel_reason: str | None = None
    _cancel_source_task: str | None = None
    _parent: CancelScope | None = None
    # Set for a nursery's scope. The tasks whose innermost scope is this one are the owner
    # (when it has entered nothing inside) and, for a nursery scope, those of the nursery's
    # children that have entered nothing inside: no separate set to maintain.
    _nursery: Nursery | None = None
    _owner: Task | None = None
    _runner: Runner | None = None
    _deadline_token = 0

    def __init__(
        self,
        *,
        deadline: float = math.inf,
        relative_deadline: float = math.inf,
        shield: bool = False,
    ) -> None:
        if type(deadline) is not float or deadline != deadline:
            deadline = _check_number(deadline, "deadline")
        if type(relative_deadline) is not float or relative_deadline != relative_deadline:
            relative_deadline = _check_number(relative_deadline, "relative_deadline")
        if relative_deadline != _INF:
            if relative_deadline < 0:
                raise ValueError(
                    f"relative_deadline must be >= 0, got {relative_deadline!r}; use 0 to cancel at once"
                )
            if deadline != _INF:
                raise ValueError("Cannot specify both a deadline and a relative deadline; pick one")
        # The attributes every scope's hot paths read; move_on_after() writes the same.
        self._state = _NEW
        self._cancel_called = False
        self._effectively_cancelled = False
        self._deadline = deadline
        self._relative_deadline = relative_deadline
        self._shield = bool(shield)

    # ------------------------------------------------------------------ entering
    def __enter__(self) -> Self:
        # The hot path of every `with move_on_after(...)`: kept to straight-line code.
        runner = run_context.runner
        task = runner.current_task if runner is not None else None
        if task is None or runner is None:
            task = current_task_or_error("CancelScope.__enter__")  # raises
            runner = task._runner
        if self._state:
            raise RuntimeError(
                "Each CancelScope may only be used for a single 'with' block; create a new one"
            )
        self._state = _ACTIVE
        self._owner = task
        self._runner = runner
        deadline = self._deadline
        if self._relative_deadline != _INF:
            offset = runner.clock_offset
            now = perf_counter() + offset if offset is not None else runner.clock.current_time()
            deadline = self._deadline = now + self._relative_deadline
            self._relative_deadline = _INF
        elif deadline != _INF:
            now = runner.clock.current_time()
        parent = task._cancel_status
        if parent is None or parent._effectively_cancelled or self._cancel_called:
            self._attach(parent, task)
        else:  # the common case, inlined: nothing to recompute under a live parent
            self._parent = parent
            task._cancel_status = self
        if deadline != _INF:
            if now >= deadline:
                self._record_cancel("deadline", None, None)
            else:  # runner.deadlines.add_scope(self), inlined
                self._deadline_token = ARMED_UNLISTED
                runner.deadlines._pending_scopes.append(self)
        return self

    def _attach(self, parent: CancelScope | None, task: Task | None) -> None:
        """Hang this scope under ``parent``; ``task`` (if given) now lives directly in it."""
        self._parent = parent
        if task is not None:
            task._cancel_status = self
        # A fresh, uncancelled scope under an uncancelled parent changes nothing: skip the walk.
        if (
            self._cancel_called
            or self._effectively_cancelled
            or (parent is not None and parent._effectively_cancelled)
        ):
            self._recompute()

    def _reparent(self, new_parent: CancelScope) -> None:
        """Move this scope (and everything below it) under ``new_parent``."""
        self._attach(new_parent, None)

    # ------------------------------------------------------------------ exiting
    def __exit__(
        self,
        etype: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        owner = self._owner
        if owner is None or owner._cancel_status is not self or self._state != _ACTIVE:
            return self._exit_out_of_order(exc)
        # _close(), inlined for the common path.
        self._state = _EXITED
        parent = self._parent
        owner._cancel_status = parent
        token = self._deadline_token
        if token:
            if token == ARMED_UNLISTED:  # never reached the heap: nothing to account for
                self._deadline_token = 0
            else:
                self._runner.deadlines.remove(self)  # type: ignore[union-attr]
        if exc is None or not self._cancel_called:
            return False
        if not self._shield and parent is not None and parent._effectively_cancelled:
            return False  # an outer scope is cancelled too; it will catch this
        if isinstance(exc, Cancelled):
            self.cancelled_caught = True
            return True
        if isinstance(exc, BaseExceptionGroup):
            matched, rest = exc.split(Cancelled)
            if matched is None:
                return False
            self.cancelled_caught = True
            if rest is None:
                return True
            remaining = collapse_loose_groups(rest)
            saved_context = exc.__context__
            try:
                raise remaining
            finally:
                remaining.__context__ = saved_context
                del remaining, rest, exc
        return False

    def _exit_out_of_order(self, exc: BaseException | None) -> bool:
        """``__exit__`` when this scope is not the exiting task's innermost one: an error."""
        owner = self._owner
        if self._state != _ACTIVE or owner is None:
            raise RuntimeError("this CancelScope is not active; it can't be exited now")
        current = run_context.runner.current_task if run_context.runner else None
        if current is not owner:
            raise RuntimeError(
                "a CancelScope must be exited by the task that entered it "
                f"({owner!r}), not {current!r}"
            )
        # Out-of-order exit (e.g. a scope kept open in a generator). Close everything
        # inside first so the tree stays consistent, then complain.
        while owner._cancel_status is not self and owner._cancel_status is not None:
            inner = owner._cancel_status
            if inner._owner is not owner or inner._parent is None:
                break
            inner._close(owner)
        self._close(owner)
        error = RuntimeError(
            "cancel scope stack corrupted: a CancelScope was exited before the scopes "
            "inside it (did you hold a scope open across a yield in a generator?)"
        )
        if exc is not None:
            error.__context__ = exc
        raise error

    def _close(self, task: Task) -> None:
        self._state = _EXITED
        task._cancel_status = self._parent
        if self._deadline_token and self._runner is not None:
            self._runner.deadlines.remove(self)

    # ------------------------------------------------------------------ cancelling
    def cancel(self, reason: str | None = None) -> None:
        """Cancel this scope: every checkpoint inside it raises Cancelled from now on.

        Idempotent; not a checkpoint. ``reason`` is attached to the Cancelled exceptions.
        """
        if self._cancel_called:
            return
        source_task = None
        runner = run_context.runner
        if runner is not None and runner.current_task is not None:
            source_task = repr(runner.current_task)
        self._record_cancel("explicit", reason, source_task)

    def _record_cancel(
        self, source: CancelReasonLiteral, reason: str | None, source_task: str | None
    ) -> None:
        if self._cancel_called:
            return
        self._cancel_called = True
        self._cancel_source = source
        self._cancel_reason = reason
        self._cancel_source_task = source_task
        if self._state == _ACTIVE:
            if self._deadline != math.inf and self._runner is not None:
                self._runner.deadlines.remove(self)
            self._recompute()

    def _recompute(self) -> None:
        """Update ``_effectively_cancelled`` here and below; abort newly cancelled parked tasks."""
        pending: list[CancelScope] = [self]
        while pending:
            scope = pending.pop()
            parent = scope._parent
            origin: CancelScope | None
            if scope._cancel_called:
                now, origin = True, scope
                if not scope._shield and parent is not None and parent._effectively_cancelled:
                    origin = parent._cancel_origin
            elif not scope._shield and parent is not None and parent._effectively_cancelled:
                now, origin = True, parent._cancel_origin
            else:
                now, origin = False, None
            if now == scope._effectively_cancelled and origin is scope._cancel_origin:
                continue
            was = scope._effectively_cancelled
            scope._effectively_cancelled = now
            scope._cancel_origin = origin
            # The tasks living directly in this scope, and the scopes just inside it:
            # the owner's innermost scope, or the one it entered inside this one; for a
            # nursery's scope, the same for each child task (whose chain ends here).
            owner = scope._owner
            tasks = list(scope._nursery._children) if scope._nursery is not None else []
            if owner is not None:
                tasks.append(owner)
            for task in tasks:
                inner = task._cancel_status
                if inner is scope:
                    if now and not was and task._abort_func is not None:
                        task._runner.deliver_cancel(task)
                    continue
                while inner is not None and inner._parent is not scope:
                    inner = inner._parent
                if inner is not None:
                    pending.append(inner)

    def _make_cancelled(self) -> Cancelled:
        origin = self._cancel_origin or self
        return Cancelled._create(
            source=origin._cancel_source,
            reason=origin._cancel_reason,
            source_task=origin._cancel_source_task,
        )

    # ------------------------------------------------------------------ properties
    @property
    def effectively_cancelled(self) -> bool:
        """Whether code directly inside this scope is cancelled now (by it or an outer scope).

        trio exposes this on ``task._cancel_status``, which some libraries (anyio) read.
        """
        return self._effectively_cancelled

    @property
    def cancel_called(self) -> bool:
        """Whether cancellation was requested, by :meth:`cancel` or an expired deadline."""
        if not self._cancel_called and self._state == _ACTIVE and self._deadline != math.inf:
            runner = self._runner
            if runner is not None and runner.clock.current_time() >= self._deadline:
                self._record_cancel("deadline", None, None)
        return self._cancel_called

    @property
    def deadline(self) -> float:
        """Absolute time (on the run's clock) at which this scope cancels itself."""
        if self._relative_deadline != math.inf:
            raise RuntimeError(
                "Unentered relative cancel scope does not have an absolute deadline; "
                "use relative_deadline, or read deadline after entering the scope"
            )
        return self._deadline

    @deadline.setter
    def deadline(self, new_deadline: float) -> None:
        new_deadline = _check_number(new_deadline, "deadline")
        if self._state == _NEW and self._relative_deadline != math.inf:
            raise RuntimeError(
                "can't set an absolute deadline on an unentered cancel scope that has a "
                "relative deadline; set relative_deadline instead, or enter the scope first"
            )
        self._set_deadline(new_deadline)

    def _set_deadline(self, new_deadline: float) -> None:
        runner = self._runner
        if self._state == _ACTIVE and runner is not None:
            if self._deadline != math.inf:
                runner.deadlines.remove(self)
            self._deadline = new_deadline
            if new_deadline != math.inf and not self._cancel_called:
                if runner.clock.current_time() >= new_deadline:
                    self._record_cancel("deadline", None, None)
                else:
                    runner.deadlines.add_scope(self)
        else:
            self._deadline = new_deadline

    @property
    def relative_deadline(self) -> float:
        """Seconds from entering the scope until it cancels itself (or, once entered, from now)."""
        if self._state == _NEW:
            if self._deadline != math.inf:
                raise RuntimeError(
                    "Unentered non-relative cancel scope does not have a relative deadline"
                )
            return self._relative_deadline
        if self._deadline == math.inf:
            return math.inf
        runner = self._runner
        assert runner is not None
        return self._deadline - runner.clock.current_time()

    @relative_deadline.setter
    def relative_deadline(self, new_relative_deadline: float) -> None:
        value = _check_number(new_relative_deadline, "relative_deadline")
        if value < 0:
            raise ValueError(f"relative_deadline must be >= 0, got {value!r}")
        if self._state == _NEW:
            if self._deadline != math.inf:
                raise RuntimeError(
                    "can't set a relative deadline on an unentered cancel scope that has an "
                    "absolute deadline; set deadline instead, or enter the scope first"
                )
            self._relative_deadline = value
            return
        runner = self._runner
        assert runner is not None
        self._set_deadline(runner.clock.current_time() + value)

    @property
    def is_relative(self) -> bool | None:
        """True/False before the scope is entered (relative or absolute deadline); None after."""
        if self._state != _NEW:
            return None
        return self._relative_deadline != math.inf

    @property
    def shield(self) -> bool:
        """While True, cancellations of enclosing scopes don't reach code inside this one."""
        return self._shield

    @shield.setter
    def shield(self, new_value: bool) -> None:
        if not isinstance(new_value, bool):
            raise TypeError(f"shield must be a bool, not {type(new_value).__name__}")
        self._shield = new_value
        if self._state == _ACTIVE:
            self._recompute()

    def __repr__(self) -> str:
        state = {_NEW: "unbound", _ACTIVE: "active", _EXITED: "exited"}[self._state]
        parts = [f"<triolet.CancelScope at {id(self):#x}, {state}"]
        if self._cancel_called:
            parts.append("cancelled")
        elif self._deadline != math.inf and self._runner is not None and self._state == _ACTIVE:
            remaining = self._deadline - self._runner.clock.current_time()
            parts.append(f"deadline is {remaining:.2f} seconds from now")
        return ", ".join(parts) + ">"


_new_scope = object.__new__


def move_on_after(seconds: float, *, shield: bool = False) -> CancelScope:
    """A cancel scope cancelled ``seconds`` after it is entered; the block just stops.

    Check ``scope.cancelled_caught`` afterwards to learn whether it timed out.
    """
    if (type(seconds) is float or type(seconds) is int) and seconds >= 0:  # NaN fails this
        # CancelScope(relative_deadline=seconds, shield=shield) without the keyword
        # parsing and re-validation: the constructor's stores, written here.
        scope: CancelScope = _new_scope(CancelScope)
        scope._state = _NEW
        scope._cancel_called = False
        scope._effectively_cancelled = False
        scope._deadline = _INF
        scope._relative_deadline = float(seconds)
        scope._shield = bool(shield)
        return scope
    if isinstance(seconds, (int, float)) and seconds < 0:
        raise ValueError(f"timeout must be non-negative, got {seconds!r}")
    return CancelScope(relative_deadline=seconds, shield=shield)  # it explains
