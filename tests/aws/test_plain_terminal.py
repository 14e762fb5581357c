"""Plain mode on a real terminal when its stdout is not one: ``--demo --plain > log``.

The person answers on the terminal while the log collects the wizard's lines: before the
question about applying, the terminal (stderr) shows what would change, and at the end what was
changed and whether the export worked. TERM=dumb gets no cursor movement and no reverse video.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte

from tests.pty_drain import AnsweringScreen, drain_until_exit

COLUMNS, ROWS = 200, 60
HANG_GUARD_S = 120.0  # breaks a hang into a failure; not a time limit on anything that works
ENTER = "\r"
# Anything that moves the cursor, erases, or turns reverse video on.
CURSOR_OR_REVERSE = re.compile(rb"\x1b\[[0-9;?]*[ABCDEFGHJKSTfsu]|\x1b\[[0-9;]*7m|\x1b\[\?")


class Session:
    def __init__(self, tmp_path: Path, *, term: str, stdout_to_file: bool) -> None:
        self.log = tmp_path / "log"
        env = {
            **os.environ,
            "TERM": term,
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "TMPDIR": str(tmp_path),
        }
        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wizard", "--demo", "--plain", "--export-delay", "0.3"],
                stdin=follower,
                stdout=log if stdout_to_file else follower,
                stderr=follower,
                env=env,
                cwd=tmp_path,
                close_fds=True,
                start_new_session=True,
            )
        os.close(follower)
        self.screen = AnsweringScreen(COLUMNS, ROWS, self.leader)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    def _read(self) -> None:
        ready, _, _ = select.select([self.leader], [], [], 0.1)
        if ready:
            try:
                data = os.read(self.leader, 1 << 16)
            except OSError:
                return
            self.raw += data
            self.stream.feed(data)

    def seen(self) -> str:
        return self.raw.decode(errors="replace")

    def wait_for(self, needle: str) -> None:
        deadline = time.monotonic() + HANG_GUARD_S
        while needle not in self.seen():
            assert self.process.poll() is None, f"ended before {needle!r}:\n{self.seen()}"
            assert time.monotonic() < deadline, f"never shown: {needle!r}\n{self.seen()}"
            self._read()

    def answer(self, question: str, keys: str = ENTER) -> None:
        self.wait_for(question)
        os.write(self.leader, keys.encode())

    def finish(self) -> int:
        deadline = time.monotonic() + HANG_GUARD_S
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read()
        for _ in range(5):
            self._read()
        return drain_until_exit(self.leader, self.process, timeout=HANG_GUARD_S)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.leader)


def answer_everything(session: Session, apply_keys: str) -> None:
    for question in (
        "Region of the log groups and the bucket:",
        "KMS key that encrypts the exported logs:",
        "S3 bucket the logs are exported to:",
        "Name of the new bucket:",
        "Prefix (folder) for the exported objects:",
        "Other accounts whose log groups export here too",
    ):
        session.answer(question)
    session.wait_for("to the sandbox?")
    # Before the question about applying: what would change, on the terminal.
    before = session.seen().split("to the sandbox?")[0]
    assert "6 changes, in this order:" in before
    assert "1. PutKeyPolicy" in before and "6. PutBucketPolicy" in before
    session.answer("to the sandbox?", apply_keys)
    for question in (
        "Log group for the test export",
        "Export the events of the last",
        "Only streams whose name starts with",
    ):
        session.answer(question)


def test_with_stdout_in_a_file_the_terminal_shows_the_changes_before_asking_and_the_outcome(
    tmp_path: Path,
) -> None:
    session = Session(tmp_path, term="xterm-256color", stdout_to_file=True)
    try:
        answer_everything(session, "y")
        assert session.finish() == 0
    finally:
        session.close()
    on_terminal = session.seen()
    assert "The export worked." in on_terminal
    assert re.search(r"6 changes made in the sandbox; journal: ", on_terminal)
    assert re.search(r"Test export [\w-]+: COMPLETED; first object: s3://", on_terminal)
    log = session.log.read_text()
    assert "6 changes, in this order:" in log and "The export worked." in log


def test_term_dumb_gets_no_cursor_movement_and_no_reverse_video(tmp_path: Path) -> None:
    session = Session(tmp_path, term="dumb", stdout_to_file=False)
    try:
        answer_everything(session, "y" + ENTER)
        assert session.finish() == 0
    finally:
        session.close()
    assert "The export worked." in session.seen()
    assert not CURSOR_OR_REVERSE.search(bytes(session.raw)), CURSOR_OR_REVERSE.findall(
        bytes(session.raw)
    )[:5]


def test_piped_input_without_plain_mentions_plain(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "--demo"],
        input="\n",
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )
    assert done.returncode == 2
    assert "--plain" in done.stderr and "Traceback" not in done.stderr
