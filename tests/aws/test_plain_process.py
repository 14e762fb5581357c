"""Plain mode as a process: answers piped in (a CI job, a script), Ctrl+C from outside."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.aws.conftest import DEMO_KEY, full_state
from tests.aws.conftest import session_for as session_of
from tests.conftest import StartSandbox
from wizard.core.errors import EXIT_INTERRUPTED, EXIT_NO_INPUT
from wizard.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
NEW_BUCKET = f"cwl-exports-{ACCOUNT}-ap-northeast-1"


def plain(
    *args: str, answers: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", "--plain", *args],
        input=answers,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
    )


def test_piped_answers_give_a_log_that_reads_top_to_bottom(tmp_path: Path) -> None:
    answers = (
        "\n".join(
            [
                "nowhere-1",  # not a region in the list: refused, asked again
                "",  # region: the default
                "",
                "",
                "",
                "",  # key, bucket: the defaults; the new bucket's name; the prefix
                "",  # no other source accounts
                "y",  # apply to the sandbox
                "",
                "",
                "",  # log group, window, every stream
            ]
        )
        + "\n"
    )
    done = plain("--demo", "--export-delay", "0.3", answers=answers, cwd=tmp_path)
    log = done.stdout
    assert done.returncode == 0, log + done.stderr
    assert "\r" not in log and "\033" not in log  # no prompt redraws, no colour in a file
    lines = log.splitlines()
    repeated = [a for a, b in itertools.pairwise(lines) if a == b and a.strip()]
    assert not repeated, repeated
    assert "  ✗ 'nowhere-1' is not one of the choices: give its number or its name." in lines
    # Each question once with its choices, then once with the answer it took.
    assert "? Region of the log groups and the bucket: ap-northeast-1" in lines
    assert f"? Name of the new bucket: {NEW_BUCKET}" in lines
    assert "? Apply these 6 changes to the sandbox? yes" in lines
    for step in range(1, 8):
        assert sum(line.startswith(f"Step {step} of 7 - ") for line in lines) == 1
    assert re.search(r"^\[6/6\] applied: PutBucketPolicy s3://", log, re.M)
    assert re.search(r"^export task [\w-]+: (\w+ \d+\.\ds / )*COMPLETED \d+\.\ds$", log, re.M)
    assert re.search(rf"^  s3://{NEW_BUCKET}/exportedlogs/[\w-]+/\S+/000000\.gz ", log, re.M)
    assert re.search(r"^  Algorithm +aws:kms$", log, re.M)
    sample = log.split("First decrypted lines of", 1)[1]
    assert re.search(r"^  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S", sample, re.M)
    assert "Traceback" not in log + done.stderr


def test_answers_that_run_out_end_with_their_own_code(tmp_path: Path) -> None:
    done = plain("--demo", answers="\n\n", cwd=tmp_path)
    assert done.returncode == EXIT_NO_INPUT, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(
        "The input ended before every question was answered.\nNothing was changed."
    )
    assert "Traceback" not in done.stdout + done.stderr


def test_no_input_at_all_changes_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "--plain", "--demo"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "Step 1 of 7" in done.stdout
    assert done.returncode == EXIT_NO_INPUT, done.stdout + done.stderr


def _buckets(sandbox: Sandbox) -> list[str]:
    return sorted(b["Name"] for b in sandbox.client("s3").list_buckets()["Buckets"])


def test_ctrl_c_during_a_real_account_apply_rolls_back(
    start_sandbox: StartSandbox, tmp_path: Path
) -> None:
    """Not the demo: an account behind an endpoint, so the confirmation is the typed word.
    Ctrl+C (SIGINT from outside) lands while the apply runs: it rolls back and exits 130."""
    sandbox = start_sandbox(scenario="demo")
    session = session_of(sandbox)
    before = full_state(session, "demo-broken-exports", (DEMO_KEY,)), _buckets(sandbox)
    # The second write (CreateBucket) is held in flight until the Ctrl+C has been seen: the
    # stop lands mid-apply however fast or loaded the machine.
    held = sandbox.gate("CreateBucket")
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard", "--plain"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **sandbox.env(), "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        # As from a terminal: a runner that started us in the background may have made the
        # tests ignore SIGINT, and a child inherits that (Python then keeps it ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("\n" * 6 + "APPLY\n")  # the word, in any case
    process.stdin.close()
    seen = ""
    for line in process.stdout:
        seen += line
        if line.startswith("[1/"):
            process.send_signal(signal.SIGINT)
        if "Ctrl+C: finishing the current AWS call" in line:
            break
    held.release()
    assert process.stderr is not None
    seen += process.stdout.read()  # to the end: the process has exited
    errors = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == EXIT_INTERRUPTED, seen + errors
    assert "? Type apply to make these 6 changes in account 123456789012" in seen
    assert "Ctrl+C: finishing the current AWS call, then rolling back" in seen
    assert seen.rstrip().endswith(
        "Rolled back: the destination is as it was before.\nNothing was changed."
    ), seen
    assert "Step 6 of 7" not in seen and "Traceback" not in seen + errors
    assert (full_state(session, "demo-broken-exports", (DEMO_KEY,)), _buckets(sandbox)) == before


def read_until(fd: int, text: str, timeout: float = 120) -> str:
    """What the pty shows until ``text`` appears (the deadline only guards against a hang)."""
    import select
    import time

    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        assert time.monotonic() < deadline, f"{text!r} never appeared in: {seen[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            seen += os.read(fd, 1 << 16)
    return seen.decode(errors="replace")


def test_with_stdout_in_a_file_the_questions_stay_on_the_terminal(tmp_path: Path) -> None:
    """``--plain > log`` at a terminal: the prompts are drawn on the terminal (stderr), the
    log gets the wizard's lines and no prompt."""
    import pty

    from tests.pty_drain import drain_until_exit

    controller, terminal = pty.openpty()
    log = tmp_path / "wizard.log"
    with log.open("w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "wizard", "--plain", "--demo"],
            stdin=terminal,
            stdout=stdout,
            stderr=terminal,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm", "NO_COLOR": "1"},
            start_new_session=True,
        )
    os.close(terminal)
    try:
        shown = read_until(controller, "Region of the log groups")
        os.write(controller, b"\x03")  # Ctrl+C at the first question
        code = drain_until_exit(controller, process, 120)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    assert code == EXIT_INTERRUPTED
    assert "ap-northeast-1" in shown  # the choices are on the terminal
    written = log.read_text()
    assert "Step 1 of 7 - Region" in written and "Nothing was changed." in written
    assert "Region of the log groups" not in written and "\033" not in written
