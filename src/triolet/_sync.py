"""Synchronization primitives: Event, Lock, StrictFIFOLock, Semaphore, CapacityLimiter, Condition.

Rules every primitive in this module keeps
------------------------------------------
* Every blocking operation is a checkpoint, even when it does not block. When it can
  proceed at once, it raises Cancelled if the task is cancelled, then takes the lock or
  token, then yields without checking cancellation: once the work is done, nothing can
  undo it, and the work happens in the order the calls were made (StrictFIFOLock relies
  on that). When it must wait, it parks at once: parking is itself a cancel point.
* Hand-off is fair. A released lock or token goes straight to the task that has waited
  longest (ParkingLot is FIFO); the releaser cannot take it back by re-acquiring at once,
  and a new arrival never overtakes a parked waiter.
* A waiter that has been woken owns what it was handed, even if it is cancelled in the
  same instant: the kernel never runs the abort function of a task it has already
  rescheduled.
* Methods that change state are KI-protected, so Ctrl-C cannot stop them halfway.

Everything here is built on the kernel's public surface (``ParkingLot``,
``wait_task_rescheduled``, the checkpoints) plus ``task._runner.wake``, which
reschedules a parked task without allocating an outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

from ._core import (
    CancelScope,
    ParkingLot,
    ParkingLotStatistics,
    Task,
    WouldBlock,
    cancel_shielded_checkpoint,
    checkpoint,
    checkpoint_if_cancelled,
    current_task,
    enable_ki_protection,
    remove_parking_lot_breaker,
)
from ._core._state import run_context
from ._core._traps import park_as_waiter
from ._core._util import final


# ---------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class EventStatistics:
    """``tasks_waiting``: how many tasks are blocked in :meth:`Event.wait`."""

    tasks_waiting: int


@dataclass(frozen=True)
class LockStatistics:
    """A snapshot of a lock: whether it is held, by which task, and how many tasks wait."""

    locked: bool
    owner: Task | None
    tasks_waiting: int


@dataclass(frozen=True)
class CapacityLimiterStatistics:
    """A snapshot of a :class:`CapacityLimiter`.

    ``borrowers`` lists the objects holding a token (tasks, or whatever was passed to
    the ``*_on_behalf_of`` methods), in no particular order.
    """

    borrowed_tokens: int
    total_tokens: int | float
    borrowers: list[Task | object]
    tasks_waiting: int


@dataclass(frozen=True)
class ConditionStatistics:
    """How many tasks wait in :meth:`Condition.wait`, and the statistics of its lock."""

    tasks_waiting: int
    lock_statistics: LockStatistics


# ---------------------------------------------------------------------------- Event
@final
class Event:
    """A one-shot flag that tasks can wait for.

    It starts unset; :meth:`set` sets it for good and wakes every waiting task. There is
    no ``clear``: make a new Event when you need a new round.
    """

    __slots__ = ("_flag", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        # An insertion-ordered set: waiters are woken in the order they arrived.
        self._waiters: dict[Task, None] = {}

    def __repr__(self) -> str:
        state = "set" if self._flag else f"unset, {len(self._waiters)} waiting"
        return f"<triolet.Event ({state}) at {id(self):#x}>"

    def __bool__(self) -> NoReturn:
        raise NotImplementedError(
            "an Event can't be used as a bool (it would read as always true); "
            "call event.is_set() instead"
        )

    def is_set(self) -> bool:
        """Whether :meth:`set` has been called."""
        return self._flag

    @enable_ki_protection
    def set(self) -> None:
        """Set the flag and wake every task blocked in :meth:`wait`. Idempotent; not a checkpoint."""
        if self._flag:
            return
        self._flag = True
        waiters = self._waiters
        if waiters:
            # Every waiter belongs to the same run: look the runner up once.
            wake = next(iter(waiters))._runner.wake
            for task in waiters:
                wake(task, None)
            waiters.clear()

    @enable_ki_protection
    async def wait(self) -> None:
        """Block until the flag is set; return at once if it already is.

        A checkpoint either way: raises Cancelled if the task is cancelled first.
        """
        if self._flag:
            await checkpoint()
            return
        task = current_task()
        self._waiters[task] = None
        await park_as_waiter(task, self)

    def _cancel_wait(self, task: Task) -> None:
        # A task parked in wait() was cancelled.
        del self._waiters[task]

    def statistics(self) -> EventStatistics:
        """How many tasks are waiting."""
        return EventStatistics(tasks_waiting=len(self._waiters))


# ---------------------------------------------------------------------------- context managers
class _AcquireReleaseContext:
    """``async with x:`` means ``await x.acquire()`` ... ``x.release()``.

    Each subclass sets ``__aenter__ = acquire`` itself: one coroutine per ``async with``
    instead of two (measurable on contended locks, benchmarks/workloads/lock.py).
    """

    __slots__ = ()

    if TYPE_CHECKING:

        async def acquire(self) -> None: ...

        def release(self) -> None: ...

        async def __aenter__(self) -> None: ...

    @enable_ki_protection
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


# ---------------------------------------------------------------------------- Lock
def _add_breaker(task: Task, lot: ParkingLot) -> None:
    """``add_parking_lot_breaker`` for a task known to be alive (running or parked).

    If the task exits still holding the lock, the lot breaks and its waiters get
    BrokenResourceError instead of waiting forever.
    """
    breakers = task._parking_lot_breakers
    if breakers is None:
        task._parking_lot_breakers = [lot]
    else:
        breakers.append(lot)


class _LockImpl(_AcquireReleaseContext):
    __slots__ = ("_lot", "_owner")

    def __init__(self) -> None:
        self._lot = ParkingLot()
        self._owner: Task | None = None

    def __repr__(self) -> str:
        if self._owner is None:
            return f"<unlocked {type(self).__name__} object at {id(self):#x}>"
        return (
            f"<locked {type(self).__name__} object at {id(self):#x} with {len(self._lot)} waiters>"
        )

    def locked(self) -> bool:
        """Whether some task holds the lock."""
        return self._owner is not None

    def _set_owner(self, task: Task) -> None:
        self._owner = task
        _add_breaker(task, self._lot)

    def _reacquire_error(self) -> RuntimeError:
        return RuntimeError(
            f"attempt to re-acquire an already held {type(self).__name__}: this task holds "
            "it already (locks are not re-entrant); release it first"
        )

    # Invariant: tasks wait in the lot only while the lock has an owner (release() hands
    # the lock straight to the first of them), so "no owner" means "free, nobody waiting".

    @enable_ki_protection
    def acquire_nowait(self) -> None:
        """Take the lock without blocking.

        Raises WouldBlock if another task holds it, and RuntimeError if the current task
        already holds it. Not a checkpoint.
        """
        task = current_task()
        owner = self._owner
        if owner is None:
            self._set_owner(task)
        elif owner is task:
            raise self._reacquire_error()
        else:
            raise WouldBlock

    @enable_ki_protection
    async def acquire(self) -> None:
        """Take the lock, waiting in line (first come, first served) while others hold it.

        A checkpoint. RuntimeError if this task already holds the lock;
        BrokenResourceError if the holder exited without releasing it.
        """
        runner = run_context.runner
        task = runner.current_task if runner is not None else None
        if task is None:
            task = current_task()  # raises, explaining
        owner = self._owner
        if owner is not None and owner is not task:
            # A cancel point. release() makes us the owner before it wakes us.
            await self._lot.park()
            return
        if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
            await checkpoint_if_cancelled()  # raises Cancelled
        if owner is task:
            raise self._reacquire_error()
        self._owner = task
        _add_breaker(task, self._lot)
        await cancel_shielded_checkpoint()

    __aenter__ = acquire

    @enable_ki_protection
    def release(self) -> None:
        """Release the lock; the longest-waiting task (if any) becomes the owner at once.

        RuntimeError if the current task does not hold the lock. Not a checkpoint.
        """
        runner = run_context.runner
        task = runner.current_task if runner is not None else None
        if task is None:
            task = current_task()  # raises, explaining
        if task is not self._owner:
            raise RuntimeError(
                f"can't release a {type(self).__name__} you don't own: only the task that "
                "acquired it may release it"
            )
        lot = self._lot
        remove_parking_lot_breaker(task, lot)
        parked = lot._parked
        if parked:
            next_owner, _ = parked.popitem(False)
            self._owner = next_owner
            _add_breaker(next_owner, lot)
            next_owner._runner.wake(next_owner, None)
        else:
            self._owner = None

    def statistics(self) -> LockStatistics:
        """Whether the lock is held, by which task, and how many tasks wait for it."""
        return LockStatistics(
            locked=self._owner is not None, owner=self._owner, tasks_waiting=len(self._lot)
        )


@final
class Lock(_LockImpl):
    """A classic mutex: one task at a time, handed to waiters in arrival order.

    Only the task that acquired it may release it. Use ``async with lock:``.
    """

    __slots__ = ()


@final
class StrictFIFOLock(_LockImpl):
    """A lock that guarantees strict first-in, first-out hand-off between waiters.

    triolet's :class:`Lock` already behaves this way; use this class when your code
    relies on that guarantee, so that readers know it does.
    """

    __slots__ = ()


# ---------------------------------------------------------------------------- Semaphore
@final
class Semaphore(_AcquireReleaseContext):
    """A counter of tokens: ``acquire`` takes one (waiting while there are none), ``release`` adds one.

    With ``max_value``, releasing past that value raises ValueError (a bounded semaphore).
    Any task may release; tokens are not tied to tasks.
    """

    __slots__ = ("_cap", "_lot", "_tokens")

    def __init__(self, initial_value: int, *, max_value: int | None = None) -> None:
        if not isinstance(initial_value, int):
            raise TypeError(f"initial_value must be an int, got {initial_value!r}")
        if initial_value < 0:
            raise ValueError(f"initial value must be >= 0, got {initial_value}")
        if max_value is not None:
            if not isinstance(max_value, int):
                raise TypeError(f"max_value must be None or an int, got {max_value!r}")
            if max_value < initial_value:
                raise ValueError(
                    f"max_value ({max_value}) must be >= initial_value ({initial_value})"
                )
        self._tokens = initial_value
        self._cap = max_value
        self._lot = ParkingLot()

    @property
    def max_value(self) -> int | None:
        """The most tokens the semaphore may hold, or None if unbounded."""
        return self._cap

    def __repr__(self) -> str:
        args = [str(self._tokens)]
        if self._cap is not None:
            args.append(f"max_value={self._cap}")
        return f"<triolet.Semaphore({', '.join(args)}) at {id(self):#x}>"

    @enable_ki_protection
    def acquire_nowait(self) -> None:
        """Take a token without blocking; WouldBlock if there is none. Not a checkpoint."""
        # A positive value implies no waiters: release() hands tokens to waiters directly.
        if self._tokens > 0:
            self._tokens -= 1
        else:
            raise WouldBlock

    @enable_ki_protection
    async def acquire(self) -> None:
        """Take a token, waiting in line while there are none. A checkpoint."""
        if self._tokens == 0:
            # A cancel point. release() hands its token straight to us instead of
            # incrementing the value.
            await self._lot.park()
            return
        await checkpoint_if_cancelled()
        self._tokens -= 1
        await cancel_shielded_checkpoint()

    __aenter__ = acquire

    @enable_ki_protection
    def release(self) -> None:
        """Add a token, or hand it to the longest-waiting task. Not a checkpoint.

        ValueError if that would take the value past ``max_value``.
        """
        if self._lot:
            self._lot.unpark()
            return
        if self._cap is not None and self._tokens == self._cap:
            raise ValueError(
                f"semaphore released too many times: its value is already at max_value "
                f"({self._cap}); release only tokens you acquired"
            )
        self._tokens += 1

    def statistics(self) -> ParkingLotStatistics:
        """``tasks_waiting``: how many tasks wait for a token."""
        return self._lot.statistics()

    @property
    def value(self) -> int:
        """How many tokens are available now."""
        return self._tokens


# ---------------------------------------------------------------------------- CapacityLimiter
def _check_total_tokens(total_tokens: object) -> int | float:
    if not isinstance(total_tokens, int) and total_tokens != math.inf:
        raise TypeError(f"total_tokens must be an int or math.inf, got {total_tokens!r}")
    if total_tokens < 0:
        raise ValueError(f"total_tokens must be >= 0, got {total_tokens}")
    return total_tokens


@final
class CapacityLimiter(_AcquireReleaseContext):
    """Lets at most ``total_tokens`` borrowers hold a token at once.

    Like a semaphore, except that each token is tied to its borrower (the current task
    by default): a borrower can hold at most one token, and only it can give it back.
    ``total_tokens`` can be changed at any time; raising it wakes waiters at once.
    """

    __slots__ = ("_borrowers", "_lot", "_pending_borrowers", "_total_tokens")

    def __init__(self, total_tokens: int | float) -> None:
        self._borrowers: set[Task | object] = set()
        # Who each parked task will borrow for, once it gets a token.
        self._pending_borrowers: dict[Task, Task | object] = {}
        self._lot = ParkingLot()
        self._total_tokens = _check_total_tokens(total_tokens)

    def __repr__(self) -> str:
        return (
            f"<triolet.CapacityLimiter at {id(self):#x}, {len(self._borrowers)}/"
            f"{self._total_tokens} with {len(self._lot)} waiting>"
        )

    @property
    def total_tokens(self) -> int | float:
        """How many tokens exist: an int >= 0, or math.inf. Settable; raising it wakes waiters."""
        return self._total_tokens

    @total_tokens.setter
    @enable_ki_protection
    def total_tokens(self, new_total_tokens: int | float) -> None:
        self._total_tokens = _check_total_tokens(new_total_tokens)
        self._wake_waiters()

    @property
    def borrowed_tokens(self) -> int:
        """How many tokens are held now."""
        return len(self._borrowers)

    @property
    def available_tokens(self) -> int | float:
        """``total_tokens - borrowed_tokens`` (negative if total_tokens was lowered below it)."""
        return self._total_tokens - len(self._borrowers)

    def _wake_waiters(self) -> None:
        available = self._total_tokens - len(self._borrowers)
        if available > 0 and self._lot:
            for task in self._lot.unpark(count=available):
                self._borrowers.add(self._pending_borrowers.pop(task))

    def _can_take(self, borrower: Task | object) -> bool:
        if borrower in self._borrowers:
            raise RuntimeError(
                "this borrower is already holding one of this CapacityLimiter's tokens; "
                "each borrower may hold at most one (release it first)"
            )
        return len(self._borrowers) < self._total_tokens and not self._lot

    @enable_ki_protection
    def acquire_nowait(self) -> None:
        """Borrow a token for the current task without blocking.

        WouldBlock if none is free; RuntimeError if the task already holds one.
        Not a checkpoint.
        """
        self.acquire_on_behalf_of_nowait(current_task())

    @enable_ki_protection
    def acquire_on_behalf_of_nowait(self, borrower: Task | object) -> None:
        """Borrow a token for ``borrower`` (any hashable object) without blocking.

        WouldBlock if none is free; RuntimeError if ``borrower`` already holds one.
        Not a checkpoint.
        """
        if not self._can_take(borrower):
            raise WouldBlock
        self._borrowers.add(borrower)

    @enable_ki_protection
    async def acquire(self) -> None:
        """Borrow a token for the current task, waiting in line if none is free. A checkpoint."""
        await self.acquire_on_behalf_of(current_task())

    __aenter__ = acquire

    @enable_ki_protection
    async def acquire_on_behalf_of(self, borrower: Task | object) -> None:
        """Borrow a token for ``borrower``, waiting in line if none is free. A checkpoint.

        RuntimeError if ``borrower`` already holds a token.
        """
        await checkpoint_if_cancelled()
        if self._can_take(borrower):
            self._borrowers.add(borrower)
            await cancel_shielded_checkpoint()
            return
        task = current_task()
        self._pending_borrowers[task] = borrower
        try:
            # A cancel point. _wake_waiters() records the borrower before it wakes us.
            await self._lot.park()
        except BaseException:
            self._pending_borrowers.pop(task, None)
            raise

    @enable_ki_protection
    def release(self) -> None:
        """Give back the current task's token. RuntimeError if it holds none. Not a checkpoint."""
        self.release_on_behalf_of(current_task())

    @enable_ki_protection
    def release_on_behalf_of(self, borrower: Task | object) -> None:
        """Give back ``borrower``'s token, waking the longest waiter if it can now have one.

        RuntimeError if ``borrower`` holds no token. Not a checkpoint.
        """
        if borrower not in self._borrowers:
            raise RuntimeError(
                "this borrower isn't holding any of this CapacityLimiter's tokens; "
                "release only what the same borrower acquired"
            )
        self._borrowers.remove(borrower)
        self._wake_waiters()

    def statistics(self) -> CapacityLimiterStatistics:
        """Tokens borrowed and in total, who holds them, and how many tasks wait."""
        return CapacityLimiterStatistics(
            borrowed_tokens=len(self._borrowers),
            total_tokens=self._total_tokens,
            borrowers=list(self._borrowers),
            tasks_waiting=len(self._lot),
        )


