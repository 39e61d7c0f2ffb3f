"""serve_listeners and serve_tcp (src/triolet/_net/_serve_listeners.py, _open_tcp_listeners.py)."""

from __future__ import annotations

import functools
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import triolet
import triolet.socket as tsocket
from triolet.testing import open_stream_to_socket_listener, wait_all_tasks_blocked

from ._helpers import UNDER_TRIO_SHIM

Handler = Callable[[triolet.SocketStream], Awaitable[object]]


async def serve_on_loopback(
    nursery: triolet.Nursery, handler: Handler, **kwargs: Any
) -> list[triolet.SocketListener]:
    serve = functools.partial(triolet.serve_tcp, handler, 0, host="127.0.0.1", **kwargs)
    listeners: list[triolet.SocketListener] = await nursery.start(serve)
    return listeners


async def echo(stream: triolet.SocketStream) -> None:
    async for data in stream:
        await stream.send_all(data)


async def test_serve_tcp_reports_listeners_and_serves() -> None:
    async with triolet.open_nursery() as nursery:
        listeners = await nursery.start(triolet.serve_tcp, echo, 0)
        assert listeners and all(isinstance(x, triolet.SocketListener) for x in listeners)
        for listener in listeners:
            async with await open_stream_to_socket_listener(listener) as client:
                await client.send_all(b"ping")
                assert await client.receive_some() == b"ping"
        nursery.cancel_scope.cancel()
    for listener in listeners:
        assert listener.socket.fileno() == -1  # closed when serving stopped


async def test_stream_is_closed_when_the_handler_returns() -> None:
    async def greet(stream: triolet.SocketStream) -> None:
        await stream.send_all(b"hello")

    async with triolet.open_nursery() as nursery:
        listeners = await serve_on_loopback(nursery, greet)
        async with await open_stream_to_socket_listener(listeners[0]) as client:
            received = b""
            while chunk := await client.receive_some():
                received += chunk
            assert received == b"hello"
        nursery.cancel_scope.cancel()


async def test_handlers_run_in_the_given_handler_nursery() -> None:
    handler_tasks: list[triolet.lowlevel.Task] = []

    async def record(stream: triolet.SocketStream) -> None:
        handler_tasks.append(triolet.lowlevel.current_task())

    async with triolet.open_nursery() as handler_nursery:
        async with triolet.open_nursery() as server_nursery:
            listeners = await serve_on_loopback(
                server_nursery, record, handler_nursery=handler_nursery
            )
            async with await open_stream_to_socket_listener(listeners[0]) as client:
                assert await client.receive_some() == b""
            server_nursery.cancel_scope.cancel()
    assert handler_tasks[0].parent_nursery is handler_nursery


async def test_serve_listeners_with_explicit_listeners() -> None:
    listeners = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with triolet.open_nursery() as nursery:
        started = await nursery.start(triolet.serve_listeners, echo, listeners)
        assert started is listeners
        async with await open_stream_to_socket_listener(listeners[0]) as client:
            await client.send_all(b"x")
            assert await client.receive_some() == b"x"
        nursery.cancel_scope.cancel()


async def test_handler_error_propagates_out_of_serve_tcp() -> None:
    async def crash(stream: triolet.SocketStream) -> None:
        raise RuntimeError("handler broke")

    clients: list[triolet.SocketStream] = []
    with pytest.RaisesGroup(
        pytest.RaisesExc(RuntimeError, match="handler broke"), flatten_subgroups=True
    ):
        async with triolet.open_nursery() as nursery:
            listeners = await serve_on_loopback(nursery, crash)
            clients.append(await open_stream_to_socket_listener(listeners[0]))
            await triolet.sleep_forever()
    for client in clients:
        await client.aclose()


async def test_peer_reset_breaks_only_its_own_handler() -> None:
    errors: list[BaseException] = []

    async def echo_recording_errors(stream: triolet.SocketStream) -> None:
        try:
            await echo(stream)
        except triolet.BrokenResourceError as exc:
            errors.append(exc)

    async with triolet.open_nursery() as nursery:
        listeners = await serve_on_loopback(nursery, echo_recording_errors)
        rude = await open_stream_to_socket_listener(listeners[0])
        polite = await open_stream_to_socket_listener(listeners[0])
        await rude.send_all(b"a")
        assert await rude.receive_some() == b"a"
        await wait_all_tasks_blocked()
        rude.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_LINGER, struct.pack("ii", 1, 0))
        await rude.aclose()
        while not errors:
            await triolet.sleep(0.01)
        async with polite:
            await polite.send_all(b"still here")
            assert await polite.receive_some() == b"still here"
        nursery.cancel_scope.cancel()
    assert len(errors) == 1


@pytest.mark.skipif(UNDER_TRIO_SHIM, reason="triolet refuses an empty list; trio serves nothing")
async def test_serve_listeners_needs_a_listener() -> None:
    with pytest.raises(ValueError, match="at least one listener"):
        await triolet.serve_listeners(echo, [])
