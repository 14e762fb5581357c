"""WorkerThreads: the TUI's thread-worker pool, whose submit never waits on another pool."""

from __future__ import annotations

import concurrent.futures.thread as futures_thread
import threading
import time

import pytest

from wizard.tui.executor import WorkerThreads


def test_results_exceptions_and_order_of_a_single_thread() -> None:
    pool = WorkerThreads(1, "test-pool")
    try:
        seen: list[int] = []
        futures = [pool.submit(seen.append, n) for n in range(5)]
        failing = pool.submit(int, "not a number")
        assert [f.result(5) for f in futures] == [None] * 5
        assert seen == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError):
            failing.result(5)
        assert pool.submit(lambda a, b=0: a + b, 2, b=3).result(5) == 5
    finally:
        pool.shutdown()


def test_submit_does_not_wait_for_the_lock_every_thread_pool_shares() -> None:
    """ThreadPoolExecutor.submit holds this lock while it starts a thread (and waits for it
    to run); the UI thread must not wait behind another pool doing that."""
    pool = WorkerThreads(2, "test-pool")
    submitted = threading.Event()
    try:
        with futures_thread._global_shutdown_lock:  # another pool is starting a thread
            submitter = threading.Thread(
                target=lambda: (pool.submit(time.sleep, 0), submitted.set())
            )
            submitter.start()
            assert submitted.wait(5), "submit waited for another pool's lock"
        submitter.join()
    finally:
        pool.shutdown()


def test_a_job_cancelled_in_the_queue_never_runs() -> None:
    pool = WorkerThreads(1, "test-pool")
    gate = threading.Event()
    ran: list[str] = []
    try:
        blocker = pool.submit(gate.wait, 5)
        queued = pool.submit(ran.append, "queued")  # behind the blocker: still queued
        assert queued.cancel()
        gate.set()
        blocker.result(5)
    finally:
        pool.shutdown()
    assert ran == []


def test_shutdown_runs_what_was_queued_then_refuses_new_jobs() -> None:
    pool = WorkerThreads(2, "test-pool")
    done: list[int] = []
    for n in range(6):
        pool.submit(lambda n=n: (time.sleep(0.01), done.append(n)))
    pool.shutdown(wait=True)
    assert sorted(done) == list(range(6))
    assert not any(t.name.startswith("test-pool") for t in threading.enumerate())
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_shutdown_can_cancel_what_is_queued() -> None:
    pool = WorkerThreads(1, "test-pool")
    started, gate = threading.Event(), threading.Event()
    blocker = pool.submit(lambda: (started.set(), gate.wait(5))[1])
    queued = [pool.submit(time.sleep, 0) for _ in range(3)]
    assert started.wait(5)
    stopper = threading.Thread(target=pool.shutdown, kwargs={"cancel_futures": True})
    stopper.start()
    stopper.join(0.2)
    gate.set()
    stopper.join(5)
    assert blocker.result(5) is True
    assert all(f.cancelled() for f in queued)


def test_at_least_one_thread() -> None:
    with pytest.raises(ValueError):
        WorkerThreads(0, "test-pool")
