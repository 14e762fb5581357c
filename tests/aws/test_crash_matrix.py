"""Faults and crashes at every call an apply can make, and two applies at once.

For every write and every rollback call of the create flow and the repair flow:
- kill -9 of a real ``apply`` process while that call is in flight (the sandbox holds the
  request, the test kills the client, then lets the call complete in "AWS" as a call whose
  answer was lost does, or drops it), then ``undo``;
- a rollback call that fails (denied): apply names what remains, ``undo`` finishes it.
Every case must end with the account exactly as before, or a non-zero exit that names what
remains; never "restored" with exit 0 while anything differs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY, full_state, session_for
from tests.conftest import CliRunner, StartSandbox
from wizard.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
NEW_BUCKET = "cwl-crash-matrix-bucket"
NEW_ALIAS = "alias/cwl-crash"
CREATE = ("apply", "--bucket", NEW_BUCKET, "--create-bucket", "--create-key", NEW_ALIAS, "--yes")
REPAIR = ("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes")
CREATE_WRITES = (
    "CreateKey",
    "EnableKeyRotation",
    "CreateAlias",
    "CreateBucket",
    "PutPublicAccessBlock",
    "PutBucketOwnershipControls",
    "PutBucketEncryption",
    "PutBucketPolicy",
)
REPAIR_WRITES = ("PutKeyPolicy", "PutBucketEncryption", "PutBucketPolicy")
# The calls a rollback makes (the last write fails, so everything before it is put back),
# with which occurrence of the operation is the rollback's (the first is the apply's write).
ROLLBACK_CALLS = (
    ("create", "DeleteBucket", 1),
    ("create", "DeleteAlias", 1),
    ("create", "ScheduleKeyDeletion", 1),
    ("repair", "PutBucketEncryption", 2),
    ("repair", "PutKeyPolicy", 2),
)
WAIT = 120.0  # seconds: a bound for a hang, never a timing assumption


def flow(name: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(scenario, apply arguments, the keys whose state is compared)."""
    if name == "create":
        return "empty", CREATE, ()
    return "demo", REPAIR, (DEMO_KEY,)


def bucket_of(name: str) -> str:
    return NEW_BUCKET if name == "create" else DEMO_BUCKET


def state(sandbox: Sandbox, name: str) -> dict[str, Any]:
    _, _, keys = flow(name)
    return full_state(session_for(sandbox), bucket_of(name), keys)


def start_apply(sandbox: Sandbox, args: tuple[str, ...], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **sandbox.env(), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "wizard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def kill_while_in_flight(
    sandbox: Sandbox,
    args: tuple[str, ...],
    operation: str,
    occurrence: int,
    cwd: Path,
    *,
    complete: bool = True,
) -> None:
    """Run apply in a process; kill -9 it while ``operation`` is at the sandbox; then let
    that call complete (its answer is lost) or drop it."""
    gate = sandbox.gate(operation, occurrence)
    process = start_apply(sandbox, args, cwd)
    try:
        while not gate.arrived.wait(0.1):
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"apply ended before {operation} was sent:\n{out}\n{err}")
        process.kill()  # SIGKILL: no handler, no cleanup, no last journal write
        process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
        gate.release(complete=complete)
    assert gate.done.wait(WAIT), f"the held {operation} call never finished"
    process.communicate()


def only_journal(journal_dir: Path) -> Path:
    (journal,) = sorted(journal_dir.glob("apply-*.json"))
    return journal


def undo(cli: CliRunner, journal: Path) -> dict[str, Any]:
    run = cli("undo", str(journal), "--yes", "--json")
    assert "Traceback" not in run.err
    report: dict[str, Any] = run.json()
    assert run.code == (0 if report["complete"] else 1), run.err
    return report


def outcome_of(report: dict[str, Any], action: str) -> str:
    return str(next(s["outcome"] for s in report["steps"] if s["action"] == action))


# --- kill -9 while a write is in flight ---------------------------------------------------

WRITE_POINTS = (
    [("create", op, True) for op in CREATE_WRITES]
    + [("repair", op, True) for op in REPAIR_WRITES]
    + [("create", "CreateKey", False), ("create", "CreateBucket", False)]
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "operation", "complete"),
    WRITE_POINTS,
    ids=[f"{n}-{op}-{'landed' if c else 'lost'}" for n, op, c in WRITE_POINTS],
)
def test_kill_9_during_a_write_then_undo_restores_the_account(
    start_sandbox: StartSandbox,
    cli: CliRunner,
    journal_dir: Path,
    tmp_path: Path,
    name: str,
    operation: str,
    complete: bool,
) -> None:
    scenario, args, _ = flow(name)
    sandbox = start_sandbox(scenario=scenario)
    before = state(sandbox, name)
    kill_while_in_flight(sandbox, args, operation, 1, tmp_path, complete=complete)
    journal = only_journal(journal_dir)
    recorded = json.loads(journal.read_text())
    assert recorded["status"] == "started"
    in_flight = [c for c in recorded["changes"] if c["status"] == "in flight"]
    assert [c["action"] for c in in_flight] == [operation]  # written ahead of the call

    report = undo(cli, journal)
    assert report["complete"], report
    assert state(sandbox, name) == before
    expected = "restored" if complete else "as before"
    new_settings = (
        "EnableKeyRotation",
        "PutPublicAccessBlock",
        "PutBucketOwnershipControls",
        "PutBucketEncryption",
        "PutBucketPolicy",
    )
    if name == "create" and operation in new_settings:
        expected = "with its bucket or key"  # a setting of the new key or bucket
    assert outcome_of(report, operation) == expected
    again = undo(cli, journal)  # a second undo finds everything as before
    assert again["complete"] and {s["outcome"] for s in again["steps"]} <= {
        "as before",
        "already put back",
        "with its bucket or key",
    }


