"""Linux backend: one-shot epoll registrations re-armed on each wait, or, for socket
waits, edge-triggered registrations kept between waits.

One-shot: after reporting an event the kernel disarms the fd, so a ready fd that
nobody waits on can't make epoll_wait spin, and an fd closed without notify_closing
leaves at most one stale event behind; the next wait re-arms it with one MOD.

Edge-triggered (``wait_socket``): the fd stays registered, so a wait costs no syscall.
Edges that arrive while nobody waits are remembered on the ``FdWaiters`` (see
``_io_common.py``), so none is lost. The registration belongs to one socket object
(a weak reference): a wait through another object with the same fd number (the first
was closed without notify_closing and the number reused) registers afresh. A stale
edge-triggered entry (its file kept open by a dup elsewhere) reports an event only
when new data reaches it, never in a loop, as level-triggered would.
"""

from __future__ import annotations

import errno
import select
import socket
import weakref
from typing import TYPE_CHECKING

from ._io_common import (
    EDGE_READ,
    EDGE_WRITE,
    READY_NONE,
    READY_ONCE,
    FdWaiters,
    IOEvents,
    IOManagerBase,
    raise_busy,
)
from ._ki import mark_kernel_code
from ._traps import ParkRequest

if TYPE_CHECKING:
    from ._task import Task

_ONESHOT = select.EPOLLONESHOT
_EDGE = select.EPOLLET
_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
# What an edge-triggered registration asks for, per direction: for reading also the
# peer's shutdown (remembered for good) and urgent data (see process_events).
_EDGE_IN = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLPRI
_EDGE_OUT = select.EPOLLOUT
_MAX_TIMEOUT = 86400.0


class EpollIOManager(IOManagerBase):
    backend_name = "epoll"
    read_bits = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP | select.EPOLLRDHUP
    write_bits = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
    read_always_bits = select.EPOLLERR | select.EPOLLHUP | select.EPOLLRDHUP
    write_always_bits = select.EPOLLERR | select.EPOLLHUP
    read_again_bits = select.EPOLLPRI

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
        if waiters.edge_mask:
            # A plain wait on a socket's fd: back to one-shot (MOD re-reports readiness).
            waiters.edge_mask = 0
            waiters.owner = None
            waiters.read_ready = waiters.write_ready = READY_NONE
        self._register(fd, waiters, mask)

    def _register(self, fd: int, waiters: FdWaiters, mask: int) -> None:
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

    def arm_socket(
        self, task: Task, sock: socket.socket, fd: int, reading: bool
    ) -> ParkRequest | None:
        waiters = self._waiters.get(fd)
        if waiters is None:
            waiters = self._waiters[fd] = FdWaiters(fd)
        owner = waiters.owner
        current = owner is not None and owner() is sock
        if (
            not current
            and waiters.edge_mask == 0
            and (waiters.read_task is not None or waiters.write_task is not None)
        ):
            # A plain one-shot wait is pending on this fd: join it in one-shot mode.
            return self.arm(task, fd, reading)
        if reading:
            if waiters.read_task is not None:
                raise_busy(fd, True)
            if current and waiters.edge_mask & EDGE_READ:
                ready = waiters.read_ready
                if ready:
                    if ready == READY_ONCE:
                        waiters.read_ready = READY_NONE
                    return None
                waiters.read_task = task
            else:
                self._register_edge(fd, waiters, sock, current, EDGE_READ)
                waiters.read_task = task
        else:
            if waiters.write_task is not None:
                raise_busy(fd, False)
            if current and waiters.edge_mask & EDGE_WRITE:
                ready = waiters.write_ready
                if ready:
                    if ready == READY_ONCE:
                        waiters.write_ready = READY_NONE
                    return None
                waiters.write_task = task
            else:
                self._register_edge(fd, waiters, sock, current, EDGE_WRITE)
                waiters.write_task = task
        task.custom_sleep_data = waiters
        request = task._io_request
        if request is None:
            request = task._io_request = ParkRequest(task._abort_io)
        return request

    def _register_edge(
        self, fd: int, waiters: FdWaiters, sock: socket.socket, current: bool, direction: int
    ) -> None:
        # Registering (ADD or MOD) reports the fd's present readiness as a first edge,
        # so nothing that happened before is lost.
        edge_mask = (waiters.edge_mask if current else 0) | direction
        mask = _EDGE
        if edge_mask & EDGE_READ:
            mask |= _EDGE_IN
        if edge_mask & EDGE_WRITE:
            mask |= _EDGE_OUT
        self._register(fd, waiters, mask)
        if not current:
            waiters.owner = weakref.ref(sock)
            waiters.read_ready = waiters.write_ready = READY_NONE
        waiters.edge_mask = edge_mask

    def _watch_readable(self, fd: int, edge: bool) -> bool:
        self._epoll.register(fd, _IN | _EDGE if edge else _IN)  # never re-armed
        return edge

    def wait_for_events(self, timeout: float) -> IOEvents:
        if timeout > _MAX_TIMEOUT:  # also inf
            timeout = _MAX_TIMEOUT
        elif timeout < 0:
            timeout = 0
        return self._epoll.poll(timeout)

    def _forget(self, fd: int, waiters: FdWaiters) -> None:
        if waiters.registered:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        self._epoll.close()


# A Ctrl-C between registering a waiter and parking would leave the fd registered.
mark_kernel_code(EpollIOManager.arm_socket)
