"""Hostile AWS text through the TUI on a real pseudo-terminal, read by a terminal emulator.

A log stream named with an OSC title sequence and log lines holding ESC [2J, OSC 0, OSC 8 and
CR reach the Result screen (and the lines left on the terminal when the wizard ends): the
emulator's title stays what it was, nothing of them arrives as a raw control byte, and the
person reads them as escapes.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pyte
import pytest

from tests.aws.conftest import allow_exports
from tests.aws.test_hostile_text import BUCKET, GROUP, STREAM, seed
from tests.hostile import CORPUS
from tests.pty_drain import drain_until_exit
from wizard.core.text import visible
from wizard.sandbox.server import Sandbox, SandboxConfig

COLUMNS, ROWS = 160, 60
ENTER, NEXT = "\r", "\x0e"  # Enter, Ctrl+N (Next)
HANG_GUARD_S = 90.0  # breaks a hang into a failure; not a time limit on anything that works


@pytest.fixture
def hostile_sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox(SandboxConfig(scenario="demo", export_delay=0.3)).start()
    try:
        allow_exports(sandbox, BUCKET)
        seed(sandbox, GROUP, STREAM, list(CORPUS))  # written last: the default log group
        yield sandbox
    finally:
        sandbox.stop()


class Terminal:
    def __init__(self, sandbox: Sandbox, state: Path) -> None:
        env = {
            **os.environ,
            **sandbox.env(),
            "TERM": "xterm-256color",
            "COLUMNS": str(COLUMNS),
            "LINES": str(ROWS),
            "XDG_STATE_HOME": str(state),
            "TEXTUAL_ANIMATIONS": "none",
        }
        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wizard", "--repair", BUCKET],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        os.close(follower)
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.screen.set_title("untouched")
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def _read(self) -> None:
        ready, _, _ = select.select([self.leader], [], [], 0.1)
        if ready:
            try:
                data = os.read(self.leader, 1 << 16)
            except OSError:
                return
            self.raw += data
            self.stream.feed(data)

    def wait_for(self, *needles: str) -> None:
        deadline = time.monotonic() + HANG_GUARD_S
        while not all(n in self.text for n in needles):
            assert time.monotonic() < deadline, f"never shown: {needles}\n{self.text}"
            self._read()

    def type(self, keys: str) -> None:
        os.write(self.leader, keys.encode())

    def finish(self) -> int:
        """Quit and read everything up to the exit (the farewell lines included)."""
        self.type("q")
        deadline = time.monotonic() + HANG_GUARD_S
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read()
        for _ in range(10):  # what was written just before the exit
            self._read()
        return drain_until_exit(self.leader, self.process, timeout=HANG_GUARD_S)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.leader)


@pytest.mark.slow
def test_a_hostile_stream_name_and_log_lines_leave_the_terminal_title_unchanged(
    hostile_sandbox: Sandbox, tmp_path: Path
) -> None:
    terminal = Terminal(hostile_sandbox, tmp_path)
    try:
        terminal.wait_for("Step 4 of 7", "What the doctor found", "Next: apply")
        terminal.type(NEXT)
        terminal.wait_for("Type apply")
        terminal.type("apply" + ENTER)
        terminal.wait_for("Changes made", "Next: test export")
        terminal.type(NEXT)
        terminal.wait_for("Step 6 of 7", GROUP)
        terminal.type(ENTER)  # start the export of the hostile group
        # Read as escapes (the screen shows them once the Result is drawn).
        terminal.wait_for(
            "Step 7 of 7",
            f"First decrypted lines of {visible(STREAM)}",
            visible("wipe \x1b[2J done"),
            visible(CORPUS[1]),
        )
        assert terminal.finish() == 0
    finally:
        terminal.close()
    # The app's own sequences may touch it (pyte reads one of Textual's as ";default"); the
    # stream's never does (before the fix the title read "PWNED-TITLE" once the wizard ended).
    assert "PWNED" not in terminal.screen.title
    raw = bytes(terminal.raw)
    for sequence in (b"\x1b]0;PWNED", b"\x1b]2;PWNED", b"\x1b]8;;http://evil", b"\x1b[2J done"):
        assert sequence not in raw
    assert b"\r" + b"OVERWRITTEN" not in raw and "\u202e".encode() not in raw
    # The lines left on the terminal after the wizard name the object visibly too.
    assert visible(STREAM).encode() in raw.split(b"first object:")[-1]
