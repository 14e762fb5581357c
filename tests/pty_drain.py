"""Waiting for a program on a pseudo-terminal to exit.

A program writes to its terminal until the moment it exits (Textual restores the screen on the
way out). If nobody reads the other end, the pty buffer fills and those last writes block for
ever, so whoever waits for the exit must keep reading.
"""

from __future__ import annotations

import os
import select
import subprocess
import time


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
