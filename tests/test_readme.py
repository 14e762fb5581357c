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
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import installed_cli
from tests.pty_drain import drain_until_exit

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced_command(heading: str) -> str:
    section = README.split(f"## {heading}", 1)[1]
    match = re.search(r"```bash\n(.+?)\n```", section, re.S)
    assert match, f"no bash block under {heading!r}"
    return match.group(1).strip()


def test_demo_and_test_commands_are_documented_and_match_ci() -> None:
    demo = fenced_command("Try it (no AWS account needed)")
    tests = fenced_command("Run the tests")
    assert demo.endswith("pip install '.[sandbox]' && cwl-export-wizard --demo")
    assert tests.endswith("pip install -e '.[test]' && python -m pytest -q -n 4")
    ci = (ROOT / ".ci" / "run").read_text()
    for step in (
        "python3 -m venv .venv",
        "pip install -q -e '.[test]'",
        "python -m pytest -q -n 4",
    ):
        assert step in ci, f".ci/run does not run {step!r} like the README"


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
        [*installed_cli(), "--demo"],
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


# --- every code block: marked with what it needs, and the ones that can run offline run ------

MARKER = re.compile(
    r"<!-- readme-test: (?P<kind>[\w-]+)(?P<rest>[^>]*)-->\n```(?P<lang>\w+)\n(?P<body>.*?)\n```",
    re.S,
)
KINDS = {
    "demo": "the demo command: run on a pseudo-terminal above",
    "ci": "the test command: what CI itself runs",
    "interactive": "prompts a person answers",
    "needs-account": "an AWS account's names and credentials",
    "offline": "runs here, must exit 0",
    "session": "a transcript: its commands run against the sandbox below",
    "verify-session": "a transcript against the sandbox with the section's organization guardrail",
    "sandbox-server": "the sandbox, in the foreground",
    "sandbox-client": "commands against that sandbox",
    "survey-server": "the fleet sandbox, writing its profiles, in the foreground",
    "survey-session": "a transcript: its commands run against that sandbox",
}


def blocks(kind: str | None = None) -> list[tuple[str, str, list[str]]]:
    """(kind, body, expected texts) of the README's marked code blocks."""
    found = []
    for match in MARKER.finditer(README):
        expects = re.findall(r'expect="([^"]+)"', match["rest"])
        if kind is None or match["kind"] == kind:
            found.append((match["kind"], match["body"], expects))
    return found


def test_every_code_block_says_what_it_needs() -> None:
    fences = len(re.findall(r"^```(bash|text)$", README, re.M))
    marked = blocks()
    assert len(marked) == fences, "a ```bash or ```text block without a readme-test marker"
    assert {kind for kind, _, _ in marked} <= set(KINDS)


