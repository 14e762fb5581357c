"""Every flag of every command refuses bad values the same way: exit 2, one error line, no
"unexpected" and no traceback, and not one AWS call made (the sandbox counts them).

Values are generated: a valid value spoiled in a way that must be refused for that flag
(a trailing newline, a character outside the flag's alphabet, Unicode digits, a number out
of range...), and hand-picked shapes that once slipped through.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CliRunner, point_at
from wizard.sandbox.server import Sandbox, SandboxConfig

UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"


def spoil(valid: str, allowed: str) -> st.SearchStrategy[str]:
    """``valid`` with one character no value of this flag may end with appended."""
    bad = st.characters(blacklist_characters=allowed, blacklist_categories=["Cs"])
    return bad.map(lambda c: valid + c)


def shapes(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


LOWER_DIGITS = string.ascii_lowercase + string.digits
BAD = {
    "--bucket": st.one_of(
        spoil("my-bucket", LOWER_DIGITS),
        shapes(
            "",
            "My-Bucket",
            "my_bucket",
            "-bucket",
            "a" * 64,
            "192.168.1.1",
            "xn--abc",
            "a..b",
            "bück",
            "nlbucket\n",
            " bucket",
        ),
    ),
    "--prefix": shapes(
        "/exportedlogs", "exportedlogs/", "a//b", "logs\n", "logs*", "x" * 700, "", "a\x01b"
    ),
    "--log-group": st.one_of(
        spoil("/aws/lambda/fn", string.ascii_letters + string.digits + "._-/#"),
        shapes("", "a" * 513, "/aws/lambda/fn\n", "with space"),
    ),
    "--key": shapes(
        "alias/demo\n",
        f"{UUID}\n",
        f"arn:aws:kms:ap-northeast-1:12:key/{UUID}",
        f"arn:aws:kms:ap-northeast-1:123456789012:key/{UUID}\n",
        "alias/",
        "alias/a b",
        f"key/{UUID}",
        UUID.upper(),
        "xyz",
        "",
        f"arn:aws:s3:::bucket/{UUID}",
        f"arn:aws:kms:nowhere:123456789012:key/{UUID}",
    ),
    "--create-key": shapes(
        "alias/aws/mine", "alias/a b", "a\nb", "alias/" + "x" * 300, "", " ", "alias/x\n"
    ),
    "--region": st.one_of(
        spoil("ap-northeast-1", LOWER_DIGITS),
        shapes("", "us-east-1\n", "US-EAST-1", "xx", "us-east-" + ARABIC_DIGITS[1], "zz-nowhere-9"),
    ),
    "--endpoint-url": shapes(
        "http://",
        "ftp://example.com",
        "http://h:99999",
        "http://h:0",
        "http:// h",
        "http://h?x=1",
        "localhost:4566",
        "",
        "http://h\n",
    ),
    "--profile": shapes("", " ", "a\nb", "no-such-profile"),
    "--since": shapes(
        "0h", "1y", "\n1h", "-1h", "99999999999d", ARABIC_DIGITS[1] + "h", "", "1h\n", "1.5h"
    ),
    "--from": shapes(
        ARABIC_DIGITS * 2,
        "99999999999999999999",
        "2026-13-01",
        "123",
        "",
        "now",
        "2026-11-26T09:00:00Z\n",
    ),
    "--to": shapes(ARABIC_DIGITS * 2, "99999999999999999999", "2026-02-30", "", "yesterday"),
    "--stream-prefix": shapes("", "a:b", "a*", "a\x01", "x" * 513),
    "--lines": shapes("-1", "1001", "abc", "1e3", ""),
    "--lock-wait": shapes("-1", "nan", "inf", "1e9", "abc"),
    "--propagation-wait": shapes("-1", "nan", "inf", "1e9", "abc"),
    "--if-busy": shapes("sometimes", ""),
    "--account": st.one_of(
        spoil("123456789012", ""),
        shapes("", "12345678901", "12345678901a", ARABIC_DIGITS + "12"),
    ),
}
BAD["--source-account"] = BAD["--account"]
BAD["--source-profile"] = BAD["--profile"]
# The flags each command takes, with the other required arguments valid.
COMMANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "doctor": (
        ("doctor", "--bucket", "ok-bucket"),
        (
            "--bucket",
            "--prefix",
            "--log-group",
            "--key",
            "--create-key",
            "--region",
            "--endpoint-url",
            "--profile",
            "--source-account",
            "--source-profile",
        ),
    ),
    "plan": (
        ("plan", "--bucket", "ok-bucket"),
        (
            "--bucket",
            "--prefix",
            "--log-group",
            "--key",
            "--create-key",
            "--region",
            "--endpoint-url",
            "--profile",
            "--source-account",
            "--source-profile",
        ),
    ),
    "apply": (
        ("apply", "--bucket", "ok-bucket", "--yes"),
        (
            "--bucket",
            "--prefix",
            "--key",
            "--create-key",
            "--region",
            "--endpoint-url",
            "--lock-wait",
            "--source-account",
            "--source-profile",
        ),
    ),
    "test-export": (
        ("test-export", "--bucket", "ok-bucket", "--log-group", "/ok/group"),
        (
            "--bucket",
            "--prefix",
            "--log-group",
            "--region",
            "--since",
            "--from",
            "--to",
            "--stream-prefix",
            "--lines",
            "--propagation-wait",
            "--if-busy",
            "--source-account",
            "--source-profile",
        ),
    ),
    "iam-policy": (
        ("iam-policy",),
        ("--bucket", "--prefix", "--key", "--create-key", "--log-group", "--account", "--region"),
    ),
}
CASES = [(command, flag) for command, (_, flags) in COMMANDS.items() for flag in flags]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(scenario="empty")) as running:
        yield running


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, isolated_aws: Path, sandbox: Sandbox) -> Path:
    point_at(monkeypatch, sandbox)
    return isolated_aws


def refused_cleanly(run: object, args: list[str]) -> None:
    code, err = run.code, run.err  # type: ignore[attr-defined]
    assert code == 2, (args, code, err)
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, (args, err)
    assert "unexpected" not in err and "Traceback" not in err, (args, err)


@pytest.mark.parametrize(("command", "flag"), CASES, ids=[f"{c} {f}" for c, f in CASES])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_bad_value_is_refused_before_any_aws_call(
    sandbox: Sandbox,
    isolated: Path,
    cli: CliRunner,
    command: str,
    flag: str,
    data: st.DataObject,
) -> None:
    base, _ = COMMANDS[command]
    value = data.draw(BAD[flag], label=flag)
    args = [*base, flag, value]
    if flag in ("--key", "--create-key") and command == "iam-policy" and "--bucket" not in base:
        args += ["--bucket", "ok-bucket"]
    if flag in ("--from", "--to"):
        args += ["--to" if flag == "--from" else "--from", "2026-11-26T09:00:00Z"]
    sandbox.reset_request_counts()
    refused_cleanly(cli(*args), args)
    assert sandbox.request_counts() == {}, (args, sandbox.request_counts())


SANDBOX_BAD = {
    "--port": ("70000", "-1", "abc"),
    "--scenario": ("foo", ""),
    "--region": ("", "xx", "us-east-1\n"),
    "--export-delay": ("-5", "nan", "inf"),
    "--latency-ms": ("-1", "9999999", "x"),
    "--fail": ("x", "Op:Code:0", "Op:Code@0", "Op\n:Code", ""),
    "--caller-policy": ("/no/such/file.json", ""),
    "--propagation-delay": ("-1", "nan", "7200"),
}


@pytest.mark.parametrize(
    ("flag", "value"), [(f, v) for f, values in SANDBOX_BAD.items() for v in values]
)
def test_the_sandbox_refuses_bad_options_before_it_starts(
    cli: CliRunner, flag: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def started(self: Sandbox) -> None:
        # Accepted: it would serve until stopped. Fail now rather than hang.
        raise AssertionError(f"the sandbox started with {flag} {value!r}")

    monkeypatch.setattr(Sandbox, "start", started)
    args = ["sandbox", flag, value]
    refused_cleanly(cli(*args), args)


LAUNCH_BAD = [
    ["--demo", "--scenario", "foo"],
    ["--export-delay", "-5"],
    ["--scenario", "broken"],
    ["--demo", "--repair", "Bad_Name"],
    ["--demo", "--export-delay", "nan"],
    ["--demo", "--region", "xx"],
    ["--endpoint-url", "http://"],
    ["--demo", "--profile", "prod"],
    ["--plain", "--profile", ""],
    ["--plain", "--source-profile", " "],
    ["--source-profile", "a\nb"],
    ["--demo", "--source-profile", "app"],
]


@pytest.mark.parametrize("args", LAUNCH_BAD, ids=[" ".join(a) for a in LAUNCH_BAD])
def test_launch_options_are_checked_before_anything_starts(cli: CliRunner, args: list[str]) -> None:
    run = cli(*args)
    refused_cleanly(run, args)
    assert run.err.startswith("error: --")


@pytest.mark.parametrize(
    "content", ["", "{", "[]", '{"tool": "cwl-export-wizard"}', "<html>500</html>"]
)
def test_undo_refuses_a_journal_that_is_not_one(
    sandbox: Sandbox, isolated: Path, cli: CliRunner, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "journal.json"
    path.write_text(content)
    path.chmod(0o600)
    sandbox.reset_request_counts()
    run = cli("undo", str(path), "--yes")
    refused_cleanly(run, ["undo", str(path)])
    assert str(path) in run.err
    assert sandbox.request_counts() == {}


@pytest.mark.parametrize(
    "args",
    [
        ["test-export", "--bucket", "b", "--log-group", "g", "--if-busy", "bogus"],
        ["test-export", "--bucket", "b"],
        ["--no-such-option"],
        ["plan", "--format", "\x1b]0;title\x07"],
    ],
)
def test_argparse_refusals_are_two_lines_with_what_was_typed_escaped(
    cli: CliRunner, args: list[str]
) -> None:
    """Found from outside: a bad choice printed argparse's usage block (a dozen lines) above
    the one line that mattered, and echoed what was typed raw."""
    run = cli(*args)
    assert run.code == 2 and run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 2, run.err
    assert lines[0].startswith("error: cwl-export-wizard") and lines[1].startswith("fix: see ")
    assert "usage:" not in run.err and "\x1b" not in run.err and "\x07" not in run.err
