"""``doctor --verify``: the prediction checked against AWS's answer to a probe export, through
the command, against the sandbox over real HTTP (organization guardrail and propagation
included)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.aws.conftest import DEMO_BUCKET, DEMO_GROUP, DEMO_KEY
from tests.conftest import CliRunner, StartSandbox
from tests.outside import make_healthy_by_hand
from wizard.core.requirements import (
    ERR_GET_BUCKET_ACL,
    ERR_PUT_OBJECT,
    TEST_OBJECT_NAME,
)
from wizard.sandbox.server import Sandbox

VERIFY = ("doctor", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--verify")
# A guardrail refuses for good, while the account's policies allow the export: by the one
# propagation rule the probe would try again for 120 s first. These tests are about the verdict.
VERIFY_AT_ONCE = (*VERIFY, "--propagation-wait", "0")

# AWS's own example RCP: service principals only for the organization's own accounts.
ORG_ONLY_FOR_SERVICES = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EnforceOrgIdentitiesForServicePrincipals",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:PutObject", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:SourceOrgID": "o-exampleorgid"},
                "Null": {"aws:SourceAccount": "false"},
                "Bool": {"aws:PrincipalIsAWSService": "true"},
            },
        }
    ],
}


def objects_under(sandbox: Sandbox, bucket: str) -> list[str]:
    listed = sandbox.client("s3").list_objects_v2(Bucket=bucket)
    return [str(o["Key"]) for o in listed.get("Contents", [])]


def test_the_broken_scenario_reproduces_the_predicted_error_verbatim(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    start_sandbox(scenario="broken")
    run = cli(*VERIFY, "--json")
    assert run.code == 1, run.err
    data = run.json()
    assert data["healthy"] is False
    verification = data["verification"]
    assert set(verification) == {"predicted", "observed", "agrees", "hidden_causes"}
    assert verification["predicted"]["aws_error"] == ERR_GET_BUCKET_ACL
    assert verification["observed"] == {"status": "REFUSED", "aws_error": ERR_GET_BUCKET_ACL}
    assert verification["agrees"] is True and verification["hidden_causes"] == []


def test_after_apply_the_verification_is_healthy_and_agrees(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    sandbox = start_sandbox(scenario="broken")
    before = set(objects_under(sandbox, DEMO_BUCKET))
    assert cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes").code == 0
    run = cli(*VERIFY, "--json")
    assert run.code == 0, run.err
    verification = run.json()["verification"]
    assert verification["agrees"] is True
    assert verification["observed"] == {"status": "COMPLETED", "aws_error": None}
    assert verification["predicted"]["status"] == "COMPLETED"
    # The probe changed as little as it could: AWS's test object, under the prefix (the
    # demo's log events are older than the probe's minute).
    written = set(objects_under(sandbox, DEMO_BUCKET)) - before
    assert written == {f"exportedlogs/{TEST_OBJECT_NAME}"}


def test_an_organization_guardrail_makes_the_doctor_wrong_and_the_verification_says_so(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path
) -> None:
    sandbox = start_sandbox(scenario="demo", org_guardrail=json.dumps(ORG_ONLY_FOR_SERVICES))
    make_healthy_by_hand(sandbox)
    doctor = cli("doctor", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY)
    assert doctor.code == 0, doctor.out  # nothing the account shows is wrong
    run = cli(*VERIFY_AT_ONCE, "--json")
    assert run.code == 1, run.err
    data = run.json()
    assert data["healthy"] is True
    verification = data["verification"]
    assert verification["agrees"] is False
    assert verification["predicted"] == {"status": "COMPLETED", "aws_error": None, "finding": None}
    assert verification["observed"] == {"status": "REFUSED", "aws_error": ERR_PUT_OBJECT}
    causes = verification["hidden_causes"]
    assert causes[0]["code"] == "ORGANIZATION_RCP"
    assert "RESOURCE_CONTROL_POLICY" in causes[0]["check"]
    assert sandbox.account in causes[0]["check"]
    assert {"CALLER_SCP_OR_BOUNDARY", "PROPAGATION"} <= {c["code"] for c in causes}
    # The text face says the same, AWS's words verbatim.
    text = cli(*VERIFY_AT_ONCE)
    assert text.code == 1
    assert "The diagnosis did NOT match" in text.out
    assert f"AWS said:  refused: {ERR_PUT_OBJECT}" in text.out
    assert "1. A resource control policy (RCP)" in text.out


def test_the_guardrail_is_invisible_to_the_accounts_apis(start_sandbox: StartSandbox) -> None:
    """A member account cannot read its organization's RCPs: no policy it can read names it."""
    sandbox = start_sandbox(scenario="demo", org_guardrail=json.dumps(ORG_ONLY_FOR_SERVICES))
    make_healthy_by_hand(sandbox)
    s3, kms = sandbox.client("s3"), sandbox.client("kms")
    key_id = kms.describe_key(KeyId=DEMO_KEY)["KeyMetadata"]["KeyId"]
    seen = (
        s3.get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"]
        + kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    )
    assert "EnforceOrgIdentitiesForServicePrincipals" not in seen
    assert "o-exampleorgid" not in seen


