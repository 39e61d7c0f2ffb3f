"""Connected socket-stream pairs for the networking tests."""

from __future__ import annotations

from typing import Any

import triolet
import triolet.socket as tsocket
from triolet.testing import open_stream_to_socket_listener, wait_all_tasks_blocked


async def tcp_stream_pair() -> tuple[triolet.SocketStream, triolet.SocketStream]:
    """A client and a server SocketStream connected over IPv4 loopback."""
    listeners = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with listeners[0] as listener:
        client = await open_stream_to_socket_listener(listener)
        server = await listener.accept()
    return client, server


async def unix_stream_pair() -> tuple[triolet.SocketStream, triolet.SocketStream]:
    left, right = tsocket.socketpair()
    return triolet.SocketStream(left), triolet.SocketStream(right)


async def fill_send_buffer(sock: tsocket.SocketType) -> None:
    """Send junk on ``sock`` until a send blocks (both kernel buffers are full)."""

    async def send_forever() -> None:
        while True:
            await sock.send(b"j" * 65536)

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(send_forever)
        await wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()


async def clogged_tcp_stream_pair() -> tuple[triolet.SocketStream, triolet.SocketStream]:
    """A TCP pair whose buffers are full in both directions: every send_all blocks."""
    client, server = await tcp_stream_pair()
    for stream in (client, server):
        stream.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_SNDBUF, 1)
        stream.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_RCVBUF, 1)
    await fill_send_buffer(client.socket)
    await fill_send_buffer(server.socket)
    return client, server


class DelegatingSocket(tsocket.SocketType):
    """A SocketType that isn't triolet's own: forwards every call to a real socket.

    SocketStream must treat it through the public SocketType interface only.
    """

    def __init__(self, inner: tsocket.SocketType) -> None:
        super().__init__()
        self.inner = inner

    def __getattribute__(self, name: str) -> Any:
        if name in ("inner", "__class__", "__dict__") or name.startswith("__"):
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "inner"), name)


async def delegating_stream_pair() -> tuple[triolet.SocketStream, triolet.SocketStream]:
    left, right = tsocket.socketpair()
    return triolet.SocketStream(DelegatingSocket(left)), triolet.SocketStream(
        DelegatingSocket(right)
    )
