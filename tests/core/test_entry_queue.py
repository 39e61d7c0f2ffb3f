"""TrioToken.run_sync_soon: getting work into a run from other threads (and from the run)."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import outcome
import pytest

import triolet
from triolet import lowlevel
from triolet.testing import wait_all_tasks_blocked


async def test_run_sync_soon_from_another_thread_runs_in_the_loop_thread() -> None:
    token = lowlevel.current_trio_token()
    loop_thread = threading.get_ident()
    ran_in = []
    task = lowlevel.current_task()

    def in_loop() -> None:
        ran_in.append(threading.get_ident())
        lowlevel.reschedule(task)

    thread = threading.Thread(target=token.run_sync_soon, args=(in_loop,))
    thread.start()
    await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.FAILED)
    thread.join()
    assert ran_in == [loop_thread]


async def test_run_sync_soon_wakes_a_run_blocked_on_nothing() -> None:
    token = lowlevel.current_trio_token()
    task = lowlevel.current_task()

    def wake_from_thread() -> None:
        token.run_sync_soon(lowlevel.reschedule, task, outcome.Value("from the thread"))

    thread = threading.Thread(target=wake_from_thread)
    thread.start()
    value = await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.FAILED)
    thread.join()
    assert value == "from the thread"


async def test_callbacks_run_in_order() -> None:
    token = lowlevel.current_trio_token()
    record: list[int] = []
    for i in range(10):
        token.run_sync_soon(record.append, i)
    await wait_all_tasks_blocked()
    assert record == list(range(10))


async def test_idempotent_callbacks_are_deduplicated() -> None:
    token = lowlevel.current_trio_token()
    record: list[int] = []
    token.run_sync_soon(record.append, 1, idempotent=True)
    token.run_sync_soon(record.append, 1, idempotent=True)
    token.run_sync_soon(record.append, 2, idempotent=True)
    token.run_sync_soon(record.append, 1, idempotent=True)
    await wait_all_tasks_blocked()
    assert record == [1, 2]


async def test_idempotent_callback_can_be_queued_again_after_it_ran() -> None:
    token = lowlevel.current_trio_token()
    record: list[int] = []
    token.run_sync_soon(record.append, 1, idempotent=True)
    await wait_all_tasks_blocked()
    token.run_sync_soon(record.append, 1, idempotent=True)
    await wait_all_tasks_blocked()
    assert record == [1, 1]


async def test_many_threads_can_queue_callbacks_at_once() -> None:
    token = lowlevel.current_trio_token()
    record: list[tuple[int, int]] = []
    task = lowlevel.current_task()
    n_threads, per_thread = 8, 200

    def worker(thread_index: int) -> None:
        for i in range(per_thread):
            token.run_sync_soon(record.append, (thread_index, i))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    token.run_sync_soon(lowlevel.reschedule, task)
    await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.FAILED)
    assert len(record) == n_threads * per_thread
    for t in range(n_threads):  # each thread's callbacks keep their order
        assert [i for (tt, i) in record if tt == t] == list(range(per_thread))


def test_callback_queued_just_before_main_returns_still_runs() -> None:
    record = []

    async def main() -> None:
        lowlevel.current_trio_token().run_sync_soon(record.append, "ran")

    triolet.run(main)
    assert record == ["ran"]


def test_run_sync_soon_after_the_run_is_run_finished_error() -> None:
    async def main() -> lowlevel.TrioToken:
        return lowlevel.current_trio_token()

    token = triolet.run(main)
    with pytest.raises(triolet.RunFinishedError):
        token.run_sync_soon(print, "too late")


def test_run_finished_error_is_a_runtime_error() -> None:
    assert issubclass(triolet.RunFinishedError, RuntimeError)


def test_raising_callback_is_a_trio_internal_error() -> None:
    def broken() -> None:
        raise ValueError("callback bug")

    async def main() -> None:
        lowlevel.current_trio_token().run_sync_soon(broken)
        await triolet.sleep_forever()

    with pytest.raises(triolet.TrioInternalError):
        triolet.run(main)


async def test_trio_token_is_the_same_for_the_whole_run() -> None:
    first = lowlevel.current_trio_token()
    seen = []

    async def child() -> None:
        seen.append(lowlevel.current_trio_token())

    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert seen == [first]
    assert hash(seen[0]) == hash(first)


def test_trio_tokens_of_different_runs_differ() -> None:
    async def main() -> lowlevel.TrioToken:
        return lowlevel.current_trio_token()

    assert triolet.run(main) != triolet.run(main)


async def test_trio_token_has_no_public_constructor() -> None:
    with pytest.raises(TypeError):
        lowlevel.TrioToken()  # type: ignore[call-arg]


def test_current_trio_token_outside_a_run_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        lowlevel.current_trio_token()


async def test_callback_queued_by_a_callback_runs_without_any_other_wakeup() -> None:
    token = lowlevel.current_trio_token()
    task = lowlevel.current_task()

    def first() -> None:
        token.run_sync_soon(lowlevel.reschedule, task, outcome.Value("second ran"))

    token.run_sync_soon(first)
    with triolet.fail_after(10):
        value = await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.SUCCEEDED)
    assert value == "second ran"


async def test_callbacks_run_as_one_system_task_that_is_not_the_caller() -> None:
    token = lowlevel.current_trio_token()
    seen: list[lowlevel.Task] = []

    def record_current_task() -> None:
        seen.append(lowlevel.current_task())

    token.run_sync_soon(record_current_task)
    await wait_all_tasks_blocked()
    thread = threading.Thread(target=token.run_sync_soon, args=(record_current_task,))
    thread.start()
    thread.join()
    await wait_all_tasks_blocked()
    assert len(seen) == 2
    assert seen[0] is seen[1]
    assert seen[0] is not lowlevel.current_task()


async def test_callback_from_a_thread_runs_while_the_loop_never_idles() -> None:
    token = lowlevel.current_trio_token()
    ran = threading.Event()
    thread = threading.Thread(target=token.run_sync_soon, args=(ran.set,))
    thread.start()
    with triolet.fail_after(10):
        while not ran.is_set():
            await lowlevel.checkpoint()  # always runnable: the loop polls only now and then
    thread.join()


@pytest.mark.usefixtures("io_backend")
async def test_bursts_of_callbacks_from_many_threads_all_wake_the_loop() -> None:
    # Each round, every thread queues one callback at the same moment, and the loop must
    # wake for the last of them: a lost wakeup leaves the round (and the test) waiting.
    token = lowlevel.current_trio_token()
    task = lowlevel.current_task()
    n_threads, rounds = 8, 100
    start = threading.Barrier(n_threads)
    # The loop's thread joins this one only once the round's callbacks all ran.
    round_over = threading.Barrier(n_threads + 1, timeout=30)
    arrived = 0

    def arrive() -> None:
        nonlocal arrived
        arrived += 1
        if arrived == n_threads:
            lowlevel.reschedule(task)

    def worker() -> None:
        for _ in range(rounds):
            start.wait()
            token.run_sync_soon(arrive)
            round_over.wait()

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    with triolet.fail_after(30):
        for _ in range(rounds):
            await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.SUCCEEDED)
            arrived = 0
            round_over.wait()  # the threads queued before waiting: this returns at once
    for thread in threads:
        thread.join()


@pytest.mark.usefixtures("io_backend")
async def test_wakeups_one_at_a_time_from_a_thread_are_never_lost() -> None:
    # The to_thread pattern: the thread wakes the loop, then waits for its answer before
    # waking it again. With epoll the eventfd is edge-triggered and never drained, so
    # every write must be an event of its own.
    token = lowlevel.current_trio_token()
    task = lowlevel.current_task()
    answered = threading.Semaphore(0)
    rounds = 1000
    missed: list[int] = []

    def thread_main() -> None:
        for n in range(rounds):
            token.run_sync_soon(lowlevel.reschedule, task)
            if not answered.acquire(timeout=10):
                missed.append(n)
                return

    thread = threading.Thread(target=thread_main)
    thread.start()
    with triolet.fail_after(30):
        for _ in range(rounds):
            await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.SUCCEEDED)
            answered.release()
    thread.join()
    assert missed == []


@pytest.mark.triolet_only
def test_waking_the_loop_of_a_finished_run_is_harmless() -> None:
    from triolet._core._entry_queue import EntryQueue

    queue = EntryQueue()
    queue.close()
    queue.wake_loop()  # a late Ctrl-C or thread: nothing to wake, and no error


class PollCounter(triolet.abc.Instrument):
    def __init__(self) -> None:
        self.polls = 0

    def before_io_wait(self, timeout: float) -> None:
        self.polls += 1


@pytest.mark.usefixtures("io_backend")
def test_a_served_wakeup_is_not_reported_again() -> None:
    # The wakeup fd is drained before its callbacks run; a fd left readable would be
    # reported by every poll and the loop would spin while it waits for the thread.
    counter = PollCounter()

    async def main() -> None:
        token = lowlevel.current_trio_token()
        task = lowlevel.current_task()

        def thread_main() -> None:
            token.run_sync_soon(lambda: None)
            time.sleep(0.2)
            token.run_sync_soon(lowlevel.reschedule, task)

        thread = threading.Thread(target=thread_main)
        thread.start()
        await lowlevel.wait_task_rescheduled(lambda _: lowlevel.Abort.FAILED)
        thread.join()

    triolet.run(main, instruments=[counter])
    assert counter.polls < 20


@pytest.mark.usefixtures("io_backend")
async def test_wakeup_and_socket_readiness_in_one_poll_are_both_served() -> None:
    token = lowlevel.current_trio_token()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        served = triolet.Event()
        async with triolet.open_nursery() as nursery:
            nursery.start_soon(lowlevel.wait_readable, a)
            await wait_all_tasks_blocked()
            # Both fds become readable before the loop polls again: one batch of events.
            b.send(b"x")
            token.run_sync_soon(served.set)
            with triolet.fail_after(5):
                await served.wait()
        assert a.recv(1) == b"x"


@pytest.mark.usefixtures("io_backend")
def test_ctrl_c_reaches_a_loop_blocked_on_the_wakeup_fd_alone() -> None:
    async def main() -> None:
        threading.Timer(0.05, os.kill, args=(os.getpid(), signal.SIGINT)).start()
        await triolet.sleep_forever()

    with pytest.raises(KeyboardInterrupt):
        triolet.run(main)


@pytest.mark.usefixtures("io_backend")
def test_to_thread_round_trips_in_guest_mode_wake_the_guest() -> None:
    import asyncio

    async def guest_main() -> int:
        total = 0
        for i in range(20):
            total += await triolet.to_thread.run_sync(lambda i=i: i)
        return total

    async def host() -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[outcome.Outcome[int]] = loop.create_future()
        lowlevel.start_guest_run(
            guest_main,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            done_callback=done.set_result,
        )
        result = await asyncio.wait_for(done, 10)
        return result.unwrap()

    assert asyncio.run(host()) == sum(range(20))