def test_a_guardrail_for_the_sandboxs_own_organization_lets_exports_through(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """The same RCP naming the organization the account is in denies nothing."""
    from wizard.sandbox.guardrail import SANDBOX_ORG_ID

    own = json.loads(json.dumps(ORG_ONLY_FOR_SERVICES).replace("o-exampleorgid", SANDBOX_ORG_ID))
    sandbox = start_sandbox(scenario="demo", org_guardrail=json.dumps(own))
    make_healthy_by_hand(sandbox)
    run = cli(*VERIFY, "--json")
    assert run.code == 0, run.err
    assert run.json()["verification"]["agrees"] is True


def test_a_guardrail_on_the_key_is_reported_with_the_kms_text(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """S3's use of the key for CloudWatch Logs denied by the organization: the export fails
    with the KMS hint, the doctor saw nothing."""
    guardrail = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:GenerateDataKey",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:SourceOrgID": "o-exampleorgid"},
                    "Bool": {"aws:PrincipalIsAWSService": "true"},
                },
            }
        ],
    }
    sandbox = start_sandbox(scenario="demo", org_guardrail=json.dumps(guardrail))
    make_healthy_by_hand(sandbox)
    run = cli(*VERIFY_AT_ONCE, "--json")
    assert run.code == 1
    observed = run.json()["verification"]["observed"]
    assert observed["status"] == "REFUSED"
    assert "KMS key or bucket encryption misconfiguration" in observed["aws_error"]


def test_a_fresh_change_under_propagation_delay_is_waited_for_then_agrees(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    start_sandbox(scenario="broken", propagation_delay=3.0)
    assert cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes").code == 0
    run = cli(*VERIFY, "--json")
    assert run.code == 0, run.err
    verification = run.json()["verification"]
    assert verification["agrees"] is True
    assert verification["observed"]["status"] == "COMPLETED"
    assert "policy changes take seconds, sometimes minutes, to reach CloudWatch Logs" in run.err
    assert "Trying again in 2 s" in run.err


def test_the_probe_never_starts_while_another_export_runs(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    sandbox = start_sandbox(scenario="broken", export_delay=30.0)
    make_healthy_by_hand(sandbox)
    logs = sandbox.client("logs")
    logs.create_export_task(
        logGroupName=DEMO_GROUP,
        fromTime=0,
        to=1,
        destination=DEMO_BUCKET,
        destinationPrefix="exportedlogs",
    )
    active = logs.describe_export_tasks(statusCode="PENDING")["exportTasks"]
    assert active
    run = cli(*VERIFY)
    assert run.code == 2
    assert "Another export task is active" in run.err
    assert logs.describe_export_tasks()["exportTasks"] == active  # no second task


def test_verify_options_need_verify(cli: CliRunner) -> None:
    run = cli("doctor", "--bucket", DEMO_BUCKET, "--if-busy", "wait")
    assert run.code == 2 and "--if-busy is for the probe export: add --verify." in run.err
    run = cli("doctor", "--bucket", DEMO_BUCKET, "--verify", "--propagation-wait", "-1")
    assert run.code == 2 and "--propagation-wait" in run.err


def test_a_bad_guardrail_file_is_one_line_and_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    allow = tmp_path / "allow.json"
    allow.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
                ],
            }
        )
    )
    run = cli("sandbox", "--org-guardrail", str(allow))
    assert run.code == 2
    assert "grants nothing, it only denies" in run.err and "Traceback" not in run.err
    missing = cli("sandbox", "--org-guardrail", str(tmp_path / "none.json"))
    assert missing.code == 2 and "cannot read" in missing.err


# --- test-export --report: the proof for a change ticket --------------------------------------


