"""The README's two main commands do what it says.

The install half of each command is what CI itself runs (.ci/run installs with pip and runs
the test command); here we check that the README and .ci/run agree, and run the demo command
for real in a pseudo-terminal: it draws the first step, and quitting exits 0.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.pty_drain import drain_until_exit

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced_command(heading: str) -> str:
    section = README.split(f"## {heading}", 1)[1]
    match = re.search(r"```bash\n(.+?)\n```", section, re.S)
    assert match, f"no bash block under {heading!r}"
    return match.group(1).strip()


def test_demo_and_test_commands_are_documented_and_match_ci() -> None:
    demo = fenced_command("Try it in one minute (no AWS account needed)")
    tests = fenced_command("Run the tests")
    assert demo.endswith("pip install . && cwl-export-wizard --demo")
    assert tests.endswith("pip install -e '.[test]' && python -m pytest -q -n 4")
    ci = (ROOT / ".ci" / "run").read_text()
    for step in (
        "python3 -m venv .venv",
        "pip install -q -e '.[test]'",
        "python -m pytest -q -n 4",
    ):
        assert step in ci, f".ci/run does not run {step!r} like the README"


def _cli() -> list[str]:
    script = shutil.which("cwl-export-wizard", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "wizard"]


def _read_until(fd: int, pattern: bytes, deadline: float) -> bytes:
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if pattern in seen:
                return seen
    raise AssertionError(f"{pattern!r} never appeared; the screen showed: {seen[-2000:]!r}")


@pytest.mark.slow
def test_demo_command_draws_the_first_step_and_quits_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
        "XDG_STATE_HOME": str(tmp_path),
        "TEXTUAL_ANIMATIONS": "none",
    }
    leader, follower = pty.openpty()
    os.set_blocking(leader, True)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [*_cli(), "--demo"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(follower)
    try:
        # Generous: the sandbox starts behind the first screen; a loaded CI machine is slow.
        _read_until(leader, b"Region", time.monotonic() + 60)
        _read_until(leader, b"123456789012", time.monotonic() + 60)
        os.write(leader, b"q")
        # Keep reading while it exits: a full pty buffer would block the app's last writes.
        assert drain_until_exit(leader, process, timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)


def test_the_readmes_caller_policy_is_what_iam_policy_prints() -> None:
    import json
    import shlex

    from wizard.cli import build_parser
    from wizard.core.iam_policy import PolicyScope, identity_policy

    section = README.split("## Using it against a real account", 1)[1]
    command = re.search(r"```bash\n(cwl-export-wizard iam-policy.+?)\n```", section, re.S)
    shown = re.search(r"```json\n(.+?)\n```", section, re.S)
    assert command and shown
    args = build_parser().parse_args(shlex.split(command.group(1).replace("\\\n", " "))[1:])
    scope = PolicyScope(
        region=args.region,
        account=args.account,
        bucket=args.bucket,
        prefix=args.prefix,
        key=args.key,
        log_group=args.log_group,
    )
    assert json.loads(shown.group(1)) == identity_policy(scope)
