"""Snapshots of a run's task tree, for debugging.

A snapshot is plain data (dataclasses of strings and numbers), so it can be rendered
as text, dumped as JSON, or sent to another process. Taking one only reads kernel
state; it is safe inside the run, and best-effort from another thread (the debug
server uses it to inspect a loop that may be stuck).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ._io_common import FdWaiters, IOManagerBase
from ._parking_lot import ParkingLot
from ._state import current_runner

if TYPE_CHECKING:
    from ._cancel import CancelScope
    from ._nursery import Nursery
    from ._run import Runner
    from ._task import Task


@dataclass
class FrameInfo:
    """One frame of a task's await stack."""

    filename: str
    lineno: int
    function: str


@dataclass
class CancelScopeInfo:
    """A cancel scope: when it expires, whether it shields, whether it was cancelled and why."""

    id: int
    deadline: float
    seconds_to_deadline: float
    shield: bool
    cancel_called: bool
    cancel_source: str | None
    cancel_reason: str | None


@dataclass
class NurseryInfo:
    """A nursery, its cancel scope, and the tasks in it."""

    id: int
    cancel_scope: CancelScopeInfo
    children: list[TaskInfo] = field(default_factory=list)


@dataclass
class TaskInfo:
    """A task: its state, what it waits for, its await stack and what it contains."""

    name: str
    id: int
    state: Literal["running", "runnable", "parked"]
    waiting_on: str | None
    await_stack: list[FrameInfo]
    cancel_scopes: list[CancelScopeInfo]
    nurseries: list[NurseryInfo] = field(default_factory=list)


def _scope_info(scope: CancelScope, now: float) -> CancelScopeInfo:
    return CancelScopeInfo(
        id=id(scope),
        deadline=scope._deadline,
        seconds_to_deadline=scope._deadline - now if scope._deadline != math.inf else math.inf,
        shield=scope._shield,
        cancel_called=scope._cancel_called,
        cancel_source=scope._cancel_source if scope._cancel_called else None,
        cancel_reason=scope._cancel_reason,
    )


_KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))


def _is_kernel_frame(frame: FrameInfo) -> bool:
    return os.path.dirname(os.path.abspath(frame.filename)) == _KERNEL_DIR


def _describe_wait(task: Task, runner: Runner, now: float, stack: list[FrameInfo]) -> str:
    if task is runner.init_task:
        return "the main task to finish"
    data = task.custom_sleep_data
    if task._deadline_token and isinstance(data, float):
        return f"sleep until {data:.3f} ({data - now:.3f}s from now)"
    if isinstance(data, FdWaiters):
        return f"fd {data.fd} to become {'readable' if data.read_task is task else 'writable'}"
    outside_kernel = [frame for frame in stack if not _is_kernel_frame(frame)]
    innermost = (outside_kernel or stack or [FrameInfo("?", 0, "?")])[-1].function
    if type(data).__name__ == "Nursery":
        return f"child tasks of its nursery to finish (in {innermost})"
    if isinstance(data, ParkingLot):
        return f"a ParkingLot, in {innermost}"
    if isinstance(data, IOManagerBase):
        return f"I/O, in {innermost}"
    return f"reschedule, in {innermost}"


def _task_info(task: Task, runner: Runner, now: float) -> TaskInfo:
    stack = [
        FrameInfo(frame.f_code.co_filename, lineno, frame.f_code.co_qualname)
        for frame, lineno in task.iter_await_frames()
    ]
    if runner.current_task is task:
        state: Literal["running", "runnable", "parked"] = "running"
        waiting_on = None
    elif task._abort_func is not None:
        state = "parked"
        waiting_on = _describe_wait(task, runner, now, stack)
    else:
        state = "runnable"
        waiting_on = None
    own_scopes = []
    home = task._parent_nursery.cancel_scope if task._parent_nursery is not None else None
    scope = task._cancel_status
    nursery_scopes = {id(n.cancel_scope) for n in task._child_nurseries}
    while scope is not None and scope is not home:
        if id(scope) not in nursery_scopes:
            own_scopes.append(_scope_info(scope, now))
        scope = scope._parent
    own_scopes.reverse()
    info = TaskInfo(
        name=task.name,
        id=id(task),
        state=state,
        waiting_on=waiting_on,
        await_stack=stack,
        cancel_scopes=own_scopes,
    )
    for nursery in list(task._child_nurseries):
        info.nurseries.append(_nursery_info(nursery, runner, now))
    return info


