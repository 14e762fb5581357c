"""The survey (doctor without --bucket) against ``sandbox --scenario fleet`` over real HTTP.

The AWS config is the one ``sandbox --write-profiles`` writes: a profile per account, five of
them assuming their account's role through the sandbox's STS. Only that file tells the wizard
where the sandbox is (no AWS_ENDPOINT_URL, no keys in the environment), as a user would run it.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REGION, CliRunner, StartSandbox
from wizard.sandbox.fidelity import Gate
from wizard.sandbox.fleet import (
    FLEET_ACCOUNTS,
    expected_rows,
    fleet_regions,
    write_profiles,
)
from wizard.sandbox.server import Sandbox

DENIED = next(a for a in FLEET_ACCOUNTS if a.denied)


@pytest.fixture
def fleet(
    start_sandbox: StartSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Sandbox, Path]:
    sandbox = start_sandbox(scenario="fleet")
    config = tmp_path / "fleet-config"
    write_profiles(config, sandbox.endpoint_url, sandbox.region)
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return sandbox, config


def destinations(out: dict[str, Any]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    return {(d["profile"], d["region"], d["bucket"], d["prefix"]): d for d in out["destinations"]}


def test_every_seeded_destination_is_found_with_its_finding_and_a_denied_account_is_a_row(
    fleet: tuple[Sandbox, Path], cli: CliRunner
) -> None:
    run = cli("doctor", "--all-profiles", "--regions", "all", "--json")
    assert run.code == 1, run.err
    out = run.json()
    assert set(out) == {"destinations", "errors", "same_account"}
    assert out["same_account"] == []
    found = destinations(out)
    expected = {(e.profile, e.region, e.bucket, e.prefix): e for e in expected_rows(REGION)}
    assert set(found) == set(expected)  # every seeded destination, and no other
    for where, want in expected.items():
        row = found[where]
        assert set(row) == {
            "profile",
            "account",
            "region",
            "bucket",
            "prefix",
            "healthy",
            "findings",
        }
        assert row["account"] == want.account
        codes = [f["code"] for f in row["findings"]]
        if want.finding is None:
            assert row["healthy"] is True, (where, codes)
        else:
            assert row["healthy"] is False and want.finding in codes, (where, codes)
    # The refusing account is one error row; every other account was read in every region.
    assert out["errors"] == [
        {"profile": DENIED.profile, "region": None, "message": out["errors"][0]["message"]}
    ]
    assert "sts:AssumeRole" in out["errors"][0]["message"]
    assert {r for (_, r, _, _) in found} == set(fleet_regions(REGION))


def test_the_table_names_each_broken_destination_with_the_command_that_repairs_it(
    fleet: tuple[Sandbox, Path], cli: CliRunner
) -> None:
    run = cli("doctor", "--profiles", "fleet-orders,fleet-log-archive", "--regions", "all")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].split() == [
        "PROFILE",
        "ACCOUNT",
        "REGION",
        "BUCKET",
        "PREFIX",
        "VERDICT",
        "FIRST",
        "FINDING",
    ]
    broken = next(line for line in lines if "fleet-orders-exports" in line)
    assert broken.split()[-2:] == ["broken", "KEY_POLICY_BLOCKS_LOGS"]
    repair = lines[lines.index(broken) + 1].strip()
    assert repair == (
        "repair: cwl-export-wizard apply --profile fleet-orders --region ap-northeast-1 "
        "--bucket fleet-orders-exports --prefix exportedlogs"
    )
    gone = lines[lines.index(next(line for line in lines if "fleet-orders-gone" in line)) + 1]
    assert gone.strip().endswith("--create-bucket --create-key alias/cwl-exports")
    assert lines[-1] == "6 destinations in 34 account-regions of 2 profiles: 3 healthy, 3 broken."
    assert run.err == ""  # no progress bar when stderr is not a terminal


def test_the_printed_repair_commands_repair_their_destinations(
    fleet: tuple[Sandbox, Path], cli: CliRunner
) -> None:
    """As printed (a key policy to patch; aws/s3 to replace with a new key), with --yes."""
    targets = ("fleet-orders-exports", "fleet-payments-exports")
    table = cli("doctor", "--profiles", "fleet-orders,fleet-payments").out.splitlines()
    commands = {}
    for number, line in enumerate(table):
        bucket = next((b for b in targets if f" {b} " in line), None)
        if bucket is not None and not line.lstrip().startswith("repair:"):
            commands[bucket] = table[number + 1].strip().removeprefix("repair: ")
    assert set(commands) == set(targets)
    for command in commands.values():
        words = shlex.split(command)
        assert words[0] == "cwl-export-wizard"
        applied = cli(*words[1:], "--yes")
        assert applied.code == 0, (command, applied.err)
    after = destinations(
        cli("doctor", "--profiles", "fleet-orders,fleet-payments", "--json").json()
    )
    for bucket, profile in zip(targets, ("fleet-orders", "fleet-payments"), strict=True):
        row = after[(profile, REGION, bucket, "exportedlogs")]
        assert row["healthy"] is True, row["findings"]


def test_an_expired_sign_in_and_a_disabled_region_are_rows_while_the_rest_complete(
    fleet: tuple[Sandbox, Path], cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = fleet
    config.write_text(
        config.read_text()
        + "\n[profile expired-sso]\nsso_session = corp\nsso_account_id = 666677778888\n"
        "sso_role_name = Surveyor\nregion = ap-northeast-1\n\n[sso-session corp]\n"
        "sso_start_url = https://corp.awsapps.com/start\nsso_region = ap-northeast-1\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))  # no SSO token cache: the sign-in has expired
    run = cli(
        "doctor",
        "--profiles",
        "expired-sso,fleet-data",
        "--regions",
        f"{REGION},ap-east-1",
        "--json",
    )
    assert run.code == 1, run.err
    out = run.json()
    assert {(d["bucket"], d["healthy"]) for d in out["destinations"]} == {
        ("fleet-data-lake", False)
    }
    errors = {(e["profile"], e["region"]): e["message"] for e in out["errors"]}
    assert set(errors) == {("expired-sso", None), ("fleet-data", "ap-east-1")}
    assert "SSO" in errors[("expired-sso", None)]
    assert "not enabled" in errors[("fleet-data", "ap-east-1")]


def test_nothing_readable_is_exit_2_with_the_reason(
    fleet: tuple[Sandbox, Path], cli: CliRunner
) -> None:
    run = cli("doctor", "--profiles", DENIED.profile, "--json")
    assert run.code == 2
    assert run.json()["destinations"] == []
    assert [e["profile"] for e in run.json()["errors"]] == [DENIED.profile]


def test_all_healthy_is_exit_0(fleet: tuple[Sandbox, Path], cli: CliRunner) -> None:
    run = cli("doctor", "--profile", "fleet-log-archive", "--json")  # its own region only
    assert run.code == 0, run.out
    assert [d["bucket"] for d in run.json()["destinations"]] == ["fleet-archive-main"]


def test_with_bucket_the_doctor_is_as_before(fleet: tuple[Sandbox, Path], cli: CliRunner) -> None:
    run = cli("doctor", "--profile", "fleet-payments", "--bucket", "fleet-payments-exports")
    assert run.code == 1
    assert run.out.startswith("Destination s3://fleet-payments-exports/exportedlogs/ with ")
    assert "KEY_AWS_MANAGED" in run.out
    json_run = cli("doctor", "--profile", "fleet-log-archive", "--bucket", "fleet-archive-main")
    assert json_run.code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--bucket", "b-1", "--regions", "all"),
            "error: --regions is for a survey of every destination",
        ),
        (("--all-profiles", "--key", "alias/x"), "error: --key is for one destination"),
        (("--profiles", "nobody"), "error: --profiles: 'nobody' not in your AWS config."),
        (("--regions", "eu-mars-1"), "error: --regions: 'eu-mars-1' is not a known AWS region."),
        (("--profiles", "a", "--all-profiles"), "error: --profiles and --all-profiles"),
    ],
)
def test_bad_survey_options_are_one_line_and_exit_2(
    fleet: tuple[Sandbox, Path], cli: CliRunner, args: tuple[str, ...], message: str
) -> None:
    run = cli("doctor", *args)
    assert run.code == 2
    assert run.error_lines and run.error_lines[0].startswith(message), run.err
    assert "Traceback" not in run.err


def test_one_bucket_whose_policy_cannot_be_read_is_its_own_row_and_the_region_completes(
    start_sandbox: StartSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    """Found from outside: one bucket refusing GetBucketPolicy made its whole region unread."""
    import json

    refused = "fleet-data-assets-0"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "s3:GetBucketPolicy",
                "Resource": f"arn:aws:s3:::{refused}",
            },
        ],
    }
    sandbox = start_sandbox(scenario="fleet", caller_policy=json.dumps(policy))
    config = tmp_path / "fleet-config"
    write_profiles(config, sandbox.endpoint_url, sandbox.region)
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    run = cli("doctor", "--profiles", "fleet-data", "--regions", REGION, "--json")
    assert run.code == 1, run.err
    out = run.json()
    assert [(e["region"], e["message"].split(":")[0]) for e in out["errors"]] == [(REGION, refused)]
    assert "missing permission s3:GetBucketPolicy" in out["errors"][0]["message"]
    assert ("fleet-data", REGION, "fleet-data-lake") in {
        (d["profile"], d["region"], d["bucket"]) for d in out["destinations"]
    }


def test_an_account_reached_through_two_profiles_is_surveyed_once(
    fleet: tuple[Sandbox, Path], cli: CliRunner
) -> None:
    """Found from outside: the same account through two profiles gave every row twice."""
    _, config = fleet
    text = config.read_text()
    block = text[text.index("[profile fleet-data]") :].split("\n\n")[0]
    config.write_text(text + "\n\n" + block.replace("[profile fleet-data]", "[profile data-2]"))
    run = cli("doctor", "--profiles", "fleet-data,data-2", "--regions", REGION, "--json")
    assert run.code == 1, run.err
    out = run.json()
    assert {d["profile"] for d in out["destinations"]} == {"fleet-data"}
    buckets = [d["bucket"] for d in out["destinations"]]
    assert len(buckets) == len(set(buckets))
    account = out["destinations"][0]["account"]
    assert out["same_account"] == [
        {"profile": "data-2", "account": account, "surveyed_as": "fleet-data"}
    ]
    table = cli("doctor", "--profiles", "data-2,fleet-data", "--regions", REGION)
    assert f"fleet-data reaches account {account}, surveyed once as data-2." in table.out


def _survey_on_a_terminal(
    start_sandbox: StartSandbox, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], int, Gate]:
    """``doctor --all-profiles --regions all`` in a child process whose stderr is a
    pseudo-terminal (so it draws its progress bar) and takes SIGINT as Ctrl-C: the process,
    the terminal's reading end, and a gate that holds the survey's first GetBucketPolicy in
    flight until released (the survey cannot end before the test has stopped it, however
    fast or loaded the machine)."""
    from tests.aws.test_plain_process import ROOT

    sandbox = start_sandbox(scenario="fleet")
    held = sandbox.gate("GetBucketPolicy")
    config = tmp_path / "fleet-config"
    write_profiles(config, sandbox.endpoint_url, sandbox.region)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(config), PYTHONPATH=str(ROOT), TERM="xterm")
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard", "doctor", "--all-profiles", "--regions", "all"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(slave)
    return process, master, held


def test_ctrl_c_stops_the_survey_with_its_own_words_under_the_progress_bar(
    start_sandbox: StartSandbox, tmp_path: Path
) -> None:
    """Found from outside: Ctrl+C said "then rolling back" (a survey changes nothing) and
    printed it on the progress bar's line."""
    from tests.aws.test_plain_process import read_until
    from tests.pty_drain import drain_until_exit
    from wizard.commands.common import CANCELLING_SURVEY

    process, master, held = _survey_on_a_terminal(start_sandbox, tmp_path)
    try:
        seen = read_until(master, " regions")  # the bar is drawn: the survey runs
        process.send_signal(signal.SIGINT)
        seen += read_until(master, CANCELLING_SURVEY)
        held.release()  # the call in flight ends; then the survey stops
        drain_until_exit(master, process, timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert process.stdout is not None
    process.stdout.read()
    assert "rolling back" not in seen and "Traceback" not in seen
    before_notice = seen.split(CANCELLING_SURVEY)[0]
    assert before_notice.endswith("\n") or before_notice.endswith("\r\n"), repr(seen[-300:])


def test_a_second_ctrl_c_prints_what_was_read_at_once_without_waiting_for_calls_in_flight(
    start_sandbox: StartSandbox, tmp_path: Path
) -> None:
    """Found from outside: a second Ctrl-C printed only "error: interrupted." (what had been
    read was lost) and the process still waited for the calls in flight to end."""
    from tests.aws.test_plain_process import read_until
    from tests.pty_drain import drain_until_exit
    from wizard.commands.common import CANCELLING_SURVEY
    from wizard.core.survey import STOPPED_EARLY

    # A call held in flight until the end: the second Ctrl-C does not wait for it.
    process, master, _ = _survey_on_a_terminal(start_sandbox, tmp_path)
    try:
        read_until(master, " regions")  # the bar is drawn: the survey runs
        process.send_signal(signal.SIGINT)
        read_until(master, CANCELLING_SURVEY)
        process.send_signal(signal.SIGINT)
        drain_until_exit(master, process, timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    assert process.returncode == 130
    assert STOPPED_EARLY in out, out


def test_a_profile_whose_sign_in_never_returns_is_a_row_and_the_rest_complete(
    fleet: tuple[Sandbox, Path],
) -> None:
    """Found from outside: a credential_process that waits for ever hung the whole survey.
    The limit is measured on a clock the test holds: it runs out once the other profile has
    signed in (a wall-clock limit failed here when a loaded machine signed that one in late)."""
    import sys
    import threading

    from wizard import survey
    from wizard.aws.survey import Limits, SurveyEvent, UnitsPlanned

    _, config = fleet
    hang = f"{sys.executable} -c 'import time; time.sleep(30)'"
    config.write_text(
        config.read_text() + f"\n[profile hangs]\ncredential_process = {hang}\nregion = {REGION}\n"
    )
    others_signed_in = threading.Event()

    def on_event(event: SurveyEvent) -> None:
        if isinstance(event, UnitsPlanned) and event.profile == "fleet-data":
            others_signed_in.set()

    surveyor = survey.start(
        survey.user_factory(None),
        limits=Limits(sign_in_seconds=0.5),
        on_event=on_event,
        clock=lambda: 1e9 if others_signed_in.is_set() else 0.0,
    )
    result = surveyor.run(["fleet-data", "hangs"], (REGION,))
    [error] = result.errors
    assert error.profile == "hangs" and error.region is None
    assert "took longer than 0.5 s" in error.message
    assert {row.profile for row in result.rows} == {"fleet-data"}
    # The process botocore started is not left behind (found from outside: it was).
    [process] = surveyor.sessions["hangs"]._shared.credential_processes._started  # type: ignore[union-attr]
    assert process.wait(timeout=30) != 0


def _started_pid(pid_file: Path) -> int:
    """The pid the credential process wrote once it started (polls: not a time limit)."""
    import time

    for _ in range(600):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    return int(pid_file.read_text())


def _ends(pid: int) -> bool:
    """The process ends within a bound that only breaks a hang."""
    import time

    for _ in range(300):
        if _gone(pid):
            return True
        time.sleep(0.1)
    return _gone(pid)


def _gone(pid: int) -> bool:
    """The process has ended (a zombie waiting to be reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while /proc is read
        return True


def test_a_hanging_sign_in_holds_up_only_its_own_profile_and_ctrl_c_stops_its_process(
    fleet: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    """Found from outside: every profile waited the hanging one's 60 s before any was
    surveyed; Ctrl-C then yielded nothing, and the credential process ran on."""
    import sys
    import threading

    from wizard import survey
    from wizard.aws.survey import Limits, RowFound, SurveyEvent

    _, config = fleet
    pid_file = tmp_path / "pid"
    script = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(300)"
    )
    hang = f'{sys.executable} -c "{script}"'
    config.write_text(
        config.read_text() + f"\n[profile hangs]\ncredential_process = {hang}\nregion = {REGION}\n"
    )
    others_found = threading.Event()

    def on_event(event: SurveyEvent) -> None:
        if isinstance(event, RowFound) and event.row.profile == "fleet-data":
            others_found.set()

    surveyor = survey.start(
        survey.user_factory(None),
        limits=Limits(sign_in_seconds=600, claim_seconds=0.2),
        on_event=on_event,
    )
    results: list[Any] = []
    runner = threading.Thread(
        target=lambda: results.append(surveyor.run(["hangs", "fleet-data"], (REGION,)))
    )
    runner.start()
    try:
        # The later profile is surveyed while the first one still signs in.
        assert others_found.wait(120), "fleet-data was held up by the hanging sign-in"
        pid = _started_pid(pid_file)
        assert not _gone(pid)
    finally:
        surveyor.cancel.set()
        runner.join(120)
    [result] = results
    assert result.interrupted
    assert result.errors == ()  # stopped, not the profile's fault
    assert {row.profile for row in result.rows} == {"fleet-data"}
    assert _ends(pid), "the credential process was left running"


def test_profile_with_profiles_is_refused_and_a_config_name_however_odd_is_surveyed(
    fleet: tuple[Sandbox, Path], cli: CliRunner
) -> None:
    """Found from outside: --profile beside --profiles was silently ignored, and --profiles
    refused a profile of the AWS config that --all-profiles surveyed."""
    _, config = fleet
    for listing in (("--profiles", "fleet-data"), ("--all-profiles",)):
        run = cli("doctor", "--profile", "fleet-orders", *listing, "--regions", REGION)
        assert run.code == 2 and "--profile and " in run.err and "say two things" in run.err
        assert "Traceback" not in run.err
    odd = "data\u202eodd"
    text = config.read_text()
    block = text[text.index("[profile fleet-data]") :].split("\n\n")[0]
    config.write_text(text + "\n\n" + block.replace("fleet-data]", f"{odd}]", 1))
    run = cli("doctor", "--profiles", odd, "--regions", "eu-west-1", "--json")
    assert run.code == 1, run.err
    [row] = run.json()["destinations"]
    assert row["profile"] == odd and row["bucket"] == "fleet-data-eu"
    table = cli("doctor", "--profiles", odd, "--regions", "eu-west-1")
    assert "\u202e" not in table.out and "no command printed: the profile name" in table.out
    refused = cli("doctor", "--profiles", "not\u202ethere", "--regions", REGION)
    assert refused.code == 2 and "is not a profile name" in refused.err


def test_a_config_section_that_is_no_profile_is_an_error_row_not_silently_skipped(
    fleet: tuple[Sandbox, Path], cli: CliRunner
) -> None:
    """Found from outside: --all-profiles left out [profile my name] without a word (botocore
    and the AWS CLI read no profile there)."""
    _, config = fleet
    config.write_text(config.read_text() + "\n[profile my name]\nregion = eu-west-1\n")
    run = cli("doctor", "--all-profiles", "--regions", REGION, "--json")
    errors = {e["profile"]: e["message"] for e in run.json()["errors"]}
    assert "names no profile that botocore or the AWS CLI can use" in errors["[profile my name]"]
    listed = cli("doctor", "--profiles", "fleet-data", "--regions", REGION, "--json")
    assert all(e["profile"] != "[profile my name]" for e in listed.json()["errors"])
    named = cli("doctor", "--profiles", "my name", "--regions", REGION)
    assert named.code == 2 and "its section [profile my name] is no profile" in named.err


def test_sigterm_stops_the_survey_as_ctrl_c_does_and_leaves_no_credential_process(
    fleet: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    """Found from outside: SIGTERM (timeout, a cancelled CI job) or SIGHUP ended the survey
    with nothing printed and its credential_process left running; then, a credential_process
    that is a shell script left the script's own child running."""
    import json
    import os
    import signal
    import subprocess
    import sys

    from tests.aws.test_plain_process import ROOT

    _, config = fleet
    pid_file = tmp_path / "pid"
    script = tmp_path / "hang.py"
    script.write_text(
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)\n"
    )
    # A shell that waits for its child (the "; true" keeps sh from exec-ing it): the child,
    # whose pid the file holds, is the one that must not outlive the survey.
    wrapper = f'sh -c "{sys.executable} {script}; true"'
    config.write_text(
        config.read_text()
        + f"\n[profile hangs]\ncredential_process = {wrapper}\nregion = {REGION}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(config), PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "wizard", "doctor", "--profiles", "hangs,fleet-data"),
            *("--regions", REGION, "--json"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        start_new_session=True,  # the signal reaches the wizard only, not its children
        text=True,
    )
    try:
        pid = _started_pid(pid_file)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert json.loads(out)["interrupted"] is True
    assert "Traceback" not in err
    # Found from outside: the notice said "Ctrl-C again" to a survey stopped by SIGTERM.
    assert "Stopping the survey on SIGTERM: " in err and "(SIGTERM or Ctrl-C again" in err, err
    assert _ends(pid), "the credential process was left running"


def test_a_bucket_granted_under_a_pattern_only_says_where_it_was_judged(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """Found from outside: a grant that only names a pattern (``team-*/*``) was surveyed
    at the default prefix, outside the pattern, as a plain "broken" row."""
    import json

    sandbox = start_sandbox(scenario="demo")
    s3 = sandbox.client("s3")
    bucket = "patterned-exports"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    grant = {
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/team-*/*",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant]})
    )
    run = cli("doctor", "--regions", REGION, "--json")
    [row] = [d for d in run.json()["destinations"] if d["bucket"] == bucket]
    assert row["prefix"] == "exportedlogs" and row["granted_pattern"] == "team-*/*"
    table = cli("doctor", "--regions", REGION)
    note = next(line for line in table.out.splitlines() if "note:" in line)
    assert "grants CloudWatch Logs only under the pattern team-*/*" in note, table.out
    assert f"doctor --region {REGION} --bucket {bucket} --prefix PREFIX" in note, note
    # The TUI's line under its table says it too.
    from wizard import render
    from wizard.core import survey as core

    judged = core.Row(None, row["account"], REGION, bucket, row["prefix"], (), pattern="team-*/*")
    assert "note: the bucket policy grants CloudWatch Logs only under" in render.survey_detail(
        judged
    )
