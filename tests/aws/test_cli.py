"""The commands' surface: lazy imports, bad input refused before AWS, output conventions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY, full_state
from tests.aws.conftest import session_for as session_of
from tests.conftest import CliRunner, StartSandbox
from wizard.commands.common import use_colour
from wizard.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "http://127.0.0.1:1"


def test_version_and_help_import_no_sdk_or_ui() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from wizard.cli import main\n"
        "quiet = contextlib.redirect_stdout(io.StringIO())\n"
        "with quiet, contextlib.redirect_stderr(io.StringIO()):\n"
        "    assert main(['--version']) == 0\n"
        "    assert main(['--help']) == 0\n"
        "    assert main(['doctor', '--help']) == 0\n"
        "heavy = {'boto3', 'botocore', 'moto', 'textual', 'questionary', 'rich'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_version(cli: CliRunner) -> None:
    run = cli("--version")
    assert run.code == 0 and run.out.startswith("cwl-export-wizard ")


def test_sandbox_command_is_wired(cli: CliRunner) -> None:
    run = cli("sandbox", "--help")
    assert run.code == 0 and "--scenario" in run.out and "--export-delay" in run.out


def test_sandbox_options_are_the_commands_own(cli: CliRunner) -> None:
    """Its --scenario and --export-delay are not mistaken for the interactive wizard's."""
    run = cli("sandbox", "--port", "0", "--export-delay", "1", "--scenario", "no-such")
    assert run.code == 2
    assert "no-such" in run.err and "belongs to the interactive wizard" not in run.err


BAD_INPUT = [
    (["doctor", "--bucket", "Bad_Bucket"], "--bucket"),
    (["doctor", "--bucket", "ab"], "3 to 63"),
    (["plan", "--bucket", "good-bucket", "--key", "alias/k", "--prefix", "/logs"], "--prefix"),
    (["plan", "--bucket", "good-bucket", "--key", "alias/k", "--prefix", "p" * 500], "1,024-byte"),
    (["plan", "--bucket", "good-bucket", "--key", "not a key"], "--key"),
    (
        ["apply", "--bucket", "good-bucket", "--create-key", "alias/aws/mine", "--yes"],
        "--create-key",
    ),
    (["apply", "--bucket", "good-bucket", "--create-key", "bad alias!", "--yes"], "--create-key"),
    (["plan", "--bucket", "good-bucket", "--key", "alias/k", "--region", "mars-1"], "--region"),
    (
        ["plan", "--bucket", "good-bucket", "--key", "alias/k", "--region", "ap-northeast-9"],
        "not a known AWS region",
    ),
    (
        [
            "test-export",
            "--bucket",
            "good-bucket",
            "--log-group",
            "/g",
            "--from",
            "2026-01-02T00:00:00Z",
            "--to",
            "2026-01-01T00:00:00Z",
        ],
        "must be before",
    ),
    (
        ["test-export", "--bucket", "good-bucket", "--log-group", "/g", "--from", "1700000000"],
        "milliseconds",
    ),
    (
        ["test-export", "--bucket", "good-bucket", "--log-group", "/g", "--since", "forever"],
        "duration",
    ),
    (["test-export", "--bucket", "good-bucket", "--log-group", "bad group name!"], "--log-group"),
    (["doctor", "--bucket", "good-bucket", "--endpoint-url", "ftp://x"], "--endpoint-url"),
]


@pytest.mark.parametrize(("args", "words"), BAD_INPUT)
def test_bad_input_is_refused_before_any_aws_call(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, args: list[str], words: str
) -> None:
    # Any AWS call would go to a closed port and fail with a network error instead.
    monkeypatch.setenv("AWS_ENDPOINT_URL", UNREACHABLE)
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    run = cli(*args)
    assert run.code == 2
    assert len(run.error_lines) == 1, run.err
    assert words in run.error_lines[0]
    assert "Could not reach" not in run.err and "Traceback" not in run.err
    assert run.out == ""


