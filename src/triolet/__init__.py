"""triolet: fast, Trio-compatible structured concurrency for Python.

Code written for trio runs on triolet by changing ``import trio`` to
``import triolet as trio``.
"""

from __future__ import annotations

from . import abc, from_thread, lowlevel, socket, testing, to_thread
from ._alias import install_trio_alias
from ._channels import (
    MemoryChannelStatistics,
    MemoryReceiveChannel,
    MemorySendChannel,
    as_safe_channel,
    open_memory_channel,
)
from ._core import (
    TASK_STATUS_IGNORED,
    BrokenResourceError,
    BusyResourceError,
    Cancelled,
    CancelScope,
    ClosedResourceError,
    DeadlockError,
    EndOfChannel,
    Nursery,
    RunFinishedError,
    TaskStatus,
    TrioInternalError,
    WouldBlock,
    current_effective_deadline,
    current_time,
    open_nursery,
    run,
    sleep,
    sleep_forever,
    sleep_until,
)
from ._deprecate import TrioDeprecationWarning
from ._dtls import DTLSChannel, DTLSChannelStatistics, DTLSEndpoint
from ._file_io import open_file, wrap_file
from ._net import (
    SocketListener,
    SocketStream,
    open_tcp_listeners,
    open_tcp_stream,
    open_unix_socket,
    serve_listeners,
    serve_tcp,
)
from ._path import Path, PosixPath, WindowsPath
from ._signals import open_signal_receiver
from ._ssl import (
    NeedHandshakeError,
    SSLListener,
    SSLStream,
    open_ssl_over_tcp_listeners,
    open_ssl_over_tcp_stream,
    serve_ssl_over_tcp,
)
from ._streams import StapledStream, aclose_forcefully
from ._subprocess import Process, run_process
from ._sync import (
    CapacityLimiter,
    CapacityLimiterStatistics,
    Condition,
    ConditionStatistics,
    Event,
    EventStatistics,
    Lock,
    LockStatistics,
    Semaphore,
    StrictFIFOLock,
)
from ._timeouts import TooSlowError, fail_after, fail_at, move_on_after, move_on_at

__version__ = "0.1.0"

__all__ = [
    "TASK_STATUS_IGNORED",
    "BrokenResourceError",
    "BusyResourceError",
    "CancelScope",
    "Cancelled",
    "CapacityLimiter",
    "CapacityLimiterStatistics",
    "ClosedResourceError",
    "DeadlockError",
    "Condition",
    "ConditionStatistics",
    "DTLSChannel",
    "DTLSChannelStatistics",
    "DTLSEndpoint",
    "EndOfChannel",
    "NeedHandshakeError",
    "Event",
    "EventStatistics",
    "Lock",
    "LockStatistics",
    "MemoryChannelStatistics",
    "MemoryReceiveChannel",
    "MemorySendChannel",
    "Nursery",
    "Path",
    "PosixPath",
    "Process",
    "RunFinishedError",
    "SSLListener",
    "SSLStream",
    "Semaphore",
    "SocketListener",
    "SocketStream",
    "StapledStream",
    "StrictFIFOLock",
    "TaskStatus",
    "TooSlowError",
    "TrioDeprecationWarning",
    "TrioInternalError",
    "WindowsPath",
    "WouldBlock",
    "abc",
    "aclose_forcefully",
    "as_safe_channel",
    "current_effective_deadline",
    "current_time",
    "fail_after",
    "fail_at",
    "from_thread",
    "install_trio_alias",
    "lowlevel",
    "move_on_after",
    "move_on_at",
    "open_file",
    "open_memory_channel",
    "open_nursery",
    "open_ssl_over_tcp_listeners",
    "open_ssl_over_tcp_stream",
    "open_signal_receiver",
    "open_tcp_listeners",
    "open_tcp_stream",
    "open_unix_socket",
    "run",
    "run_process",
    "serve_listeners",
    "serve_ssl_over_tcp",
    "serve_tcp",
    "sleep",
    "sleep_forever",
    "sleep_until",
    "socket",
    "testing",
    "to_thread",
    "wrap_file",
]
