"""Socket waits (``wait_socket`` in src/triolet/_core/_io_common.py) as SocketStream uses them.

On epoll these keep an edge-triggered registration between waits; every test runs on the
default backend and on the portable selectors backend (patched in, as in
tests/core/test_io.py).
"""

from __future__ import annotations

import gc
import socket as stdlib_socket

import pytest

import triolet
import triolet.socket as tsocket
from triolet import lowlevel
from triolet._core import wait_socket
from triolet.testing import open_stream_to_socket_listener, wait_all_tasks_blocked

from ._pairs import fill_send_buffer, tcp_stream_pair


@pytest.fixture(params=["default", "selectors"], autouse=True)
def io_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "selectors":
        from triolet._core import _run
        from triolet._core._io_selectors import SelectorsIOManager

        monkeypatch.setattr(_run, "_make_io_manager", SelectorsIOManager)
    return str(request.param)


async def test_end_of_stream_arriving_with_the_last_data_is_seen() -> None:
    client, server = await tcp_stream_pair()
    async with server:
        async with triolet.open_nursery() as nursery:

            async def send_then_close() -> None:
                await wait_all_tasks_blocked()  # the receiver is parked
                await client.send_all(b"last words")
                await client.aclose()  # no loop iteration in between: one event

            nursery.start_soon(send_then_close)
            assert await server.receive_some() == b"last words"
        with triolet.fail_after(5):
            assert await server.receive_some() == b""
            assert await server.receive_some() == b""


async def test_end_of_stream_after_a_short_read_is_seen() -> None:
    client, server = await tcp_stream_pair()
    async with server:
        await client.send_all(b"abc")
        await client.aclose()
        await wait_all_tasks_blocked()
        with triolet.fail_after(5):
            assert await server.receive_some() == b"abc"
            assert await server.receive_some() == b""


async def test_socket_closed_without_notify_and_fd_reused_gets_a_fresh_registration() -> None:
    client, server = await tcp_stream_pair()
    listeners = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with client, listeners[0] as listener:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(client.send_all, b"x")
            assert await server.receive_some() == b"x"  # registered for reading
        new_client = await open_stream_to_socket_listener(listener)
        fd = server.socket.fileno()
        # Close behind the loop's back (as the garbage collector would): no notify_closing.
        stdlib_socket.socket(fileno=server.socket.detach()).close()
        del server
        gc.collect()
        new_server = await listener.accept()  # takes the free fd, without a wait on it
        async with new_client, new_server:
            assert new_server.socket.fileno() == fd
            async with triolet.open_nursery() as nursery:

                async def send_later() -> None:
                    await wait_all_tasks_blocked()
                    await new_client.send_all(b"hello")

                nursery.start_soon(send_later)
                with triolet.fail_after(5):
                    assert await new_server.receive_some() == b"hello"


async def test_reader_and_writer_on_one_socket_both_wake() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        await fill_send_buffer(client.socket)  # client's sends block until server reads
        received = bytearray()
        done = []

        async def read_on_client() -> None:
            done.append(await client.receive_some())

        async def write_on_client() -> None:
            await client.send_all(b"w" * 100_000)
            done.append(b"sent")

        with triolet.fail_after(10):
            async with triolet.open_nursery() as nursery:
                nursery.start_soon(read_on_client)
                nursery.start_soon(write_on_client)
                await wait_all_tasks_blocked()
                await server.send_all(b"r")  # wakes the reader only
                while len(done) < 2:
                    received += await server.receive_some()  # drains: wakes the writer
        assert sorted(done) == [b"r", b"sent"]


async def test_cancelled_receive_then_receive_gets_the_data() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        with triolet.move_on_after(0.05):
            await server.receive_some()
        await client.send_all(b"data")
        await wait_all_tasks_blocked()
        with triolet.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(triolet.Cancelled):
                await server.receive_some()
        with triolet.fail_after(5):
            assert await server.receive_some() == b"data"


