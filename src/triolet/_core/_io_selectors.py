"""Portable backend: the stdlib ``selectors`` module, registered per wait."""

from __future__ import annotations

import selectors

from ._io_common import FdWaiters, IOEvents, IOManagerBase

_MAX_TIMEOUT = 86400.0


class SelectorsIOManager(IOManagerBase):
    backend_name = "selectors"
    read_bits = selectors.EVENT_READ
    write_bits = selectors.EVENT_WRITE

    def __init__(self, runner: object) -> None:
        super().__init__(runner)  # type: ignore[arg-type]
        self._selector = selectors.DefaultSelector()

    def _update_interest(self, fd: int, waiters: FdWaiters) -> None:
        mask = 0
        if waiters.read_task is not None:
            mask |= selectors.EVENT_READ
        if waiters.write_task is not None:
            mask |= selectors.EVENT_WRITE
        if mask == 0:
            self._forget(fd, waiters)
            return
        if waiters.registered:
            try:
                self._selector.modify(fd, mask)
                return
            except (KeyError, ValueError, OSError):
                self._forget(fd, waiters)
        self._selector.register(fd, mask)
        waiters.registered = True

    def _watch_readable(self, fd: int, edge: bool) -> bool:
        # Not in _waiters, so wait_for_events never unregisters it. Level-triggered only.
        self._selector.register(fd, selectors.EVENT_READ)
        return False

    def wait_for_events(self, timeout: float) -> IOEvents:
        if timeout > _MAX_TIMEOUT:  # also inf
            timeout = _MAX_TIMEOUT
        elif timeout < 0:
            timeout = 0
        ready = self._selector.select(timeout)
        events = []
        for key, mask in ready:
            fd = key.fd
            events.append((fd, mask))
            waiters = self._waiters.get(fd)
            if waiters is not None:
                # Level-triggered: drop the directions we are about to satisfy.
                self._pending_unregister(fd, waiters, mask)
        return events

    def _pending_unregister(self, fd: int, waiters: FdWaiters, mask: int) -> None:
        remaining = 0
        if waiters.read_task is not None and not mask & selectors.EVENT_READ:
            remaining |= selectors.EVENT_READ
        if waiters.write_task is not None and not mask & selectors.EVENT_WRITE:
            remaining |= selectors.EVENT_WRITE
        if remaining == 0:
            self._forget(fd, waiters)
        else:
            self._selector.modify(fd, remaining)

    def _forget(self, fd: int, waiters: FdWaiters) -> None:
        if waiters.registered:
            waiters.registered = False
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError, OSError):
                pass

    def close(self) -> None:
        self._selector.close()
