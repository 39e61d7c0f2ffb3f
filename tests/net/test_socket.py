"""triolet.socket: socket objects, constructors, address resolution (src/triolet/_net/_socket.py,
_socket_type.py, _address.py, _constants.py)."""

from __future__ import annotations

import errno
import os
import socket as stdlib_socket
import tempfile
from typing import Any

import pytest

import triolet
import triolet.socket as tsocket
from triolet.testing import assert_checkpoints, wait_all_tasks_blocked


def loopback_pair() -> tuple[tsocket.SocketType, tsocket.SocketType]:
    return tsocket.socketpair()


# -- the module ---------------------------------------------------------------------


def test_every_stdlib_constant_is_reexported() -> None:
    skip = {"EAGAIN", "EBADF", "EWOULDBLOCK"}  # errno values, not socket constants
    for name, value in vars(stdlib_socket).items():
        if name.isupper() and isinstance(value, int) and name not in skip:
            assert getattr(tsocket, name) == value, name


def test_nonblocking_helpers_are_the_stdlib_ones() -> None:
    for name in ("htons", "inet_aton", "inet_pton", "gaierror", "herror", "CMSG_LEN"):
        assert getattr(tsocket, name) is getattr(stdlib_socket, name)


def test_socket_type_cannot_be_instantiated_directly() -> None:
    with pytest.raises(TypeError, match="abstract"):
        tsocket.SocketType()


def test_from_stdlib_socket_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match=r"socket\.socket"):
        tsocket.from_stdlib_socket(42)  # type: ignore[arg-type]


def test_from_stdlib_socket_makes_it_nonblocking() -> None:
    raw = stdlib_socket.socket()
    sock = tsocket.from_stdlib_socket(raw)
    with sock:
        assert raw.gettimeout() == 0.0
        assert isinstance(sock, tsocket.SocketType)
        assert "triolet.socket.socket" in repr(sock) or "trio.socket.socket" in repr(sock)


async def test_socket_defaults_to_tcp_over_ipv4() -> None:
    with tsocket.socket() as sock:
        assert sock.family == tsocket.AF_INET
        assert sock.type == tsocket.SOCK_STREAM
    assert sock.fileno() == -1


async def test_socket_from_fileno_detects_family_and_type() -> None:
    with tsocket.socket(tsocket.AF_INET6, tsocket.SOCK_DGRAM) as original:
        dup_fd = os.dup(original.fileno())
        with tsocket.socket(fileno=dup_fd) as copy:
            assert copy.family == tsocket.AF_INET6
            assert copy.type == tsocket.SOCK_DGRAM


async def test_fromfd_and_dup_give_independent_sockets() -> None:
    a, b = loopback_pair()
    with a, b:
        with tsocket.fromfd(a.fileno(), a.family, a.type) as c, a.dup() as d:
            assert c.fileno() not in (a.fileno(), -1)
            assert d.fileno() not in (a.fileno(), c.fileno(), -1)
            await c.send(b"x")
            assert await b.recv(1) == b"x"


async def test_sync_pass_throughs() -> None:
    a, b = loopback_pair()
    with a, b:
        assert a.getsockname() == "" or a.getsockname() == b""
        a.set_inheritable(True)
        assert a.get_inheritable()
        a.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_SNDBUF, 65536)
        sndbuf = a.getsockopt(tsocket.SOL_SOCKET, tsocket.SO_SNDBUF)
        assert isinstance(sndbuf, int) and sndbuf >= 65536
        assert isinstance(a.getsockopt(tsocket.SOL_SOCKET, tsocket.SO_SNDBUF, 4), bytes)
        assert not a.did_shutdown_SHUT_WR
        a.shutdown(tsocket.SHUT_WR)
        assert a.did_shutdown_SHUT_WR
        assert await b.recv(10) == b""
        fd = b.detach()
        assert b.fileno() == -1
        os.close(fd)


# -- I/O ------------------------------------------------------------------------------


async def test_send_and_recv_are_checkpoints_even_when_ready() -> None:
    a, b = loopback_pair()
    with a, b:
        with assert_checkpoints():
            await a.send(b"hello")
        with assert_checkpoints():
            assert await b.recv(10) == b"hello"


async def test_cancelled_recv_does_not_consume_data() -> None:
    a, b = loopback_pair()
    with a, b:
        await a.send(b"keep me")
        with triolet.CancelScope() as scope:
            scope.cancel()
            await b.recv(10)
        assert scope.cancelled_caught
        assert await b.recv(10) == b"keep me"


