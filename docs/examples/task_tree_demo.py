"""Debugging: print the live task tree of the current run."""

import dataclasses
import json

import triolet
from triolet.testing import wait_all_tasks_blocked


async def wait_for_lock(lock):
    async with lock:
        pass


async def nap():
    with triolet.CancelScope(shield=True):  # the nursery's cancel() can't reach in
        await triolet.sleep(0.2)


async def supervisor(lock):
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(wait_for_lock, lock, name="lock-waiter")
        nursery.start_soon(nap, name="napper")


def find_task(task_info, name):
    """Walk a task_tree() snapshot: the TaskInfo called ``name``, or None."""
    if task_info.name == name:
        return task_info
    for nursery_info in task_info.nurseries:
        for child in nursery_info.children:
            found = find_task(child, name)
            if found is not None:
                return found
    return None


async def main():
    lock = triolet.Lock()
    async with lock:  # held by main, so lock-waiter has to wait
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(supervisor, lock, name="supervisor")
            await wait_all_tasks_blocked()  # let every child reach its wait

            tree = triolet.lowlevel.task_tree()
            print(triolet.lowlevel.format_task_tree(tree, stacks=False))
            print()
            print(triolet.lowlevel.format_task_tree(find_task(tree, "lock-waiter")))

            document = json.dumps(dataclasses.asdict(tree))
            print(f"\nas JSON: {len(document)} characters")
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    triolet.run(main)
