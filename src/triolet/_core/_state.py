"""Which run and which task are current, per thread.

The kernel keeps one ``Runner`` per ``run()`` call; the thread-local below points at
it while the run is active, and the runner knows its current task. Everything that
says "outside of a run" goes through :func:`current_runner`.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._run import Runner
    from ._task import Task


class _RunContext(threading.local):
    runner: Runner | None = None


run_context = _RunContext()

# Every run in progress in this process, in any thread (for the debug server).
active_runners: weakref.WeakSet[Runner] = weakref.WeakSet()


def current_runner(what: str = "this function") -> Runner:
    """The runner of the run active in this thread; RuntimeError outside of a run."""
    runner = run_context.runner
    if runner is None:
        raise RuntimeError(
            f"{what} must be called from inside triolet.run() (in a task of a running "
            "triolet event loop); there is no run active in this thread"
        )
    return runner


def current_task_or_error(what: str = "this function") -> Task:
    """The task that is running now; RuntimeError outside of a task."""
    runner = current_runner(what)
    task = runner.current_task
    if task is None:
        raise RuntimeError(f"{what} must be called from inside a triolet task")
    return task
