"""Shared bodies of the TCP workloads (issue 6): echo ping-pong over N connections, bulk upload.

Everything runs in one process and one event loop on IPv4 loopback: the server and its
clients compete for the same CPU, as in a proxy or a test suite. Each implementation uses
its idiomatic API: trio/triolet streams (``serve_tcp``-style handler tasks), asyncio
streams (``start_server`` / ``open_connection``) and asyncio protocols (callbacks).
Libraries are imported inside the functions (see ``_common.py``).
"""

from __future__ import annotations

import functools
from typing import Any

from ._common import Result, Stopwatch, trio_like

MESSAGE = b"x" * 64
CHUNK = b"b" * 65536
TIMEOUT = 60  # seconds: never reached, but armed (and disarmed) on every round trip


# -- trio and triolet -----------------------------------------------------------------------


def trio_like_echo(name: str, connections: int, round_trips: int, timeout: bool = False) -> Result:
    """``connections`` clients each do ``round_trips`` 64-byte echo round trips at once.

    With ``timeout``, each round trip runs under its own ``fail_after(TIMEOUT)``.
    """
    lib = trio_like(name)

    async def echo(stream: Any) -> None:
        async for data in stream:
            await stream.send_all(data)

    async def client(port: int) -> None:
        async with await lib.open_tcp_stream("127.0.0.1", port) as stream:
            for _ in range(round_trips):
                await stream.send_all(MESSAGE)
                received = 0
                while received < len(MESSAGE):
                    received += len(await stream.receive_some())

    async def client_with_timeouts(port: int) -> None:
        async with await lib.open_tcp_stream("127.0.0.1", port) as stream:
            for _ in range(round_trips):
                with lib.fail_after(TIMEOUT):
                    await stream.send_all(MESSAGE)
                    received = 0
                    while received < len(MESSAGE):
                        received += len(await stream.receive_some())

    async def main() -> Result:
        async with lib.open_nursery() as nursery:
            serve = functools.partial(lib.serve_tcp, echo, 0, host="127.0.0.1")
            listeners = await nursery.start(serve)
            port = listeners[0].socket.getsockname()[1]
            watch = Stopwatch.started()
            async with lib.open_nursery() as clients:
                for _ in range(connections):
                    clients.start_soon(client_with_timeouts if timeout else client, port)
            watch.stop()
            nursery.cancel_scope.cancel()
        return watch.result(connections * round_trips)

    result: Result = lib.run(main)
    return result


def trio_like_bulk(name: str, chunks: int) -> Result:
    """One client uploads ``chunks`` 64 KiB chunks; the server reads until EOF."""
    lib = trio_like(name)

    async def main() -> Result:
        listeners = await lib.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        total = 0

        async def sink(stream: Any) -> None:
            nonlocal total
            async with stream:
                async for data in stream:
                    total += len(data)

        async with await lib.open_tcp_stream("127.0.0.1", port) as upload:
            server_stream = await listeners[0].accept()
            watch = Stopwatch.started()
            async with lib.open_nursery() as nursery:
                nursery.start_soon(sink, server_stream)
                for _ in range(chunks):
                    await upload.send_all(CHUNK)
                await upload.send_eof()
            watch.stop()
        await listeners[0].aclose()
        assert total == chunks * len(CHUNK), total
        return watch.result(chunks * len(CHUNK) // 2**20)

    result: Result = lib.run(main)
    return result


# -- asyncio streams -------------------------------------------------------------------------


def asyncio_streams_echo(connections: int, round_trips: int, timeout: bool = False) -> Result:
    import asyncio

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(round_trips):
            if timeout:
                async with asyncio.timeout(TIMEOUT):
                    writer.write(MESSAGE)
                    await writer.drain()
                    await reader.readexactly(len(MESSAGE))
            else:
                writer.write(MESSAGE)
                await writer.drain()
                await reader.readexactly(len(MESSAGE))
        writer.close()
        await writer.wait_closed()

    async def main() -> Result:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        watch = Stopwatch.started()
        async with asyncio.TaskGroup() as clients:
            for _ in range(connections):
                clients.create_task(client(port))
        watch.stop()
        server.close()
        return watch.result(connections * round_trips)

    return asyncio.run(main())


def asyncio_streams_bulk(chunks: int) -> Result:
    import asyncio

    async def main() -> Result:
        done = asyncio.Event()
        total = 0

        async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal total
            while data := await reader.read(65536):
                total += len(data)
            writer.close()
            done.set()

        server = await asyncio.start_server(sink, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        watch = Stopwatch.started()
        for _ in range(chunks):
            writer.write(CHUNK)
            await writer.drain()
        writer.write_eof()
        await done.wait()
        watch.stop()
        writer.close()
        server.close()
        assert total == chunks * len(CHUNK), total
        return watch.result(chunks * len(CHUNK) // 2**20)

    return asyncio.run(main())


# -- asyncio protocols -----------------------------------------------------------------------


def asyncio_protocols_echo(connections: int, round_trips: int) -> Result:
    import asyncio

    class EchoServer(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    class EchoClient(asyncio.Protocol):
        def __init__(self) -> None:
            self.received = 0
            self.reply: asyncio.Future[None] | None = None

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.received += len(data)
            if self.received >= len(MESSAGE) and self.reply is not None:
                self.received -= len(MESSAGE)
                self.reply.set_result(None)

    async def client(loop: asyncio.AbstractEventLoop, port: int) -> None:
        transport, protocol = await loop.create_connection(EchoClient, "127.0.0.1", port)
        for _ in range(round_trips):
            protocol.reply = loop.create_future()
            transport.write(MESSAGE)
            await protocol.reply
        transport.close()

    async def main() -> Result:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(EchoServer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        watch = Stopwatch.started()
        async with asyncio.TaskGroup() as clients:
            for _ in range(connections):
                clients.create_task(client(loop, port))
        watch.stop()
        server.close()
        return watch.result(connections * round_trips)

    return asyncio.run(main())


def asyncio_protocols_bulk(chunks: int) -> Result:
    import asyncio

    class Sink(asyncio.Protocol):
        def __init__(self, done: asyncio.Future[int]) -> None:
            self.done = done
            self.total = 0

        def data_received(self, data: bytes) -> None:
            self.total += len(data)

        def eof_received(self) -> bool:
            self.done.set_result(self.total)
            return False

    class Uploader(asyncio.Protocol):
        def __init__(self) -> None:
            self.may_write = asyncio.Event()
            self.may_write.set()

        def pause_writing(self) -> None:
            self.may_write.clear()

        def resume_writing(self) -> None:
            self.may_write.set()

    async def main() -> Result:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        server = await loop.create_server(lambda: Sink(done), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, uploader = await loop.create_connection(Uploader, "127.0.0.1", port)
        watch = Stopwatch.started()
        for _ in range(chunks):
            await uploader.may_write.wait()
            transport.write(CHUNK)
        transport.write_eof()
        total = await done
        watch.stop()
        transport.close()
        server.close()
        assert total == chunks * len(CHUNK), total
        return watch.result(chunks * len(CHUNK) // 2**20)

    return asyncio.run(main())
