"""Finalizing async generators inside the run that created them.

Python calls the *firstiter* hook when an async generator starts and the
*finalizer* hook when one is garbage-collected before finishing. Without a loop to
run its ``aclose()``, a generator's ``finally`` blocks (which may await) would never
run, or would run outside triolet. We track generators started in our run, close
collected ones in system tasks, and close the survivors after the main task exits.
Either way the cleanup runs cancelled (as in trio): an ``await`` in a ``finally`` raises
Cancelled, so a generator can't keep the run alive once nobody wants its values.

Python clears an async generator's weak references *before* calling the finalizer
hook, so a WeakSet can't tell the finalizer whether a generator is ours: we keep
``id -> weakref`` instead and drop the entries of generators that died unfinalized
(exhausted ones) from time to time.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from ._cancel import CancelScope
from ._state import run_context

if TYPE_CHECKING:
    from ._run import Runner


class AsyncGeneratorTracker:
    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._alive: dict[int, weakref.ref[AsyncGenerator[Any, Any]]] = {}
        self._prune_at = 64
        self._previous_hooks: Any = None
        self._shutting_down = False

    def install(self) -> None:
        runner = self._runner
        self._previous_hooks = previous = sys.get_asyncgen_hooks()

        def firstiter(agen: AsyncGenerator[Any, Any]) -> None:
            if run_context.runner is runner:
                alive = self._alive
                if len(alive) >= self._prune_at:
                    self._alive = alive = {k: r for k, r in alive.items() if r() is not None}
                    self._prune_at = max(64, 2 * len(alive))
                alive[id(agen)] = weakref.ref(agen)
            elif previous.firstiter is not None:
                previous.firstiter(agen)

        def finalizer(agen: AsyncGenerator[Any, Any]) -> None:
            if self._alive.pop(id(agen), None) is None:
                if previous.finalizer is not None:
                    previous.finalizer(agen)
                return
            try:
                runner.entry_queue.run_sync_soon(self._spawn_closer, agen)
            except RuntimeError:
                pass  # the run is over; nothing can close it now

        sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=finalizer)

    def uninstall(self) -> None:
        if self._previous_hooks is not None:
            sys.set_asyncgen_hooks(*self._previous_hooks)
            self._previous_hooks = None

    def _spawn_closer(self, agen: AsyncGenerator[Any, Any]) -> None:
        self._runner.spawn_system_task(_close_generator, agen, name=f"close {agen!r}")

    async def close_survivors(self) -> None:
        """Close every async generator of this run that is still suspended."""
        from ._nursery import open_nursery

        while self._alive:
            batch = [agen for agen in (ref() for ref in self._alive.values()) if agen is not None]
            self._alive.clear()
            async with open_nursery() as nursery:
                for agen in batch:
                    nursery.start_soon(_close_generator, agen, name=f"close {agen!r}")


async def _close_generator(agen: AsyncGenerator[Any, Any]) -> None:
    try:
        with CancelScope() as scope:
            scope.cancel()
            await agen.aclose()
    except BaseException as exc:  # report, don't crash the run for a user's generator
        warnings.warn(
            RuntimeWarning(f"error while closing async generator {agen!r}: {exc!r}"),
            stacklevel=1,
        )
