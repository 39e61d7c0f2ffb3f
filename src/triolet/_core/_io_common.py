"""What every I/O backend shares: one waiter per fd and direction, parking, closing.

A backend subclass supplies, in this order: ``_update_interest(fd, waiters)`` (tell the
OS which directions we now care about), ``wait_for_events(timeout)`` (block for events and return
``(fd, flags)`` pairs in the backend's own bits), and the class attributes saying which
bits mean readable and writable. Everything else, including cancellation and
``notify_closing``, lives here so that the epoll and selectors backends behave
identically. ``watch_wakeup_fd(fd)`` registers the entry queue's wakeup fd for good
(level-triggered: it stays reported until drained); ``process_events`` then says whether
it fired, and the loop serves the queue (``Runner.serve_entry_queue``).

Sockets get a second way in, :func:`wait_socket`, for callers that own a stdlib socket
and always retry their non-blocking syscall after a wait (the socket layer). Knowing the socket object lets a backend keep the fd
registered between waits (see ``_io_epoll.py``): the registration is tied to that object
through a weak reference, so a closed socket whose fd number comes back as a new socket
is never mistaken for the old one. While an fd is registered that way
(``waiters.edge_mask`` non-zero: ``EDGE_READ`` / ``EDGE_WRITE``, the directions kept
registered), a wait in a registered direction is handled by :func:`wait_socket` itself,
without a call into the backend; an event that arrives when nobody waits in its
direction is remembered in ``read_ready`` / ``write_ready`` (``READY_ONCE``); the next
socket wait in that direction is then a plain checkpoint that reports the fd ready. It
may be a spurious report (the data was already read), which is why only retrying callers
get this path. A hang-up or error is remembered for good (``READY_ALWAYS``): an
edge-triggered registration reports it once, but every later receive must see it.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import outcome

from ._exceptions import BusyResourceError, ClosedResourceError
from ._ki import mark_kernel_code
from ._state import current_task_or_error, run_context
from ._traps import CHECKPOINT, ParkRequest, yield_to_loop

if TYPE_CHECKING:
    import socket

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


# FdWaiters.read_ready / write_ready: no event remembered, one event remembered (the next
# socket wait takes it), or a lasting condition (hang-up, error) that every wait reports.
READY_NONE = 0
READY_ONCE = 1
READY_ALWAYS = 2

# FdWaiters.edge_mask: the directions of a persistent registration (whatever the backend).
EDGE_READ = 1
EDGE_WRITE = 2

IOEvents = list[tuple[int, int]]


class FdWaiters:
    __slots__ = (
        "edge_mask",
        "fd",
        "owner",
        "read_ready",
        "read_task",
        "registered",
        "write_ready",
        "write_task",
    )

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.read_task: Task | None = None
        self.write_task: Task | None = None
        self.registered = False
        # Persistent registration (socket waits only): the directions kept registered,
        # the socket they belong to, and events that arrived while nobody waited.
        self.edge_mask = 0
        self.owner: weakref.ref[Any] | None = None
        self.read_ready = READY_NONE
        self.write_ready = READY_NONE


class IOManagerBase:
    backend_name = "abstract"
    # Which of the backend's event bits wake readers and writers; which ones mean a
    # lasting condition (see READY_ALWAYS), and which one means "report again once".
    read_bits = 0
    write_bits = 0
    read_always_bits = 0
    write_always_bits = 0
    read_again_bits = 0

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._waiters: dict[int, FdWaiters] = {}
        self._wakeup_fd = -1  # see watch_wakeup_fd

    # -- supplied by each backend, in this order ------------------------------------
    def _update_interest(self, fd: int, waiters: FdWaiters) -> None:
        raise NotImplementedError

    def _watch_readable(self, fd: int, edge: bool) -> bool:
        """Keep ``fd`` registered for reading until the backend closes: edge-triggered if
        ``edge`` and the backend can (then return True), else level-triggered (False)."""
        raise NotImplementedError

    def wait_for_events(self, timeout: float) -> IOEvents:
        """Block up to ``timeout`` seconds for I/O readiness; touches no task state.

        In guest mode this runs in a helper thread while the host loop runs.
        """
        raise NotImplementedError

    def _forget(self, fd: int, waiters: FdWaiters) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------
    def watch_wakeup_fd(self, fd: int, counter: bool) -> bool:
        """Register the entry queue's wakeup fd once, for the rest of the run.

        From then on :meth:`process_events` returns True when it fires. ``counter``: the
        fd is an eventfd, where every write is an event of its own, so the backend may
        register it edge-triggered; then this returns True and the fd never needs
        draining (one read syscall less per wakeup; its counter can't fill up in
        practice: 2**64 - 2 writes). Otherwise (False) whoever serves the queue drains it
        first, so that a write that comes later is reported by the next poll and a
        drained fd is not reported again. Either way no wakeup is lost.
        """
        edge = self._watch_readable(fd, counter)
        self._wakeup_fd = fd
        return edge

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

    def arm_socket(
        self, task: Task, sock: socket.socket, fd: int, reading: bool
    ) -> ParkRequest | None:
        """:meth:`arm` for ``sock`` (whose fd is ``fd``); None means "ready already".

        None is returned only when an event for this direction arrived while nobody
        waited (see the module docstring); it has been taken, and the caller
        checkpoints; if that raises, it calls :meth:`unconsume_ready`. Without
        persistent registrations (the base class), this always arms.
        """
        return self.arm(task, fd, reading)

    def unconsume_ready(self, sock: socket.socket, fd: int, reading: bool) -> None:
        """Remember again the event that :meth:`arm_socket` took (its waiter was cancelled)."""
        waiters = self._waiters.get(fd)
        if waiters is None or waiters.owner is None or waiters.owner() is not sock:
            return  # closed meanwhile, maybe reused: the event is not this fd's any more
        if reading:
            waiters.read_ready = waiters.read_ready or READY_ONCE
        else:
            waiters.write_ready = waiters.write_ready or READY_ONCE

    def disarm(self, task: Task) -> None:
        """Undo :meth:`arm` for a cancelled waiter."""
        waiters = task.custom_sleep_data
        if not isinstance(waiters, FdWaiters):
            return
        if waiters.read_task is task:
            waiters.read_task = None
        if waiters.write_task is task:
            waiters.write_task = None
        if waiters.edge_mask:
            return  # a persistent registration stays as it is
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

    def process_events(self, events: IOEvents) -> bool:
        """Wake the tasks whose fds became ready (loop thread only).

        True if the wakeup fd (see :meth:`watch_wakeup_fd`) was among the events.
        """
        woken = False
        if not events:
            return woken
        runner = self._runner
        # Persistent registrations wake their tasks as Runner.wake(task, None) would,
        # inline (one call less per woken task).
        append = runner.runq.append
        instrumented = runner.instrumented
        waiters_by_fd = self._waiters
        read_bits = self.read_bits
        write_bits = self.write_bits
        lasting_bits = self.read_again_bits | self.read_always_bits | self.write_always_bits
        for fd, flags in events:
            waiters = waiters_by_fd.get(fd)
            if waiters is None:
                if fd == self._wakeup_fd:
                    woken = True
                continue
            if waiters.edge_mask:
                if flags & read_bits:
                    task = waiters.read_task
                    if task is not None:
                        waiters.read_task = None
                        task._abort_func = None
                        task._next_fn = task._send
                        task._next_arg = None
                        append(task)
                        if instrumented:
                            runner.instruments.call("task_scheduled", task)
                    elif not waiters.read_ready:
                        waiters.read_ready = READY_ONCE
                if flags & write_bits:
                    task = waiters.write_task
                    if task is not None:
                        waiters.write_task = None
                        task._abort_func = None
                        task._next_fn = task._send
                        task._next_arg = None
                        append(task)
                        if instrumented:
                            runner.instruments.call("task_scheduled", task)
                    elif not waiters.write_ready:
                        waiters.write_ready = READY_ONCE
                if flags & lasting_bits:
                    self._remember(waiters, flags)
                continue
            self._process_one_shot(waiters, flags, runner.wake)
        return woken

    def _process_one_shot(
        self, waiters: FdWaiters, flags: int, wake: Callable[[Task, object], None]
    ) -> None:
        if flags & self.read_bits and waiters.read_task is not None:
            task = waiters.read_task
            waiters.read_task = None
            wake(task, None)
        if flags & self.write_bits and waiters.write_task is not None:
            task = waiters.write_task
            waiters.write_task = None
            wake(task, None)
        if waiters.read_task is not None or waiters.write_task is not None:
            self._update_interest(waiters.fd, waiters)

    def _remember(self, waiters: FdWaiters, flags: int) -> None:
        # Conditions that a later receive must see although their event was delivered.
        if flags & self.read_again_bits and not waiters.read_ready:
            # Urgent data: a receive stops short at its mark, data still queued.
            waiters.read_ready = READY_ONCE
        if flags & self.read_always_bits:
            waiters.read_ready = READY_ALWAYS
        if flags & self.write_always_bits:
            waiters.write_ready = READY_ALWAYS

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


@types.coroutine
def wait_socket(sock: socket.socket, reading: bool) -> Generator[object, Any, None]:
    """Block until ``sock`` may be readable (``reading``) or writable. A checkpoint.

    For the socket layer, which retries its non-blocking syscall after every wait:
    unlike ``wait_readable`` this may return when the socket is not ready after all.
    ClosedResourceError if ``sock`` is closed, before or (via notify_closing) during the
    wait; BusyResourceError if another task already waits in that direction.
    """
    # A generator-based coroutine (one frame per wait, like checkpoint), which parks or
    # checkpoints by itself when the fd already has a persistent registration for this
    # socket and direction; otherwise the backend's arm_socket decides.
    runner = run_context.runner
    task = runner.current_task if runner is not None else None
    if task is None:
        task = current_task_or_error("wait_readable" if reading else "wait_writable")
    fd = sock.fileno()
    if fd < 0:
        raise ClosedResourceError("this socket was already closed")
    io = task._runner.io
    waiters = io._waiters.get(fd)
    if (
        waiters is not None
        and waiters.edge_mask & (EDGE_READ if reading else EDGE_WRITE)
        and waiters.owner() is sock  # owner is set whenever edge_mask is
    ):
        if reading:
            if waiters.read_task is not None:
                raise_busy(fd, reading)
            ready = waiters.read_ready
            if not ready:
                waiters.read_task = task
                task.custom_sleep_data = waiters
                yield task._io_request or task_io_request(task)
                return
            if ready == READY_ONCE:
                waiters.read_ready = READY_NONE
        else:
            if waiters.write_task is not None:
                raise_busy(fd, reading)
            ready = waiters.write_ready
            if not ready:
                waiters.write_task = task
                task.custom_sleep_data = waiters
                yield task._io_request or task_io_request(task)
                return
            if ready == READY_ONCE:
                waiters.write_ready = READY_NONE
    else:
        request = io.arm_socket(task, sock, fd, reading)
        if request is not None:
            yield request
            return
    # An event for this direction arrived while nobody waited: it was taken above.
    yield CHECKPOINT
    if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
        io.unconsume_ready(sock, fd, reading)  # nothing was received: keep the event
        raise task._runner.pending_interrupt(task)


def raise_busy(fd: int, reading: bool) -> NoReturn:
    direction = "read from" if reading else "write to"
    raise BusyResourceError(
        f"another task is already waiting to {direction} fd {fd}; only one task may wait per "
        "direction"
    )


def task_io_request(task: Task) -> ParkRequest:
    """The message that parks ``task`` in an fd wait: one per task, made on first use."""
    request = task._io_request = ParkRequest(task._abort_io)
    return request


# A Ctrl-C between registering a waiter and parking would leave the fd registered.
mark_kernel_code(
    IOManagerBase.arm,
    IOManagerBase.arm_socket,
    IOManagerBase.disarm,
    IOManagerBase.notify_closing,
    wait_socket,
)
