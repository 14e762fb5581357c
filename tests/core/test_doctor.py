"""core.doctor: one test (at least) per finding code, plus ordering and "don't pile on"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.core.test_plan import (
    ACCOUNT,
    ALIAS,
    BUCKET,
    KEY_ARN,
    NEW_ID,
    PRINCIPAL,
    REGION,
    aws_managed_key,
    bucket,
    choose,
    customer_key,
    default_key_policy,
    deny_insecure_transport,
    dest,
    doc,
    documented_bucket_statements,
    documented_key_statement,
    healthy_bucket,
    healthy_bucket_policy,
    healthy_key,
    healthy_snapshot,
    root_statement,
    snap,
)
from wizard.core import requirements as req
from wizard.core.arn import key_arn
from wizard.core.doctor import diagnose
from wizard.core.findings import Finding, FindingCode, Severity, is_healthy
from wizard.core.state import (
    BucketEncryption,
    BucketState,
    Choices,
    ExportTaskInfo,
    ExportTaskStatus,
    KeyState,
    LogGroupState,
    Snapshot,
)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


def diagnose_with(
    bucket_state: BucketState | None = None,
    key: KeyState | None = None,
    choices: Choices | None = None,
    **snapshot_fields: Any,
) -> list[Finding]:
    snapshot = snap(bucket_state or healthy_bucket(), key)
    if snapshot_fields:
        snapshot = Snapshot(**{**snapshot.__dict__, **snapshot_fields})
    return diagnose(snapshot, choices or choose())


# --------------------------------------------------------------------------- healthy


def test_healthy_destination_has_no_findings() -> None:
    findings = diagnose(healthy_snapshot(), choose())
    assert findings == [] and is_healthy(findings)


def test_repair_mode_on_a_healthy_destination_has_no_findings() -> None:
    assert diagnose(healthy_snapshot(), choose(key=None)) == []


def test_is_healthy_ignores_warnings_and_info() -> None:
    warning = Finding(FindingCode.BUCKET_NOT_KMS, Severity.WARNING, "m", "f")
    info = Finding(FindingCode.KEY_ROTATION_OFF, Severity.INFO, "m", "f")
    error = Finding(FindingCode.KEY_POLICY_BLOCKS_LOGS, Severity.ERROR, "m", "f")
    assert is_healthy([]) and is_healthy([warning, info])
    assert not is_healthy([info, error])
    assert is_healthy(iter([warning]))


# --------------------------------------------------------------------------- the bucket


def test_bucket_not_found() -> None:
    findings = diagnose_with(BucketState(BUCKET, exists=False), healthy_key())
    finding = only(findings, "BUCKET_NOT_FOUND")
    assert finding.severity is Severity.ERROR
    assert finding.aws_error == req.ERR_BUCKET_MISSING
    assert BUCKET in finding.message and "create" in finding.fix
    # No policy or encryption findings piled on a bucket that is not there.
    assert codes(findings) == ["BUCKET_NOT_FOUND"]


def test_missing_bucket_is_expected_when_the_wizard_creates_it() -> None:
    findings = diagnose_with(
        BucketState(BUCKET, exists=False), healthy_key(), choose(create_bucket=True)
    )
    assert codes(findings) == ["BUCKET_WILL_BE_CREATED"]
    assert is_healthy(findings)
    assert findings[0].severity is Severity.INFO


def test_create_bucket_choice_on_an_existing_own_bucket() -> None:
    findings = diagnose(healthy_snapshot(), choose(create_bucket=True))
    assert codes(findings) == ["BUCKET_ALREADY_EXISTS"]


@pytest.mark.parametrize("exists", [True, False])
def test_bucket_not_owned(exists: bool) -> None:
    state = BucketState(BUCKET, exists=exists, owned=False)
    findings = diagnose_with(state, healthy_key(), choose(create_bucket=True))
    assert codes(findings) == ["BUCKET_NOT_OWNED"]
    assert "another AWS account" in findings[0].message
    assert findings[0].severity is Severity.ERROR


def test_bucket_in_another_region() -> None:
    findings = diagnose_with(healthy_bucket(region="us-west-2", policy=None), healthy_key())
    assert codes(findings) == ["BUCKET_WRONG_REGION"]
    assert "us-west-2" in findings[0].message and REGION in findings[0].message


@pytest.mark.parametrize("encryption", [BucketEncryption("AES256"), BucketEncryption(None), None])
def test_bucket_not_kms(encryption: BucketEncryption | None) -> None:
    findings = diagnose_with(healthy_bucket(encryption=encryption), healthy_key())
    finding = only(findings, "BUCKET_NOT_KMS")
    assert finding.severity is Severity.WARNING
    assert ALIAS in finding.fix  # the wizard sets SSE-KMS with the chosen key
    assert is_healthy(findings)
    # Repair mode: nothing chosen, so the fix asks for a key.
    repair = only(
        diagnose_with(healthy_bucket(encryption=encryption), None, choose(key=None)),
        "BUCKET_NOT_KMS",
    )
    assert "Choose" in repair.fix


def test_bucket_dsse_unsupported() -> None:
    state = healthy_bucket(encryption=BucketEncryption("aws:kms:dsse", KEY_ARN, False))
    finding = only(diagnose_with(state, healthy_key()), "BUCKET_DSSE_UNSUPPORTED")
    assert finding.severity is Severity.ERROR
    assert "replaces" in finding.fix
    repair = only(diagnose_with(state, healthy_key(), choose(key=None)), "BUCKET_DSSE_UNSUPPORTED")
    assert "Choose" in repair.fix


def test_bucket_key_off() -> None:
    state = healthy_bucket(encryption=BucketEncryption("aws:kms", KEY_ARN, False))
    findings = diagnose_with(state, healthy_key())
    assert codes(findings) == ["BUCKET_KEY_OFF"]
    assert findings[0].severity is Severity.INFO


# --------------------------------------------------------------------------- the key


def test_key_not_found() -> None:
    findings = diagnose_with(healthy_bucket(), KeyState(reference=ALIAS, exists=False))
    finding = only(findings, "KEY_NOT_FOUND")
    assert finding.severity is Severity.ERROR and ALIAS in finding.message
    assert finding.aws_error == req.ERR_PUT_OBJECT_KMS
    # No key-policy or mismatch findings about a key that is not there.
    assert codes(findings) == ["KEY_NOT_FOUND"]
    assert codes(diagnose_with(healthy_bucket(), None)) == ["KEY_NOT_FOUND"]


def test_bucket_key_not_found_in_repair_mode() -> None:
    state = healthy_bucket(encryption=BucketEncryption("aws:kms", KEY_ARN, True))
    assert codes(diagnose_with(state, None, choose(key=None))) == ["KEY_NOT_FOUND"]


def test_chosen_key_aws_managed() -> None:
    findings = diagnose_with(healthy_bucket(), aws_managed_key(), choose(key="alias/aws/s3"))
    finding = only(findings, "KEY_AWS_MANAGED")
    assert finding.severity is Severity.ERROR
    assert finding.aws_error == req.ERR_PUT_OBJECT_KMS
    assert "cannot be changed" in finding.message


@pytest.mark.parametrize(
    "reported", [None, "alias/aws/s3", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/s3"]
)
def test_bucket_on_aws_s3_in_repair_mode(reported: str | None) -> None:
    state = healthy_bucket(encryption=BucketEncryption("aws:kms", reported, True))
    findings = diagnose_with(state, None, choose(key=None))
    assert codes(findings) == ["KEY_AWS_MANAGED"]
    assert diagnose_with(state, aws_managed_key(), choose(key=None))[0].code == "KEY_AWS_MANAGED"


def test_bucket_on_aws_s3_with_a_chosen_key_is_switched() -> None:
    state = healthy_bucket(encryption=BucketEncryption("aws:kms", "alias/aws/s3", True))
    finding = only(diagnose_with(state, healthy_key()), "KEY_AWS_MANAGED")
    assert "switches" in finding.fix and ALIAS in finding.fix


def test_key_not_enabled() -> None:
    findings = diagnose_with(healthy_bucket(), healthy_key(state="PendingDeletion"))
    finding = only(findings, "KEY_NOT_ENABLED")
    assert "PendingDeletion" in finding.message
    assert finding.aws_error == req.ERR_PUT_OBJECT_KMS


def test_key_not_symmetric() -> None:
    key = healthy_key(spec="RSA_2048", usage="SIGN_VERIFY")
    finding = only(diagnose_with(healthy_bucket(), key), "KEY_NOT_SYMMETRIC")
    assert "RSA_2048" in finding.message and finding.severity is Severity.ERROR


def test_key_in_another_region() -> None:
    key = healthy_key(region="us-west-2", arn=key_arn("us-west-2", ACCOUNT, NEW_ID))
    finding = only(diagnose_with(healthy_bucket(), key), "KEY_WRONG_REGION")
    assert "us-west-2" in finding.message
    # The region is also read from the ARN when DescribeKey's region is not given.
    key = healthy_key(region=None, arn=key_arn("eu-west-1", ACCOUNT, NEW_ID))
    assert "KEY_WRONG_REGION" in codes(diagnose_with(healthy_bucket(), key))


def test_unusable_key_gets_no_policy_findings() -> None:
    key = customer_key(default_key_policy(), state="Disabled")
    assert "KEY_POLICY_BLOCKS_LOGS" not in codes(diagnose_with(healthy_bucket(), key))


def test_key_mismatch() -> None:
    other = key_arn(REGION, ACCOUNT, NEW_ID)
    state = healthy_bucket(encryption=BucketEncryption("aws:kms", other, True))
    findings = diagnose_with(state, healthy_key())
    finding = only(findings, "KEY_MISMATCH")
    assert finding.severity in (Severity.INFO, Severity.WARNING)
    assert other in finding.message and "keep the key" in finding.fix
    assert is_healthy(findings)


def test_the_same_key_named_differently_is_no_mismatch() -> None:
    for reported in (
        KEY_ARN,
        ALIAS,
        f"arn:aws:kms:{REGION}:{ACCOUNT}:{ALIAS}",
        healthy_key().key_id,
    ):
        state = healthy_bucket(encryption=BucketEncryption("aws:kms", reported, True))
        assert diagnose_with(state, healthy_key()) == [], reported


def test_new_key_will_be_created() -> None:
    choices = choose(key=None, create_key_alias="alias/new")
    findings = diagnose_with(healthy_bucket(), None, choices)
    assert "KEY_WILL_BE_CREATED" in codes(findings)
    assert only(findings, "KEY_MISMATCH").fix.startswith("The wizard switches")


def test_key_rotation_off() -> None:
    findings = diagnose_with(healthy_bucket(), healthy_key(rotation_enabled=False))
    assert codes(findings) == ["KEY_ROTATION_OFF"]
    assert findings[0].severity is Severity.INFO


# --------------------------------------------------------------------------- bucket policy


def test_bucket_policy_blocks_get_bucket_acl() -> None:
    policy = doc(deny_insecure_transport(), req.bucket_statements(dest())[1])
    findings = diagnose_with(bucket(policy), healthy_key())
    finding = only(findings, "BUCKET_POLICY_BLOCKS_GETBUCKETACL")
    assert finding.aws_error == req.ERR_GET_BUCKET_ACL
    assert finding.severity is Severity.ERROR
    assert PRINCIPAL in finding.message and req.SID_GET_BUCKET_ACL in finding.fix
    assert codes(findings) == ["BUCKET_POLICY_BLOCKS_GETBUCKETACL"]


def test_bucket_policy_blocks_put_object() -> None:
    policy = doc(req.bucket_statements(dest())[0])
    finding = only(diagnose_with(bucket(policy), healthy_key()), "BUCKET_POLICY_BLOCKS_PUTOBJECT")
    assert finding.aws_error == req.ERR_PUT_OBJECT
    assert "exportedlogs/" in finding.message


def test_no_bucket_policy_blocks_both() -> None:
    findings = diagnose_with(bucket(None), healthy_key())
    assert codes(findings) == [
        "BUCKET_POLICY_BLOCKS_GETBUCKETACL",
        "BUCKET_POLICY_BLOCKS_PUTOBJECT",
    ]


def test_put_object_allowed_only_under_another_prefix_is_explained() -> None:
    policy = healthy_bucket_policy(choose(prefix="old"))
    finding = only(diagnose_with(bucket(policy), healthy_key()), "BUCKET_POLICY_BLOCKS_PUTOBJECT")
    assert f"arn:aws:s3:::{BUCKET}/old/*" in finding.message
    assert "would allow it, but only for" in finding.message


def test_statement_for_another_account_is_explained() -> None:
    other = choose()
    statements = req.bucket_statements(dest(other))
    statements[0]["Condition"]["StringEquals"]["aws:SourceAccount"] = ["999999999999"]
    finding = only(
        diagnose_with(bucket(doc(*statements)), healthy_key()), "BUCKET_POLICY_BLOCKS_GETBUCKETACL"
    )
    assert "999999999999" in finding.message and f"aws:SourceAccount = {ACCOUNT}" in finding.message


def test_explicit_deny_names_the_statement_and_why() -> None:
    deny = {
        "Sid": "DenyOutsideOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    findings = diagnose_with(bucket(doc(*req.bucket_statements(dest()), deny)), healthy_key())
    assert codes(findings) == ["EXPLICIT_DENY"]
    finding = findings[0]
    assert finding.statements == ("statement 'DenyOutsideOrg'",)
    assert "'DenyOutsideOrg'" in finding.message
    assert "GetBucketAcl" in finding.message and "PutObject" in finding.message
    assert "carries no aws:PrincipalOrgID" in finding.message
    assert "StringNotEquals" in finding.message
    assert finding.aws_error == req.ERR_GET_BUCKET_ACL
    assert "never edits" in finding.fix


def test_deny_without_sid_is_named_by_position() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": {"Service": PRINCIPAL},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    finding = only(
        diagnose_with(bucket(doc(*req.bucket_statements(dest()), deny)), healthy_key()),
        "EXPLICIT_DENY",
    )
    assert finding.statements == ("statement #3 (no Sid)",)
    assert finding.aws_error == req.ERR_PUT_OBJECT


def test_deny_plus_missing_allow_reports_both() -> None:
    deny = {
        "Sid": "NoServices",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"Null": {"aws:PrincipalOrgID": "true"}},
    }
    findings = diagnose_with(bucket(doc(deny)), healthy_key())
    assert codes(findings) == [
        "EXPLICIT_DENY",
        "BUCKET_POLICY_BLOCKS_GETBUCKETACL",
        "BUCKET_POLICY_BLOCKS_PUTOBJECT",
    ]
    assert "Null" in findings[0].message


def test_harmless_denies_are_not_findings() -> None:
    policy = doc(
        deny_insecure_transport(),
        {
            "Sid": "NoDelete",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:DeleteBucket",
            "Resource": f"arn:aws:s3:::{BUCKET}",
        },
        *req.bucket_statements(dest()),
    )
    assert diagnose_with(bucket(policy), healthy_key()) == []


def test_bucket_policy_unscoped() -> None:
    statements = documented_bucket_statements()
    for statement in statements:
        del statement["Condition"]["ArnLike"]
        del statement["Condition"]["StringEquals"]["aws:SourceAccount"]
    del statements[0]["Condition"]
    findings = diagnose_with(bucket(doc(*statements)), healthy_key())
    finding = only(findings, "BUCKET_POLICY_UNSCOPED")
    assert finding.severity is Severity.WARNING
    assert set(finding.statements) == {
        "statement 'AllowCloudWatchLogsGetBucketAcl'",
        "statement 'AllowCloudWatchLogsPutObject'",
    }
    assert "aws:SourceAccount" in finding.fix
    assert is_healthy(findings)


def test_documented_statements_with_other_sids_are_healthy() -> None:
    policy = doc(*documented_bucket_statements())
    key = customer_key(doc(root_statement(), documented_key_statement()))
    assert diagnose_with(bucket(policy), key) == []


# --------------------------------------------------------------------------- key policy


def test_key_policy_blocks_logs() -> None:
    findings = diagnose_with(healthy_bucket(), customer_key(default_key_policy()))
    assert codes(findings) == ["KEY_POLICY_BLOCKS_LOGS"]
    finding = findings[0]
    assert finding.aws_error == req.ERR_PUT_OBJECT_KMS
    assert PRINCIPAL in finding.message and req.SID_KEY_USE in finding.fix


def test_key_context_mismatch() -> None:
    statement = {
        **documented_key_statement(),
        "Sid": "LogGroupEncryption",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"
            }
        },
    }
    findings = diagnose_with(healthy_bucket(), customer_key(doc(root_statement(), statement)))
    assert codes(findings) == ["KEY_CONTEXT_MISMATCH"]
    finding = findings[0]
    assert finding.statements == ("statement 'LogGroupEncryption'",)
    assert "kms:EncryptionContext:aws:logs:arn" in finding.message
    assert finding.aws_error == req.ERR_PUT_OBJECT_KMS


def test_key_policy_explicit_deny() -> None:
    deny = {
        "Sid": "OnlyViaOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"kms:CallerAccount": "999999999999"}},
    }
    policy = doc(root_statement(), *req.key_statements(dest()), deny)
    findings = diagnose_with(healthy_bucket(), customer_key(policy))
    assert codes(findings) == ["EXPLICIT_DENY"]
    assert findings[0].aws_error == req.ERR_PUT_OBJECT_KMS
    assert "key policy" in findings[0].message
    assert f"kms:CallerAccount is {ACCOUNT}" in findings[0].message


def test_key_policy_unknown() -> None:
    findings = diagnose_with(healthy_bucket(), customer_key(None))
    assert codes(findings) == ["KEY_POLICY_UNKNOWN"]
    assert findings[0].severity is Severity.WARNING


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{oops", "not valid JSON"),
        ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}', "Statement[0]"),
        ('{"Version": "2012-10-17", "Statement": [], "Statement": []}', "appears twice"),
    ],
)
def test_policy_unreadable(text: str, words: str) -> None:
    findings = diagnose_with(bucket(text), healthy_key())
    assert codes(findings) == ["POLICY_UNREADABLE"]
    assert "bucket policy" in findings[0].message and words in findings[0].message
    key_findings = diagnose_with(healthy_bucket(), customer_key(text))
    assert codes(key_findings) == ["POLICY_UNREADABLE"]
    assert "key policy" in key_findings[0].message


def test_policy_too_large_as_it_is() -> None:
    filler = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/r{i}"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/{'p' * 60}/{i}/*",
        }
        for i in range(150)
    ]
    findings = diagnose_with(bucket(doc(*req.bucket_statements(dest()), *filler)), healthy_key())
    finding = only(findings, "POLICY_TOO_LARGE")
    assert str(20 * 1024) in finding.message


def test_unknown_condition_operator_is_a_warning() -> None:
    odd = {
        "Sid": "Odd",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"StringEqualsTypo": {"aws:SourceAccount": ACCOUNT}},
    }
    findings = diagnose_with(bucket(doc(*req.bucket_statements(dest()), odd)), healthy_key())
    finding = only(findings, "POLICY_UNKNOWN_OPERATOR")
    assert finding.severity is Severity.WARNING and "StringEqualsTypo" in finding.message


# --------------------------------------------------------------------------- log group, tasks


def test_log_group_not_found() -> None:
    choices = choose(log_group="/aws/lambda/missing")
    findings = diagnose_with(
        healthy_bucket(),
        healthy_key(),
        choices,
        log_group=LogGroupState("/aws/lambda/missing", False),
    )
    assert codes(findings) == ["LOG_GROUP_NOT_FOUND"]
    assert "/aws/lambda/missing" in findings[0].message
    present = LogGroupState(
        "/aws/lambda/x", True, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/x"
    )
    assert (
        diagnose_with(
            healthy_bucket(), healthy_key(), choose(log_group="/aws/lambda/x"), log_group=present
        )
        == []
    )


def test_export_task_active() -> None:
    tasks = (
        ExportTaskInfo("task-1", "/aws/lambda/demo-fn", ExportTaskStatus.RUNNING),
        ExportTaskInfo("task-0", "/aws/lambda/demo-fn", ExportTaskStatus.COMPLETED),
    )
    findings = diagnose_with(healthy_bucket(), healthy_key(), active_tasks=tasks)
    assert codes(findings) == ["EXPORT_TASK_ACTIVE"]
    finding = findings[0]
    assert finding.severity is Severity.WARNING
    assert finding.aws_error == req.ERR_LIMIT_EXCEEDED
    assert "task-1" in finding.message and "task-0" not in finding.message


# --------------------------------------------------------------------------- ordering


def test_findings_are_ordered_most_important_first() -> None:
    broken = bucket(
        doc(deny_insecure_transport()),
        encryption=BucketEncryption("aws:kms", key_arn(REGION, ACCOUNT, NEW_ID), True),
    )
    tasks = (ExportTaskInfo("t", "/g", ExportTaskStatus.PENDING),)
    findings = diagnose_with(
        broken, customer_key(default_key_policy(), rotation_enabled=False), active_tasks=tasks
    )
    ranks = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    assert [ranks[f.severity] for f in findings] == sorted(ranks[f.severity] for f in findings)
    assert codes(findings) == [
        "BUCKET_POLICY_BLOCKS_GETBUCKETACL",
        "BUCKET_POLICY_BLOCKS_PUTOBJECT",
        "KEY_POLICY_BLOCKS_LOGS",
        "EXPORT_TASK_ACTIVE",
        "KEY_MISMATCH",
        "KEY_ROTATION_OFF",
    ]
    for finding in findings:
        assert finding.message and finding.fix


def test_demo_broken_bucket_diagnosis() -> None:
    """The sandbox's demo-broken-exports, judged with alias/demo-exports chosen."""
    foreign_put = documented_bucket_statements()[1]
    state = bucket(
        doc(deny_insecure_transport(), foreign_put),
        encryption=BucketEncryption("aws:kms", "alias/aws/s3", True),
    )
    findings = diagnose_with(state, customer_key(default_key_policy()))
    assert codes(findings) == [
        "KEY_AWS_MANAGED",
        "BUCKET_POLICY_BLOCKS_GETBUCKETACL",
        "KEY_POLICY_BLOCKS_LOGS",
    ]
    assert not is_healthy(findings)
    assert json.dumps([f.code for f in findings])  # plain data, ready for --json


def test_bucket_on_aws_s3_named_by_its_arn_is_an_error_when_another_key_is_chosen() -> None:
    """S3 names aws/s3 by its key ARN; the bucket's key as KMS describes it tells the truth."""
    current = aws_managed_key()
    assert current.arn is not None
    state = healthy_bucket(encryption=BucketEncryption("aws:kms", current.arn, True))
    findings = diagnose_with(state, healthy_key(), bucket_key=current)
    finding = only(findings, "KEY_AWS_MANAGED")
    assert finding.severity is Severity.ERROR and finding.aws_error == req.ERR_PUT_OBJECT_KMS
    assert "switches" in finding.fix and ALIAS in finding.fix
    assert "KEY_MISMATCH" not in codes(findings)
