"""The threads that run the TUI's thread workers: all started up front, handed jobs by a queue.

Textual runs a thread worker with ``loop.run_in_executor``, and the UI thread itself submits
the job. ``ThreadPoolExecutor.submit`` takes a lock that every ThreadPoolExecutor in the
process shares, and holds it while it starts a thread and waits until that thread runs. The
AWS layer makes short-lived pools (1,000 DescribeKey calls, a bucket's dozen reads), so the
UI thread waited for other pools' threads to start: up to half a second with the
interpreter busy. Here ``submit`` only puts the job on a queue. (It is a ThreadPoolExecutor
by type only: asyncio accepts nothing else as the default executor.)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class WorkerThreads(ThreadPoolExecutor):
    """``count`` threads, started at once; ``submit`` never starts one nor takes a lock
    another pool holds."""

    def __init__(self, count: int, name: str) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        super().__init__(max_workers=count, thread_name_prefix=name)  # starts no thread
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._workers = [
            threading.Thread(target=self._run, name=f"{name}_{index}") for index in range(count)
        ]
        for thread in self._workers:
            thread.start()

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:  # ours alone: shutdown() vs submit()
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._jobs.put((future, fn, args, kwargs))
        return future

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args, kwargs = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            del job, future, fn, args, kwargs  # no reference kept while idle

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if cancel_futures:
                    self._cancel_queued()
                for _ in self._workers:
                    self._jobs.put(None)  # one stop per thread, after the queued jobs
        if wait:
            for thread in self._workers:
                if thread is not threading.current_thread():
                    thread.join()

    def _cancel_queued(self) -> None:
        pending: list[_Job] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                pending.append(job)
        for future, *_ in pending:
            future.cancel()
