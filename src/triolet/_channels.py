"""Memory channels (``open_memory_channel``) and ``as_safe_channel``.

How a memory channel works
--------------------------
Both ends of a channel share one :class:`MemoryChannelState`: a FIFO buffer of at most
``max_buffer_size`` items, the parked senders (each with the item it is offering) and the
parked receivers, both in arrival order. The state obeys these invariants:

* Receivers park only when the buffer is empty and no sender is parked; senders park
  only when the buffer is full and no receiver is parked. So at any moment at most one
  of the two queues is non-empty.
* A sender finding a parked receiver hands the item straight to it (``wake(task,
  item)``); a receiver finding a parked sender takes the oldest buffered item and moves
  the sender's item to the back of the buffer (or takes the item itself when the buffer
  is empty). Items therefore leave in exactly the order they were sent.
* A parked task is removed from its queue by whoever wakes it, or by its abort function
  if it is cancelled first; never both. A cancelled send has delivered nothing; a
  cancelled receive has taken nothing.
* Each parked task's ``custom_sleep_data`` is the handle (clone) it is blocked on, so
  closing one handle wakes exactly that handle's tasks with ClosedResourceError.

When the last send handle closes, parked receivers get EndOfChannel (after the buffer
drains, so do later receives). When the last receive handle closes, the buffer is
dropped and parked and later senders get BrokenResourceError.
"""

from __future__ import annotations

import enum
import math
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Generic, Literal, ParamSpec, Self, TypeVar

import outcome

from ._abc import ReceiveChannel, ReceiveType, SendChannel, SendType
from ._core import (
    BrokenResourceError,
    ClosedResourceError,
    EndOfChannel,
    Task,
    WouldBlock,
    cancel_shielded_checkpoint,
    checkpoint,
    checkpoint_if_cancelled,
    enable_ki_protection,
    open_nursery,
    reschedule,
)
from ._core._run import Runner
from ._core._state import current_task_or_error, run_context
from ._core._traps import park_as_waiter
from ._core._util import final
from ._sync import Semaphore

T = TypeVar("T")
P = ParamSpec("P")


class _Empty(enum.Enum):
    """Returned by the non-raising take: nothing to receive right now."""

    token = 0


_EMPTY: Literal[_Empty.token] = _Empty.token


@dataclass(frozen=True)
class MemoryChannelStatistics:
    """A snapshot of a memory channel, shared by all its handles.

    ``peak_buffer_used`` is the most items the buffer has ever held at once.
    """

    current_buffer_used: int
    max_buffer_size: int | float
    open_send_channels: int
    open_receive_channels: int
    tasks_waiting_send: int
    tasks_waiting_receive: int
    peak_buffer_used: int


class MemoryChannelState(Generic[T]):
    """The buffer and wait queues shared by every handle of one memory channel."""

    __slots__ = (
        "data",
        "max_buffer_size",
        "open_receive_channels",
        "open_send_channels",
        "peak_buffer_used",
        "receive_tasks",
        "send_tasks",
    )

    def __init__(self, max_buffer_size: int | float) -> None:
        self.max_buffer_size = max_buffer_size
        self.data: deque[T] = deque()
        self.peak_buffer_used = 0
        self.open_send_channels = 0
        self.open_receive_channels = 0
        # Parked senders and the item each one offers; parked receivers. Oldest first.
        self.send_tasks: OrderedDict[Task, T] = OrderedDict()
        self.receive_tasks: OrderedDict[Task, None] = OrderedDict()

    def statistics(self) -> MemoryChannelStatistics:
        """A snapshot of the buffer, the open handles and the parked tasks."""
        # Grouped as: the buffer, then the handles, then who is parked.
        return MemoryChannelStatistics(
            max_buffer_size=self.max_buffer_size,
            current_buffer_used=len(self.data),
            peak_buffer_used=self.peak_buffer_used,
            open_receive_channels=self.open_receive_channels,
            open_send_channels=self.open_send_channels,
            tasks_waiting_receive=len(self.receive_tasks),
            tasks_waiting_send=len(self.send_tasks),
        )


async def _yield_and_refill(runner: Runner) -> None:
    # A schedule point the policy does not let pass: yield, and start counting again.
    runner.refill_schedule_points()
    await cancel_shielded_checkpoint()


def _closed_handle_error(side: str) -> ClosedResourceError:
    return ClosedResourceError(
        f"this {side} channel handle is closed; clone() it before closing if another "
        "task still needs to use the channel"
    )


