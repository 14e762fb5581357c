"""Hostile text from AWS (log lines, stream names, object keys, error messages) through the
commands: shown visibly on a terminal or a pipe, exact in --json, never obeyed."""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.aws.conftest import allow_exports
from tests.conftest import CliRunner, StartSandbox
from tests.hostile import CORPUS, hostile_text, raw_unsafe
from wizard.core.text import visible
from wizard.sandbox.server import Sandbox

BUCKET = "demo-sse-s3"  # SSE-S3 in the demo: only the bucket policy matters
GROUP = "/hostile/group"
STREAM = "s\x1b]0;PWNED-TITLE\x07tream"


def seed(sandbox: Sandbox, group: str, stream: str, messages: list[str]) -> None:
    logs = sandbox.client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000) - 60_000
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


@pytest.fixture
def hostile(demo: Sandbox) -> Sandbox:
    allow_exports(demo, BUCKET)
    seed(demo, GROUP, STREAM, list(CORPUS))
    return demo


def export(cli: CliRunner, *extra: str) -> Any:
    return cli("test-export", "--bucket", BUCKET, "--log-group", GROUP, "--lines", "100", *extra)


def test_test_export_shows_hostile_log_lines_and_stream_names_visibly(
    hostile: Sandbox, cli: CliRunner
) -> None:
    run = export(cli)
    assert run.code == 0, run.err
    assert not raw_unsafe(run.out) and not raw_unsafe(run.err)
    # Seen, not obeyed: the title sequence is there to read, as escapes.
    assert f"First decrypted lines of {visible(STREAM)}:" in run.out
    assert "s\\x1b]0;PWNED-TITLE\\x07tream/000000.gz" in run.out
    for message in CORPUS:  # an export object holds a line per line: a message may span two
        for part in message.split("\n"):
            assert visible(part) in run.out
    assert "[bold]markup[/bold]" in run.out  # markup stays literal


def test_test_export_json_stays_exact_in_bytes_no_terminal_obeys(
    hostile: Sandbox, cli: CliRunner
) -> None:
    run = export(cli, "--json")
    assert run.code == 0, run.err
    assert not raw_unsafe(run.out)  # C1, bidi and separators written as JSON escapes
    data = run.json()
    sample = "\n".join(data["sample"])
    for message in CORPUS:
        assert message in sample  # exact: nothing escaped for show
    assert STREAM in data["objects"][0]


def test_an_aws_error_message_is_shown_visibly(demo: Sandbox, cli: CliRunner) -> None:
    # The service echoes the name it was given; a hostile name must not reach the terminal raw.
    run = cli("test-export", "--bucket", BUCKET, "--log-group", GROUP, "--stream-prefix", "\u202e")
    assert run.code == 2
    assert not raw_unsafe(run.out) and not raw_unsafe(run.err)


# CloudWatch Logs refuses ':' and '*' in a stream name. The sandbox's S3 (moto behind
# werkzeug) cannot serve a key with a line break in it: those are left to the corpus above.
_stream_names = hostile_text.map(lambda t: re.sub(r"[:*\n\r]", "", t)[:200]).filter(bool)