def test_the_report_holds_the_failure_the_changes_and_the_decrypted_lines(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path
) -> None:
    sandbox = start_sandbox(scenario="broken")
    assert cli(*VERIFY).code == 1  # the failure, reproduced and kept
    applied = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes", "--json")
    assert applied.code == 0
    journal = applied.json()["journal"]
    report = tmp_path / "proof-for-the-ticket"
    run = cli(
        "test-export",
        "--bucket",
        DEMO_BUCKET,
        "--log-group",
        DEMO_GROUP,
        "--lines",
        "3",
        "--json",
        "--report",
        str(report),
    )
    assert run.code == 0, run.err
    result = run.json()
    text = report.read_text(encoding="utf-8")
    before, after = text.split("## After: the export")
    assert ERR_GET_BUCKET_ACL in before and "(matched)" in before
    assert f"Journal: `{journal}`" in before
    assert "Encrypt new objects with alias/demo-exports by default" in before
    assert result["objects"][0] in after
    key_arn = sandbox.client("kms").describe_key(KeyId=DEMO_KEY)["KeyMetadata"]["Arn"]
    assert result["encryption"]["kms_key_id"] == key_arn
    assert f"- KMS key ARN: `{key_arn}`" in after
    assert "- Key alias: `alias/demo-exports`" in after
    for line in result["sample"]:
        assert line in after
    assert (
        "cwl-export-wizard doctor --verify --region ap-northeast-1 --bucket demo-broken-exports "
        "--prefix exportedlogs --log-group /aws/lambda/demo-fn" in after
    )
    # Never over an existing file: refused before any export starts.
    again = cli(
        "test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP, "--report", str(report)
    )
    assert again.code == 2 and "exists already" in again.err
    assert "Started export task" not in again.err


def test_a_report_without_a_reproduced_failure_says_so(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path
) -> None:
    start_sandbox(scenario="broken")
    assert cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes").code == 0
    report = tmp_path / "proof-for-the-ticket"
    run = cli(
        "test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP, "--report", str(report)
    )
    assert run.code == 0, run.err
    assert "No failure was reproduced before the change" in report.read_text(encoding="utf-8")
    no_wait = cli(
        "test-export",
        "--bucket",
        DEMO_BUCKET,
        "--log-group",
        DEMO_GROUP,
        "--no-wait",
        "--report",
        str(tmp_path / "another-proof"),
    )
    assert no_wait.code == 2 and "--no-wait" in no_wait.err


def test_the_guardrail_judges_the_callers_own_calls_too(start_sandbox: StartSandbox) -> None:
    """An RCP limits every request to the account's S3 and KMS resources, the caller's too,
    with AWS's wording; the admin's look at the account is not judged."""
    from botocore.exceptions import ClientError

    from tests.aws.conftest import session_for

    guardrail = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutBucketPolicy",
                "Resource": "arn:aws:s3:::demo-broken-exports",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}},
            }
        ],
    }
    sandbox = start_sandbox(scenario="demo", org_guardrail=json.dumps(guardrail))
    s3 = session_for(sandbox).client("s3")
    policy = sandbox.client("s3").get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"]
    try:
        s3.put_bucket_policy(Bucket=DEMO_BUCKET, Policy=policy)
    except ClientError as exc:
        error = exc.response["Error"]
    else:
        raise AssertionError("the guardrail let the caller's PutBucketPolicy through")
    assert error["Code"] == "AccessDenied"
    assert error["Message"].endswith("with an explicit deny in a resource control policy")
    s3.put_bucket_policy(Bucket="demo-sse-s3", Policy=policy.replace(DEMO_BUCKET, "demo-sse-s3"))
    sandbox.client("s3").put_bucket_policy(Bucket=DEMO_BUCKET, Policy=policy)  # the admin


def test_the_probe_waits_for_another_export_when_asked(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    sandbox = start_sandbox(scenario="broken", export_delay=1.0)
    make_healthy_by_hand(sandbox)
    logs = sandbox.client("logs")
    other = logs.create_export_task(
        logGroupName=DEMO_GROUP,
        fromTime=0,
        to=1,
        destination=DEMO_BUCKET,
        destinationPrefix="exportedlogs",
    )["taskId"]
    run = cli(*VERIFY, "--if-busy", "wait", "--json")
    assert run.code == 0, run.err
    assert run.json()["verification"]["agrees"] is True
    tasks = logs.describe_export_tasks()["exportTasks"]
    assert [t["status"]["code"] for t in tasks if t["taskId"] == other] == ["COMPLETED"]
    assert len(tasks) == 2  # the other one (never cancelled), then the probe