def test_bad_input_writes_nothing_to_a_live_account(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    writes = (
        "PutBucketPolicy",
        "PutKeyPolicy",
        "PutBucketEncryption",
        "CreateBucket",
        "CreateKey",
        "CreateAlias",
        "CreateExportTask",
    )
    sandbox = start_sandbox(scenario="demo", faults=tuple(f"{op}:AccessDenied" for op in writes))
    session = session_of(sandbox)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    for args, _ in BAD_INPUT:
        bad = [a.replace("good-bucket", DEMO_BUCKET) for a in args]
        assert cli(*bad).code == 2
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before


def test_usage_errors_from_argparse_exit_2(cli: CliRunner) -> None:
    assert cli("plan").code == 2  # --bucket is required
    assert cli("plan", "--bucket", "b-b-b", "--key", "alias/a", "--create-key", "alias/b").code == 2


def test_plan_json_and_exit_code(demo: Sandbox, cli: CliRunner) -> None:
    run = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--json")
    assert run.code == 1
    data = run.json()
    assert set(data) == {"changes", "blockers"} and data["blockers"] == []
    assert [c["action"] for c in data["changes"]] == [
        "PutKeyPolicy",
        "PutBucketEncryption",
        "PutBucketPolicy",
    ]
    for change in data["changes"]:
        assert set(change) == {"action", "target", "summary", "before", "after", "diff", "notes"}
        assert change["diff"].startswith("---")
    assert "carries no aws:SourceAccount" in data["changes"][0]["notes"][0]  # the key's why
    human = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY)
    assert "   note: The wizard's key statement for CloudWatch Logs carries no" in human.out


def test_plan_human_output_is_numbered_and_plain_without_a_terminal(
    demo: Sandbox, cli: CliRunner
) -> None:
    run = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY)
    assert run.code == 1
    assert "1. PutKeyPolicy" in run.out and "3. PutBucketPolicy" in run.out
    assert "\033[" not in run.out
    assert '+      "Sid": "CWLExportWizardGetBucketAcl"' in run.out


def test_blocked_plan_exits_1_and_lists_blockers(demo: Sandbox, cli: CliRunner) -> None:
    run = cli("plan", "--bucket", "demo-other-region", "--key", DEMO_KEY, "--json")
    assert run.code == 1 and run.json()["blockers"]


def test_colour_only_for_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    assert use_colour(Tty())  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())  # type: ignore[arg-type]


def test_json_errors_are_also_json(cli: CliRunner) -> None:
    run = cli("doctor", "--bucket", "Bad_Bucket", "--json")
    assert run.code == 2
    assert run.json()["error"]["message"].startswith("--bucket:")


def test_undo_of_a_missing_journal(cli: CliRunner, tmp_path: Path) -> None:
    run = cli("undo", str(tmp_path / "nope.json"), "--yes")
    assert run.code == 2 and run.error_lines == [f"error: No journal at {tmp_path / 'nope.json'}."]


