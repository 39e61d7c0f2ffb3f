"""The triolet kernel. Everything above this package uses only these names."""

from ._abc import Clock, Instrument
from ._cancel import CancelScope, move_on_after
from ._entry_queue import TrioToken
from ._exceptions import (
    BrokenResourceError,
    BusyResourceError,
    Cancelled,
    ClosedResourceError,
    DeadlockError,
    EndOfChannel,
    RunFinishedError,
    TrioInternalError,
    WouldBlock,
)
from ._introspect import (
    CancelScopeInfo,
    FrameInfo,
    NurseryInfo,
    TaskInfo,
    format_task_tree,
    task_tree,
)
from ._io_common import IOStatistics, wait_socket
from ._ki import currently_ki_protected, disable_ki_protection, enable_ki_protection
from ._launch import run, start_guest_run
from ._local import RunVar, RunVarToken
from ._mock_clock import MockClock
from ._nursery import TASK_STATUS_IGNORED, Nursery, TaskStatus, open_nursery
from ._parking_lot import (
    ParkingLot,
    ParkingLotStatistics,
    add_parking_lot_breaker,
    remove_parking_lot_breaker,
)
from ._run import (
    RunStatistics,
    add_instrument,
    checkpoint,
    checkpoint_by_policy,
    checkpoint_if_cancelled,
    current_clock,
    current_effective_deadline,
    current_root_task,
    current_statistics,
    current_task,
    current_time,
    current_trio_token,
    external_wakeup_expected,
    in_trio_run,
    in_trio_task,
    notify_closing,
    remove_instrument,
    reschedule,
    spawn_system_task,
    wait_readable,
    wait_writable,
)
from ._sleep import sleep, sleep_forever, sleep_until
from ._task import Task
from ._testing import assert_checkpoints, assert_no_checkpoints, wait_all_tasks_blocked
from ._traps import (
    Abort,
    RaiseCancelT,
    cancel_shielded_checkpoint,
    permanently_detach_coroutine_object,
    reattach_detached_coroutine_object,
    temporarily_detach_coroutine_object,
    wait_task_rescheduled,
)

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
