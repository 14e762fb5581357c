"""Apply, rollback, drift and undo over the sandbox, and the end-to-end stories."""

from __future__ import annotations

import json
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_GROUP, DEMO_KEY, full_state, session_for
from tests.conftest import REGION, CliRunner, StartSandbox
from wizard.aws import apply, snapshot
from wizard.aws.apply import StepResult
from wizard.aws.session import AwsSession
from wizard.core import plan as core_plan
from wizard.core.change import Plan
from wizard.core.errors import ApplyCancelled, ApplyError, DriftError, UsageError
from wizard.core.outcomes import Outcome, StepStatus
from wizard.core.requirements import SID_GET_BUCKET_ACL, SID_KEY_USE
from wizard.core.state import Choices
from wizard.sandbox.server import Sandbox

NEW_BUCKET = "cwl-wizard-new-bucket"
NEW_ALIAS = "alias/cwl-new"
REPAIR = Choices(region=REGION, bucket=DEMO_BUCKET, key=DEMO_KEY)
CREATE = Choices(region=REGION, bucket=NEW_BUCKET, create_bucket=True, create_key_alias=NEW_ALIAS)
REPAIR_WRITES = ("PutKeyPolicy", "PutBucketEncryption", "PutBucketPolicy")
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


def build(session: AwsSession, choices: Choices) -> Plan:
    plan = core_plan.build(snapshot.read(session, choices), choices)
    assert not plan.blockers, plan.blockers
    return plan


def statements(policy: str | None) -> dict[str, Any]:
    return {s.get("Sid"): s for s in json.loads(policy or '{"Statement": []}')["Statement"]}


def add_log_group(sandbox: Sandbox, name: str = "/app/orders") -> list[str]:
    logs = sandbox.client("logs")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="web/1")
    now = int(time.time() * 1000)
    messages = [f"order {i} accepted" for i in range(5)]
    logs.put_log_events(
        logGroupName=name,
        logStreamName="web/1",
        logEvents=[{"timestamp": now - 60_000 + i, "message": m} for i, m in enumerate(messages)],
    )
    return messages


# --- the stories --------------------------------------------------------------------------


def test_from_an_empty_account_to_a_working_export(empty: Sandbox, cli: CliRunner) -> None:
    messages = add_log_group(empty)
    run = cli(
        "apply",
        "--create-key",
        "alias/x",
        "--create-bucket",
        "--bucket",
        NEW_BUCKET,
        "--yes",
        "--json",
    )
    assert run.code == 0, run.err
    applied = run.json()
    key_arn = applied["key_arn"]
    assert key_arn.startswith(f"arn:aws:kms:{REGION}:{empty.account}:key/")
    assert [s["status"] for s in applied["steps"]] == ["applied"] * len(CREATE_WRITES)
    assert Path(applied["journal"]).is_file()
    assert "[8/8] applied" in run.err  # progress on stderr

    export = cli(
        "test-export",
        "--bucket",
        NEW_BUCKET,
        "--log-group",
        "/app/orders",
        "--prefix",
        "exportedlogs",
        "--json",
    )
    assert export.code == 0, export.err
    result = export.json()
    task_id = result["task_id"]
    key = f"exportedlogs/{task_id}/web-1/000000.gz"
    assert result["objects"] == [f"s3://{NEW_BUCKET}/{key}"]
    assert result["encryption"] == {
        "algorithm": "aws:kms",
        "kms_key_id": key_arn,
        "bucket_key": True,
    }
    head = empty.client("s3").head_object(Bucket=NEW_BUCKET, Key=key)
    assert head["SSEKMSKeyId"] == key_arn
    assert [line.split("Z ", 1)[1] for line in result["sample"]] == messages

    again = cli("plan", "--bucket", NEW_BUCKET, "--create-key", "alias/x")
    assert again.code == 0 and "No changes" in again.out