def run_plain_mode(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> int:
    """Plain mode over ``sandbox`` with piped answers: every default, "y" to apply, and the
    test export of the most recently written log group."""
    import io

    from wizard import launch, plain
    from wizard.asking import LineAsker
    from wizard.launch import LaunchOptions

    # Region, key, bucket: the defaults; bucket name, prefix, accounts; apply; group, window,
    # streams.
    answers = io.StringIO("\n" * 6 + "y\n" + "\n" * 3)
    with monkeypatch.context() as patch:
        patch.setattr(launch, "start_sandbox", lambda options: sandbox)
        patch.setattr(sandbox, "stop", lambda: None)  # the fixture stops it
        return plain.run(LaunchOptions(demo=True), asker=LineAsker(answers))


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=_stream_names, messages=st.lists(hostile_text, min_size=1, max_size=4))
def test_no_hostile_string_reaches_any_faces_output_raw(
    start_sandbox: StartSandbox,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    stream: str,
    messages: list[str],
) -> None:
    """Property: whatever a stream name or a log line holds, the commands' text output,
    --json's bytes and plain mode's output hold no raw control, bidi or separator character."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the sandbox's journal folder
    sandbox = start_sandbox(scenario="demo")
    allow_exports(sandbox, BUCKET)
    seed(sandbox, GROUP, stream, messages)  # written last: plain mode's default group
    for extra in ((), ("--json",)):
        run = export(cli, *extra)
        assert run.code == 0, run.err
        assert not raw_unsafe(run.out), run.out
        assert not raw_unsafe(run.err), run.err
    capsys.readouterr()
    assert run_plain_mode(sandbox, monkeypatch) == 0
    out = capsys.readouterr()
    assert "First decrypted lines of" in out.out
    assert not raw_unsafe(out.out) and not raw_unsafe(out.err)


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("a//b", "'//'"),
        ("a/../b", "'..' folder"),
        ("logs\u202egol", "U+202E"),
        ("lo\u2028gs", "separators"),
        (" logs", "space"),
        ("lo\x1b]0;T\x07gs", "control characters"),
    ],
)
def test_a_hostile_prefix_is_refused_by_every_command_before_any_aws_call(
    cli: CliRunner, prefix: str, reason: str
) -> None:
    for command in ("doctor", "plan", "apply", "test-export"):
        extra = ("--log-group", GROUP) if command == "test-export" else ()
        run = cli(command, "--bucket", BUCKET, "--prefix", prefix, *extra)
        assert run.code == 2, (command, run.err)
        (line,) = run.error_lines
        assert line.startswith("error: --prefix: The prefix must not") and reason in line
        assert not raw_unsafe(run.err)


def test_plain_mode_refuses_a_hostile_prefix_with_its_reason_and_asks_again() -> None:
    import io

    from wizard.asking import LineAsker
    from wizard.core.validate import prefix_problem

    said = io.StringIO()
    answers = io.StringIO("a/../b\nlogs\u202egol\n logs\nlogs/2026\n")
    asker = LineAsker(answers, said)
    value = asker.text("Prefix (folder) for the exported objects:", "exportedlogs", prefix_problem)
    assert value == "logs/2026"
    refusals = [line for line in said.getvalue().splitlines() if line.startswith("  ✗ ")]
    assert len(refusals) == 3
    assert "'..' folder" in refusals[0] and "U+202E" in refusals[1] and "space" in refusals[2]
    assert not raw_unsafe(said.getvalue())


def test_hostile_policy_text_in_doctor_plan_and_the_diff_is_shown_visibly(
    demo: Sandbox, cli: CliRunner
) -> None:
    """A statement the wizard did not write (its Sid and condition values are anyone's text)
    reaches the doctor's findings and the plan's diff: visibly, and exact in --json."""
    from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY

    s3 = demo.client("s3")
    hostile_sid = "Foreign\u202eGNIRTS"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": hostile_sid,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{DEMO_BUCKET}/*",
                "Condition": {"StringEquals": {"aws:UserAgent": CORPUS[1]}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=DEMO_BUCKET, Policy=json.dumps(policy))
    for command in ("doctor", "plan"):
        run = cli(command, "--bucket", DEMO_BUCKET, "--key", DEMO_KEY)
        assert run.code in (0, 1), run.err
        assert not raw_unsafe(run.out) and not raw_unsafe(run.err), command
    assert "Foreign\\u202eGNIRTS" in run.out  # the diff keeps the statement, visibly
    exact = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--json")
    assert not raw_unsafe(exact.out)
    assert hostile_sid in json.dumps(exact.json(), ensure_ascii=False)
    # The CLI script: safe to read, and the bucket policy it puts is the same document.
    script = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--format", "cli")
    assert not raw_unsafe(script.out)
    documents = [
        json.loads(part.split("\nJSON\n", 1)[0]) for part in script.out.split("<<'JSON'\n")[1:]
    ]
    sids = [s.get("Sid") for d in documents for s in d.get("Statement", [])]
    assert hostile_sid in sids


def test_plain_mode_shows_hostile_log_lines_and_stream_names_visibly(
    start_sandbox: StartSandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Plain mode, answers piped (numbered lines), through to the decrypted lines."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the sandbox's journal folder
    sandbox = start_sandbox(scenario="demo")
    allow_exports(sandbox, BUCKET)
    seed(sandbox, GROUP, STREAM, list(CORPUS))  # written last: the default log group
    code = run_plain_mode(sandbox, monkeypatch)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert not raw_unsafe(out.out) and not raw_unsafe(out.err)
    assert f"First decrypted lines of {visible(STREAM)}:" in out.out
    for message in CORPUS[:5]:  # the first lines (plain mode shows a few)
        assert visible(message) in out.out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("fmt", ["terraform", "cloudformation", "documents"])
def test_code_printed_on_a_terminal_is_shown_visibly_and_exact_into_a_file(
    demo: Sandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Foreign",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{DEMO_BUCKET}/*",
                "Condition": {"StringEquals": {"aws:UserAgent": "evil\u202eagent\x9b"}},
            }
        ],
    }
    demo.client("s3").put_bucket_policy(Bucket=DEMO_BUCKET, Policy=json.dumps(policy))
    args = ("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--format", fmt)
    from wizard.cli import main

    terminal = _Terminal()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", terminal)
        assert main(list(args)) == 1
    assert not raw_unsafe(terminal.getvalue())
    into_file = cli(*args)
    assert into_file.code == 1 and "agent" in into_file.out  # exact as the format writes it