def test_doctor_in_a_subprocess(demo: Sandbox, tmp_path: Path) -> None:
    env = {**os.environ, **demo.env(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "doctor", "--bucket", DEMO_BUCKET],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert "ERROR  KEY_AWS_MANAGED" in done.stdout
    assert "AWS would say: PutObject call on the given bucket failed" in done.stdout
    assert "\033[" not in done.stdout


def test_ctrl_c_during_apply_rolls_back(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    sandbox = start_sandbox(scenario="demo")
    session = session_of(sandbox)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    # The second write is held in flight until the Ctrl+C has been seen: the stop lands
    # mid-apply however fast or loaded the machine.
    held = sandbox.gate("PutBucketEncryption")
    env = {**os.environ, **sandbox.env(), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wizard",
            "apply",
            "--bucket",
            DEMO_BUCKET,
            "--key",
            DEMO_KEY,
            "--yes",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        # As from a terminal: a runner that started us in the background may have made the
        # tests ignore SIGINT, and a child inherits that (Python then keeps it ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    seen = ""
    for line in process.stderr:
        seen += line
        if "[1/3] applied" in line:
            process.send_signal(signal.SIGINT)
        if "Cancelling: finishing the current AWS call, then rolling back" in line:
            break
    held.release()
    _, rest = process.communicate(timeout=120)
    seen += rest
    assert process.returncode == 130, seen  # Ctrl+C, as in every face
    assert "error: Stopped after " in seen and "restored the key policy" in seen
    assert "Traceback" not in seen
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before


def test_without_a_command_and_without_a_terminal_the_tui_explains(cli: CliRunner) -> None:
    run = cli()
    assert run.code == 2
    assert run.error_lines and "cannot start" in run.error_lines[0]
    assert "doctor | plan | apply | test-export" in run.err


def test_connection_options_go_before_or_after_the_command(
    demo: Sandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with the AWS CLI: ``--region X doctor`` and ``doctor --region X`` are the same."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    endpoint = demo.endpoint_url
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    where = ("--region", demo.region, "--endpoint-url", endpoint)
    after = cli("doctor", "--bucket", DEMO_BUCKET, "--json", *where)
    before = cli(*where, "doctor", "--bucket", DEMO_BUCKET, "--json")
    mixed = cli(
        "--region",
        demo.region,
        "doctor",
        "--endpoint-url",
        endpoint,
        "--bucket",
        DEMO_BUCKET,
        "--json",
    )
    assert after.code == before.code == mixed.code == 1, before.err
    assert after.out == before.out == mixed.out
    assert json.loads(before.out)["healthy"] is False


def test_options_before_the_command_are_refused_when_they_do_not_fit(cli: CliRunner) -> None:
    twice = cli("--region", "eu-west-1", "doctor", "--bucket", "b-1", "--region", "us-east-1")
    assert twice.code == 2
    assert "--region is given twice, eu-west-1 before 'doctor' and us-east-1 after it" in twice.err
    for args, said in [
        (("--demo", "doctor", "--bucket", "b-1"), "--demo is for the interactive wizard"),
        (("--plain", "plan", "--bucket", "b-1"), "--plain is for the interactive wizard"),
        (("--scenario", "empty", "doctor", "--bucket", "b-1"), "'doctor' does not take --scenario"),
        (("--profile", "p", "sandbox"), "'sandbox' does not take --profile"),
    ]:
        run = cli(*args)
        assert run.code == 2 and said in run.err, (args, run.err)
        # Found from outside: a usage block of five lines came first. Now the wizard's two
        # lines, as every other refusal: the error and where to read more.
        assert run.err.splitlines() == [run.error_lines[0], run.err.splitlines()[1]], run.err
        assert run.err.splitlines()[1].startswith("fix: see cwl-export-wizard "), run.err


def test_sandbox_options_may_come_before_the_command() -> None:
    from wizard.cli import _move_global_options, build_parser

    args = build_parser().parse_args(["--region", "eu-west-1", "--scenario", "empty", "sandbox"])
    assert _move_global_options(args) is None
    assert (args.region, args.scenario) == ("eu-west-1", "empty")


def test_without_the_sandbox_extra_the_demo_says_how_to_install_it(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.sandbox import available

    monkeypatch.setattr(available, "SANDBOX_MODULES", ("moto", "no_such_module_for_this_test"))
    for args in (["--demo"], ["--demo", "--plain"], ["sandbox"]):
        run = cli(*args)
        assert run.code == 2, (args, run.err)
        assert len(run.error_lines) == 1, run.err
        assert "no_such_module_for_this_test" in run.err, run.err
        assert "pip install 'cwl-export-wizard[sandbox]'" in run.err
        assert "Traceback" not in run.err


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    """``cwl-export-wizard iam-policy | head -1``: the pipe closes early; no error, exit 141."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard", "iam-policy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before it writes: its first write finds no reader
    errors = process.stderr.read().decode()
    assert process.wait(60) == 141, errors
    assert errors == ""