@final
class MemorySendChannel(SendChannel[SendType]):
    """The sending end of a memory channel; see :func:`open_memory_channel`."""

    __slots__ = ("_closed", "_state")

    def __init__(self, state: MemoryChannelState[SendType], closed: bool = False) -> None:
        self._state = state
        self._closed = closed
        if not closed:
            state.open_send_channels += 1

    def __repr__(self) -> str:
        return f"<send channel at {id(self):#x}, using buffer at {id(self._state):#x}>"

    def statistics(self) -> MemoryChannelStatistics:
        """Statistics of the channel (shared by all its handles)."""
        return self._state.statistics()

    def _unusable_error(self) -> Exception:
        if self._closed:
            return _closed_handle_error("send")
        return BrokenResourceError(
            "every receive handle of this channel is closed: nobody can receive what you send"
        )

    def _offer(self, value: SendType) -> bool:
        """Deliver ``value`` if that can be done now; False if the sender must wait."""
        state = self._state
        if self._closed or not state.open_receive_channels:
            raise self._unusable_error()
        receivers = state.receive_tasks
        if receivers:
            receiver, _ = receivers.popitem(False)
            receiver._runner.wake(receiver, value)
            return True
        data = state.data
        if len(data) < state.max_buffer_size:
            data.append(value)
            if len(data) > state.peak_buffer_used:
                state.peak_buffer_used = len(data)
            return True
        return False

    @enable_ki_protection
    def send_nowait(self, value: SendType) -> None:
        """Send ``value`` without blocking. Not a checkpoint.

        WouldBlock if the buffer is full and no receiver waits; BrokenResourceError if
        every receive handle is closed; ClosedResourceError if this handle is closed.
        """
        if not self._offer(value):
            raise WouldBlock

    @enable_ki_protection
    async def send(self, value: SendType) -> None:
        """Send ``value``, waiting while the buffer is full. A checkpoint.

        A cancel point always. When it need not wait, it yields only if the run's
        scheduling policy says so (at least once per 129 such channel operations; see
        "What behaves differently" in the porting guide).

        If cancelled, ``value`` was not sent. BrokenResourceError if every receive
        handle is (or becomes) closed; ClosedResourceError if this handle is (or
        becomes) closed.
        """
        runner = run_context.runner
        if runner is None or (task := runner.current_task) is None:
            task = current_task_or_error("MemorySendChannel.send")  # raises
            runner = task._runner
        if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
            await checkpoint_if_cancelled()  # raises Cancelled...
            return await self.send(value)  # ...unless a shield went up meanwhile
        if not self._offer(value):
            self._state.send_tasks[task] = value
            # Park until a receiver takes the item (or we are cancelled: then
            # _cancel_wait() takes it back and nothing was sent).
            await park_as_waiter(task, self)
            return
        if runner.free_schedule_points:
            runner.free_schedule_points -= 1  # the scheduling policy says: go on
            return
        await _yield_and_refill(runner)

    def _cancel_wait(self, task: Task) -> None:
        # A task parked in send() was cancelled: its item is not sent.
        del self._state.send_tasks[task]

    @enable_ki_protection
    def clone(self) -> MemorySendChannel[SendType]:
        """Another send handle on the same channel, closed independently.

        The channel's receivers see EndOfChannel only once every send handle is closed.
        ClosedResourceError if this handle is closed.
        """
        if self._closed:
            raise _closed_handle_error("send")
        return MemorySendChannel(self._state)

    @enable_ki_protection
    def close(self) -> None:
        """Close this handle. Idempotent; not a checkpoint.

        Tasks blocked sending on this handle get ClosedResourceError; if it was the
        last send handle, blocked receivers get EndOfChannel.
        """
        if self._closed:
            return
        self._closed = True
        state = self._state
        senders = state.send_tasks
        for task in [task for task in senders if task.custom_sleep_data is self]:
            del senders[task]
            reschedule(task, outcome.Error(_closed_handle_error("send")))
        state.open_send_channels -= 1
        if state.open_send_channels == 0:
            receivers = state.receive_tasks
            for task in receivers:
                reschedule(task, outcome.Error(EndOfChannel()))
            receivers.clear()

    async def aclose(self) -> None:
        """Close this handle (see :meth:`close`), then checkpoint."""
        self.close()
        await checkpoint()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # A plain ``with`` closes the handle whatever happened inside; nothing is suppressed.
        self.close()


