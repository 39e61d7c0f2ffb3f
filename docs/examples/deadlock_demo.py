"""Debugging: a deadlock reported instead of a silent hang."""

import triolet


async def relay(name, inbox, outbox):
    message = await inbox.receive()  # both relays wait here for the other: a deadlock
    await outbox.send(f"{message}, via {name}")


async def main():
    triolet.lowlevel.enable_deadlock_detection("raise")
    to_alice, alice_inbox = triolet.open_memory_channel(0)
    to_bob, bob_inbox = triolet.open_memory_channel(0)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(relay, "alice", alice_inbox, to_bob, name="alice")
        nursery.start_soon(relay, "bob", bob_inbox, to_alice, name="bob")


if __name__ == "__main__":
    try:
        triolet.run(main)
    except* triolet.DeadlockError as group:
        [error] = group.exceptions
        print(error)
