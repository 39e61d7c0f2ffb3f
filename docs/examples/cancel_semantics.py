"""Coming from asyncio: cancellation is a state of a scope, not a one-off exception."""

import triolet


async def swallows_cancellation():
    try:
        await triolet.sleep(10)
    except triolet.Cancelled:
        print("caught Cancelled and carried on (a bad idea, shown for the lesson)")
    # The scope is still cancelled, so the very next checkpoint raises again.
    await triolet.sleep(10)
    print("never printed")


async def cleans_up_politely():
    try:
        await triolet.sleep(10)
    finally:
        # A shielded scope lets cleanup code wait, even inside a cancelled scope.
        with triolet.CancelScope(shield=True):
            await triolet.sleep(0.01)  # e.g. tell the peer goodbye
            print("cleanup finished despite the cancellation")


async def main():
    with triolet.move_on_after(0.01):
        await swallows_cancellation()
    with triolet.move_on_after(0.01):
        await cleans_up_politely()
    print("both scopes expired; main carries on")


if __name__ == "__main__":
    triolet.run(main)
