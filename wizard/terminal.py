"""What the terminal can show: shared by the faces, cheap to import (no UI libraries)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

COMMANDS_HINT = (
    "cwl-export-wizard --plain (line-by-line prompts), or the commands: "
    "doctor, plan, apply, test-export"
)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or not a file at all
        return False


def tui_unavailable_reason(stdin: Any, stdout: Any, env: Mapping[str, str]) -> str | None:
    """Why the full-screen TUI cannot start here, with what to use instead; None: it can."""
    problems: list[str] = []
    if not _isatty(stdin):
        problems.append("standard input is not a terminal")
    if not _isatty(stdout):
        problems.append("standard output is not a terminal")
    if env.get("TERM", "") == "dumb":
        problems.append("TERM=dumb cannot draw a full-screen app")
    if not problems:
        return None
    if not _isatty(stdin):
        # Nobody types at prompts: the commands take everything as options, and plain mode
        # reads its answers (numbers, names or Enter for the default) line by line from stdin.
        instead = (
            "Use the commands, which take every choice as an option: "
            "cwl-export-wizard doctor | plan | apply | test-export (see --help); or "
            "cwl-export-wizard --plain, which reads one answer per line from standard input."
        )
    else:
        instead = f"Use {COMMANDS_HINT}."
    return f"The full-screen wizard cannot start: {'; '.join(problems)}. {instead}"


def supports_color(stream: Any, env: Mapping[str, str]) -> bool:
    """ANSI colour only on a terminal; NO_COLOR (https://no-color.org) and TERM=dumb turn it off."""
    if env.get("NO_COLOR"):
        return False
    if env.get("TERM", "") == "dumb":
        return False
    return _isatty(stream)


STILL_FINISHING = "Still finishing; please wait (the journal records each step)."


class StopSignal(KeyboardInterrupt):
    """SIGTERM or SIGHUP taken as Ctrl+C (``stop_signals_as_ctrl_c``): ``name`` says which,
    so that what the stop says names it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@contextmanager
def stop_signals_as_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP (``timeout``, a CI job cancelled, the terminal closed) stop the work
    as Ctrl+C does, so that read-only work still says what it read and stops what it started
    (a survey's credential processes). Only on the main thread, where signals arrive."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise StopSignal(signal.Signals(signum).name)

    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]
    before = {number: signal.signal(number, interrupt) for number in wanted}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def run_interruptible(
    work: Callable[[], T],
    cancel: threading.Event,
    *,
    on_cancel: Callable[[KeyboardInterrupt], None],
    on_again: Callable[[], None],
    name: str = "cwl-wizard-worker",
    abandon_on_again: bool = False,
) -> T:
    """Run ``work`` in a thread while this (main) thread takes Ctrl+C: the first sets
    ``cancel`` (``on_cancel`` says what stops, given the interrupt: a ``StopSignal`` for
    SIGTERM or SIGHUP), any later one only says the work is finishing
    (``on_again``). For plain mode and the commands alike.

    Work that writes is never abandoned mid-call: AWS sees a whole call or none, and an
    apply's journal and rollback complete (its own timeouts bound every call; SIGQUIT or kill
    still end the process at once). ``abandon_on_again``: the work only reads (a survey), so
    a second Ctrl+C raises KeyboardInterrupt at once instead.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as error:  # handed to the main thread as it is
            box["error"] = error
        finally:
            done.set()

    worker: threading.Thread | None = threading.Thread(target=target, name=name, daemon=True)
    while True:
        try:
            if worker is not None:  # started inside the try: a Ctrl+C as it starts cancels
                starting, worker = worker, None
                starting.start()
            # An Event, not Thread.join: on CPython 3.11 a join interrupted by Ctrl+C can
            # mark a still-running thread as ended (the bpo-45274 handling in
            # _wait_for_tstate_lock). The timeout lets Ctrl+C in on every platform.
            if done.wait(0.2):
                break
        except KeyboardInterrupt as interrupt:
            if cancel.is_set():
                if abandon_on_again:
                    raise
                on_again()
            else:
                cancel.set()
                on_cancel(interrupt)
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value
