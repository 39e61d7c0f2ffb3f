"""lowlevel.start_thread_soon and the cache of idle worker threads behind it.

The first tests use the public API only (they also run against trio through the shim,
``PYTHONPATH=/tmp/trioshim``); the ones that build their own ThreadCache look at
triolet's internals and are skipped there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import outcome
import pytest

import triolet
from triolet import lowlevel

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"
triolet_only = pytest.mark.skipif(UNDER_TRIO, reason="looks at triolet's thread cache")


class Delivery:
    """Collects what ``deliver`` got, and in which thread, for a test to wait on."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.result: outcome.Outcome[Any] | None = None
        self.thread: threading.Thread | None = None

    def __call__(self, result: outcome.Outcome[Any]) -> None:
        self.result = result
        self.thread = threading.current_thread()
        self.arrived.set()

    def wait(self) -> outcome.Outcome[Any]:
        assert self.arrived.wait(10), "deliver was never called"
        assert self.result is not None
        return self.result


def test_fn_runs_in_a_worker_and_its_value_is_delivered() -> None:
    delivery = Delivery()
    lowlevel.start_thread_soon(threading.current_thread, delivery)
    result = delivery.wait()
    assert isinstance(result, outcome.Value)
    assert result.value is not threading.current_thread()
    assert result.value is delivery.thread  # deliver ran in the same worker thread


def test_fn_exception_is_delivered_as_an_error() -> None:
    def fail() -> None:
        raise ValueError("in worker")

    delivery = Delivery()
    lowlevel.start_thread_soon(fail, delivery)
    result = delivery.wait()
    assert isinstance(result, outcome.Error)
    assert isinstance(result.error, ValueError)


def test_name_names_the_thread_while_the_job_runs() -> None:
    delivery = Delivery()
    lowlevel.start_thread_soon(lambda: threading.current_thread().name, delivery, name="pixie")
    assert delivery.wait().unwrap() == "pixie"


def test_default_name_says_it_is_a_trio_thread() -> None:
    delivery = Delivery()
    lowlevel.start_thread_soon(lambda: threading.current_thread().name, delivery)
    assert delivery.wait().unwrap().startswith("Trio thread")


def test_works_without_a_running_event_loop() -> None:
    delivery = Delivery()
    lowlevel.start_thread_soon(lambda: 1 + 1, delivery)
    assert delivery.wait().unwrap() == 2


def test_many_concurrent_jobs_all_complete() -> None:
    deliveries = [Delivery() for _ in range(50)]
    gate = threading.Event()
    for index, delivery in enumerate(deliveries):
        lowlevel.start_thread_soon(lambda i=index: gate.wait() and i, delivery)
    gate.set()
    assert [d.wait().unwrap() for d in deliveries] == list(range(50))


# ---------------------------------------------------------------------- the cache itself
@pytest.fixture
def make_cache() -> Callable[..., Any]:
    from triolet._thread_cache import ThreadCache

    # Short default timeout: the workers a test leaves parked go away soon after it.
    def make(idle_timeout: float = 2.0) -> ThreadCache:
        return ThreadCache(idle_timeout=idle_timeout)

    return make


@triolet_only
def test_an_idle_worker_is_reused_for_the_next_job(make_cache: Callable[..., Any]) -> None:
    cache = make_cache()
    threads = set()
    for _ in range(20):
        delivery = Delivery()
        cache.start_thread_soon(threading.current_thread, delivery)
        threads.add(delivery.wait().unwrap())
    assert len(threads) == 1


@triolet_only
def test_an_idle_worker_exits_after_the_idle_timeout(make_cache: Callable[..., Any]) -> None:
    cache = make_cache(idle_timeout=0.01)
    delivery = Delivery()
    cache.start_thread_soon(threading.current_thread, delivery)
    worker_thread = delivery.wait().unwrap()
    worker_thread.join(10)
    assert not worker_thread.is_alive()
    assert not cache.idle_workers


@triolet_only
def test_a_busy_worker_is_not_handed_a_second_job(make_cache: Callable[..., Any]) -> None:
    cache = make_cache()
    gate = threading.Event()
    first, second = Delivery(), Delivery()
    cache.start_thread_soon(lambda: gate.wait() and threading.current_thread(), first)
    cache.start_thread_soon(threading.current_thread, second)
    second_thread = second.wait().unwrap()  # completes while the first job still blocks
    gate.set()
    assert first.wait().unwrap() is not second_thread


@triolet_only
def test_a_raising_deliver_is_reported_and_the_worker_carries_on(
    make_cache: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[BaseException | None] = []
    report_arrived = threading.Event()

    def excepthook(args: Any) -> None:
        reported.append(args.exc_value)
        report_arrived.set()

    monkeypatch.setattr(threading, "excepthook", excepthook)
    cache = make_cache()

    def bad_deliver(result: outcome.Outcome[Any]) -> None:
        raise RuntimeError("deliver failed")

    cache.start_thread_soon(threading.current_thread, bad_deliver)
    assert report_arrived.wait(10)
    done = Delivery()
    cache.start_thread_soon(threading.current_thread, done)
    assert done.wait().unwrap().is_alive()
    assert len(reported) == 1 and isinstance(reported[0], RuntimeError)


@triolet_only
def test_a_worker_claimed_as_it_times_out_still_runs_the_job(
    make_cache: Callable[..., Any],
) -> None:
    from triolet._thread_cache import _Worker

    cache = make_cache()
    worker = _Worker(cache)
    real_wakeup = worker.wakeup
    second = Delivery()
    timed_waits = 0

    class ClaimedAsItTimesOut:
        """The worker's second timed wait "times out" just after a dispatcher claimed it."""

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            nonlocal timed_waits
            if timeout == -1:
                return real_wakeup.acquire()
            timed_waits += 1
            if timed_waits == 1:
                return real_wakeup.acquire(timeout=timeout)
            cache.start_thread_soon(threading.current_thread, second)
            return False

        def release(self) -> None:
            real_wakeup.release()

    worker.wakeup = ClaimedAsItTimesOut()  # type: ignore[assignment]
    first = Delivery()
    # Hand over the first job the way start_thread_soon does for a new worker.
    worker.job = (threading.current_thread, first, "first job", True)
    real_wakeup.release()
    worker.thread.start()
    assert first.wait().unwrap() is worker.thread
    assert second.wait().unwrap() is worker.thread
