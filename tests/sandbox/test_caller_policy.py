"""The caller's own permissions: ``iam-policy`` prints exactly what the flows need, and the
sandbox (``--caller-policy``) refuses what it does not allow, the way AWS does.

Every action ``iam-policy`` grants is needed: with it removed, one of the requests the
flow made would be refused (checked against every request the sandbox judged), and a few
real runs without one action show the failing step naming it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner, Run, StartSandbox
from wizard.core.evaluate import Request, evaluate
from wizard.core.iam_policy import (
    CONDITIONAL_ACTIONS,
    OCCASIONAL_ACTIONS,
    OPTIONAL_ACTIONS,
    RECOVERY_ACTIONS,
    PolicyScope,
    identity_policy,
)
from wizard.sandbox.caller import parse_caller_policy
from wizard.sandbox.server import Sandbox

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
GROUP = "/aws/lambda/demo-fn"
REPAIR_BUCKET, REPAIR_KEY = "demo-broken-exports", "alias/demo-exports"
NEW_BUCKET, NEW_ALIAS = "cwl-caller-policy-test", "alias/cwl-caller-policy"

REPAIR_SCOPE = PolicyScope(
    region=REGION,
    account=ACCOUNT,
    bucket=REPAIR_BUCKET,
    key=REPAIR_KEY,
    log_group=GROUP,
    prefix="exportedlogs",
)
CREATE_SCOPE = PolicyScope(
    region=REGION,
    account=ACCOUNT,
    bucket=NEW_BUCKET,
    create_bucket=True,
    create_key_alias=NEW_ALIAS,
    log_group=GROUP,
    prefix="exportedlogs",
)
REPAIR_ARGS = ("--bucket", REPAIR_BUCKET, "--key", REPAIR_KEY)
CREATE_ARGS = ("--bucket", NEW_BUCKET, "--create-bucket", "--create-key", NEW_ALIAS)


pytestmark = pytest.mark.usefixtures("isolated_aws")

StartWith = Callable[[dict[str, Any]], Sandbox]


@pytest.fixture
def sandbox_with(start_sandbox: StartSandbox) -> StartWith:
    def start(policy: dict[str, Any]) -> Sandbox:
        return start_sandbox(scenario="demo", export_delay=0.2, caller_policy=json.dumps(policy))

    return start


def journal_of(state: Path) -> str:
    (journal,) = sorted((state).glob("apply-*.json"))
    return str(journal)


def repair_flow(cli: CliRunner, state: Path) -> list[tuple[str, Run]]:
    """doctor, apply, test-export, undo: stops at the first step that fails."""
    runs: list[tuple[str, Run]] = []
    for name, args, ok in (
        ("doctor", ("doctor", *REPAIR_ARGS, "--log-group", GROUP), (1,)),
        ("apply", ("apply", *REPAIR_ARGS, "--yes"), (0,)),
        ("test-export", ("test-export", "--bucket", REPAIR_BUCKET, "--log-group", GROUP), (0,)),
    ):
        run = cli(*args)
        runs.append((name, run))
        if run.code not in ok:
            return runs
    runs.append(("undo", cli("undo", journal_of(state), "--yes")))
    return runs


def create_flow(cli: CliRunner, state: Path) -> list[tuple[str, Run]]:
    """doctor, apply, undo, apply again, test-export (undo comes before the export: a bucket
    with exported logs in it is kept on purpose)."""
    runs: list[tuple[str, Run]] = []
    steps: list[tuple[str, tuple[str, ...]]] = [
        ("doctor", ("doctor", *CREATE_ARGS, "--log-group", GROUP)),
        ("apply", ("apply", *CREATE_ARGS, "--yes")),
        ("undo", ()),
        ("apply again", ("apply", *CREATE_ARGS, "--yes")),
        ("test-export", ("test-export", "--bucket", NEW_BUCKET, "--log-group", GROUP)),
    ]
    for name, args in steps:
        run = cli("undo", journal_of(state), "--yes") if name == "undo" else cli(*args)
        runs.append((name, run))
        if run.code != 0:
            return runs
    return runs


FLOWS = {
    "repair": (REPAIR_SCOPE, repair_flow, {"doctor": 1}),
    "create": (CREATE_SCOPE, create_flow, {}),
}


@pytest.mark.parametrize("name", list(FLOWS))
def test_the_printed_policy_carries_the_whole_flow_and_every_action_is_needed(
    sandbox_with: StartWith, cli: CliRunner, isolated_aws: Path, name: str
) -> None:
    scope, flow, expected = FLOWS[name]
    printed = cli("iam-policy", *_scope_args(scope))
    assert printed.code == 0, printed.err
    policy = printed.json()
    assert policy == identity_policy(scope)
    sandbox = sandbox_with(policy)
    runs = flow(cli, isolated_aws)
    for step, run in runs:
        assert run.code == expected.get(step, 0), (step, run.err)
    assert [step for step, _ in runs][-1] in ("undo", "test-export")

    judged = list(sandbox.caller_requests)
    assert judged
    for action in _granted(policy):
        reduced = _without(policy, action)
        document = parse_caller_policy(json.dumps(reduced))
        refused = [r for r in judged if not evaluate(document, r).allowed]
        assert refused, f"{action} is granted but no request of the {name} flow needs it"
        assert {r.action for r in refused} == {action}


def _scope_args(scope: PolicyScope) -> list[str]:
    args = ["--region", scope.region or "", "--account", scope.account or ""]
    for option, value in (
        ("--bucket", scope.bucket),
        ("--key", scope.key),
        ("--create-key", scope.create_key_alias),
        ("--log-group", scope.log_group),
        ("--prefix", scope.prefix),
    ):
        if value:
            args += [option, value]
    if scope.create_bucket:
        args.append("--create-bucket")
    return args


def _granted(policy: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            # Not needed by a run that goes well, each for a documented reason.
            exempt = (
                *OPTIONAL_ACTIONS,
                *RECOVERY_ACTIONS,
                *OCCASIONAL_ACTIONS,
                *CONDITIONAL_ACTIONS,
            )
            if action not in exempt and action not in found:
                found.append(action)
    return found


def _without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy with ``action`` taken out of every statement."""
    reduced = copy.deepcopy(policy)
    for statement in reduced["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != action]
    reduced["Statement"] = [s for s in reduced["Statement"] if s["Action"]]
    return reduced


# A few real runs with one action taken away: the step that needs it fails, and says which.
REMOVED = [
    ("repair", "s3:PutBucketPolicy", "apply"),
    ("repair", "kms:PutKeyPolicy", "apply"),
    ("repair", "s3:GetEncryptionConfiguration", "doctor"),
    ("repair", "kms:Decrypt", "test-export"),
    ("repair", "logs:CreateExportTask", "test-export"),
    ("create", "kms:TagResource", "apply"),
    ("create", "kms:ScheduleKeyDeletion", "undo"),
    ("create", "s3:CreateBucket", "apply"),
]


@pytest.mark.parametrize(("name", "action", "step"), REMOVED)
def test_without_one_action_the_step_that_needs_it_fails_naming_it(
    sandbox_with: StartWith, cli: CliRunner, isolated_aws: Path, name: str, action: str, step: str
) -> None:
    scope, flow, _ = FLOWS[name]
    policy = identity_policy(scope)
    sandbox_with(_without(policy, action))
    runs = flow(cli, isolated_aws)
    failed, run = next((s, r) for s, r in runs if r.code not in (0, 1) or (s == "undo" and r.code))
    assert failed == step, [(s, r.code, r.err) for s, r in runs]
    assert action in run.err + run.out, run.err  # undo reports what remains on stdout
    assert "Traceback" not in run.err and "unexpected" not in run.err


def test_the_generic_policy_parses_and_names_no_account() -> None:
    policy = identity_policy(PolicyScope())
    parse_caller_policy(json.dumps(policy))
    text = json.dumps(policy)
    assert ACCOUNT not in text and "arn:aws:s3:::*" in text
    sids = [s["Sid"] for s in policy["Statement"]]
    assert "CreateTaggedKey" in sids and "PatchTheChosenKey" in sids and "CreateBucket" in sids


def test_a_refused_call_looks_like_aws_s(sandbox_with: StartWith) -> None:
    """S3 answers 403 AccessDenied, KMS AccessDeniedException; both name the action."""
    sandbox = sandbox_with(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
        }
    )
    import boto3
    from botocore.exceptions import ClientError

    env = sandbox.env()
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key="testing",
        region_name=REGION,
    )
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    s3.list_buckets()
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_policy(Bucket=REPAIR_BUCKET)
    error = caught.value.response
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "s3:GetBucketPolicy" in error["Error"]["Message"]
    kms = session.client("kms", endpoint_url=env["AWS_ENDPOINT_URL"])
    with pytest.raises(ClientError) as refused:
        kms.create_key()
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "kms:CreateKey" in refused.value.response["Error"]["Message"]
    sandbox.client("s3").get_bucket_policy(Bucket=REPAIR_BUCKET)  # the admin key sees all


