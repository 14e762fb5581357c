"""A hostile environment, through the user's commands: an endpoint that hangs or answers
garbage, the user's own AWS settings beside a demo, a shared /tmp, a full stdout, a journal
edited by hand; and exit codes that say what happened (issue 22, the environment half)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY, full_state
from tests.aws.conftest import session_for as session_of
from tests.conftest import CliRunner, StartSandbox
from wizard.core.errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_NO_INPUT, EXIT_OK
from wizard.sandbox.scenarios import CENTRAL_BUCKET, CENTRAL_LOG_GROUP, CENTRAL_ROLE_ARN
from wizard.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
# Timeouts of 3 s x 0.02 = 0.06 s to connect and 10 s x 0.02 = 0.2 s to read: the tests
# assert on what is said, never on how long it took.
SCALE = "0.02"


def wizard_process(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    answers: str | None = None,
    stdout: int | io.TextIOWrapper | None = subprocess.PIPE,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        input=answers,
        stdin=None if answers is not None else subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
    )


# --- endpoints that misbehave (127.0.0.1 only) ----------------------------------------------


class FakeEndpoint:
    """A TCP server on 127.0.0.1: ``hang`` accepts and never answers; ``garbage`` answers
    every request with HTTP 200 and a body that is no AWS answer."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.mode == "hang":
                self.held.append(conn)
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<garbage>")

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hanging() -> Iterator[FakeEndpoint]:
    endpoint = FakeEndpoint("hang")
    yield endpoint
    endpoint.close()