def _nursery_info(nursery: Nursery, runner: Runner, now: float) -> NurseryInfo:
    children = sorted(nursery._children, key=lambda t: (t.name, id(t)))
    return NurseryInfo(
        id=id(nursery),
        cancel_scope=_scope_info(nursery.cancel_scope, now),
        children=[_task_info(child, runner, now) for child in children],
    )


def snapshot(runner: Runner) -> TaskInfo | None:
    """The task tree of ``runner``, rooted at its init task (None before it exists)."""
    root = runner.init_task
    if root is None:
        return None
    return _task_info(root, runner, runner.clock.current_time())


def task_tree() -> TaskInfo:
    """A snapshot of the current run's task tree, starting at the root task.

    Each :class:`TaskInfo` gives the task's name, state (``running``, ``runnable`` or
    ``parked``), what a parked task waits for, its await stack, the cancel scopes it
    entered, and its nurseries with their child tasks. Render it with
    ``triolet.lowlevel.format_task_tree`` or turn it into JSON with ``dataclasses.asdict``.
    """
    tree = snapshot(current_runner("task_tree"))
    assert tree is not None
    return tree


def _format_scope(scope: CancelScopeInfo) -> str:
    parts = []
    if scope.deadline != math.inf:
        parts.append(f"deadline in {scope.seconds_to_deadline:.3f}s")
    if scope.shield:
        parts.append("shielded")
    if scope.cancel_called:
        why = scope.cancel_source or "unknown"
        if scope.cancel_reason:
            why += f": {scope.cancel_reason}"
        parts.append(f"cancelled ({why})")
    return "cancel scope" + (f" [{', '.join(parts)}]" if parts else "")


def format_task_tree(tree: TaskInfo, *, stacks: bool = True) -> str:
    """Render a :func:`task_tree` snapshot as indented text, one task per line.

    With ``stacks=True`` each task is followed by its await stack (file:line in
    function), innermost frame last.
    """
    lines: list[str] = []

    def task_line(task: TaskInfo) -> str:
        text = f"{task.name} [{task.state}"
        if task.waiting_on:
            text += f": waiting for {task.waiting_on}"
        return text + "]"

    def walk(task: TaskInfo, prefix: str, connector: str, child_prefix: str) -> None:
        lines.append(prefix + connector + task_line(task))
        inner = prefix + child_prefix
        for scope in task.cancel_scopes:
            lines.append(inner + "  " + _format_scope(scope))
        if stacks:
            for frame in task.await_stack:
                if frame.filename.endswith("_traps.py") and _is_kernel_frame(frame):
                    continue  # the kernel's yield machinery: noise in a report
                lines.append(f"{inner}  at {frame.filename}:{frame.lineno} in {frame.function}")
        for n_index, nursery in enumerate(task.nurseries):
            last_nursery = n_index == len(task.nurseries) - 1
            lines.append(
                inner
                + ("└─ " if last_nursery else "├─ ")
                + f"nursery ({_format_scope(nursery.cancel_scope)})"
            )
            nursery_prefix = inner + ("   " if last_nursery else "│  ")
            for c_index, child in enumerate(nursery.children):
                last_child = c_index == len(nursery.children) - 1
                walk(
                    child,
                    nursery_prefix,
                    "└─ " if last_child else "├─ ",
                    "   " if last_child else "│  ",
                )

    walk(tree, "", "", "")
    return "\n".join(lines)
