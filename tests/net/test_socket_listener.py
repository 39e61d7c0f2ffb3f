"""SocketListener (src/triolet/_net/_socket_listener.py)."""

from __future__ import annotations

import errno
import socket as stdlib_socket
from typing import Any

import pytest

import triolet
import triolet.socket as tsocket
from triolet.testing import assert_checkpoints, wait_all_tasks_blocked


async def listening_socket() -> tsocket.SocketType:
    sock = tsocket.socket()
    await sock.bind(("127.0.0.1", 0))
    sock.listen(10)
    return sock


async def test_accept_returns_a_socket_stream() -> None:
    async with triolet.SocketListener(await listening_socket()) as listener:
        with tsocket.socket() as client:
            await client.connect(listener.socket.getsockname())
            with assert_checkpoints():
                server = await listener.accept()
            async with server:
                assert isinstance(server, triolet.SocketStream)
                await client.send(b"x")
                assert await server.receive_some() == b"x"


async def test_constructor_checks_the_socket() -> None:
    with stdlib_socket.socket() as raw, pytest.raises(TypeError):
        triolet.SocketListener(raw)  # type: ignore[arg-type]
    with tsocket.socket(type=tsocket.SOCK_DGRAM) as udp, pytest.raises(ValueError):
        triolet.SocketListener(udp)
    with tsocket.socket() as not_listening, pytest.raises(ValueError, match="listening"):
        triolet.SocketListener(not_listening)


async def test_accept_on_a_closed_listener_is_closed_resource_error() -> None:
    listener = triolet.SocketListener(await listening_socket())
    await listener.aclose()
    await listener.aclose()
    with pytest.raises(triolet.ClosedResourceError):
        await listener.accept()


async def test_closing_wakes_a_blocked_accept() -> None:
    listener = triolet.SocketListener(await listening_socket())

    async def acceptor() -> None:
        with pytest.raises(triolet.ClosedResourceError):
            await listener.accept()

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(acceptor)
        await wait_all_tasks_blocked()
        await listener.aclose()


class ScriptedAcceptSocket(tsocket.SocketType):
    """A listening socket whose accept() raises the scripted errors, then succeeds."""

    def __init__(self, errors: list[int]) -> None:
        super().__init__()
        self.errors = errors
        self.calls = 0

    @property
    def type(self) -> Any:
        return tsocket.SOCK_STREAM

    def getsockopt(self, *args: Any) -> Any:
        return 1  # SO_ACCEPTCONN: listening

    async def accept(self) -> Any:
        self.calls += 1
        await triolet.lowlevel.checkpoint()
        if self.errors:
            code = self.errors.pop(0)
            raise OSError(code, "scripted")
        left, right = tsocket.socketpair()
        right.close()
        return left, "peer"

    def close(self) -> None:
        pass


async def test_errors_of_the_pending_connection_are_skipped() -> None:
    sock = ScriptedAcceptSocket([errno.ECONNABORTED, errno.EPROTO, errno.EPERM])
    stream = await triolet.SocketListener(sock).accept()
    await stream.aclose()
    assert sock.calls == 4


@pytest.mark.parametrize("code", [errno.EMFILE, errno.ENFILE, errno.EINVAL])
async def test_other_accept_errors_propagate(code: int) -> None:
    sock = ScriptedAcceptSocket([code])
    with pytest.raises(OSError) as info:
        await triolet.SocketListener(sock).accept()
    assert info.value.errno == code
