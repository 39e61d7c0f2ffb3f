"""The tutorial's echo server and clients in one process, on loopback, for a few seconds.

    python examples/demo.py [--clients N] [--seconds S]

It starts the echo server (as in echo-server.py) on a free port, then several clients
that send and receive concurrently (as in echo-client.py, with a faster beat), prints the
traffic, and stops everything by cancelling it when the time is up.
"""

import argparse
import functools
from itertools import count

import triolet as trio

CONNECTION_COUNTER = count()


async def echo_server(server_stream):
    ident = next(CONNECTION_COUNTER)
    print(f"echo_server {ident}: started")
    try:
        async for data in server_stream:
            print(f"echo_server {ident}: received data {data!r}")
            await server_stream.send_all(data)
        print(f"echo_server {ident}: connection closed")
    except Exception as exc:
        print(f"echo_server {ident}: crashed: {exc!r}")


async def sender(name, client_stream, beat):
    for number in count(1):
        data = f"{name} says hello #{number}".encode()
        print(f"{name} sender: sending {data!r}")
        await client_stream.send_all(data)
        await trio.sleep(beat)


async def receiver(name, client_stream, totals):
    async for data in client_stream:
        print(f"{name} receiver: got data {data!r}")
        totals[name] = totals.get(name, 0) + len(data)


async def client(name, port, beat, totals):
    client_stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with client_stream:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender, name, client_stream, beat)
            nursery.start_soon(receiver, name, client_stream, totals)


async def main(clients, seconds):
    totals = {}
    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            serve = functools.partial(trio.serve_tcp, echo_server, 0, host="127.0.0.1")
            listeners = await nursery.start(serve)
            port = listeners[0].socket.getsockname()[1]
            print(f"demo: echo server listening on 127.0.0.1:{port}")
            for number in range(clients):
                beat = 0.5 + 0.2 * number
                nursery.start_soon(client, f"client {number}", port, beat, totals)
    echoed = sum(totals.values())
    print(f"demo: {seconds} s are up; {len(totals)} clients got {echoed} bytes echoed back")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    arguments = parser.parse_args()
    trio.run(main, arguments.clients, arguments.seconds)
