"""Debugging: a program that hangs, to inspect with 'python -m triolet ps/pstree PID'.

Run it with the debug server switched on, then inspect it from another terminal:

    TRIOLET_DEBUG_SERVER=1 python stuck.py
    python -m triolet pstree PID
"""

import os

import triolet


async def wait_for_config(config_loaded):
    await config_loaded.wait()  # the bug: nobody ever calls config_loaded.set()


async def serve_forever(listener):
    async with listener:
        while True:
            stream = await listener.accept()
            await stream.aclose()


async def main():
    config_loaded = triolet.Event()
    [listener] = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(serve_forever, listener, name="server")
        nursery.start_soon(wait_for_config, config_loaded, name="config-waiter")
        print(f"pid {os.getpid()} is running; inspect it with: python -m triolet ps", flush=True)


if __name__ == "__main__":
    triolet.run(main)
