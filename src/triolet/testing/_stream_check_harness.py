"""The machinery under the stream conformance checks (see ``_check_streams``).

A check runs each stream operation it wants to watch as a :class:`Call` in a background
task of its :class:`Session`, so that it can ask "is it still blocked?" (after
``wait_all_tasks_blocked``) or wait, with bounded patience, for it to finish, and then
describe in a failure message exactly what the operation did instead. Also here:
helpers that move random data through a stream in random chunk sizes.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import outcome

from .. import _core
from .._abc import ReceiveStream, SendStream
from .._streams import aclose_forcefully

SendT = TypeVar("SendT", bound=SendStream)
ReceiveT = TypeVar("ReceiveT", bound=ReceiveStream)

StreamMaker = Callable[[], Awaitable[tuple[SendT, ReceiveT]]]

SEED = 0x7210_1E7
# How long (on the run's clock) a check waits for an operation that should finish. Only
# a broken stream ever needs it; under an autojump MockClock it costs no real time.
PATIENCE = 10.0


class Call:
    """One stream method running in a background task, so a check can watch it block."""

    def __init__(
        self, nursery: _core.Nursery, what: str, fn: Callable[..., Awaitable[Any]], *args: object
    ) -> None:
        self.what = what
        self.result: outcome.Value[Any] | outcome.Error | None = None
        self._scope = _core.CancelScope()
        self._finished = _core.ParkingLot()
        nursery.start_soon(self._run, fn, args)

    async def _run(self, fn: Callable[..., Awaitable[Any]], args: tuple[object, ...]) -> None:
        try:
            with self._scope:
                self.result = await outcome.acapture(fn, *args)
        finally:
            self._finished.unpark_all()

    def cancel(self) -> None:
        self._scope.cancel()

    async def wait(self, deadline: float) -> None:
        """Wait until the call has finished, or until ``deadline`` passes."""
        with _core.CancelScope(deadline=deadline):
            while self.result is None:
                await self._finished.park()

    def _outcome_text(self) -> str:
        if self.result is None:
            return f"is still blocked (waited {PATIENCE:g} s)"
        if isinstance(self.result, outcome.Value):
            return f"returned {self.result.value!r}"
        return f"raised {self.result.error!r}"

    def expect_blocked(self) -> None:
        """Fail unless the call is still waiting (use after wait_all_tasks_blocked)."""
        if self.result is not None:
            raise AssertionError(f"{self.what} should block here, but it {self._outcome_text()}")

    def expect_error(self, error_type: type[BaseException]) -> None:
        """Fail unless the call has raised ``error_type``."""
        if self.result is None:
            self.cancel()
        if not (
            isinstance(self.result, outcome.Error) and isinstance(self.result.error, error_type)
        ):
            raise AssertionError(
                f"{self.what} should raise {error_type.__name__}, but it {self._outcome_text()}"
            )

    def expect_success(self) -> Any:
        """Fail unless the call has returned; give back its value."""
        if self.result is None:
            self.cancel()
        if not isinstance(self.result, outcome.Value):
            raise AssertionError(
                f"{self.what} should have completed, but it {self._outcome_text()}"
            )
        return self.result.value


class Session(Generic[SendT, ReceiveT]):
    """A fresh stream pair plus a nursery for the calls a check runs in the background."""

    def __init__(
        self, send_stream: SendT, receive_stream: ReceiveT, nursery: _core.Nursery
    ) -> None:
        self.s = send_stream
        self.r = receive_stream
        self._nursery = nursery

    def start(self, what: str, fn: Callable[..., Awaitable[Any]], *args: object) -> Call:
        """Run ``fn(*args)`` in the background; ``what`` names it in failure messages."""
        return Call(self._nursery, what, fn, *args)

    async def settle(self, *calls: Call) -> None:
        """Wait (with patience) until every one of ``calls`` has finished."""
        deadline = _core.current_time() + PATIENCE
        for call in calls:
            await call.wait(deadline)

    async def finish(self, *calls: Call) -> list[Any]:
        """Wait for ``calls`` to finish; each must have returned. Gives back their values."""
        await self.settle(*calls)
        return [call.expect_success() for call in calls]

    async def expect_blocks(
        self, what: str, fn: Callable[..., Awaitable[Any]], *args: object
    ) -> Call:
        """Start ``fn(*args)``, let every task run, and fail unless it is still blocked."""
        call = self.start(what, fn, *args)
        await _core.wait_all_tasks_blocked()
        call.expect_blocked()
        return call

    async def expect_error(
        self,
        error_type: type[BaseException],
        what: str,
        fn: Callable[..., Awaitable[Any]],
        *args: object,
    ) -> None:
        """Run ``fn(*args)`` to its end; fail unless it raised ``error_type``."""
        call = self.start(what, fn, *args)
        await self.settle(call)
        call.expect_error(error_type)


@asynccontextmanager
async def open_session(
    maker: StreamMaker[SendT, ReceiveT],
) -> AsyncIterator[Session[SendT, ReceiveT]]:
    """Make a fresh pair for one check; afterwards close both ends and stop its calls.

    An AssertionError from the check comes out as itself, not inside an ExceptionGroup.
    """
    send_stream, receive_stream = await maker()
    failure: AssertionError | None = None
    async with _core.open_nursery() as nursery:
        try:
            yield Session(send_stream, receive_stream, nursery)
        except AssertionError as exc:
            # Re-raised below, outside the nursery, so it isn't wrapped in a group.
            failure = exc
        finally:
            await aclose_forcefully(send_stream)
            await aclose_forcefully(receive_stream)
            nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure


def check_chunk(chunk: object, max_bytes: int | None) -> bytes | bytearray:
    if not isinstance(chunk, (bytes, bytearray)):
        raise AssertionError(f"receive_some() should return bytes or bytearray, got {chunk!r}")
    if max_bytes is not None and len(chunk) > max_bytes:
        raise AssertionError(
            f"receive_some({max_bytes}) returned {len(chunk)} bytes, more than asked for"
        )
    return chunk


def random_max_bytes(rng: random.Random) -> int | None:
    return None if rng.random() < 0.1 else rng.randint(1, 20000)


async def receive_until_eof(stream: ReceiveStream, rng: random.Random | None = None) -> bytes:
    received = bytearray()
    while True:
        max_bytes = None if rng is None else random_max_bytes(rng)
        chunk = check_chunk(await stream.receive_some(max_bytes), max_bytes)
        if not chunk:
            return bytes(received)
        received += chunk


async def receive_exactly(stream: ReceiveStream, count: int, rng: random.Random) -> bytes:
    received = bytearray()
    while len(received) < count:
        max_bytes = random_max_bytes(rng)
        chunk = check_chunk(await stream.receive_some(max_bytes), max_bytes)
        if not chunk:
            raise AssertionError(
                f"receive_some() reported end of stream after {len(received)} of {count} bytes sent"
            )
        received += chunk
    return bytes(received)


async def send_in_random_chunks(stream: SendStream, data: bytes, rng: random.Random) -> None:
    view = memoryview(data)
    position = 0
    while position < len(data):
        size = rng.randint(1, 40000)
        chunk = view[position : position + size]
        # Exercise every bytes-like type send_all must accept.
        await stream.send_all(rng.choice([bytes, bytearray, memoryview])(chunk))
        position += size


def expect_same_bytes(received: bytes, sent: bytes, direction: str = "") -> None:
    if received == sent:
        return
    prefix = 0
    while prefix < min(len(received), len(sent)) and received[prefix] == sent[prefix]:
        prefix += 1
    raise AssertionError(
        f"data was changed in transit{direction}: sent {len(sent)} bytes, received "
        f"{len(received)}, first difference at byte {prefix}"
    )


async def send_then_close(stream: SendStream, data: bytes) -> None:
    await stream.send_all(data)
    await stream.aclose()
