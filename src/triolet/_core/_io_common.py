"""What every I/O backend shares: one waiter per fd and direction, parking, closing.

A backend subclass supplies two things, in this order: ``_update_interest(fd,
waiters)`` (tell the OS which directions we now care about) and ``_poll(timeout)``
(block for events and return ``(fd, readable, writable)`` triples). Everything
else, including cancellation and ``notify_closing``, lives here so that the epoll and
selectors backends behave identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import outcome

from ._exceptions import BusyResourceError, ClosedResourceError
from ._ki import mark_kernel_code
from ._traps import ParkRequest, yield_to_loop

if TYPE_CHECKING:
    from ._run import Runner
    from ._task import Task


class HasFileno(Protocol):
    def fileno(self) -> int: ...


def fileno_of(fd: int | HasFileno) -> int:
    """The integer fd of ``fd`` (an int or an object with ``fileno()``)."""
    if isinstance(fd, int):
        if fd < 0:
            raise ValueError(f"file descriptor must be >= 0, got {fd}")
        return fd
    fileno = getattr(fd, "fileno", None)
    if fileno is None:
        raise TypeError(f"expected an int file descriptor or an object with fileno(), got {fd!r}")
    return fileno_of(fileno())


@dataclass(frozen=True)
class IOStatistics:
    """How many tasks wait on I/O, and which backend the run uses."""

    tasks_waiting_read: int
    tasks_waiting_write: int
    backend: str


class FdWaiters:
    __slots__ = ("fd", "read_task", "registered", "write_task")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.read_task: Task | None = None
        self.write_task: Task | None = None
        self.registered = False


class IOManagerBase:
    backend_name = "abstract"

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._waiters: dict[int, FdWaiters] = {}

    # -- supplied by each backend, in this order ------------------------------------
    def _update_interest(self, fd: int, waiters: FdWaiters) -> None:
        raise NotImplementedError

    def _poll(self, timeout: float) -> list[tuple[int, bool, bool]]:
        raise NotImplementedError

    def _forget(self, fd: int, waiters: FdWaiters) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------
    async def wait_readable(self, fd: int | HasFileno) -> None:
        task = self._runner.current_task
        assert task is not None
        await yield_to_loop(self.arm(task, fileno_of(fd), True))

    async def wait_writable(self, fd: int | HasFileno) -> None:
        task = self._runner.current_task
        assert task is not None
        await yield_to_loop(self.arm(task, fileno_of(fd), False))

    def arm(self, task: Task, fd: int, reading: bool) -> ParkRequest:
        """Register ``task`` as the waiter for ``fd``; return the message that parks it.

        Synchronous, so that ``lowlevel.wait_readable`` is one frame over the yield.
        """
        waiters = self._waiters.get(fd)
        if waiters is None:
            waiters = self._waiters[fd] = FdWaiters(fd)
        if reading:
            if waiters.read_task is not None:
                raise BusyResourceError(
                    f"another task is already waiting to read from fd {fd}; only one task may "
                    "wait per direction"
                )
            waiters.read_task = task
        else:
            if waiters.write_task is not None:
                raise BusyResourceError(
                    f"another task is already waiting to write to fd {fd}; only one task may "
                    "wait per direction"
                )
            waiters.write_task = task
        try:
            self._update_interest(fd, waiters)
        except BaseException:
            if reading:
                waiters.read_task = None
            else:
                waiters.write_task = None
            raise
        task.custom_sleep_data = waiters  # the abort (and task-tree dumps) find the fd here
        request = task._io_request
        if request is None:  # one per task, reused: a wait allocates nothing
            request = task._io_request = ParkRequest(task._abort_io)
        return request

    def disarm(self, task: Task) -> None:
        """Undo :meth:`arm` for a cancelled waiter."""
        waiters = task.custom_sleep_data
        if not isinstance(waiters, FdWaiters):
            return
        if waiters.read_task is task:
            waiters.read_task = None
        if waiters.write_task is task:
            waiters.write_task = None
        if self._waiters.get(waiters.fd) is waiters:  # not already dropped by notify_closing
            self._update_interest(waiters.fd, waiters)

    def notify_closing(self, fd: int | HasFileno) -> None:
        fd = fileno_of(fd)
        waiters = self._waiters.pop(fd, None)
        if waiters is None:
            return
        for task in (waiters.read_task, waiters.write_task):
            if task is not None:
                self._runner.reschedule(
                    task,
                    outcome.Error(
                        ClosedResourceError(
                            f"fd {fd} was closed (notify_closing) while this task waited on it"
                        )
                    ),
                )
        self._forget(fd, waiters)

    def wait_for_events(self, timeout: float) -> list[tuple[int, bool, bool]]:
        """Block up to ``timeout`` seconds for I/O readiness; touches no task state.

        In guest mode this runs in a helper thread while the host loop runs.
        """
        return self._poll(timeout)

    def process_events(self, events: list[tuple[int, bool, bool]]) -> None:
        """Wake the tasks whose fds became ready (loop thread only)."""
        if not events:
            return
        wake = self._runner.wake
        waiters_by_fd = self._waiters
        for fd, readable, writable in events:
            waiters = waiters_by_fd.get(fd)
            if waiters is None:
                continue
            if readable and waiters.read_task is not None:
                task = waiters.read_task
                waiters.read_task = None
                wake(task, None)
            if writable and waiters.write_task is not None:
                task = waiters.write_task
                waiters.write_task = None
                wake(task, None)
            if waiters.read_task is not None or waiters.write_task is not None:
                self._update_interest(fd, waiters)

    def waited_fds(self) -> set[int]:
        """The fds some task is waiting on right now."""
        return {
            fd
            for fd, w in self._waiters.items()
            if w.read_task is not None or w.write_task is not None
        }

    def statistics(self) -> IOStatistics:
        reading = sum(1 for w in self._waiters.values() if w.read_task is not None)
        writing = sum(1 for w in self._waiters.values() if w.write_task is not None)
        return IOStatistics(reading, writing, self.backend_name)


# A Ctrl-C between registering a waiter and parking would leave the fd registered.
mark_kernel_code(IOManagerBase.arm, IOManagerBase.disarm, IOManagerBase.notify_closing)