@final
class MemoryReceiveChannel(ReceiveChannel[ReceiveType]):
    """The receiving end of a memory channel; see :func:`open_memory_channel`.

    ``async for item in channel:`` receives until every send handle is closed.
    """

    __slots__ = ("_closed", "_state")

    def __init__(self, state: MemoryChannelState[ReceiveType], closed: bool = False) -> None:
        self._state = state
        self._closed = closed
        if not closed:
            state.open_receive_channels += 1

    def __repr__(self) -> str:
        return f"<receive channel at {id(self):#x}, using buffer at {id(self._state):#x}>"

    def statistics(self) -> MemoryChannelStatistics:
        """Statistics of the channel (shared by all its handles)."""
        return self._state.statistics()

    def _end_error(self) -> Exception:
        if self._closed:
            return _closed_handle_error("receive")
        return EndOfChannel()

    def _take(self) -> ReceiveType | Literal[_Empty.token]:
        """The next item if one can be had now; _EMPTY if the receiver must wait."""
        if self._closed:
            raise self._end_error()
        state = self._state
        data = state.data
        senders = state.send_tasks
        if senders:
            sender, value = senders.popitem(False)
            sender._runner.wake(sender, None)
            if data:
                # The buffer is full: its head goes first, the sender's item joins the back.
                data.append(value)
                return data.popleft()
            return value
        if data:
            return data.popleft()
        if not state.open_send_channels:
            raise self._end_error()
        return _EMPTY

    @enable_ki_protection
    def receive_nowait(self) -> ReceiveType:
        """Receive an item without blocking. Not a checkpoint.

        WouldBlock if nothing is available; EndOfChannel if every send handle is closed
        and the buffer is empty; ClosedResourceError if this handle is closed.
        """
        value = self._take()
        if value is _EMPTY:
            raise WouldBlock
        return value

    @enable_ki_protection
    async def receive(self) -> ReceiveType:
        """Receive the next item, waiting until one is sent. A checkpoint.

        A cancel point always; like :meth:`MemorySendChannel.send`, it yields when it
        need not wait only if the run's scheduling policy says so.

        If cancelled, no item was taken. EndOfChannel once every send handle is closed
        and the buffer is empty; ClosedResourceError if this handle is (or becomes)
        closed.
        """
        runner = run_context.runner
        if runner is None or (task := runner.current_task) is None:
            task = current_task_or_error("MemoryReceiveChannel.receive")  # raises
            runner = task._runner
        if task._cancel_status._effectively_cancelled or task._pending_interrupt:  # type: ignore[union-attr]
            await checkpoint_if_cancelled()  # raises Cancelled...
            return await self.receive()  # ...unless a shield went up meanwhile
        if self._closed:
            raise _closed_handle_error("receive")
        state = self._state
        data = state.data
        senders = state.send_tasks
        if senders:
            sender, value = senders.popitem(False)
            # Its item counts as sent: wake it. Runner.wake inlined: this is the busy
            # consumer's path, once per item (5% of fan-in's time as a call).
            sender._abort_func = None
            sender._next_fn = sender._send
            sender._next_arg = None
            sender._runner.runq.append(sender)
            if sender._runner.instrumented:
                sender._runner.instruments.call("task_scheduled", sender)
            if data:
                # The buffer is full: its head goes first, the sender's item joins the back.
                data.append(value)
                value = data.popleft()
        elif data:
            value = data.popleft()
        elif state.open_send_channels:
            state.receive_tasks[task] = None
            # Park until a sender hands us an item (or we are cancelled: then
            # _cancel_wait() takes us out of the queue and nothing was taken).
            received: ReceiveType = await park_as_waiter(task, self)
            return received
        else:
            raise EndOfChannel
        if runner.free_schedule_points:
            runner.free_schedule_points -= 1  # the scheduling policy says: go on
            return value
        await _yield_and_refill(runner)
        return value

    def _cancel_wait(self, task: Task) -> None:
        # A task parked in receive() was cancelled: it took nothing.
        del self._state.receive_tasks[task]

    async def __anext__(self) -> ReceiveType:
        # ReceiveChannel.__anext__ without its per-call "from ._core import ...", which
        # goes through importlib's Python code on every item.
        try:
            return await self.receive()
        except EndOfChannel:
            raise StopAsyncIteration from None

    @enable_ki_protection
    def clone(self) -> MemoryReceiveChannel[ReceiveType]:
        """Another receive handle on the same channel, closed independently.

        Each item goes to exactly one receiver. ClosedResourceError if this handle is
        closed.
        """
        if self._closed:
            raise _closed_handle_error("receive")
        return MemoryReceiveChannel(self._state)

    @enable_ki_protection
    def close(self) -> None:
        """Close this handle. Idempotent; not a checkpoint.

        Tasks blocked receiving on this handle get ClosedResourceError; if it was the
        last receive handle, the buffered items are dropped and blocked senders get
        BrokenResourceError.
        """
        if self._closed:
            return
        self._closed = True
        state = self._state
        receivers = state.receive_tasks
        for task in [task for task in receivers if task.custom_sleep_data is self]:
            del receivers[task]
            reschedule(task, outcome.Error(_closed_handle_error("receive")))
        state.open_receive_channels -= 1
        if state.open_receive_channels == 0:
            senders = state.send_tasks
            for task in senders:
                reschedule(
                    task,
                    outcome.Error(
                        BrokenResourceError(
                            "every receive handle of this channel was closed while this "
                            "task was sending"
                        )
                    ),
                )
            senders.clear()
            state.data.clear()

    async def aclose(self) -> None:
        """Close this handle (see :meth:`close`), then checkpoint."""
        self.close()
        await checkpoint()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # A plain ``with`` closes the handle whatever happened inside; nothing is suppressed.
        self.close()


