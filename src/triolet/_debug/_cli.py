"""``python -m triolet ps PID`` and ``pstree PID``: show another process's tasks."""

from __future__ import annotations

import sys
from typing import Any

from .._core._introspect import (
    CancelScopeInfo,
    FrameInfo,
    NurseryInfo,
    TaskInfo,
    format_task_tree,
)
from ._server import fetch_task_tree


def _scope_from(data: dict[str, Any]) -> CancelScopeInfo:
    return CancelScopeInfo(**data)


def _task_from(data: dict[str, Any]) -> TaskInfo:
    return TaskInfo(
        name=data["name"],
        id=data["id"],
        state=data["state"],
        waiting_on=data["waiting_on"],
        await_stack=[FrameInfo(**frame) for frame in data["await_stack"]],
        cancel_scopes=[_scope_from(scope) for scope in data["cancel_scopes"]],
        nurseries=[
            NurseryInfo(
                id=nursery["id"],
                cancel_scope=_scope_from(nursery["cancel_scope"]),
                children=[_task_from(child) for child in nursery["children"]],
            )
            for nursery in data["nurseries"]
        ],
    )


def _walk(task: TaskInfo, depth: int = 0) -> list[tuple[int, TaskInfo]]:
    rows = [(depth, task)]
    for nursery in task.nurseries:
        for child in nursery.children:
            rows.extend(_walk(child, depth + 1))
    return rows


def _trees(pid: int) -> list[TaskInfo] | None:
    try:
        document = fetch_task_tree(pid)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return None
    except OSError as exc:
        print(f"could not talk to process {pid}'s debug server: {exc}", file=sys.stderr)
        return None
    return [_task_from(run) for run in document["runs"] if run is not None]


def ps(pid: int) -> int:
    """Print one line per task of process ``pid``: name, state, what it waits for."""
    trees = _trees(pid)
    if trees is None:
        return 1
    print(f"{'TASK':<50} {'STATE':<9} WAITING FOR")
    for tree in trees:
        for depth, task in _walk(tree):
            name = "  " * depth + task.name
            print(f"{name:<50} {task.state:<9} {task.waiting_on or ''}")
    return 0


def pstree(pid: int) -> int:
    """Print the task tree of process ``pid`` with nurseries, cancel scopes and stacks."""
    trees = _trees(pid)
    if trees is None:
        return 1
    if not trees:
        print(f"process {pid} has no triolet run in progress")
    for tree in trees:
        print(format_task_tree(tree))
    return 0
