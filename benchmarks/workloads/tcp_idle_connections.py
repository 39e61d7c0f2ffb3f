"""A server holding many idle TCP connections: how much memory does each one cost it?

A helper process opens SIZE loopback connections and then stays quiet; the server (this
process) gives each one a handler task (asyncio: a stream reader / a protocol) waiting
for data. The extra metric is the growth of this process's resident memory divided by
the number of connections, once all of them are accepted and idle. Throughput is
connections accepted per second.
"""

from __future__ import annotations

import functools
import gc
import importlib
import os
import subprocess
import sys
from typing import Any

from ._common import Metric, Result, Stopwatch, trio_like

TITLE = "10,000 idle TCP connections held by a server (memory per connection)"
UNIT = "connections"
ISSUE = 6
ORDER = 4
SIZE = 10_000
QUICK_SIZE = 1_000
TARGETS: dict[str, float] = {}
METRICS = {
    "bytes/conn": Metric(
        "server memory per idle connection", "bytes", lower_is_better=True, targets={"trio": 1.0}
    )
}

CLIENTS = """
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
print("connected", flush=True)
sys.stdin.read()
"""


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def start_clients(port: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLIENTS, str(port), str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def finish(clients: subprocess.Popen[str], count: int, watch: Stopwatch, before: int) -> Result:
    gc.collect()
    grown = resident_bytes() - before
    clients.communicate("")
    return watch.result(count, {"bytes/conn": grown / count})


def _run_trio_like(name: str, size: int) -> Result:
    lib = trio_like(name)
    testing = importlib.import_module(f"{name}.testing")

    async def main() -> Result:
        accepted = 0

        async def idle(stream: Any) -> None:
            nonlocal accepted
            accepted += 1
            await stream.receive_some()

        async with lib.open_nursery() as nursery:
            serve = functools.partial(lib.serve_tcp, idle, 0, host="127.0.0.1")
            listeners = await nursery.start(serve)
            gc.collect()
            before = resident_bytes()
            watch = Stopwatch.started()
            clients = start_clients(listeners[0].socket.getsockname()[1], size)
            while accepted < size:
                await lib.sleep(0.005)
            watch.stop()
            await testing.wait_all_tasks_blocked()
            result = finish(clients, size, watch, before)
            nursery.cancel_scope.cancel()
        return result

    result: Result = lib.run(main)
    return result


def run_triolet(size: int) -> Result:
    return _run_trio_like("triolet", size)


def run_trio(size: int) -> Result:
    return _run_trio_like("trio", size)


def run_asyncio(size: int) -> Result:
    import asyncio

    async def main() -> Result:
        accepted = closed = 0
        all_accepted = asyncio.Event()
        all_closed = asyncio.Event()

        async def idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal accepted, closed
            accepted += 1
            if accepted == size:
                all_accepted.set()
            await reader.read(65536)
            writer.close()
            closed += 1
            if closed == size:
                all_closed.set()

        server = await asyncio.start_server(idle, "127.0.0.1", 0, backlog=4096)
        gc.collect()
        before = resident_bytes()
        watch = Stopwatch.started()
        clients = start_clients(server.sockets[0].getsockname()[1], size)
        await all_accepted.wait()
        watch.stop()
        await asyncio.sleep(0.1)
        result = finish(clients, size, watch, before)
        await all_closed.wait()  # the helper process exited: every handler saw EOF
        server.close()
        return result

    return asyncio.run(main())


def run_asyncio_protocols(size: int) -> Result:
    import asyncio

    async def main() -> Result:
        loop = asyncio.get_running_loop()
        all_accepted = loop.create_future()
        accepted = 0

        class Idle(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                nonlocal accepted
                self.transport = transport
                accepted += 1
                if accepted == size:
                    all_accepted.set_result(None)

        server = await loop.create_server(Idle, "127.0.0.1", 0, backlog=4096)
        gc.collect()
        before = resident_bytes()
        watch = Stopwatch.started()
        clients = start_clients(server.sockets[0].getsockname()[1], size)
        await all_accepted
        watch.stop()
        await asyncio.sleep(0.1)
        result = finish(clients, size, watch, before)
        server.close()
        return result

    return asyncio.run(main())