async def test_plain_wait_readable_on_a_stream_socket_then_stream_receives() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        await client.send_all(b"1")
        assert await server.receive_some() == b"1"  # the stream's own wait path
        async with triolet.open_nursery() as nursery:

            async def send_later() -> None:
                await wait_all_tasks_blocked()
                await client.send_all(b"2")

            nursery.start_soon(send_later)
            with triolet.fail_after(5):
                await lowlevel.wait_readable(server.socket)
        with triolet.fail_after(5):
            assert await server.receive_some() == b"2"
            nursery_result = []
            async with triolet.open_nursery() as nursery:

                async def send_later_again() -> None:
                    await wait_all_tasks_blocked()
                    await client.send_all(b"3")

                nursery.start_soon(send_later_again)
                nursery_result.append(await server.receive_some())
            assert nursery_result == [b"3"]


async def test_closing_a_stream_wakes_its_blocked_receiver_with_closed_resource_error() -> None:
    client, server = await tcp_stream_pair()
    async with client:
        async with triolet.open_nursery() as nursery:

            async def receive() -> None:
                with pytest.raises(triolet.ClosedResourceError):
                    await server.receive_some()

            nursery.start_soon(receive)
            await wait_all_tasks_blocked()
            await server.aclose()


async def test_raw_socket_recv_waits_on_the_persistent_registration() -> None:
    left, right = tsocket.socketpair()
    with left, right:
        for message in (b"a", b"b", b"c"):
            async with triolet.open_nursery() as nursery:

                async def send_later(message: bytes = message) -> None:
                    await wait_all_tasks_blocked()
                    await right.send(message)

                nursery.start_soon(send_later)
                with triolet.fail_after(5):
                    assert await left.recv(10) == message


async def test_second_waiter_in_one_direction_is_busy_once_the_socket_is_registered() -> None:
    client, server = await tcp_stream_pair()
    sock = server.socket._sock  # type: ignore[attr-defined]
    async with client, server:
        await fill_send_buffer(server.socket)  # writes block from now on
        for reading in (True, False, True, False):
            # The first wait in each direction registers the socket; the later ones find
            # it registered.
            async with triolet.open_nursery() as nursery:
                nursery.start_soon(wait_socket, sock, reading)
                await wait_all_tasks_blocked()
                with pytest.raises(triolet.BusyResourceError):
                    await wait_socket(sock, reading)
                nursery.cancel_scope.cancel()


async def test_tasks_taking_turns_on_a_registered_socket_each_wake() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        received = []

        async def receive_one() -> None:  # a new task each time, with no wait behind it
            received.append(await server.receive_some())

        for message in (b"a", b"b", b"c"):
            async with triolet.open_nursery() as nursery:
                nursery.start_soon(receive_one)
                await wait_all_tasks_blocked()
                await client.send_all(message)
        assert received == [b"a", b"b", b"c"]


async def test_cancelled_wait_on_a_registered_socket_leaves_it_usable() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        await client.send_all(b"first")
        assert await server.receive_some() == b"first"  # registered, and drained
        with triolet.move_on_after(0.01) as scope:
            await server.receive_some()  # parks on the registration, then is cancelled
        assert scope.cancelled_caught
        async with triolet.open_nursery() as nursery:

            async def send_later() -> None:
                await wait_all_tasks_blocked()
                await client.send_all(b"second")

            nursery.start_soon(send_later)
            with triolet.fail_after(5):
                assert await server.receive_some() == b"second"


async def test_instruments_see_tasks_woken_by_socket_readiness() -> None:
    client, server = await tcp_stream_pair()
    scheduled: list[lowlevel.Task] = []

    class Recorder(triolet.abc.Instrument):
        def task_scheduled(self, task: lowlevel.Task) -> None:
            scheduled.append(task)

    async with client, server:
        await client.send_all(b"x")
        assert await server.receive_some() == b"x"  # the socket is registered from now on
        receiver: list[lowlevel.Task] = []

        async def receive() -> None:
            receiver.append(lowlevel.current_task())
            assert await server.receive_some() == b"y"

        async with triolet.open_nursery() as nursery:
            nursery.start_soon(receive)
            await wait_all_tasks_blocked()
            lowlevel.add_instrument(recorder := Recorder())
            try:
                await client.send_all(b"y")
                with triolet.fail_after(5):
                    while receiver[0] not in scheduled:
                        await triolet.sleep(0.001)
            finally:
                lowlevel.remove_instrument(recorder)