def test_requests_are_recorded_as_judged(sandbox_with: StartWith, cli: CliRunner) -> None:
    sandbox = sandbox_with(identity_policy(REPAIR_SCOPE))
    cli("doctor", *REPAIR_ARGS)
    assert all(isinstance(r, Request) for r in sandbox.caller_requests)
    assert "s3:GetBucketPolicy" in {r.action for r in sandbox.caller_requests}


def test_the_doctor_warns_before_any_write_when_the_caller_lacks_an_action(
    sandbox_with: StartWith, cli: CliRunner
) -> None:
    policy = identity_policy(REPAIR_SCOPE)
    sandbox_with(_without(policy, "s3:PutBucketPolicy"))
    run = cli("doctor", *REPAIR_ARGS, "--json")
    findings = {f["code"]: f for f in run.json()["findings"]}
    warning = findings["CALLER_MAY_NOT"]
    assert warning["severity"] == "warning"
    assert f"apply: s3:PutBucketPolicy on arn:aws:s3:::{REPAIR_BUCKET}" in warning["message"]
    assert "rollback: s3:PutBucketPolicy" in warning["message"]
    assert (
        f"iam-policy --region {REGION} --account {ACCOUNT} --bucket {REPAIR_BUCKET}"
        in (warning["fix"])
    )
    apply = cli("apply", *REPAIR_ARGS, "--yes")
    assert "warning: Your policies" in apply.err and apply.code == 2  # it stopped at that step


