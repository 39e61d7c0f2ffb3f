"""The triolet kernel. Everything above this package uses only these names.

Grouped by what they are for, not by the module that defines them.
"""

# ruff: noqa: I001 (imports are grouped by purpose; one module may feed several groups)

# -- starting a run, and asking about the current one ----------------------------------
from ._launch import run, start_guest_run
from ._run import RunStatistics, current_statistics, in_trio_run, in_trio_task
from ._run import current_root_task, current_task, current_trio_token
from ._entry_queue import TrioToken
from ._local import RunVar, RunVarToken
from ._task import Task

# -- time ------------------------------------------------------------------------------
from ._abc import Clock
from ._mock_clock import MockClock
from ._run import current_clock, current_time, current_effective_deadline
from ._sleep import sleep, sleep_forever, sleep_until

# -- tasks and cancellation ------------------------------------------------------------
from ._nursery import TASK_STATUS_IGNORED, Nursery, TaskStatus, open_nursery
from ._cancel import CancelScope, move_on_after
from ._run import spawn_system_task, checkpoint, checkpoint_if_cancelled
from ._run import checkpoint_by_policy
from ._traps import cancel_shielded_checkpoint

# -- parking and waking tasks (the low-level protocol) ---------------------------------
from ._traps import Abort, RaiseCancelT, wait_task_rescheduled
from ._run import reschedule
from ._traps import temporarily_detach_coroutine_object, reattach_detached_coroutine_object
from ._traps import permanently_detach_coroutine_object
from ._parking_lot import ParkingLot, ParkingLotStatistics
from ._parking_lot import add_parking_lot_breaker, remove_parking_lot_breaker

# -- I/O -------------------------------------------------------------------------------
from ._io_common import IOStatistics, wait_socket
from ._run import wait_readable, wait_writable, notify_closing

# -- errors ----------------------------------------------------------------------------
from ._exceptions import Cancelled, TrioInternalError, RunFinishedError, DeadlockError
from ._exceptions import WouldBlock, EndOfChannel
from ._exceptions import BrokenResourceError, BusyResourceError, ClosedResourceError

# -- watching and debugging the run ----------------------------------------------------
from ._abc import Instrument
from ._run import add_instrument, remove_instrument, external_wakeup_expected
from ._ki import currently_ki_protected, disable_ki_protection, enable_ki_protection
from ._introspect import CancelScopeInfo, FrameInfo, NurseryInfo, TaskInfo
from ._introspect import format_task_tree, task_tree
from ._testing import assert_checkpoints, assert_no_checkpoints, wait_all_tasks_blocked

__all__ = [
    "TASK_STATUS_IGNORED",
    "Abort",
    "BrokenResourceError",
    "BusyResourceError",
    "CancelScope",
    "CancelScopeInfo",
    "Cancelled",
    "Clock",
    "ClosedResourceError",
    "DeadlockError",
    "EndOfChannel",
    "FrameInfo",
    "IOStatistics",
    "Instrument",
    "MockClock",
    "Nursery",
    "NurseryInfo",
    "ParkingLot",
    "ParkingLotStatistics",
    "RaiseCancelT",
    "RunFinishedError",
    "RunStatistics",
    "RunVar",
    "RunVarToken",
    "Task",
    "TaskInfo",
    "TaskStatus",
    "TrioInternalError",
    "TrioToken",
    "WouldBlock",
    "add_instrument",
    "add_parking_lot_breaker",
    "assert_checkpoints",
    "assert_no_checkpoints",
    "cancel_shielded_checkpoint",
    "checkpoint",
    "checkpoint_if_cancelled",
    "current_clock",
    "current_effective_deadline",
    "current_root_task",
    "current_statistics",
    "current_task",
    "current_time",
    "current_trio_token",
    "currently_ki_protected",
    "disable_ki_protection",
    "enable_ki_protection",
    "external_wakeup_expected",
    "format_task_tree",
    "in_trio_run",
    "in_trio_task",
    "notify_closing",
    "move_on_after",
    "open_nursery",
    "permanently_detach_coroutine_object",
    "reattach_detached_coroutine_object",
    "remove_instrument",
    "remove_parking_lot_breaker",
    "reschedule",
    "run",
    "sleep",
    "sleep_forever",
    "sleep_until",
    "spawn_system_task",
    "task_tree",
    "start_guest_run",
    "temporarily_detach_coroutine_object",
    "wait_all_tasks_blocked",
    "wait_readable",
    "wait_socket",  # internal: for triolet's socket layer, not re-exported publicly
    "checkpoint_by_policy",  # internal: the scheduling policy, for the stream layer
    "wait_task_rescheduled",
    "wait_writable",
]
