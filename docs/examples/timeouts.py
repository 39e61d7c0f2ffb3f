"""Getting started: give up on slow work with a timeout."""

import triolet


async def slow_lookup():
    await triolet.sleep(10)
    return "found it"


async def main():
    # move_on_after: cancel the block when time is up and carry on after it.
    with triolet.move_on_after(0.1) as scope:
        result = await slow_lookup()
        print("never printed:", result)
    print("gave up waiting:", scope.cancelled_caught)

    # fail_after: the same, but running out of time is an error.
    try:
        with triolet.fail_after(0.1):
            await slow_lookup()
    except triolet.TooSlowError:
        print("fail_after raised TooSlowError")


if __name__ == "__main__":
    triolet.run(main)
