"""anyio's API on its trio backend, running on triolet through the trio alias.

Run one check by name, under the alias:
    python -m triolet run --as-trio tests/integration/programs/anyio_checks.py CHECK
It prints "ok CHECK on triolet" when it passes; any failure raises. Run with plain
``python`` instead, it checks the same things on the real trio ("ok CHECK on trio").
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc
import anyio.from_thread
import anyio.to_thread
import sniffio
import trio

TIME_LIMIT = 20  # seconds; every check is bounded


async def check_backend() -> None:
    assert sniffio.current_async_library() == "trio"
    assert anyio.get_current_task().name is not None


async def check_task_groups() -> None:
    finished: list[str] = []

    async def worker(name: str, delay: float) -> None:
        await anyio.sleep(delay)
        finished.append(name)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(worker, "slow", 0.05)
        task_group.start_soon(worker, "fast", 0.01)
    assert finished == ["fast", "slow"], finished

    async def server(*, task_status: anyio.abc.TaskStatus[str]) -> None:
        task_status.started("listening")
        await anyio.sleep_forever()

    async with anyio.create_task_group() as task_group:
        assert await task_group.start(server) == "listening"
        task_group.cancel_scope.cancel()

    sibling_cancelled = anyio.Event()

    async def sibling() -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            sibling_cancelled.set()
            raise

    async def crash() -> None:
        await anyio.sleep(0.01)
        raise ValueError("boom")

    try:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(sibling)
            task_group.start_soon(crash)
    except ExceptionGroup as group:
        matched, rest = group.split(ValueError)
        assert matched is not None and rest is None, group
    else:
        raise AssertionError("the task group did not raise the child's error")
    assert sibling_cancelled.is_set()


async def check_cancel_scopes() -> None:
    with anyio.CancelScope() as scope:
        scope.cancel()
        await anyio.sleep(1)
    assert scope.cancel_called and scope.cancelled_caught

    with anyio.move_on_after(0.01) as scope:
        await anyio.sleep(5)
    assert scope.cancelled_caught

    try:
        with anyio.fail_after(0.01):
            await anyio.sleep(5)
    except TimeoutError:
        pass
    else:
        raise AssertionError("fail_after did not raise TimeoutError")

    shielded_sleep_finished = False
    with anyio.CancelScope() as outer:
        outer.cancel()
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.01)
            shielded_sleep_finished = True
        await anyio.sleep(1)
    assert shielded_sleep_finished and outer.cancelled_caught

    with anyio.CancelScope(deadline=anyio.current_time() + 0.01) as scope:
        await anyio.sleep_forever()
    assert scope.cancelled_caught

    with anyio.move_on_after(10):
        assert anyio.current_effective_deadline() <= anyio.current_time() + 10


async def check_memory_object_streams() -> None:
    send_stream, receive_stream = anyio.create_memory_object_stream[int](2)

    async def producer() -> None:
        async with send_stream:
            for number in range(200):
                await send_stream.send(number)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(producer)
        async with receive_stream:
            received = [number async for number in receive_stream]
    assert received == list(range(200)), received[:10]

    text_send, text_receive = anyio.create_memory_object_stream[str](1)
    text_send.send_nowait("first")
    try:
        text_send.send_nowait("second")
    except anyio.WouldBlock:
        pass
    else:
        raise AssertionError("a full stream accepted send_nowait")
    assert text_receive.receive_nowait() == "first"
    await text_send.aclose()
    try:
        await text_receive.receive()
    except anyio.EndOfStream:
        pass
    else:
        raise AssertionError("receive() on a closed, empty stream did not raise EndOfStream")
    await text_receive.aclose()


async def check_threads() -> None:
    loop_thread = threading.get_ident()

    async def double_in_loop(value: int) -> int:
        assert threading.get_ident() == loop_thread
        await anyio.sleep(0)
        return value * 2

    def blocking_work(value: int) -> int:
        assert threading.get_ident() != loop_thread
        time.sleep(0.01)
        return anyio.from_thread.run(double_in_loop, value)

    assert await anyio.to_thread.run_sync(blocking_work, 21) == 42

    limiter = anyio.CapacityLimiter(2)
    results: list[int] = []

    async def run_one(value: int) -> None:
        results.append(await anyio.to_thread.run_sync(blocking_work, value, limiter=limiter))

    async with anyio.create_task_group() as task_group:
        for value in range(6):
            task_group.start_soon(run_one, value)
    assert sorted(results) == [0, 2, 4, 6, 8, 10], results


async def check_tcp_streams() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def echo(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            async for chunk in stream:
                await stream.send(chunk)

    payload = bytes(range(256)) * 1024  # 256 KiB, several TCP segments and receives
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, echo)
        async with await anyio.connect_tcp("127.0.0.1", port) as client:
            assert client.extra(anyio.abc.SocketAttribute.remote_port) == port

            async def send_all() -> None:
                await client.send(payload)
                await client.send_eof()

            task_group.start_soon(send_all)
            received = bytearray()
            async for chunk in client:
                received += chunk
        assert received == payload, f"got {len(received)} of {len(payload)} bytes back"
        task_group.cancel_scope.cancel()
    await listener.aclose()


CHECKS: dict[str, Callable[[], Awaitable[None]]] = {
    "backend": check_backend,
    "task_groups": check_task_groups,
    "cancel_scopes": check_cancel_scopes,
    "memory_object_streams": check_memory_object_streams,
    "threads": check_threads,
    "tcp_streams": check_tcp_streams,
}


async def run_check(name: str) -> None:
    with anyio.fail_after(TIME_LIMIT):
        await check_backend()
        await CHECKS[name]()


if __name__ == "__main__":
    check_name = sys.argv[1]
    anyio.run(run_check, check_name, backend="trio")
    print(f"ok {check_name} on {trio.__name__}")