async def test_cancelled_send_sends_nothing() -> None:
    a, b = loopback_pair()
    with a, b:
        with triolet.CancelScope() as scope:
            scope.cancel()
            await a.send(b"dropped")
        assert scope.cancelled_caught
        assert not b.is_readable()


async def test_recv_waits_for_data() -> None:
    a, b = loopback_pair()
    with a, b:
        received: list[bytes] = []

        async def receiver() -> None:
            received.append(await b.recv(10))

        async with triolet.open_nursery() as nursery:
            nursery.start_soon(receiver)
            await wait_all_tasks_blocked()
            assert received == []
            await a.send(b"late")
        assert received == [b"late"]


async def test_two_tasks_receiving_at_once_is_busy() -> None:
    a, b = loopback_pair()
    with a, b:
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(b.recv, 10)
            await wait_all_tasks_blocked()
            with pytest.raises(triolet.BusyResourceError):
                await b.recv(10)
            nursery.cancel_scope.cancel()


async def test_closing_wakes_a_blocked_receiver_with_closed_resource_error() -> None:
    a, b = loopback_pair()
    with a:
        async with triolet.open_nursery() as nursery:

            async def receiver() -> None:
                with pytest.raises(triolet.ClosedResourceError):
                    await b.recv(10)

            nursery.start_soon(receiver)
            await wait_all_tasks_blocked()
            b.close()


async def test_recv_after_close_raises_ebadf() -> None:
    a, b = loopback_pair()
    a.close()
    with b, pytest.raises(OSError) as info:
        await a.recv(10)
    assert info.value.errno == errno.EBADF


async def test_recv_into_and_send_of_memoryview() -> None:
    a, b = loopback_pair()
    with a, b:
        assert await a.send(memoryview(b"abcdef")[2:]) == 4
        buffer = bytearray(10)
        assert await b.recv_into(buffer) == 4
        assert buffer[:4] == b"cdef"


async def test_send_waits_while_buffer_is_full() -> None:
    a, b = loopback_pair()
    with a, b:
        a.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_SNDBUF, 4096)
        chunk = b"x" * 65536
        total = 0
        while True:
            try:
                total += a._sock.send(chunk)  # type: ignore[attr-defined]
            except BlockingIOError:
                break
        sent: list[int] = []

        async def sender() -> None:
            sent.append(await a.send(b"y" * 10))

        async with triolet.open_nursery() as nursery:
            nursery.start_soon(sender)
            await wait_all_tasks_blocked()
            assert sent == []
            received = 0
            while received < total:
                received += len(await b.recv(65536))
        assert sent == [10]


async def test_wait_writable_returns_for_a_writable_socket() -> None:
    a, b = loopback_pair()
    with a, b, assert_checkpoints():
        await a.wait_writable()


async def test_is_readable_sees_data_and_eof() -> None:
    a, b = loopback_pair()
    with a, b:
        assert not b.is_readable()
        await a.send(b"x")
        assert b.is_readable()
        await b.recv(1)
        a.shutdown(tsocket.SHUT_WR)
        assert b.is_readable()


async def test_udp_sendto_recvfrom_and_msg_variants() -> None:
    with tsocket.socket(type=tsocket.SOCK_DGRAM) as udp:
        await udp.bind(("127.0.0.1", 0))
        address = udp.getsockname()
        assert await udp.sendto(b"one", address) == 3
        assert await udp.recvfrom(10) == (b"one", address)
        assert await udp.sendto(b"two", 0, address) == 3
        buffer = bytearray(10)
        assert await udp.recvfrom_into(buffer) == (3, address)
        assert await udp.sendmsg([b"th", b"ree"], [], 0, address) == 5
        data, ancdata, _, sender = await udp.recvmsg(10)
        assert (data, ancdata, sender) == (b"three", [], address)
        await udp.sendto(b"four", address)
        buffers = [bytearray(2), bytearray(10)]
        nbytes, _, _, sender = await udp.recvmsg_into(iter(buffers))
        assert nbytes == 4 and bytes(buffers[0]) + bytes(buffers[1][:2]) == b"four"


async def test_sendto_with_bad_address_is_value_error() -> None:
    with tsocket.socket(type=tsocket.SOCK_DGRAM) as udp:
        with pytest.raises(ValueError, match="address should be a"):
            await udp.sendto(b"x", "not a tuple")


async def test_sendmsg_without_address_on_connected_socket() -> None:
    a, b = loopback_pair()
    with a, b:
        assert await a.sendmsg([b"ab", b"cd"]) == 4
        assert await b.recv(10) == b"abcd"


