"""Fast typing through the real terminal driver loses nothing.

The wizard runs as a process on a pseudo-terminal, as a person starts it; what it draws is
read back through a terminal emulator (pyte). Each burst of keys is written in one go, as a
fast typist or a paste sends them, while the screen is still busy (the key list reads its
rotation column in the background, the bucket list checks every bucket): the Enter at the end
of the burst submits the field, so Review shows exactly what the field held by then.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pyte
import pytest

from tests.conftest import installed_cli
from tests.pty_drain import drain_until_exit

COLUMNS, ROWS = 120, 40
UP, ENTER = "\x1b[A", "\r"
TRIALS = 3
# Breaks a hang into a failure; not a time limit on anything that works.
HANG_GUARD_S = 90.0


class Terminal:
    """The wizard on a pseudo-terminal, its screen kept by a terminal emulator."""

    def __init__(self, state: Path) -> None:
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLUMNS": str(COLUMNS),
            "LINES": str(ROWS),
            "XDG_STATE_HOME": str(state),
            "TMPDIR": str(state),
            "TEXTUAL_ANIMATIONS": "none",
        }
        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            [*installed_cli(), "--demo", "--export-delay", "0.3"],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        os.close(follower)
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.ByteStream(self.screen)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, *needles: str) -> None:
        deadline = time.monotonic() + HANG_GUARD_S
        while not all(n in self.text for n in needles):
            assert time.monotonic() < deadline, f"never shown: {needles}\n{self.text}"
            ready, _, _ = select.select([self.leader], [], [], 0.1)
            if ready:
                self.stream.feed(os.read(self.leader, 1 << 16))

    def type(self, keys: str) -> None:
        os.write(self.leader, keys.encode())  # one write: nothing between the keys

    def quit(self) -> int:
        self.type("q")
        return drain_until_exit(self.leader, self.process, timeout=HANG_GUARD_S)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.leader)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_fast_typist_loses_no_key_in_the_alias_and_bucket_fields(
    trial: int, tmp_path: Path
) -> None:
    alias = f"typed-fast-{trial}-abcdefghijklmnopqrstuvwxyz"
    bucket = f"typed-fast-{trial}-bucket-abcdefghijklmnopqrstuvwxyz"
    terminal = Terminal(tmp_path)
    try:
        terminal.wait_for("Connected to", "ap-northeast-1")
        terminal.type(ENTER)  # the region
        terminal.wait_for("Step 2 of 7", "alias/demo-exports")
        # Up to "Create a new key", Enter: the alias field takes the focus with its suggestion
        # selected, so what is typed replaces it; Enter submits.
        terminal.type(UP + ENTER + alias + ENTER)
        terminal.wait_for("Step 3 of 7", "demo-sse-s3")
        # "Create a new bucket" is highlighted: Enter, type, submit.
        terminal.type(ENTER + bucket + ENTER)
        terminal.wait_for("Step 4 of 7")
        terminal.wait_for(f"alias/{alias}", bucket)
        assert terminal.quit() == 0
    finally:
        terminal.close()