def test_repairing_the_demo_bucket(demo: Sandbox, cli: CliRunner) -> None:
    session = session_for(demo)
    before_bucket = snapshot.read_bucket(session, DEMO_BUCKET)
    before_key = snapshot.read_key(session, DEMO_KEY, REGION)

    doctor = cli("doctor", "--bucket", DEMO_BUCKET, "--json")
    assert doctor.code == 1
    report = doctor.json()
    assert not report["healthy"]
    codes = {f["code"]: f for f in report["findings"]}
    assert "KEY_AWS_MANAGED" in codes
    assert "PutObject call on the given bucket failed" in codes["KEY_AWS_MANAGED"]["aws_error"]
    acl = next(f for f in report["findings"] if "GETBUCKETACL" in f["code"])
    assert "GetBucketAcl call on the given bucket failed" in acl["aws_error"]
    assert all(
        set(f) == {"code", "severity", "message", "fix", "aws_error"} for f in report["findings"]
    )
    human = cli("doctor", "--bucket", DEMO_BUCKET)
    assert "ERROR  KEY_AWS_MANAGED" in human.out and "AWS would say: " in human.out

    fixed = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes")
    assert fixed.code == 0, fixed.err
    assert "Journal: " in fixed.out

    healthy = cli("doctor", "--bucket", DEMO_BUCKET, "--json")
    assert healthy.code == 0 and healthy.json()["healthy"]
    exported = cli("test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP, "--json")
    assert exported.code == 0, exported.err
    assert exported.json()["encryption"]["kms_key_id"] == before_key.arn

    after_bucket = snapshot.read_bucket(session, DEMO_BUCKET)
    after_key = snapshot.read_key(session, DEMO_KEY, REGION)
    old, new = statements(before_bucket.policy), statements(after_bucket.policy)
    assert all(new[sid] == statement for sid, statement in old.items())  # unchanged
    assert SID_GET_BUCKET_ACL in new
    old_key, new_key = statements(before_key.policy), statements(after_key.policy)
    assert all(new_key[sid] == statement for sid, statement in old_key.items())
    assert SID_KEY_USE in new_key

    second = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--json")
    assert second.code == 0 and second.json() == {"changes": [], "blockers": []}


# --- rollback -----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", REPAIR_WRITES)
def test_a_failed_repair_step_leaves_the_account_as_it_was(
    start_sandbox: StartSandbox, operation: str
) -> None:
    sandbox = start_sandbox(scenario="demo", faults=(f"{operation}:AccessDenied:1",))
    session = session_for(sandbox)
    plan = build(session, REPAIR)
    assert [c.action.value for c in plan.changes] == list(REPAIR_WRITES)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    seen: list[StepResult] = []
    with pytest.raises(ApplyError) as caught:
        apply.run(session, plan, on_step=seen.append)
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before
    error = caught.value
    index = REPAIR_WRITES.index(operation)
    assert f"Step {index + 1} of 3 ({operation}" in error.message
    assert error.report is not None and error.report.complete
    assert len(error.report.restored) == index
    assert error.journal_path and Path(error.journal_path).is_file()
    assert [s.status for s in seen] == (
        [StepStatus.APPLIED] * index + [StepStatus.FAILED] + [StepStatus.ROLLED_BACK] * (index + 1)
    )


@pytest.mark.parametrize("operation", CREATE_WRITES)
def test_a_failed_create_step_leaves_the_account_as_it_was(
    start_sandbox: StartSandbox, operation: str
) -> None:
    sandbox = start_sandbox(scenario="empty", faults=(f"{operation}:AccessDenied:1",))
    session = session_for(sandbox)
    plan = build(session, CREATE)
    assert [c.action.value for c in plan.changes] == list(CREATE_WRITES)
    before = full_state(session, NEW_BUCKET)
    with pytest.raises(ApplyError) as caught:
        apply.run(session, plan)
    assert full_state(session, NEW_BUCKET) == before
    index = CREATE_WRITES.index(operation)
    report = caught.value.report
    assert report is not None and report.complete, report
    restored = [r.message for r in report.restored]
    if index > 0:  # the key was created: it is scheduled for deletion, and the error says so
        assert any("scheduled the new key" in r for r in restored)
        journal = json.loads(Path(caught.value.journal_path or "").read_text())
        key_id = journal["created"]["key_id"]
        state = sandbox.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        assert state == "PendingDeletion"
    if index > 3:
        assert any(f"deleted the new bucket s3://{NEW_BUCKET}" in r for r in restored)


def test_cli_reports_the_rollback_in_one_error(start_sandbox: StartSandbox, cli: CliRunner) -> None:
    start_sandbox(scenario="demo", faults=("PutBucketPolicy:AccessDenied:1",))
    run = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes")
    assert run.code == 2
    (line,) = run.error_lines
    assert "Step 3 of 3 (PutBucketPolicy" in line and "s3:PutBucketPolicy" in line
    assert "Rolled back: restored the default encryption" in line
    assert "The account is as it was before." in line
    assert "journal: " in run.err and "Traceback" not in run.err


def test_cancel_between_steps_rolls_back(demo: Sandbox) -> None:
    session = session_for(demo)
    plan = build(session, REPAIR)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    cancel = threading.Event()

    def after_first(step: StepResult) -> None:
        if step.status is StepStatus.APPLIED:
            cancel.set()

    with pytest.raises(ApplyCancelled) as caught:
        apply.run(session, plan, on_step=after_first, cancel=cancel)
    assert "Stopped after 1 step of 3." in caught.value.message
    assert "Rolled back: restored the key policy" in caught.value.message
    assert caught.value.restored_everything
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before


def test_a_plan_with_blockers_is_refused(demo: Sandbox, cli: CliRunner) -> None:
    session = session_for(demo)
    choices = Choices(region=REGION, bucket="demo-other-region", key=DEMO_KEY)
    plan = core_plan.build(snapshot.read(session, choices), choices)
    assert plan.blockers
    with pytest.raises(UsageError):
        apply.run(session, plan)
    run = cli("apply", "--bucket", "demo-other-region", "--key", DEMO_KEY, "--yes")
    assert run.code == 1 and "Blockers" in run.out and "blockers" in run.err


# --- drift --------------------------------------------------------------------------------


FOREIGN = {
    "Sid": "SomeoneElse",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:DeleteBucket",
    "Resource": f"arn:aws:s3:::{DEMO_BUCKET}",
}


def add_foreign_statement(sandbox: Sandbox) -> None:
    s3 = sandbox.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"])
    policy["Statement"].append(FOREIGN)
    s3.put_bucket_policy(Bucket=DEMO_BUCKET, Policy=json.dumps(policy))


def test_a_policy_changed_after_the_plan_is_not_overwritten(demo: Sandbox) -> None:
    session = session_for(demo)
    plan = build(session, REPAIR)
    key_before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))[DEMO_KEY]
    add_foreign_statement(demo)
    with pytest.raises(DriftError) as caught:
        apply.run(session, plan)
    message = caught.value.message
    assert message.startswith(
        f"The bucket policy of s3://{DEMO_BUCKET} changed since the preview; nothing was "
        "overwritten."
    )
    assert "Run plan again" in (caught.value.fix or "")
    assert "Rolled back" in message  # the key policy and encryption steps before it
    assert caught.value.restored_everything
    policy = statements(snapshot.read_bucket(session, DEMO_BUCKET).policy)
    assert policy["SomeoneElse"] == FOREIGN and SID_GET_BUCKET_ACL not in policy
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,))[DEMO_KEY] == key_before