@pytest.fixture
def garbage() -> Iterator[FakeEndpoint]:
    endpoint = FakeEndpoint("garbage")
    yield endpoint
    endpoint.close()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("CWL_WIZARD_TIMEOUT_SCALE", SCALE)


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "unexpected" not in err, err
    return lines[0]


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("how", ["--endpoint-url", "AWS_ENDPOINT_URL"])
def test_an_endpoint_that_never_answers_is_named_at_once(
    hanging: FakeEndpoint, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args = ["doctor", "--bucket", "some-bucket"]
    if how == "--endpoint-url":
        args += ["--endpoint-url", hanging.url]
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", hanging.url)
    run = cli(*args)
    assert run.code == EXIT_ERROR
    line = one_line_error(run.err)
    assert line == (
        f"error: {hanging.url} accepted GetCallerIdentity but did not answer within 0.2 s."
    )
    assert "fix: Check --endpoint-url / AWS_ENDPOINT_URL" in run.err


def test_undo_to_a_journals_endpoint_that_hangs_says_so(
    demo: Sandbox, hanging: FakeEndpoint, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply against an emulator wrote its endpoint in the journal; undo goes there."""
    applied = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes", "--json")
    assert applied.code == EXIT_OK, applied.err
    path = Path(applied.json()["journal"])
    journal = json.loads(path.read_text())
    assert journal["endpoint"] == demo.endpoint_url
    journal["endpoint"] = hanging.url
    path.write_text(json.dumps(journal))
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("CWL_WIZARD_TIMEOUT_SCALE", SCALE)
    run = cli("undo", str(path), "--yes")
    assert run.code == EXIT_ERROR
    assert one_line_error(run.err) == (
        f"error: {hanging.url} accepted GetCallerIdentity but did not answer within 0.2 s."
    )


def test_plain_mode_names_an_endpoint_that_hangs(hanging: FakeEndpoint, tmp_path: Path) -> None:
    env = {
        "AWS_REGION": "ap-northeast-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CWL_WIZARD_TIMEOUT_SCALE": SCALE,
    }
    done = wizard_process(
        "--plain", "--endpoint-url", hanging.url, cwd=tmp_path, env=env, answers="\n"
    )
    assert done.returncode == EXIT_ERROR, done.stdout + done.stderr
    shown = done.stdout + done.stderr
    assert f"{hanging.url} accepted GetCallerIdentity but did not answer within 0.2 s" in shown
    assert "Traceback" not in shown


@pytest.mark.usefixtures("credentials")
def test_a_garbage_answer_is_one_line(garbage: FakeEndpoint, cli: CliRunner) -> None:
    run = cli("doctor", "--bucket", "some-bucket", "--endpoint-url", garbage.url)
    assert run.code == EXIT_ERROR
    assert one_line_error(run.err) == (
        "error: The answer to GetCallerIdentity is not one AWS would send (it cannot be read): "
        "the endpoint is not an AWS endpoint, or a proxy changed the answer."
    )
    assert "fix: Check --endpoint-url / AWS_ENDPOINT_URL" in run.err


@pytest.mark.usefixtures("credentials")
def test_an_endpoint_variable_that_is_not_a_url_is_one_line(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "not a url")
    run = cli("doctor", "--bucket", "some-bucket")
    assert run.code == EXIT_ERROR
    assert one_line_error(run.err).startswith("error: AWS_ENDPOINT_URL: 'not a url' ")
    assert "fix: Correct AWS_ENDPOINT_URL" in run.err


# --- --endpoint-url reaches the AssumeRole of a source profile ------------------------------


def test_endpoint_url_reaches_the_source_profiles_assume_role(
    start_sandbox: StartSandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As the issue tried it: --endpoint-url instead of AWS_ENDPOINT_URL, and a source profile
    whose role is assumed through STS; every call (AssumeRole too) goes to the endpoint."""
    sandbox = start_sandbox(scenario="central")
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile sandbox]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        f"[profile app-account]\nrole_arn = {CENTRAL_ROLE_ARN}\nsource_profile = sandbox\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    sandbox.reset_request_counts()
    run = cli(
        "plan",
        "--endpoint-url",
        sandbox.endpoint_url,
        "--profile",
        "sandbox",
        "--bucket",
        CENTRAL_BUCKET,
        "--source-profile",
        "app-account",
        "--json",
    )
    assert run.code == EXIT_FINDINGS, run.err
    assert run.json()["changes"]  # the source account's grants
    assert sandbox.request_counts().get("AssumeRole") == 1


def test_a_missing_source_profile_is_named_as_such(
    demo: Sandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile sandbox]\naws_access_key_id = a\naws_secret_access_key = b\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    run = cli("doctor", "--bucket", DEMO_BUCKET, "--source-profile", "nope")
    assert run.code == EXIT_ERROR
    assert one_line_error(run.err) == (
        "error: The AWS profile 'nope' (from --source-profile) is not in your AWS config."
    )


@pytest.mark.slow
def test_repeating_a_source_accounts_export_names_its_profile(
    start_sandbox: StartSandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    start_sandbox(scenario="central")
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile sandbox]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        f"[profile app]\nrole_arn = {CENTRAL_ROLE_ARN}\nsource_profile = sandbox\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    dest = ("--bucket", CENTRAL_BUCKET, "--source-profile", "app")
    assert cli("apply", *dest, "--yes").code == EXIT_OK
    report = tmp_path / "proof-for-the-ticket"
    export = cli("test-export", *dest, "--log-group", CENTRAL_LOG_GROUP, "--report", str(report))
    assert export.code == EXIT_OK, export.err
    repeat = export.out.split("Repeat this export:\n", 1)[1].splitlines()[0].strip()
    assert repeat.startswith("aws logs create-export-task --profile app --region ")
    # The proof's copy of that command too (found in review: it left the profile out).
    assert repeat in report.read_text(encoding="utf-8")


# --- the demo and the sandbox ignore the user's own AWS settings ----------------------------

HOSTILE_ENVIRONMENTS = {
    "a profile this machine lacks": {"AWS_PROFILE": "nope", "AWS_DEFAULT_PROFILE": "nope2"},
    "a broken config file": {
        "AWS_CONFIG_FILE": "GARBAGE",
        "AWS_SHARED_CREDENTIALS_FILE": "GARBAGE",
    },
    "someone else's credentials": {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-the-sandboxes",
        "AWS_SESSION_TOKEN": "expired",
    },
    "odd regions and endpoints": {
        "AWS_DEFAULT_REGION": "mars-north-1",
        "AWS_REGION": "..",
        "AWS_ENDPOINT_URL": "not a url",
        "AWS_MAX_ATTEMPTS": "many",
        "AWS_RETRY_MODE": "whatever",
    },
}


def hostile(name: str, tmp_path: Path) -> dict[str, str]:
    garbage = tmp_path / "garbage-config"
    garbage.write_text("[profile\nthis = is [not] = ini\n\x00")
    return {k: str(garbage) if v == "GARBAGE" else v for k, v in HOSTILE_ENVIRONMENTS[name].items()}


@pytest.mark.parametrize("name", list(HOSTILE_ENVIRONMENTS))
def test_the_central_demo_starts_whatever_the_users_aws_settings(name: str, tmp_path: Path) -> None:
    """``--plain --demo --scenario central``: the sandbox seeds its accounts and the wizard
    assumes the application account's role before the first question."""
    done = wizard_process(
        "--plain", "--demo", "--scenario", "central", cwd=tmp_path, env=hostile(name, tmp_path)
    )
    assert done.returncode == EXIT_NO_INPUT, done.stdout + done.stderr
    assert "Step 1 of 7" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.slow
def test_a_whole_demo_runs_with_every_hostile_setting_at_once(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    for name in HOSTILE_ENVIRONMENTS:
        env.update(hostile(name, tmp_path))
    answers = "\n".join(["", "", "", "", "", "", "y", "", "", ""]) + "\n"
    done = wizard_process(
        "--plain", "--demo", "--export-delay", "0.3", cwd=tmp_path, env=env, answers=answers
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "? Apply these 6 changes to the sandbox? yes" in done.stdout
    assert "First decrypted lines of" in done.stdout


@pytest.mark.parametrize("name", list(HOSTILE_ENVIRONMENTS))
def test_the_sandbox_command_starts_whatever_the_users_aws_settings(
    name: str, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard", "sandbox", "--scenario", "central"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **hostile(name, tmp_path), "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=120)
    assert process.returncode == EXIT_OK, first + rest + errors
    assert re.fullmatch(r"export AWS_ENDPOINT_URL=http://127\.0\.0\.1:\d+\n", first)
    assert "Sandbox ready on" in errors and "Traceback" not in errors


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="chown needs root")
@pytest.mark.slow
def test_a_demo_on_a_shared_host_keeps_its_journals_to_itself(tmp_path: Path) -> None:
    """Another user ran the demo first: the shared temporary folder holds their journal
    folders (under the old shared name and under ours). The demo applies anyway, and its
    journal is in a folder of our own, 0700."""
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    shared_tmp.chmod(0o1777)
    squatted = [
        shared_tmp / "cwl-export-wizard-sandbox-journals",
        shared_tmp / f"cwl-export-wizard-sandbox-journals-{os.getuid()}",
    ]
    for folder in squatted:
        folder.mkdir(mode=0o777)
        folder.chmod(0o777)
        os.chown(folder, 4242, 4242)
    answers = "\n".join(["", "", "", "", "", "", "y", "", "", ""]) + "\n"
    done = wizard_process(
        "--plain",
        "--demo",
        "--export-delay",
        "0.3",
        cwd=tmp_path,
        env={"TMPDIR": str(shared_tmp)},
        answers=answers,
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    for folder in squatted:
        assert list(folder.iterdir()) == []  # nothing of ours in another user's folder
    ours = [
        p
        for p in shared_tmp.iterdir()
        if p.name.startswith("cwl-export-wizard-sandbox-journals") and p not in squatted
    ]
    assert len(ours) == 1
    info = ours[0].stat()
    assert info.st_uid == os.getuid() and info.st_mode & 0o777 == 0o700
    assert list(ours[0].glob("apply-*.json"))


# --- exit codes that do not lie ----------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_debug_never_changes_an_exit_code(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    from wizard.commands import iam_policy

    def broken(args: object) -> int:
        raise RuntimeError("a bug in the wizard")

    monkeypatch.setattr(iam_policy, "run", broken)
    run = cli("iam-policy", *(["--debug"] if debug else []))
    assert run.code == EXIT_ERROR
    assert run.err.startswith("error: unexpected RuntimeError: a bug in the wizard\n")
    assert ("Traceback (most recent call last)" in run.err) is debug


class Terminal(io.StringIO):
    """stdin as a terminal whose user types ``answer``."""

    def isatty(self) -> bool:
        return True


def test_declining_apply_exits_0_and_changes_nothing(
    demo: Sandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = session_of(demo)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    run = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY)
    assert run.code == EXIT_OK, run.err
    assert "Apply 3 changes to account 123456789012 in ap-northeast-1? [y/N]" in run.err
    assert run.err.rstrip().endswith("Not applied: nothing was changed.")
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before


def test_a_cli_script_for_a_blocked_plan_shows_the_blocker_and_runs_nothing(
    demo: Sandbox, cli: CliRunner, tmp_path: Path
) -> None:
    dest = ("--bucket", "demo-other-region", "--key", DEMO_KEY)
    script = cli("plan", *dest, "--format", "cli")
    terraform = cli("plan", *dest, "--format", "terraform")
    assert script.code == terraform.code == EXIT_FINDINGS
    assert "Nothing to change" not in script.out
    assert "BLOCKER: The bucket demo-other-region is in us-west-2" in script.out
    assert "\naws " not in script.out
    session = session_of(demo)
    before = full_state(session, "demo-other-region", (DEMO_KEY,))
    path = tmp_path / "plan.sh"
    path.write_text(script.out)
    ran = subprocess.run(["bash", str(path)], capture_output=True, text=True, check=False)
    assert ran.returncode == 1 and "the plan has blockers" in ran.stderr
    assert full_state(session, "demo-other-region", (DEMO_KEY,)) == before


# --- "unexpected" no more --------------------------------------------------------------------


def test_a_state_home_that_is_not_a_folder_is_one_line(
    demo: Sandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", os.devnull)
    session = session_of(demo)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    run = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes")
    assert run.code == EXIT_ERROR
    assert one_line_error(run.err).startswith(
        f"error: The journal folder {os.devnull}/cwl-export-wizard"
    )
    assert "fix: Set XDG_STATE_HOME to a folder of your own" in run.err
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize(
    "args",
    [
        ["doctor"],
        ["plan", "--json"],
        ["plan", "--format", "cli"],
        ["doctor", "--json", "--prefix", "a//b"],  # an error whose --json cannot be written
    ],
)
def test_stdout_on_a_full_device_is_one_line(
    demo: Sandbox, tmp_path: Path, args: list[str]
) -> None:
    with open("/dev/full", "w") as full:
        done = wizard_process(
            *args, "--bucket", DEMO_BUCKET, cwd=tmp_path, env=demo.env(), stdout=full
        )
    assert done.returncode == EXIT_ERROR
    # An error of its own (bad input) is said first, then that stdout could not take it.
    assert "Traceback" not in done.stderr
    assert done.stderr.endswith(
        "error: The output could not be written to stdout: No space left on device.\n"
        "fix: Send it where there is room (check the disk or the file stdout goes to).\n"
    )
    assert len(done.stderr.splitlines()) <= 4


def test_undo_of_a_journal_whose_before_is_not_json_names_the_entry(
    demo: Sandbox, cli: CliRunner
) -> None:
    """A hand-edited journal: undo names the entry, leaves its target alone and goes on with
    the others (it never stops midway with a step left "rolling back")."""
    applied = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes", "--json")
    assert applied.code == EXIT_OK, applied.err
    path = Path(applied.json()["journal"])
    journal = json.loads(path.read_text())
    journal["changes"][-1]["before"] = "{not json"
    path.write_text(json.dumps(journal))
    session = session_of(demo)
    after_apply = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    run = cli("undo", str(path), "--yes", "--json")
    assert run.code == 1, run.err  # something remains: the damaged entry's target
    number = len(journal["changes"])
    action = journal["changes"][-1]["action"]
    steps = {s["step"]: s for s in run.json()["steps"]}
    assert steps[number]["outcome"] == "failed"
    assert steps[number]["message"].startswith(f'change {number} ({action}): "before" is not JSON')
    assert all(s["outcome"] == "restored" for n, s in steps.items() if n != number)
    now = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    assert now["bucket"]["policy"] == after_apply["bucket"]["policy"]  # left as it is
    assert now != after_apply  # the other changes were put back
    saved = path.read_text()
    assert "rolling" not in saved and "{not json" in saved  # the entry is kept as it was
