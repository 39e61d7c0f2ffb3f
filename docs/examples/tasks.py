"""Getting started: two children running at once inside a nursery."""

import triolet


async def child(name, seconds):
    print(f"  {name}: started, sleeping for {seconds} s")
    await triolet.sleep(seconds)
    print(f"  {name}: exiting")


async def parent():
    print("parent: started")
    async with triolet.open_nursery() as nursery:
        print("parent: spawning child1")
        nursery.start_soon(child, "child1", 0.2)

        print("parent: spawning child2")
        nursery.start_soon(child, "child2", 0.1)

        print("parent: waiting for the children")
        # The end of the 'async with' block waits for every child.
    print("parent: all done")


if __name__ == "__main__":
    triolet.run(parent)