@final
class open_memory_channel(tuple[MemorySendChannel[T], MemoryReceiveChannel[T]]):
    """Open a channel for passing objects between tasks of one run.

    ``max_buffer_size`` is how many items may wait in the channel: 0 makes every send
    wait for a receiver (a rendezvous), ``math.inf`` never blocks senders. Returns
    ``(send_channel, receive_channel)``; write ``open_memory_channel[int](0)`` to tell
    a type checker what travels through it.

    TypeError unless ``max_buffer_size`` is an int or ``math.inf``; ValueError if it is
    negative.
    """

    def __new__(  # type: ignore[misc]
        cls, max_buffer_size: int | float
    ) -> tuple[MemorySendChannel[T], MemoryReceiveChannel[T]]:
        if max_buffer_size != math.inf and not isinstance(max_buffer_size, int):
            raise TypeError(
                f"max_buffer_size must be an integer or math.inf, got {max_buffer_size!r}"
            )
        if max_buffer_size < 0:
            raise ValueError(f"max_buffer_size must be >= 0, got {max_buffer_size}")
        state: MemoryChannelState[T] = MemoryChannelState(max_buffer_size)
        return MemorySendChannel(state), MemoryReceiveChannel(state)

    def __init__(self, max_buffer_size: int | float) -> None:
        # Never runs (__new__ returns a plain tuple); declares the signature for tools.
        ...


# ---------------------------------------------------------------------------- as_safe_channel
@final
class _SafeReceiveChannel(ReceiveChannel[T]):
    """What ``as_safe_channel`` yields: each receive lets the generator make one step."""

    __slots__ = ("_inner", "_steps")

    def __init__(self, inner: MemoryReceiveChannel[T], steps: Semaphore) -> None:
        self._inner, self._steps = inner, steps

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Leaving a plain ``with`` only closes our end; the exception (if any) propagates.
        self._inner.close()

    async def aclose(self) -> None:
        """Stop receiving; the generator is closed at its next ``yield``."""
        await self._inner.aclose()

    async def receive(self) -> T:
        """Ask the generator for its next item and wait for it. A checkpoint.

        EndOfChannel once the generator is finished.
        """
        # One permit is one step of the generator; the item arrives by rendezvous.
        self._steps.release()
        return await self._inner.receive()


async def _pump_generator(
    agen: AsyncGenerator[T, None], send_channel: MemorySendChannel[T], permits: Semaphore
) -> None:
    """Advance ``agen`` once per permit and send each item on; close it if interrupted."""
    with send_channel:
        while True:
            try:
                await permits.acquire()
            except BaseException:
                # Cancelled while the generator sits at a yield: close it right there.
                await agen.aclose()
                raise
            try:
                value = await agen.__anext__()
            except StopAsyncIteration:
                return
            try:
                await send_channel.send(value)
            except BrokenResourceError:
                # The consumer closed its end: nobody wants more items.
                await agen.aclose()
                return
            except BaseException:
                await agen.aclose()
                raise


def as_safe_channel(
    fn: Callable[P, AsyncGenerator[T, None]],
) -> Callable[P, AbstractAsyncContextManager[ReceiveChannel[T]]]:
    """Decorate an async generator function so that it is used through a channel.

    ``async with fn(...) as channel: async for item in channel: ...``. The generator
    runs in a background task of a nursery owned by the ``async with`` block, and it
    advances only when the block asks for an item (one step per receive), so its cancel
    scopes and nurseries never wrap the consumer's code. Leaving the block closes the
    generator at its current ``yield`` (GeneratorExit there; its cleanup code runs
    cancelled) or cancels it if it is mid-step.

    Exceptions from the generator and from the block come out of the ``async with``; a
    lone exception comes out as itself, several as an ExceptionGroup.
    """

    @asynccontextmanager
    @wraps(fn)
    async def context_manager(
        *args: P.args, **kwargs: P.kwargs
    ) -> AsyncGenerator[ReceiveChannel[T], None]:
        send_channel, receive_channel = open_memory_channel[T](0)
        permits = Semaphore(0)
        lone_error: BaseException | None = None
        try:
            async with open_nursery(strict_exception_groups=True) as nursery:
                nursery.start_soon(_pump_generator, fn(*args, **kwargs), send_channel, permits)
                try:
                    yield _SafeReceiveChannel(receive_channel, permits)
                finally:
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            if len(group.exceptions) != 1:
                raise
            lone_error = group.exceptions[0]
        if lone_error is not None:
            # Raised outside the except block so the group does not become its context.
            try:
                raise lone_error
            finally:
                del lone_error

    return context_manager
