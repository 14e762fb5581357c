"""Ctrl+C while plain mode or a command works: one rule for both (wizard.terminal)."""

from __future__ import annotations

import _thread
import signal
import threading
from collections.abc import Iterator

import pytest

from wizard.terminal import run_interruptible

HANG_GUARD_S = 120.0  # breaks a hang into a failure; not a time limit on anything that works


@pytest.fixture
def python_ctrl_c() -> Iterator[None]:
    """Ctrl+C raises KeyboardInterrupt in the main thread, as in a fresh ``python``: whatever
    an earlier test in this worker left as the SIGINT handler (with SIG_IGN,
    ``_thread.interrupt_main`` does nothing and the test would wait in vain)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_first_ctrl_c_cancels_a_later_one_only_says_it_is_finishing(
    python_ctrl_c: None,
) -> None:
    cancel = threading.Event()
    said: list[str] = []
    cancelled, repeated = threading.Event(), threading.Event()

    def on_cancel(interrupt: KeyboardInterrupt) -> None:
        said.append("cancelling")
        cancelled.set()

    def on_again() -> None:
        said.append("still finishing")
        repeated.set()

    def work() -> str:
        _thread.interrupt_main()  # Ctrl+C, as the terminal sends it to the main thread
        assert cancelled.wait(HANG_GUARD_S)
        _thread.interrupt_main()  # and again: the worker is not abandoned mid-call
        assert repeated.wait(HANG_GUARD_S)
        return "the whole call"

    result = run_interruptible(work, cancel, on_cancel=on_cancel, on_again=on_again)
    assert result == "the whole call"
    assert cancel.is_set()
    assert said == ["cancelling", "still finishing"]


def test_the_works_own_error_reaches_the_caller_as_it_is() -> None:
    class Refused(Exception):
        pass

    def work() -> None:
        raise Refused("no")

    try:
        run_interruptible(work, threading.Event(), on_cancel=lambda _: None, on_again=lambda: None)
    except Refused as error:
        assert str(error) == "no"
    else:
        raise AssertionError("the error was swallowed")
