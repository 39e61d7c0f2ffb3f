"""The entry queue: how other threads (and signal handlers) get work into a run.

``run_sync_soon`` appends to a deque (atomic in CPython, so no lock on that path)
and writes a byte to a wakeup socket, which breaks the run loop out of its I/O wait.
A system task drains the queue and calls each callback in the loop's thread.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._exceptions import RunFinishedError
from ._util import NoPublicConstructor

if TYPE_CHECKING:
    from ._run import Runner


class EntryQueue:
    def __init__(self) -> None:
        self.queue: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        # Idempotent callbacks: an insertion-ordered set of (fn, args).
        self.idempotent_queue: dict[tuple[Callable[..., object], tuple[Any, ...]], None] = {}
        self.wakeup_reader, self.wakeup_writer = socket.socketpair()
        self.wakeup_reader.setblocking(False)
        self.wakeup_writer.setblocking(False)
        # Re-entrant: an async generator finalizer (run by the garbage collector at any
        # allocation) may call run_sync_soon while this thread already holds the lock.
        self.lock = threading.RLock()
        self.done = False
        self.runner: Runner | None = None

    def run_sync_soon(
        self, sync_fn: Callable[..., object], *args: object, idempotent: bool = False
    ) -> None:
        with self.lock:
            if self.done:
                raise RunFinishedError(
                    "run_sync_soon was called after the triolet run it belongs to had finished"
                )
            if idempotent:
                self.idempotent_queue[(sync_fn, args)] = None
            else:
                self.queue.append((sync_fn, args))
        self.wake_loop()

    def wake_loop(self) -> None:
        try:
            self.wakeup_writer.send(b"\x00")
        except (BlockingIOError, OSError):
            pass  # the socket is full (a wakeup is pending anyway) or closed at shutdown

    def drain_wakeup_socket(self) -> None:
        # One large read empties it in the usual case; the loop only needs to know that
        # something was written, and a leftover byte just costs one extra wakeup.
        try:
            self.wakeup_reader.recv(65536)
        except OSError:
            pass

    def pending(self) -> bool:
        return bool(self.queue or self.idempotent_queue)

    def run_pending(self) -> None:
        """Call every queued callback, in order. A raising callback crashes the run."""
        queue = self.queue
        while queue:
            fn, args = queue.popleft()
            fn(*args)
        while self.idempotent_queue:
            with self.lock:
                batch = list(self.idempotent_queue)
                self.idempotent_queue.clear()
            for fn, args in batch:
                fn(*args)

    def size(self) -> int:
        return len(self.queue) + len(self.idempotent_queue)

    def close(self) -> None:
        with self.lock:
            self.done = True
        self.wakeup_reader.close()
        self.wakeup_writer.close()


class TrioToken(metaclass=NoPublicConstructor):
    """A handle on a run that other threads may use to reach it.

    Get one with :func:`current_trio_token` (inside the run); hand it to threads.
    Tokens are hashable and compare equal for the same run.
    """

    __slots__ = ("__weakref__", "_entry_queue")

    def __init__(self, entry_queue: EntryQueue) -> None:
        self._entry_queue = entry_queue

    def run_sync_soon(
        self, sync_fn: Callable[..., object], *args: object, idempotent: bool = False
    ) -> None:
        """Schedule ``sync_fn(*args)`` to run in the loop's thread soon. Thread-safe.

        Callbacks run in order, protected from KeyboardInterrupt; one that raises
        crashes the run with TrioInternalError. With ``idempotent=True``, a call whose
        ``(sync_fn, args)`` is already queued is dropped. Raises RunFinishedError once
        the run has ended.
        """
        self._entry_queue.run_sync_soon(sync_fn, *args, idempotent=idempotent)