def test_without_the_simulator_the_check_says_it_was_skipped(
    sandbox_with: StartWith, cli: CliRunner
) -> None:
    sandbox_with(_without(identity_policy(REPAIR_SCOPE), "iam:SimulatePrincipalPolicy"))
    run = cli("doctor", *REPAIR_ARGS, "--json")
    findings = {f["code"]: f for f in run.json()["findings"]}
    skipped = findings["PERMISSION_CHECK_SKIPPED"]
    assert skipped["severity"] == "info"
    assert "you may not call iam:SimulatePrincipalPolicy" in skipped["message"]
    assert "CALLER_MAY_NOT" not in findings


def test_with_every_permission_the_check_is_silent(sandbox_with: StartWith, cli: CliRunner) -> None:
    sandbox_with(identity_policy(REPAIR_SCOPE))
    run = cli("doctor", *REPAIR_ARGS, "--json")
    codes = {f["code"] for f in run.json()["findings"]}
    assert not codes & {"CALLER_MAY_NOT", "PERMISSION_CHECK_SKIPPED"}


def test_a_bucket_we_may_not_read_is_not_called_another_accounts(
    sandbox_with: StartWith, cli: CliRunner
) -> None:
    policy = _without(identity_policy(REPAIR_SCOPE), "s3:ListBucket")
    policy["Statement"].append(
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"}
    )
    sandbox_with(policy)
    run = cli("doctor", *REPAIR_ARGS, "--json")
    errors = {f["code"]: f for f in run.json()["findings"] if f["severity"] == "error"}
    assert "BUCKET_NOT_OWNED" not in errors
    finding = errors["BUCKET_NOT_READABLE"]
    assert "You may not read the bucket demo-broken-exports (s3:ListBucket)" in finding["message"]
    assert "another AWS account" not in finding["message"]
    plan = cli("plan", *REPAIR_ARGS)
    assert plan.code == 1 and "s3:ListBucket" in plan.out


def test_a_policy_file_is_read_up_to_a_limit(tmp_path: Path) -> None:
    """Found from outside: --org-guardrail /dev/zero read 13 GB before anything was said."""
    import pytest

    from wizard.core.errors import UsageError
    from wizard.sandbox.caller import POLICY_FILE_LIMIT
    from wizard.sandbox.guardrail import read_guardrail

    big = tmp_path / "big.json"
    big.write_text(" " * (POLICY_FILE_LIMIT + 10))
    for path in (big, Path("/dev/zero")):
        if path.exists():
            with pytest.raises(UsageError, match="larger than"):
                read_guardrail(path)


def test_a_resource_iam_cannot_echo_skips_the_check_not_the_review(
    sandbox_with: StartWith,
) -> None:
    """Found from outside: a survey row's prefix with an ESC in it made IAM's answer
    unreadable XML, and the TUI's Review showed an unexpected error."""
    from wizard.aws import permissions
    from wizard.aws.session import AwsSession, ConnectionOptions
    from wizard.core.iam_policy import Need

    sandbox = sandbox_with(identity_policy(REPAIR_SCOPE))
    session = AwsSession(ConnectionOptions(region=REGION, endpoint_url=sandbox.endpoint_url))
    resource = f"arn:aws:s3:::{REPAIR_BUCKET}/\x1b[2Jlogs/*"
    check = permissions.simulate(session, [Need("s3:PutObject", resource, "test export")])
    assert check.skipped is not None and "could not be read" in check.skipped
    assert check.denied == ()
