# timeouts.py: the tutorial's "when things go wrong" section, which trio's text leaves as
# TODOs: a timeout with fail_after, what Cancelled is, and how one child's exception
# cancels its siblings. Run it with `python examples/timeouts.py` (about 3 seconds).

import triolet as trio


async def slow_operation():
    print("  slow operation: starting, will take 10 seconds")
    await trio.sleep(10)
    print("  slow operation: done")  # never printed: the timeout comes first


async def with_fail_after():
    print("fail_after(1) around a 10-second operation:")
    start = trio.current_time()
    try:
        with trio.fail_after(1):
            await slow_operation()
    except trio.TooSlowError:
        print(f"  TooSlowError after {trio.current_time() - start:.1f} seconds")


async def with_move_on_after():
    print("move_on_after(1): the same, but the block just stops")
    with trio.move_on_after(1) as scope:
        await slow_operation()
    print(f"  cancelled_caught = {scope.cancelled_caught}")


async def what_cancelled_is():
    print("inside the block, the timeout arrives as a Cancelled exception:")
    with trio.move_on_after(1):
        try:
            await trio.sleep(10)
        except trio.Cancelled as exc:
            # Clean up here if you must, then let it propagate: the scope that
            # cancelled us catches it at the end of the `with`.
            print(f"  caught {type(exc).__name__}; re-raising it")
            raise
    print("  and the with block swallowed it")


async def failing_child():
    await trio.sleep(0.5)
    print("  failing child: raising ValueError")
    raise ValueError("something went wrong")


async def patient_sibling():
    try:
        await trio.sleep(10)
    finally:
        print("  patient sibling: cancelled, cleaning up")


async def one_child_fails():
    print("a child raises: the nursery cancels its siblings, then re-raises:")
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(patient_sibling)
            nursery.start_soon(failing_child)
    except* ValueError as group:
        print(f"  the nursery raised {group.exceptions[0]!r}")


async def main():
    await with_fail_after()
    await with_move_on_after()
    await what_cancelled_is()
    await one_child_fails()


if __name__ == "__main__":
    trio.run(main)
