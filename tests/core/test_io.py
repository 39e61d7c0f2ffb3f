"""Waiting for file descriptors: wait_readable, wait_writable, notify_closing.

Every test runs on the default backend (epoll on Linux) and on the portable selectors
backend, which a run uses when ``_make_io_manager`` is patched to build it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import wait_all_tasks_blocked

pytestmark = pytest.mark.usefixtures("io_backend")  # every test, on both backends


@pytest.fixture
def sockets() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    with a, b:
        yield a, b


def fill_send_buffer(sock: socket.socket) -> None:
    try:
        while True:
            sock.send(b"x" * 65536)
    except BlockingIOError:
        pass


def drain(sock: socket.socket) -> None:
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        pass


@pytest.mark.triolet_only
async def test_the_patched_run_uses_the_requested_backend(io_backend: str) -> None:
    backend = lowlevel.current_statistics().io_statistics.backend
    assert backend == ("selectors" if io_backend == "selectors" else "epoll")


# ---------------------------------------------------------------------- readable
async def test_wait_readable_returns_when_data_arrives(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets
    record = []

    async def reader() -> None:
        await lowlevel.wait_readable(a)
        record.append(a.recv(10))

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(reader)
        await wait_all_tasks_blocked()
        assert record == []
        b.send(b"hello")
    assert record == [b"hello"]


async def test_wait_readable_on_a_ready_socket_returns(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets
    b.send(b"ready")
    with triolet.testing.assert_checkpoints():
        await lowlevel.wait_readable(a)


async def test_wait_readable_accepts_an_int_fd(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets
    b.send(b"x")
    await lowlevel.wait_readable(a.fileno())


async def test_wait_readable_wakes_on_peer_close(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets

    async def closer() -> None:
        await wait_all_tasks_blocked()
        b.shutdown(socket.SHUT_WR)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(closer)
        await lowlevel.wait_readable(a)
    assert a.recv(10) == b""


async def test_wait_readable_is_cancellable(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = sockets
    with triolet.CancelScope() as scope:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(lowlevel.wait_readable, a)
            await wait_all_tasks_blocked()
            scope.cancel()
    assert scope.cancelled_caught


async def test_wait_readable_in_a_cancelled_scope_raises_even_if_ready(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets
    b.send(b"x")
    with triolet.CancelScope() as scope:
        scope.cancel()
        await lowlevel.wait_readable(a)
    assert scope.cancelled_caught


async def test_fd_can_be_waited_on_again_after_a_cancelled_wait(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets
    with triolet.move_on_after(0):
        await lowlevel.wait_readable(a)

    async def sender() -> None:
        await wait_all_tasks_blocked()
        b.send(b"x")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(sender)
        await lowlevel.wait_readable(a)


async def test_second_reader_of_one_fd_gets_busy_resource_error(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = sockets
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(lowlevel.wait_readable, a)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await lowlevel.wait_readable(a)
        nursery.cancel_scope.cancel()


async def test_second_writer_of_one_fd_gets_busy_resource_error(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = sockets
    fill_send_buffer(a)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(lowlevel.wait_writable, a)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await lowlevel.wait_writable(a)
        nursery.cancel_scope.cancel()


async def test_one_reader_and_one_writer_may_share_an_fd(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets
    fill_send_buffer(a)
    done = []

    async def wait(kind: str) -> None:
        if kind == "read":
            await lowlevel.wait_readable(a)
        else:
            await lowlevel.wait_writable(a)
        done.append(kind)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(wait, "read")
        nursery.start_soon(wait, "write")
        await wait_all_tasks_blocked()
        b.send(b"x")
        await wait_all_tasks_blocked()
        assert done == ["read"]
        drain(b)
    assert sorted(done) == ["read", "write"]


# ---------------------------------------------------------------------- writable
async def test_wait_writable_on_a_fresh_socket_returns(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = sockets
    await lowlevel.wait_writable(a)


async def test_wait_writable_blocks_while_the_buffer_is_full(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, b = sockets
    fill_send_buffer(a)
    record = []

    async def writer() -> None:
        await lowlevel.wait_writable(a)
        record.append("writable")

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(writer)
        await wait_all_tasks_blocked()
        assert record == []
        drain(b)
    assert record == ["writable"]


# ---------------------------------------------------------------------- notify_closing
async def test_notify_closing_wakes_waiters_with_closed_resource_error(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = sockets
    fill_send_buffer(a)
    errors = []

    async def wait(kind: str) -> None:
        try:
            if kind == "read":
                await lowlevel.wait_readable(a)
            else:
                await lowlevel.wait_writable(a)
        except triolet.ClosedResourceError:
            errors.append(kind)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(wait, "read")
        nursery.start_soon(wait, "write")
        await wait_all_tasks_blocked()
        lowlevel.notify_closing(a)
    assert sorted(errors) == ["read", "write"]


async def test_notify_closing_an_fd_nobody_waits_on_is_fine(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = sockets
    lowlevel.notify_closing(a)
    lowlevel.notify_closing(a.fileno())


async def test_fd_number_reused_after_close_can_be_waited_on() -> None:
    async def reader(sock: socket.socket) -> None:
        with pytest.raises(triolet.ClosedResourceError):
            await lowlevel.wait_readable(sock)

    a, b = socket.socketpair()
    with b:
        with a:
            async with triolet.open_nursery() as nursery:
                nursery.start_soon(reader, a)
                await wait_all_tasks_blocked()
                lowlevel.notify_closing(a)
        # The next socket very likely gets the same fd number.
        c, d = socket.socketpair()
        with c, d:
            d.send(b"x")
            with triolet.fail_after(5):
                await lowlevel.wait_readable(c)


async def test_cancelling_a_wait_on_an_fd_closed_without_notify_closing() -> None:
    a, b = socket.socketpair()
    with b:
        with triolet.CancelScope() as scope:
            async with triolet.open_nursery() as nursery:
                nursery.start_soon(lowlevel.wait_readable, a)
                await wait_all_tasks_blocked()
                a.close()
                scope.cancel()
    assert scope.cancelled_caught


async def test_fd_closed_without_notify_closing_then_reused() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.send(b"x")
        await lowlevel.wait_readable(a)
    c, d = socket.socketpair()
    with c, d:
        d.send(b"y")
        with triolet.fail_after(5):
            await lowlevel.wait_readable(c)


# ---------------------------------------------------------------------- bookkeeping
async def test_io_statistics_count_waiting_tasks(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = sockets
    await wait_all_tasks_blocked()  # the run's own tasks are waiting too
    before = lowlevel.current_statistics().io_statistics
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(lowlevel.wait_readable, a)
        await wait_all_tasks_blocked()
        during = lowlevel.current_statistics().io_statistics
        assert during.tasks_waiting_read == before.tasks_waiting_read + 1
        assert during.tasks_waiting_write == before.tasks_waiting_write
        nursery.cancel_scope.cancel()
    after = lowlevel.current_statistics().io_statistics
    assert after.tasks_waiting_read == before.tasks_waiting_read


async def test_many_sockets_wake_their_own_readers() -> None:
    pairs = [socket.socketpair() for _ in range(50)]
    woke = []

    async def reader(i: int, sock: socket.socket) -> None:
        await lowlevel.wait_readable(sock)
        woke.append(i)

    try:
        async with triolet.open_nursery() as nursery:
            for i, (a, _) in enumerate(pairs):
                nursery.start_soon(reader, i, a)
            await wait_all_tasks_blocked()
            for i, (_, b) in enumerate(pairs):
                if i % 2 == 0:
                    b.send(b"x")
            await wait_all_tasks_blocked()
            assert sorted(woke) == list(range(0, 50, 2))
            nursery.cancel_scope.cancel()
    finally:
        for a, b in pairs:
            a.close()
            b.close()


async def test_waiting_on_a_closed_socket_object_is_an_error() -> None:
    a, b = socket.socketpair()
    a.close()
    b.close()
    with pytest.raises((OSError, ValueError)):
        await lowlevel.wait_readable(a)


def test_wait_readable_outside_a_run_is_a_runtime_error() -> None:
    a, b = socket.socketpair()
    with a, b:
        coro = lowlevel.wait_readable(a)
        with pytest.raises(RuntimeError):
            coro.send(None)
        coro.close()
