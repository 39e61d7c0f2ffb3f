"""Shared bodies of the TLS workloads (issue 8): bulk upload and full handshakes over TCP.

Server and client share one process and one event loop on IPv4 loopback, like the TCP
workloads in ``_tcp.py``. Certificates come from ``trustme`` and are made before the
clock starts. trio/triolet use ``serve_ssl_over_tcp`` / ``open_ssl_over_tcp_stream``;
asyncio uses streams with ``ssl=`` (its ``start_tls`` machinery, ``sslproto``).
Libraries are imported inside the functions (see ``_common.py``).
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

from ._common import Result, Stopwatch, trio_like

CHUNK = b"b" * 65536
HOST = "127.0.0.1"


def contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context) with a fresh trustme CA and a cert for 127.0.0.1."""
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


# -- trio and triolet -----------------------------------------------------------------------


def trio_like_bulk(name: str, chunks: int) -> Result:
    """One TLS client uploads ``chunks`` 64 KiB chunks; the server reads to close_notify."""
    lib = trio_like(name)
    server_ctx, client_ctx = contexts()

    async def main() -> Result:
        done = lib.Event()
        total = 0

        async def sink(stream: Any) -> None:
            nonlocal total
            async for data in stream:
                total += len(data)
            done.set()

        async with lib.open_nursery() as nursery:
            serve = functools.partial(lib.serve_ssl_over_tcp, sink, 0, server_ctx, host=HOST)
            listeners = await nursery.start(serve)
            port = listeners[0].transport_listener.socket.getsockname()[1]
            stream = await lib.open_ssl_over_tcp_stream(HOST, port, ssl_context=client_ctx)
            await stream.do_handshake()
            watch = Stopwatch.started()
            for _ in range(chunks):
                await stream.send_all(CHUNK)
            await stream.aclose()
            await done.wait()
            watch.stop()
            nursery.cancel_scope.cancel()
        assert total == chunks * len(CHUNK), total
        return watch.result(chunks * len(CHUNK) // 2**20)

    result: Result = lib.run(main)
    return result


def trio_like_handshakes(name: str, connections: int) -> Result:
    """``connections`` TLS connections one after another: connect, handshake, close."""
    lib = trio_like(name)
    server_ctx, client_ctx = contexts()

    async def handler(stream: Any) -> None:
        await stream.do_handshake()
        await stream.receive_some()

    async def main() -> Result:
        async with lib.open_nursery() as nursery:
            serve = functools.partial(lib.serve_ssl_over_tcp, handler, 0, server_ctx, host=HOST)
            listeners = await nursery.start(serve)
            port = listeners[0].transport_listener.socket.getsockname()[1]
            watch = Stopwatch.started()
            for _ in range(connections):
                stream = await lib.open_ssl_over_tcp_stream(HOST, port, ssl_context=client_ctx)
                await stream.do_handshake()
                await stream.aclose()
            watch.stop()
            nursery.cancel_scope.cancel()
        return watch.result(connections)

    result: Result = lib.run(main)
    return result


# -- asyncio streams over start_tls ----------------------------------------------------------


def asyncio_bulk(chunks: int) -> Result:
    import asyncio

    server_ctx, client_ctx = contexts()

    async def main() -> Result:
        done = asyncio.Event()
        total = 0

        async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal total
            while data := await reader.read(65536):
                total += len(data)
            writer.close()
            done.set()

        server = await asyncio.start_server(sink, HOST, 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection(HOST, port, ssl=client_ctx)
        watch = Stopwatch.started()
        for _ in range(chunks):
            writer.write(CHUNK)
            await writer.drain()
        writer.close()
        await done.wait()
        watch.stop()
        server.close()
        assert total == chunks * len(CHUNK), total
        return watch.result(chunks * len(CHUNK) // 2**20)

    return asyncio.run(main())


def asyncio_handshakes(connections: int) -> Result:
    import asyncio

    server_ctx, client_ctx = contexts()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async def main() -> Result:
        server = await asyncio.start_server(handler, HOST, 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        watch = Stopwatch.started()
        for _ in range(connections):
            _, writer = await asyncio.open_connection(HOST, port, ssl=client_ctx)
            writer.close()
            await writer.wait_closed()
        watch.stop()
        server.close()
        return watch.result(connections)

    return asyncio.run(main())
