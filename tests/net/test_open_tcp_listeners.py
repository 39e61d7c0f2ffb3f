"""open_tcp_listeners and open_unix_socket (src/triolet/_net/_open_tcp_listeners.py,
_open_unix_socket.py)."""

from __future__ import annotations

import errno
import os
import pathlib
import tempfile

import pytest

import triolet
import triolet.socket as tsocket

from ._helpers import message_check


async def test_listens_on_one_address() -> None:
    listeners = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    assert len(listeners) == 1
    async with listeners[0] as listener:
        sock = listener.socket
        assert sock.getsockname()[0] == "127.0.0.1"
        assert sock.getsockopt(tsocket.SOL_SOCKET, tsocket.SO_ACCEPTCONN)
        assert sock.getsockopt(tsocket.SOL_SOCKET, tsocket.SO_REUSEADDR)


async def test_no_host_listens_on_every_family() -> None:
    listeners = await triolet.open_tcp_listeners(0)
    try:
        families = {listener.socket.family for listener in listeners}
        assert tsocket.AF_INET in families
        for listener in listeners:
            if listener.socket.family == tsocket.AF_INET6:
                sock = listener.socket
                assert sock.getsockopt(tsocket.IPPROTO_IPV6, tsocket.IPV6_V6ONLY)
    finally:
        for listener in listeners:
            await listener.aclose()


async def test_port_in_use_names_the_port() -> None:
    listeners = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with listeners[0] as listener:
        port = listener.socket.getsockname()[1]
        with pytest.raises(OSError, match=message_check(str(port))) as info:
            await triolet.open_tcp_listeners(port, host="127.0.0.1")
        assert info.value.errno == errno.EADDRINUSE


async def test_failure_closes_listeners_already_opened() -> None:
    # Both families on one fixed port: take the IPv6 one first, so IPv4 succeeds and
    # IPv6 fails; the IPv4 listener must not leak.
    listeners = await triolet.open_tcp_listeners(0, host="::1")
    async with listeners[0] as taken:
        port = taken.socket.getsockname()[1]
        fds_before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(OSError):
            await triolet.open_tcp_listeners(port)
        assert len(os.listdir("/proc/self/fd")) == fds_before


async def test_port_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        await triolet.open_tcp_listeners("80")  # type: ignore[arg-type]


async def test_backlog_is_accepted() -> None:
    for backlog in (None, 1, 10**9):
        listeners = await triolet.open_tcp_listeners(0, host="127.0.0.1", backlog=backlog)
        await listeners[0].aclose()


async def test_open_unix_socket_connects_by_path() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "server.sock"
        with tsocket.socket(tsocket.AF_UNIX) as server_sock:
            await server_sock.bind(str(path))
            server_sock.listen(1)
            for address in (path, str(path), os.fsencode(path)):
                async with await triolet.open_unix_socket(address) as client:
                    accepted, _ = await server_sock.accept()
                    with accepted:
                        await client.send_all(b"unix")
                        assert await accepted.recv(10) == b"unix"


async def test_open_unix_socket_to_a_missing_path() -> None:
    with pytest.raises(FileNotFoundError):
        await triolet.open_unix_socket("/nonexistent/triolet.sock")
