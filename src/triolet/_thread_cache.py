"""A cache of idle worker threads behind :func:`start_thread_soon`.

Starting an OS thread costs tens of microseconds; handing a job to a thread that is
already parked on a lock costs one lock release. So a worker that finishes a job does
not exit: it parks on its own ``wakeup`` lock for up to ``idle_timeout`` seconds,
listed in ``ThreadCache.idle_workers``, and the next job goes to the most recently
parked worker (LIFO, so that surplus workers stay idle long enough to time out).

Lock-free claiming
------------------
``idle_workers`` is a dict used as an ordered set; the GIL (or, on free-threaded
builds, the dict's own lock) makes each single dict operation atomic, and that is all
the coordination the cache needs:

* a dispatcher claims a worker with ``popitem()``: whoever pops it owns it;
* a worker whose wait timed out tries ``pop(self)``: if its entry is still there it
  removed itself and may exit; if not, a dispatcher claimed it a moment ago and a job
  is on its way, so it waits for the wakeup without a timeout.

A worker re-lists itself as idle just *before* calling ``deliver``. ``deliver`` is what
wakes whoever waits for the result, and that party often starts its next job at once:
this way the job goes back to the same, still-running thread, which then takes it
without parking (one futex sleep and wake saved per round trip), and a sequence of
calls runs on one thread. The cost: a job handed over during a slow ``deliver`` waits
for it to return, so ``deliver`` must be quick.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Callable
from itertools import count
from typing import Any, TypeVar

import outcome

RetT = TypeVar("RetT")

# Seconds an idle worker waits for a new job before exiting.
IDLE_TIMEOUT = 10.0

_default_names = count()
_IDLE_NAME = "triolet idle worker"

# What ``idle_workers.pop`` returns when a dispatcher already took the worker off the list.
_CLAIMED: Any = object()


def _load_set_os_thread_name() -> Callable[[str], None] | None:
    """A function that names the calling OS thread (as seen by ps/top), if libc has one."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        setname = libc.pthread_setname_np
        self_id = libc.pthread_self
    except (OSError, AttributeError):
        return None
    self_id.restype = ctypes.c_void_p
    setname.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    setname.restype = ctypes.c_int

    def set_os_thread_name(name: str) -> None:
        # Linux caps thread names at 15 bytes plus the NUL; longer names fail with ERANGE.
        setname(self_id(), name.encode("utf-8", "replace")[:15])

    return set_os_thread_name


_set_os_thread_name = _load_set_os_thread_name()


# A job: (fn, deliver, name, captures). With ``captures`` (the public API) the worker
# wraps fn's result in an outcome and passes it to deliver; without (to_thread's own
# calls), fn keeps its own result and must not raise, and deliver takes no argument:
# one Value allocation and two calls less per round trip.
_Job = tuple[Callable[[], Any], Callable[..., object], str, bool]


class _Worker:
    __slots__ = ("cache", "job", "os_name", "thread", "wakeup")

    def __init__(self, cache: ThreadCache) -> None:
        self.cache = cache
        self.job: _Job | None = None
        self.os_name = ""
        # Held while there is no job: the dispatcher releases it to hand one over.
        self.wakeup = threading.Lock()
        self.wakeup.acquire()
        self.thread = threading.Thread(target=self.work, name=_IDLE_NAME, daemon=True)

    def run_job(self) -> None:
        job = self.job
        assert job is not None
        self.job = None
        fn, deliver, name, captures = job
        thread = self.thread
        # Thread.name is a property whose setter only asserts and calls str(): the
        # attribute behind it costs two Python calls less per job.
        thread._name = name  # type: ignore[attr-defined]
        if _set_os_thread_name is not None and name != self.os_name:
            self.os_name = name
            _set_os_thread_name(name)
        if captures:
            result: tuple[outcome.Outcome[Any]] | tuple[()] = (outcome.capture(fn),)
        else:
            fn()
            result = ()
        thread._name = _IDLE_NAME  # type: ignore[attr-defined]
        # Drop our references before deliver, so a result's last owner is the receiver.
        del fn, job
        # Listed as idle before deliver: deliver is what wakes the job's owner, and the
        # owner's next job can then come straight back to this thread without parking it.
        self.cache.idle_workers[self] = None
        try:
            deliver(*result)
        except BaseException as exc:
            # Nobody is there to catch this: report it the way an uncaught thread error is.
            threading.excepthook(
                threading.ExceptHookArgs((type(exc), exc, exc.__traceback__, thread))
            )
        del deliver, result

    def work(self) -> None:
        cache = self.cache
        idle_workers = cache.idle_workers
        acquire = self.wakeup.acquire
        while True:
            # Positional: Lock.acquire parses a keyword argument at twice the cost.
            if not acquire(True, cache.idle_timeout):
                if idle_workers.pop(self, _CLAIMED) is not _CLAIMED:
                    return  # we took ourselves off the idle list: no job can reach us now
                acquire()  # a dispatcher claimed us just as we timed out: the job is coming
            self.run_job()


class ThreadCache:
    """Idle worker threads, reused by :meth:`start_thread_soon`."""

    def __init__(self, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.idle_timeout = idle_timeout
        self.idle_workers: dict[_Worker, None] = {}

    def start_thread_soon(
        self,
        fn: Callable[[], RetT],
        deliver: Callable[[outcome.Outcome[RetT]], object],
        name: str | None = None,
    ) -> None:
        if name is None:
            name = f"Trio thread {next(_default_names)}"
        self.start_job((fn, deliver, name, True))

    def start_job(self, job: _Job) -> None:
        try:
            worker, _ = self.idle_workers.popitem()
        except KeyError:
            worker = _Worker(self)
            worker.job = job
            worker.wakeup.release()
            worker.thread.start()
        else:
            worker.job = job
            worker.wakeup.release()

    def forget_workers_after_fork(self) -> None:
        # A forked child has only the thread that forked; the listed workers are gone.
        self.idle_workers.clear()


THREAD_CACHE = ThreadCache()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=THREAD_CACHE.forget_workers_after_fork)


def start_thread_soon(
    fn: Callable[[], RetT],
    deliver: Callable[[outcome.Outcome[RetT]], object],
    name: str | None = None,
) -> None:
    """Run ``fn()`` in a worker thread, then call ``deliver(outcome)`` in that same thread.

    ``outcome`` is an :class:`outcome.Value` holding what ``fn`` returned or an
    :class:`outcome.Error` holding what it raised. Workers are reused: a thread that
    finished a job waits (up to ten seconds) for another before exiting. ``deliver``
    should hand the result over and return promptly: the next job may already be
    queued for its thread. While a job runs, the thread is named ``name`` (default
    ``"Trio thread N"``), both in :mod:`threading` and, on Linux, for the OS. If
    ``deliver`` raises, the error is reported through :func:`threading.excepthook` and
    the worker carries on.

    This never blocks, needs no running event loop, and is safe to call from any thread.
    """
    THREAD_CACHE.start_thread_soon(fn, deliver, name)


def start_uncaptured_job_soon(
    run: Callable[[], object], deliver: Callable[[], object], name: str
) -> None:
    """Like :func:`start_thread_soon`, for callers that capture ``run``'s outcome themselves.

    ``run()`` keeps its own result and must not raise (it would end the worker thread
    without calling ``deliver``); ``deliver()`` gets no argument.
    """
    THREAD_CACHE.start_job((run, deliver, name, False))