def test_the_undo_of_a_killed_apply_does_not_ask_for_itself_and_a_new_apply_is_told(
    start_sandbox: StartSandbox, cli: CliRunner, journal_dir: Path, tmp_path: Path
) -> None:
    """Found from outside: undoing the journal of a killed apply said, mid-report, "An
    earlier apply ... ended without finishing ... Check it with: cwl-export-wizard undo
    <that same journal>". A new apply after a killed one is still told about it."""
    scenario, args, _ = flow("repair")
    sandbox = start_sandbox(scenario=scenario)
    before = state(sandbox, "repair")
    kill_while_in_flight(sandbox, args, "PutBucketEncryption", 1, tmp_path)
    killed = only_journal(journal_dir)
    run = cli("undo", str(killed), "--yes")
    assert run.code == 0, run.err
    assert "ended without finishing" not in run.err, run.err
    assert state(sandbox, "repair") == before
    kill_while_in_flight(sandbox, args, "PutBucketEncryption", 1, tmp_path)
    [again] = [j for j in journal_dir.glob("apply-*.json") if j != killed]
    told = cli(*args)  # a new apply, after the killed one
    assert told.code == 0, told.err
    assert "ended without finishing" in told.err and str(again) in told.err, told.err


# --- kill -9 while a rollback call is in flight -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("name", "operation", "occurrence"), ROLLBACK_CALLS)
def test_kill_9_during_a_rollback_then_undo_finishes_it(
    start_sandbox: StartSandbox,
    cli: CliRunner,
    journal_dir: Path,
    tmp_path: Path,
    name: str,
    operation: str,
    occurrence: int,
) -> None:
    scenario, args, _ = flow(name)
    # The last write fails: the apply rolls back everything before it.
    sandbox = start_sandbox(scenario=scenario, faults=("PutBucketPolicy:AccessDenied:1",))
    before = state(sandbox, name)
    kill_while_in_flight(sandbox, args, operation, occurrence, tmp_path)
    journal = only_journal(journal_dir)
    steps = json.loads(journal.read_text())["changes"]
    assert any(s["status"] == "rolling back" for s in steps)  # written ahead of the call
    report = undo(cli, journal)
    assert report["complete"], report
    assert state(sandbox, name) == before


# --- a rollback call that fails -----------------------------------------------------------


@pytest.mark.parametrize(("name", "operation", "occurrence"), ROLLBACK_CALLS)
def test_a_denied_rollback_call_is_named_and_undo_finishes_it(
    start_sandbox: StartSandbox,
    cli: CliRunner,
    journal_dir: Path,
    name: str,
    operation: str,
    occurrence: int,
) -> None:
    scenario, args, _ = flow(name)
    denied = (
        "AccessDeniedException"
        if operation in ("ScheduleKeyDeletion", "DeleteAlias", "PutKeyPolicy")
        else "AccessDenied"
    )
    sandbox = start_sandbox(
        scenario=scenario,
        faults=("PutBucketPolicy:AccessDenied:1", f"{operation}:{denied}:1@{occurrence}"),
    )
    before = state(sandbox, name)
    run = cli(*args)
    assert run.code == 2 and "Traceback" not in run.err
    (error,) = run.error_lines
    assert "NOT rolled back" in error and "The account is as it was before" not in error
    assert f"{operation}: access denied" in error  # the case of names and actions is kept
    remains = [line for line in run.err.splitlines() if line.startswith("remains: ")]
    assert len(remains) >= 1
    journal = only_journal(journal_dir)
    assert f"then: cwl-export-wizard undo {journal}" in run.err
    if operation == "ScheduleKeyDeletion":
        key_id = json.loads(journal.read_text())["created"]["key_id"]
        assert any(key_id in line and "live" in line for line in remains), remains
        assert f"schedule-key-deletion --region ap-northeast-1 --key-id {key_id}" in run.err
    assert state(sandbox, name) != before

    report = undo(cli, journal)  # the fault is spent: undo finishes the rollback
    assert report["complete"], report
    assert state(sandbox, name) == before


def test_undo_never_says_restored_while_something_differs(
    start_sandbox: StartSandbox, cli: CliRunner, journal_dir: Path
) -> None:
    sandbox = start_sandbox(scenario="demo")
    assert cli(*REPAIR).code == 0
    s3 = sandbox.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "Later",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:DeleteBucket",
            "Resource": f"arn:aws:s3:::{DEMO_BUCKET}",
        }
    )
    s3.put_bucket_policy(Bucket=DEMO_BUCKET, Policy=json.dumps(policy))
    journal = only_journal(journal_dir)
    run = cli("undo", str(journal), "--yes")
    assert run.code == 1
    assert "LEFT CHANGED: the bucket policy of s3://demo-broken-exports was changed" in run.out
    assert "as it was before the apply" not in run.out
    assert "1 change of this apply remains in the account" in run.out
    assert f"put-bucket-policy --region ap-northeast-1 --bucket {DEMO_BUCKET}" in run.out
    assert '"Sid":"Later"' in json.dumps(
        json.loads(s3.get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"]), separators=(",", ":")
    )  # never overwritten