def test_drift_on_the_first_step_changes_nothing(demo: Sandbox) -> None:
    session = session_for(demo)
    plan = build(session, REPAIR)
    kms = demo.client("kms")
    key = snapshot.read_key(session, DEMO_KEY, REGION)
    policy = json.loads(key.policy or "{}")
    policy["Statement"].append(
        {
            "Sid": "Other",
            "Effect": "Allow",
            "Action": "kms:Describe*",
            "Principal": {"AWS": f"arn:aws:iam::{demo.account}:root"},
            "Resource": "*",
        }
    )
    kms.put_key_policy(KeyId=key.key_id or "", PolicyName="default", Policy=json.dumps(policy))
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    with pytest.raises(DriftError, match=r"The key policy of .* changed since the preview"):
        apply.run(session, plan)
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before


def test_applying_the_same_plan_twice_changes_nothing(demo: Sandbox) -> None:
    session = session_for(demo)
    plan = build(session, REPAIR)
    apply.run(session, plan)
    state = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    second = apply.run(session, plan)
    assert [s.status for s in second.steps] == [StepStatus.UNCHANGED] * 3
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == state


# --- journal and undo ---------------------------------------------------------------------


def test_journal_records_the_plan_and_each_step(demo: Sandbox, journal_dir: Path) -> None:
    session = session_for(demo)
    plan = build(session, REPAIR)
    result = apply.run(session, plan)
    assert result.journal_path.parent == journal_dir
    assert result.journal_path.name.startswith("apply-")
    journal = json.loads(result.journal_path.read_text())
    assert journal["account"] == demo.account and journal["region"] == REGION
    assert journal["status"] == "applied" and journal["time"].endswith("Z")
    assert journal["format"] == 2 and journal["id"] in result.journal_path.name
    assert stat.S_IMODE(result.journal_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal_dir.stat().st_mode) == 0o700
    for entry, change in zip(journal["changes"], plan.changes, strict=True):
        assert entry["action"] == change.action.value
        assert entry["before"] == change.before and entry["after"] == change.after
        assert entry["status"] == "applied" and entry["params"]