# ---------------------------------------------------------------------------- Condition
@final
class Condition(_AcquireReleaseContext):
    """A condition variable: wait, with a lock held, until another task notifies you.

    ``lock`` must be a :class:`Lock` (a new one by default). The usual pattern::

        async with condition:
            while not ready():
                await condition.wait()
    """

    __slots__ = ("_lock", "_lot")

    def __init__(self, lock: Lock | None = None) -> None:
        if lock is None:
            lock = Lock()
        if type(lock) is not Lock:
            raise TypeError(f"lock must be a triolet.Lock, got {lock!r}")
        self._lock = lock
        self._lot = ParkingLot()

    def __repr__(self) -> str:
        return f"<triolet.Condition ({len(self._lot)} waiting) at {id(self):#x}>"

    def locked(self) -> bool:
        """Whether the underlying lock is held."""
        return self._lock.locked()

    @enable_ki_protection
    def acquire_nowait(self) -> None:
        """Take the underlying lock without blocking; see :meth:`Lock.acquire_nowait`."""
        self._lock.acquire_nowait()

    @enable_ki_protection
    async def acquire(self) -> None:
        """Take the underlying lock; see :meth:`Lock.acquire`. A checkpoint."""
        await self._lock.acquire()

    __aenter__ = acquire

    @enable_ki_protection
    def release(self) -> None:
        """Release the underlying lock; see :meth:`Lock.release`."""
        self._lock.release()

    def _check_owner(self, what: str) -> None:
        if current_task() is not self._lock._owner:
            raise RuntimeError(
                f"must hold the lock to {what}: use 'async with condition:' around the call"
            )

    @enable_ki_protection
    async def wait(self) -> None:
        """Release the lock, sleep until notified, then take the lock back and return.

        The caller must hold the lock (RuntimeError otherwise). If cancelled, the lock is
        re-acquired before Cancelled propagates, so the caller always leaves holding it.
        A checkpoint.
        """
        self._check_owner("wait")
        self.release()
        try:
            # notify() moves us into the lock's queue; the lock's release() then makes us
            # the owner and wakes us.
            await self._lot.park()
        except BaseException:
            with CancelScope(shield=True):
                await self.acquire()
            raise

    @enable_ki_protection
    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiting tasks, longest-waiting first. The caller must hold the lock.

        They return from :meth:`wait` one by one, as the lock is handed to each of them.
        """
        self._check_owner("notify")
        self._lot.repark(self._lock._lot, count=n)

    @enable_ki_protection
    def notify_all(self) -> None:
        """Wake every waiting task. The caller must hold the lock."""
        self._check_owner("notify")
        self._lot.repark_all(self._lock._lot)

    def statistics(self) -> ConditionStatistics:
        """How many tasks wait to be notified, and the lock's statistics."""
        return ConditionStatistics(
            tasks_waiting=len(self._lot), lock_statistics=self._lock.statistics()
        )
