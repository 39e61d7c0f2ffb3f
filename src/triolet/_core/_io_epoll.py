"""Linux backend: one-shot epoll registrations, re-armed on each wait."""

from __future__ import annotations

import errno
import math
import select

from ._io_common import FdWaiters, IOManagerBase

# One-shot: after reporting an event the kernel disarms the fd, so a ready fd that
# nobody waits on can't make epoll_wait spin; the next wait re-arms it with one MOD.
_ONESHOT = select.EPOLLONESHOT
_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
_READ_DONE = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP | select.EPOLLRDHUP
_WRITE_DONE = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
_MAX_TIMEOUT = 86400.0


class EpollIOManager(IOManagerBase):
    backend_name = "epoll"

    def __init__(self, runner: object) -> None:
        super().__init__(runner)  # type: ignore[arg-type]
        self._epoll = select.epoll()

    def _update_interest(self, fd: int, waiters: FdWaiters) -> None:
        mask = _ONESHOT
        if waiters.read_task is not None:
            mask |= _IN
        if waiters.write_task is not None:
            mask |= _OUT
        if mask == _ONESHOT:
            # Nobody waits any more (a wait was cancelled): leave epoll alone. The fd may
            # already be closed, and a stale one-shot registration fires at most once.
            return
        if waiters.registered:
            try:
                self._epoll.modify(fd, mask)
                return
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
                # The fd was closed and its number reused: register afresh.
        try:
            self._epoll.register(fd, mask)
        except FileExistsError:
            self._epoll.modify(fd, mask)
        waiters.registered = True

    def _poll(self, timeout: float) -> list[tuple[int, bool, bool]]:
        if timeout > _MAX_TIMEOUT or math.isinf(timeout):
            timeout = _MAX_TIMEOUT
        elif timeout < 0:
            timeout = 0
        return [
            (fd, bool(flags & _READ_DONE), bool(flags & _WRITE_DONE))
            for fd, flags in self._epoll.poll(timeout)
        ]

    def _forget(self, fd: int, waiters: FdWaiters) -> None:
        if waiters.registered:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        self._epoll.close()