def test_undo_restores_everything(demo: Sandbox, cli: CliRunner) -> None:
    session = session_for(demo)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    result = apply.run(session, build(session, REPAIR))
    refused = cli("undo", str(result.journal_path))  # stdin is not a terminal: needs --yes
    assert refused.code == 2 and "--yes" in refused.err
    run = cli("undo", str(result.journal_path), "--yes")
    assert run.code == 0, run.err
    assert "restored the bucket policy" in run.out
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before
    assert json.loads(result.journal_path.read_text())["status"] == "undone"
    again = cli("undo", str(result.journal_path), "--yes")
    assert again.code == 0 and "Nothing to undo" in again.out and "already put back" in again.out
    assert "RESTORED" not in again.out and again.err == ""


def test_undo_refuses_a_target_changed_since_the_apply(demo: Sandbox) -> None:
    session = session_for(demo)
    key_before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))[DEMO_KEY]
    result = apply.run(session, build(session, REPAIR))
    add_foreign_statement(demo)
    report = apply.undo(session, result.journal_path)
    assert not report.complete
    (left,) = report.remaining
    assert left.outcome is Outcome.LEFT_CHANGED and left.action == "PutBucketPolicy"
    assert left.message.startswith(f"the bucket policy of s3://{DEMO_BUCKET} was changed by")
    assert left.manual and "put-bucket-policy" in left.manual[0]
    assert statements(snapshot.read_bucket(session, DEMO_BUCKET).policy)["SomeoneElse"] == FOREIGN
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,))[DEMO_KEY] == key_before


def test_undo_of_a_created_destination(empty: Sandbox) -> None:
    session = session_for(empty)
    before = full_state(session, NEW_BUCKET)
    result = apply.run(session, build(session, CREATE))
    report = apply.undo(session, result.journal_path)
    assert report.complete, report
    assert any("scheduled the new key" in r.message for r in report.restored)
    assert full_state(session, NEW_BUCKET) == before


def test_create_bucket_in_us_east_1_sends_no_location_constraint(
    start_sandbox: StartSandbox,
) -> None:
    sandbox = start_sandbox(scenario="empty", region="us-east-1")
    session = session_for(sandbox)
    choices = Choices(
        region="us-east-1", bucket=NEW_BUCKET, create_bucket=True, create_key_alias=NEW_ALIAS
    )
    apply.run(session, build(session, choices))
    assert snapshot.read_bucket(session, NEW_BUCKET).region == "us-east-1"


def test_apply_without_yes_and_without_a_terminal_is_refused(demo: Sandbox, cli: CliRunner) -> None:
    session = session_for(demo)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    run = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY)
    assert run.code == 2
    assert run.error_lines == [
        "error: Refusing to change anything without confirmation: stdin is not a terminal."
    ]
    assert "--yes" in run.err
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before


# --- what the user did not ask for --------------------------------------------------------


def test_create_key_on_someone_elses_alias_is_refused(demo: Sandbox, cli: CliRunner) -> None:
    session = session_for(demo)
    before = full_state(session, DEMO_BUCKET, (DEMO_KEY,))
    run = cli("apply", "--bucket", DEMO_BUCKET, "--create-key", DEMO_KEY, "--yes")
    assert run.code == 2
    (error,) = run.error_lines
    assert f"The alias {DEMO_KEY} already exists" in error
    assert f"--key {DEMO_KEY}" in run.err  # the hint
    assert full_state(session, DEMO_BUCKET, (DEMO_KEY,)) == before
    plan = cli("plan", "--bucket", DEMO_BUCKET, "--create-key", DEMO_KEY)
    assert plan.code == 2 and plan.error_lines == run.error_lines
    from wizard.flow import Flow

    with pytest.raises(UsageError, match="already exists"):  # the TUI and plain mode
        Flow(session).review(
            REPAIR.__class__(region=REGION, bucket=DEMO_BUCKET, create_key_alias=DEMO_KEY)
        )


def test_create_key_reuses_a_key_the_wizard_created(empty: Sandbox, cli: CliRunner) -> None:
    first = cli(
        "apply",
        "--bucket",
        NEW_BUCKET,
        "--create-bucket",
        "--create-key",
        NEW_ALIAS,
        "--yes",
        "--json",
    )
    assert first.code == 0, first.err
    key_arn = first.json()["key_arn"]
    second = cli("doctor", "--bucket", NEW_BUCKET, "--create-key", NEW_ALIAS, "--json")
    assert second.code == 0, second.err
    reused = [f for f in second.json()["findings"] if f["code"] == "KEY_REUSED"]
    assert reused and "reuses it" in reused[0]["fix"]
    again = cli("apply", "--bucket", NEW_BUCKET, "--create-key", NEW_ALIAS, "--yes", "--json")
    assert again.code == 0 and again.json()["applied"] is False  # nothing to do
    keys = empty.client("kms").list_keys()["Keys"]
    assert [k["KeyArn"] for k in keys if k["KeyArn"] == key_arn] == [key_arn]
