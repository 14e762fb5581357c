"""What AWS does and the sandbox once forgave: the encryption context by S3 Bucket Key, the
request-context keys whose presence is an assumption, TLS-only buckets, unreadable buckets,
and the alias a new key would steal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.core.test_doctor import codes, diagnose_with, only
from tests.core.test_plan import (
    BUCKET,
    KEY_ARN,
    PRINCIPAL,
    assert_converges,
    bucket,
    choose,
    customer_key,
    dest,
    doc,
    healthy_bucket,
    root_statement,
    snap,
)
from wizard.core import requirements as req
from wizard.core.change import Action
from wizard.core.doctor import diagnose
from wizard.core.findings import Severity, is_healthy
from wizard.core.key_in_use import alias_conflict
from wizard.core.plan import build
from wizard.core.state import BucketEncryption, BucketState, KeyState


def key_statement(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "LogsWithContext",
        "Effect": "Allow",
        "Principal": {"Service": PRINCIPAL},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


ON_BUCKET = {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}"}}
ON_OBJECTS = {"StringLike": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}/*"}}


def with_bucket_key(enabled: bool) -> BucketState:
    return healthy_bucket(encryption=BucketEncryption("aws:kms", KEY_ARN, enabled))


@pytest.mark.parametrize(
    ("condition", "bucket_key", "healthy"),
    [
        (ON_BUCKET, True, True),  # S3 Bucket Key on: the context is the bucket's ARN
        (ON_BUCKET, False, False),  # off: each object's ARN, which the condition refuses
        (ON_OBJECTS, False, True),
        (ON_OBJECTS, True, False),
    ],
)
def test_the_encryption_context_follows_s3_bucket_key(
    condition: dict[str, Any], bucket_key: bool, healthy: bool
) -> None:
    key = customer_key(doc(root_statement(), key_statement(condition)))
    findings = diagnose_with(with_bucket_key(bucket_key), key)
    assert is_healthy(findings) is healthy, codes(findings)
    if not healthy:
        finding = only(findings, "KEY_CONTEXT_MISMATCH")
        expected = "the bucket's ARN" if bucket_key else "each object's ARN"
        assert expected in finding.message
        assert "aws:logs:arn" not in finding.message  # only said of log-group conditions


def test_the_plan_judges_the_key_as_it_leaves_the_bucket() -> None:
    """Bucket Key off and a key conditioned on objects: exports work today, but the plan
    turns Bucket Key on, so it also adds the key statement that the bucket ARN passes."""
    key = customer_key(doc(root_statement(), key_statement(ON_OBJECTS)))
    snapshot = snap(with_bucket_key(False), key)
    plan = build(snapshot, choose())
    assert [c.action for c in plan.changes] == [Action.PUT_KEY_POLICY, Action.PUT_BUCKET_ENCRYPTION]
    assert req.KEY_STATEMENT_NOTE in plan.changes[0].notes
    assert_converges(snapshot, choose())


def test_a_condition_on_an_unconfirmed_key_is_a_warning() -> None:
    via = {"StringEquals": {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}}
    key = customer_key(doc(root_statement(), key_statement(via)))
    findings = diagnose_with(healthy_bucket(), key)
    warning = only(findings, "KEY_CONDITION_UNCONFIRMED")
    assert warning.severity is Severity.WARNING and "kms:ViaService" in warning.message
    assert is_healthy(findings)
    unconfirmed = {c.key for c in req.KMS_REQUEST_CONTEXT if not c.confirmed}
    assert {"kms:ViaService", "kms:CallerAccount", "aws:SourceAccount"} <= unconfirmed


def test_a_tls_only_bucket_still_takes_exports() -> None:
    policy = doc(*req.bucket_statements(dest()), req.tls_only_statement(dest()))
    findings = diagnose_with(
        bucket(policy), customer_key(doc(root_statement(), *req.key_statements(dest())))
    )
    assert findings == []


def test_a_new_bucket_refuses_plain_http_and_a_new_key_rotates() -> None:
    choices = choose(key=None, create_key_alias="alias/new", create_bucket=True)
    plan = build(snap(BucketState(BUCKET, exists=False), None), choices)
    policy = json.loads(
        next(c.after for c in plan.changes if c.action is Action.PUT_BUCKET_POLICY) or "{}"
    )
    assert req.tls_only_statement(dest(choices)) in policy["Statement"]
    rotation = next(c for c in plan.changes if c.action is Action.ENABLE_KEY_ROTATION)
    assert json.loads(rotation.after or "{}") == {"KeyRotationEnabled": True}


def test_the_wizards_own_key_is_not_flagged_for_rotation() -> None:
    mine = customer_key(
        doc(root_statement(), *req.key_statements(dest())),
        rotation_enabled=False,
        tags=(("created-by", "cwl-export-wizard"),),
    )
    theirs = customer_key(
        doc(root_statement(), *req.key_statements(dest())), rotation_enabled=False
    )
    assert "KEY_ROTATION_OFF" not in codes(diagnose_with(healthy_bucket(), mine))
    assert "KEY_ROTATION_OFF" in codes(diagnose_with(healthy_bucket(), theirs))


def test_a_bucket_we_may_not_read_is_said_so() -> None:
    state = BucketState(
        BUCKET, exists=True, owned=True, region="ap-northeast-1", unreadable="s3:ListBucket"
    )
    findings = diagnose_with(state, customer_key(doc(root_statement())))
    finding = only(findings, "BUCKET_NOT_READABLE")
    assert "(s3:ListBucket)" in finding.message and "another AWS account" not in finding.message
    assert build(snap(state, None), choose()).changes == ()


def test_create_key_on_someone_elses_alias_is_a_conflict() -> None:
    existing = customer_key(
        doc(root_statement()), aliases=("alias/new",), tags=(("team", "payments"),)
    )
    choices = choose(key=None, create_key_alias="alias/new")
    conflict = alias_conflict(snap(healthy_bucket(), existing), choices)
    assert conflict is not None and "--key alias/new" in conflict[1]
    mine = KeyState(**{**existing.__dict__, "tags": (("created-by", "cwl-export-wizard"),)})
    assert alias_conflict(snap(healthy_bucket(), mine), choices) is None
    assert "KEY_REUSED" in codes(diagnose(snap(healthy_bucket(), mine), choices))
