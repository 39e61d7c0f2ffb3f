"""A server that runs out of file descriptors keeps serving once they free up.

The server runs in a subprocess whose RLIMIT_NOFILE leaves room for only a few
connections; the clients (plain blocking sockets in this process) outnumber that. The
extra connections wait in the kernel's accept queue while accept() fails with EMFILE;
when the first clients hang up, their handlers end, descriptors free up, and the server
accepts and serves the rest.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import textwrap

SERVER = textwrap.dedent(
    """
    import functools, logging, os, resource, sys
    import triolet

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    async def echo(stream):
        async for data in stream:
            await stream.send_all(data)

    async def main():
        async with triolet.open_nursery() as nursery:
            serve = functools.partial(triolet.serve_tcp, echo, 0, host="127.0.0.1")
            listeners = await nursery.start(serve)
            # Room for ROOM more descriptors: the lowest free numbers get used first.
            highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
            soft = highest + 1 + int(sys.argv[1])
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            print(listeners[0].socket.getsockname()[1], flush=True)

    triolet.run(main)
    """
)

ROOM = 3
CLIENTS = 8
TIMEOUT = 10.0


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
    assert ready, "the server did not report its port in time"
    return process.stdout.readline()


def echo_once(client: socket.socket, message: bytes) -> bytes:
    client.sendall(message)
    received = b""
    while len(received) < len(message):
        chunk = client.recv(len(message) - len(received))
        if not chunk:
            break
        received += chunk
    return received


def test_server_survives_running_out_of_descriptors() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOM)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    clients: list[socket.socket] = []
    try:
        port = int(read_line(process))
        for _ in range(CLIENTS):
            client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            clients.append(client)
        # The first ROOM connections are served right away.
        for index, client in enumerate(clients[:ROOM]):
            assert echo_once(client, b"early %d" % index) == b"early %d" % index
        # Hanging up frees their descriptors; the server then serves everyone else.
        for client in clients[:ROOM]:
            client.close()
        for index, client in enumerate(clients[ROOM:]):
            if index % ROOM == 0 and index:
                for earlier in clients[ROOM + index - ROOM : ROOM + index]:
                    earlier.close()
            assert echo_once(client, b"late %d" % index) == b"late %d" % index
    finally:
        for client in clients:
            client.close()
        process.kill()
        _, stderr = process.communicate(timeout=TIMEOUT)
    # The accept loop really hit the limit (and logged it) rather than never reaching it.
    assert "accept returned EMFILE" in stderr, stderr