def offline_env(tmp_path: Path) -> dict[str, str]:
    """No AWS setup of this machine; the wizard and the AWS CLI of this Python first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        XDG_STATE_HOME=str(tmp_path / "state"),
        TMPDIR=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.pop("NO_COLOR", None)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("number", range(len(blocks("offline"))))
def test_the_offline_blocks_run(number: int, tmp_path: Path) -> None:
    _, body, _ = blocks("offline")[number]
    done = subprocess.run(
        ["bash", "-e", "-c", body],
        cwd=tmp_path,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{body}\n{done.stdout}\n{done.stderr}"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_the_sandbox_blocks_work_as_written(tmp_path: Path) -> None:
    """The server block in the background, the client block in another shell: the lines the
    server prints are the client block's exports, and the client's commands say what is wrong."""
    [(_, server, _)] = blocks("sandbox-server")
    [(_, client, expects)] = blocks("sandbox-client")
    port = str(_free_port())
    env = offline_env(tmp_path)
    process = subprocess.Popen(
        ["bash", "-c", "exec " + server.replace("4566", port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline().strip() for _ in range(5)]
        exports = [
            line for line in client.replace("4566", port).splitlines() if line.startswith("export ")
        ]
        assert printed == exports  # pasted as they are printed
        done = subprocess.run(
            ["bash", "-c", client.replace("4566", port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        said = done.stdout + done.stderr
        for text in expects:
            assert text in said, said
        assert "Traceback" not in said
    finally:
        process.terminate()
        process.wait(30)


def _matches(shown: str, actual: str) -> bool:
    """A transcript line: "..." stands for any text; the rest must be there, in order."""
    parts = shown.split("...")
    if len(parts) == 1:
        return actual == shown
    if not actual.startswith(parts[0]) or not actual.endswith(parts[-1]):
        return False
    at = len(parts[0])
    for part in parts[1:-1]:
        found = actual.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return len(actual) >= at + len(parts[-1])


def _transcript_holds(shown: list[str], actual: list[str]) -> str | None:
    """None when every shown line is in ``actual`` in order ("..." alone skips lines); else
    the first line that is not."""
    at, skipping = 0, False
    for line in shown:
        if line == "...":
            skipping = True
            continue
        while at < len(actual) and not _matches(line, actual[at]):
            if not skipping:
                return f"{line!r} != {actual[at]!r}"
            at += 1
        if at == len(actual):
            return f"{line!r} not printed"
        at, skipping = at + 1, False
    return None


def _commands(transcript: str) -> list[tuple[str, list[str]]]:
    """Each ``$ command`` of a transcript with the lines shown after it."""
    commands: list[tuple[str, list[str]]] = []
    for line in transcript.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif line.strip():
            commands[-1][1].append(line)
    return commands


def _run_transcript(
    transcript: str, env: dict[str, str], cwd: Path, *, skip_blank_lines: bool = False
) -> None:
    """Each ``$ command`` of ``transcript`` run in bash: its stdout holds the lines shown
    (blank lines printed left out with ``skip_blank_lines``), and no traceback."""
    for command, shown in _commands(transcript):
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        printed = done.stdout.splitlines()
        if skip_blank_lines:
            printed = [line for line in printed if line.strip()]
        problem = _transcript_holds(shown, printed)
        assert problem is None, f"$ {command}\n{problem}\n{done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr, f"$ {command}\n{done.stderr}"


@pytest.mark.slow
def test_the_verify_session_shown_is_what_the_commands_print(tmp_path: Path) -> None:
    """ "Did the diagnosis match?": its guardrail (the section's JSON) in the sandbox, its
    transcript run against it."""
    from wizard.sandbox.server import Sandbox, SandboxConfig

    section = README.split("## Did the diagnosis match?", 1)[1]
    guardrail = re.search(r"```json\n(.+?)\n```", section, re.S)
    assert guardrail is not None
    [(_, transcript, _)] = blocks("verify-session")
    env = offline_env(tmp_path)
    config = SandboxConfig(scenario="demo", export_delay=0.3, org_guardrail=guardrail.group(1))
    with Sandbox(config) as sandbox:
        env.update(sandbox.env())
        _run_transcript(transcript, env, tmp_path)


@pytest.mark.slow
def test_the_session_shown_is_what_the_commands_print(tmp_path: Path) -> None:
    from wizard.sandbox.server import Sandbox, SandboxConfig

    [(_, transcript, _)] = blocks("session")
    env = offline_env(tmp_path)
    with Sandbox(SandboxConfig(scenario="demo", export_delay=0.3)) as sandbox:
        env.update(sandbox.env())
        _run_transcript(transcript, env, tmp_path)


@pytest.mark.slow
def test_the_survey_session_shown_is_what_the_commands_print(tmp_path: Path) -> None:
    """The fleet sandbox as its block says (it writes the profiles), then each command of
    the transcript in the same folder, with nothing but the profiles it wrote."""
    [(_, server, _)] = blocks("survey-server")
    [(_, transcript, _)] = blocks("survey-session")
    env = offline_env(tmp_path)
    process = subprocess.Popen(
        ["bash", "-c", "exec " + server],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline().strip() for _ in range(7)]
        assert printed[-1].startswith("# AWS config with a profile per account: ")
        _run_transcript(transcript, env, tmp_path, skip_blank_lines=True)
    finally:
        process.terminate()
        process.wait(30)