# -- bind / connect / accept -------------------------------------------------------------


@pytest.mark.parametrize("address", [("127.0.0.1",), "127.0.0.1", ("127.0.0.1", 0, 1)])
async def test_bind_with_malformed_ipv4_address_is_value_error(address: Any) -> None:
    with tsocket.socket() as sock, pytest.raises(ValueError, match=r"\(host, port\) tuple"):
        await sock.bind(address)


@pytest.mark.parametrize("address", [("::1",), "::1", ("::1", 0, 0, 0, 0)])
async def test_bind_with_malformed_ipv6_address_is_value_error(address: Any) -> None:
    with tsocket.socket(tsocket.AF_INET6) as sock:
        with pytest.raises(ValueError, match=r"flowinfo"):
            await sock.bind(address)


@pytest.mark.parametrize("host", ["", None])
async def test_bind_to_any_address(host: str | None) -> None:
    with tsocket.socket() as sock:
        await sock.bind((host, 0))
        assert sock.getsockname()[0] == "0.0.0.0"


async def test_bind_is_a_checkpoint() -> None:
    with tsocket.socket() as sock, assert_checkpoints():
        await sock.bind(("127.0.0.1", 0))


async def test_bind_keeps_ipv6_flowinfo_and_scope() -> None:
    with tsocket.socket(tsocket.AF_INET6, tsocket.SOCK_DGRAM) as sock:
        await sock.bind(("::1", 0, 0, 0))
        host, port, _, scope = sock.getsockname()
        assert (host, scope) == ("::1", 0) and port > 0


async def test_bind_unix_socket_to_a_path() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "sock")
        with tsocket.socket(tsocket.AF_UNIX) as sock:
            await sock.bind(path)
            assert sock.getsockname() == path


async def test_connect_accept_round_trip() -> None:
    with tsocket.socket() as listener:
        await listener.bind(("127.0.0.1", 0))
        listener.listen(10)
        with tsocket.socket() as client:
            await client.connect(listener.getsockname())
            server, address = await listener.accept()
            with server:
                assert isinstance(server, tsocket.SocketType)
                assert address == client.getsockname()
                await client.send(b"ping")
                assert await server.recv(10) == b"ping"


async def test_connect_ipv6_socket_to_ipv4_host_uses_mapped_address() -> None:
    with tsocket.socket() as listener:
        await listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with tsocket.socket(tsocket.AF_INET6) as client:
            await client.connect(("127.0.0.1", port))
            assert client.getpeername()[0] == "::ffff:127.0.0.1"


async def test_connect_refused_names_the_address() -> None:
    with tsocket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        with tsocket.socket() as client:
            with pytest.raises(ConnectionRefusedError, match=f"127.0.0.1.*{port}"):
                await client.connect(("127.0.0.1", port))


async def test_connect_to_missing_unix_path_names_the_path() -> None:
    with tsocket.socket(tsocket.AF_UNIX) as sock:
        with pytest.raises(FileNotFoundError):
            await sock.connect("/nonexistent/triolet-test.sock")


async def test_cancelled_connect_closes_the_socket() -> None:
    # A listener with a full accept queue drops SYNs: the next connect hangs.
    with tsocket.socket() as listener:
        await listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = []
        hanging = None
        for _ in range(8):
            sock = tsocket.socket()
            with triolet.move_on_after(0.05) as scope:
                await sock.connect(listener.getsockname())
            if scope.cancelled_caught:
                hanging = sock
                break
            fillers.append(sock)
        for sock in fillers:
            sock.close()
        if hanging is None:
            pytest.skip("this host never made a connect hang")
        assert hanging.fileno() == -1


async def test_connect_when_already_cancelled_closes_the_socket() -> None:
    sock = tsocket.socket()
    with triolet.CancelScope() as scope:
        scope.cancel()
        await sock.connect(("127.0.0.1", 1))
    assert sock.fileno() == -1


async def test_accept_waits_for_a_connection() -> None:
    with tsocket.socket() as listener:
        await listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        accepted: list[tsocket.SocketType] = []

        async def acceptor() -> None:
            sock, _ = await listener.accept()
            accepted.append(sock)

        async with triolet.open_nursery() as nursery:
            nursery.start_soon(acceptor)
            await wait_all_tasks_blocked()
            assert accepted == []
            with tsocket.socket() as client:
                await client.connect(listener.getsockname())
        accepted[0].close()
