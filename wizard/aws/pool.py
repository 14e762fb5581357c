"""The AWS layer's one long-lived thread pool, sized to the connection pool.

Calls fan out (a bucket's five configurations, a key's policy and aliases, a thousand
DescribeKey calls) on threads that live as long as the session: no pool is started per call,
so no thread start ever waits behind another one, and a screen's worker never waits for a
thread to be born.

A fan-out may itself fan out (a snapshot reads the bucket, which reads its configurations).
With one pool, a task that waits for its subtasks while every thread waits the same way would
deadlock. ``fan_out`` avoids that: the calling thread runs every subtask that no pool thread
has taken yet, and waits only for subtasks a thread is already running. A thread never waits
for work that nobody runs, so nesting is safe at any depth; a busy pool only means the caller
does more of the work itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class _Claimable(Generic[T]):
    """A call that whichever thread claims it first runs, exactly once."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._claimed = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        with self._lock:
            if self._claimed:
                return
            self._claimed = True
        try:
            self._value = self._call()
        except BaseException as error:  # handed to whoever waits for it
            self._error = error
        finally:
            self._done.set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class AwsPool:
    """Threads for the AWS layer's concurrent calls (one per pooled connection).

    ``workers=0``: no threads; every call runs on the calling thread, one after another (a
    baseline that measures what the concurrency is worth)."""

    def __init__(self, workers: int, name: str = "aws") -> None:
        self._workers = workers
        self._name = name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                if self._closed:
                    raise RuntimeError("the AWS pool is closed")
                self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)
            return self._executor

    def submit(self, call: Callable[..., T], *args: object) -> Future[T]:
        """A leaf call (it must not wait on this pool itself): see ``fan_out`` otherwise."""
        return self._pool().submit(call, *args)

    def fan_out(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``calls`` concurrently; their results in order. The first error is raised
        once every call has ended (none is left running behind the caller's back)."""
        tasks = [_Claimable(call) for call in calls]
        if len(tasks) > 1 and self._workers > 0:
            pool = self._pool()
            for task in tasks[1:]:
                pool.submit(task.run)
        for task in tasks:
            task.run()  # whatever no pool thread has taken yet, this thread does itself
        results: list[T] = []
        error: BaseException | None = None
        for task in tasks:
            try:
                results.append(task.result())
            except BaseException as exc:
                error = error or exc
        if error is not None:
            raise error
        return results

    def close(self) -> None:
        """Stop taking work; calls already running finish on their own (never waited for)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
