"""Waiting for a program on a pseudo-terminal to exit.

A program writes to its terminal until the moment it exits (Textual restores the screen on the
way out). If nobody reads the other end, the pty buffer fills and those last writes block for
ever, so whoever waits for the exit must keep reading.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time

import pyte


def drain_until_exit(fd: int, process: subprocess.Popen[bytes], timeout: float) -> int:
    """Read and discard ``fd`` until ``process`` exits; its exit code (TimeoutExpired if not)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                os.read(fd, 1 << 16)
            except OSError:  # the child closed its end; nothing more to read
                time.sleep(0.05)
    return process.wait(timeout=max(0.1, deadline - time.monotonic()))


class AnsweringScreen(pyte.Screen):
    """A pyte screen that answers the terminal's reports as a real terminal does, on the
    pty's controlling side: prompt_toolkit asks for the cursor position (ESC [ 6 n) before
    every question and, unanswered, waits about a second for the reply each time."""

    def __init__(self, columns: int, rows: int, controller: int) -> None:
        super().__init__(columns, rows)
        self._controller = controller

    def write_process_input(self, data: str) -> None:
        with contextlib.suppress(OSError):  # the program has gone: no one to answer
            os.write(self._controller, data.encode())
