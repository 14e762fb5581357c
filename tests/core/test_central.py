"""A central logging account: log groups of other accounts export to this destination."""

from __future__ import annotations

import json
from typing import Any

from tests.core.test_plan import (
    ACCOUNT,
    REGION,
    choose,
    healthy_bucket,
    healthy_key,
    snap,
)
from wizard.core import requirements as req
from wizard.core.change import Action, Plan
from wizard.core.doctor import diagnose
from wizard.core.evaluate import Request, RequestPrincipal, evaluate
from wizard.core.findings import Severity, is_healthy
from wizard.core.plan import build
from wizard.core.policy import parse_policy
from wizard.core.state import Choices, Snapshot

SOURCE = "210987654321"
OTHER = "345678901234"
ROLE_SESSION = f"arn:aws:sts::{SOURCE}:assumed-role/app-exporter/botocore-session-1"
ROLE = f"arn:aws:iam::{SOURCE}:role/app-exporter"


def after(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """The snapshot once the plan's documents are in place (what apply writes)."""
    bucket, key = snapshot.bucket, snapshot.key
    for change in plan.changes:
        if change.action is Action.PUT_BUCKET_POLICY:
            bucket = type(bucket)(**{**bucket.__dict__, "policy": change.after})
        if change.action is Action.PUT_KEY_POLICY and key is not None:
            key = type(key)(**{**key.__dict__, "policy": change.after})
    return Snapshot(snapshot.identity, snapshot.region, bucket, key)


def statement(snapshot: Snapshot, sid: str, *, key: bool = False) -> dict[str, Any]:
    text = snapshot.key.policy if key and snapshot.key else snapshot.bucket.policy
    found: dict[str, Any] = next(
        s for s in json.loads(text or "{}")["Statement"] if s.get("Sid") == sid
    )
    return found


def central(**changes: Any) -> Choices:
    return choose(source_accounts=(SOURCE,), **changes)


def test_a_source_account_left_out_is_named_with_the_text_aws_gives() -> None:
    findings = diagnose(snap(healthy_bucket(), healthy_key()), central())
    [finding] = [f for f in findings if f.code == "SOURCE_ACCOUNT_NOT_ALLOWED"]
    assert finding.severity is Severity.ERROR and SOURCE in finding.message
    assert finding.aws_error == req.ERR_GET_BUCKET_ACL
    assert not is_healthy(findings)


def test_the_plan_lists_every_source_account_and_a_second_keeps_the_first() -> None:
    first = snap(healthy_bucket(), healthy_key())
    plan = build(first, central())
    # No caller of the account named: any caller its own IAM allows may run its exports.
    assert [c.action for c in plan.changes] == [Action.PUT_KEY_POLICY, Action.PUT_BUCKET_POLICY]
    assert f'"{SOURCE}"' in plan.changes[1].diff
    done = after(first, plan)
    write = statement(done, req.SID_CALLER_PUT_OBJECT)
    assert write["Principal"] == {"AWS": [f"arn:aws:iam::{SOURCE}:root"]}
    assert write["Condition"]["ArnLike"]["aws:PrincipalArn"] == [f"arn:aws:iam::{SOURCE}:*"]
    assert is_healthy(diagnose(done, central()))
    assert build(done, central()).empty  # twice: nothing more
    for sid in (req.SID_GET_BUCKET_ACL, req.SID_PUT_OBJECT):
        condition = statement(done, sid)["Condition"]
        assert condition["StringEquals"]["aws:SourceAccount"] == [ACCOUNT, SOURCE]
        assert condition["ArnLike"]["aws:SourceArn"] == [
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*",
            f"arn:aws:logs:{REGION}:{SOURCE}:log-group:*",
        ]

    # Another account, named alone this time: the first one stays, none is listed twice.
    second = build(done, choose(source_accounts=(OTHER,)))
    final = after(done, second)
    for sid in (req.SID_GET_BUCKET_ACL, req.SID_PUT_OBJECT):
        accounts = statement(final, sid)["Condition"]["StringEquals"]["aws:SourceAccount"]
        assert accounts == [ACCOUNT, SOURCE, OTHER]
    assert statement(final, req.SID_CALLER_PUT_OBJECT)["Condition"]["ArnLike"][
        "aws:PrincipalArn"
    ] == [f"arn:aws:iam::{SOURCE}:*", f"arn:aws:iam::{OTHER}:*"]
    assert is_healthy(diagnose(final, choose(source_accounts=(SOURCE, OTHER))))
    assert build(final, choose(source_accounts=(OTHER, SOURCE))).empty


def test_the_caller_of_another_account_gets_its_statements_on_both_policies() -> None:
    choices = central(source_callers=(ROLE_SESSION,))
    snapshot = snap(healthy_bucket(), healthy_key())
    codes = {f.code for f in diagnose(snapshot, choices)}
    assert {"SOURCE_CALLER_CANNOT_WRITE", "SOURCE_CALLER_CANNOT_USE_KEY"} <= codes
    plan = build(snapshot, choices)
    assert [c.action for c in plan.changes] == [Action.PUT_KEY_POLICY, Action.PUT_BUCKET_POLICY]
    done = after(snapshot, plan)
    assert is_healthy(diagnose(done, choices)), diagnose(done, choices)
    write = statement(done, req.SID_CALLER_PUT_OBJECT)
    assert write["Principal"] == {"AWS": [f"arn:aws:iam::{SOURCE}:root"]}
    assert write["Action"] == "s3:PutObject"  # ACLs are off: no PutObjectAcl
    assert write["Resource"] == "arn:aws:s3:::demo-exports-bucket/exportedlogs/*"
    assert write["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        ROLE,
        f"arn:aws:iam::{SOURCE}:role/*/app-exporter",
    ]
    use = statement(done, req.SID_CALLER_KEY_USE, key=True)
    assert use["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]


def test_with_acls_on_the_caller_also_gets_put_object_acl_said_to_be_unconfirmed() -> None:
    choices = central(source_callers=(ROLE,))
    snapshot = snap(healthy_bucket(object_ownership="BucketOwnerPreferred"), healthy_key())
    [finding] = [f for f in diagnose(snapshot, choices) if f.code == "SOURCE_CALLER_CANNOT_WRITE"]
    assert "s3:PutObjectAcl" in finding.message and "not confirmed" in finding.message
    assert finding.aws_error == req.ERR_CALLER_PUT_OBJECT
    done = after(snapshot, build(snapshot, choices))
    assert statement(done, req.SID_CALLER_PUT_OBJECT)["Action"] == [
        "s3:PutObject",
        "s3:PutObjectAcl",
    ]


def test_a_second_caller_keeps_the_first() -> None:
    snapshot = snap(healthy_bucket(), healthy_key())
    done = after(snapshot, build(snapshot, central(source_callers=(ROLE,))))
    other = f"arn:aws:iam::{OTHER}:role/exporter"
    final = after(done, build(done, choose(source_accounts=(OTHER,), source_callers=(other,))))
    write = statement(final, req.SID_CALLER_PUT_OBJECT)
    assert write["Principal"]["AWS"] == [
        f"arn:aws:iam::{SOURCE}:root",
        f"arn:aws:iam::{OTHER}:root",
    ]
    assert ROLE in write["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert other in write["Condition"]["ArnLike"]["aws:PrincipalArn"]
    both = choose(source_accounts=(SOURCE, OTHER), source_callers=(ROLE, other))
    assert is_healthy(diagnose(final, both)) and build(final, both).empty


def test_caller_names() -> None:
    assert req.caller_role_arn(ROLE_SESSION) == ROLE
    assert req.caller_role_arn(ROLE) == ROLE
    user = f"arn:aws:iam::{SOURCE}:user/alice"
    assert req.caller_role_arn(user) == user
    assert req.caller_patterns((user,)) == [user]


def test_the_caller_statements_carry_the_documented_acl_and_use_the_key_through_s3_only() -> None:
    """The bucket statement for the callers of other accounts carries the documented
    ``s3:x-amz-acl = bucket-owner-full-control``; the key statement lets them use the key only
    through S3 in the bucket's region, for this bucket (UNCONFIRMED rows, said in the docs)."""
    choices = central(source_callers=(ROLE,))
    snapshot = snap(healthy_bucket(), healthy_key())
    done = after(snapshot, build(snapshot, choices))
    write = statement(done, req.SID_CALLER_PUT_OBJECT)
    assert write["Condition"]["StringEquals"] == {"s3:x-amz-acl": "bucket-owner-full-control"}
    use = statement(done, req.SID_CALLER_KEY_USE, key=True)
    assert use["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    bucket = "arn:aws:s3:::demo-exports-bucket"
    assert use["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/*"]
    }
    assert is_healthy(diagnose(done, choices))

    # The evaluator holds the statements to their conditions: another ACL, a direct KMS call
    # or another bucket's encryption context is refused; the export's own requests are not.
    principal = RequestPrincipal("AWS", ROLE, SOURCE)
    base = {"aws:PrincipalArn": ROLE, "aws:PrincipalAccount": SOURCE}
    objects = f"{bucket}/exportedlogs/aws-logs-write-test"
    bucket_policy = parse_policy(done.bucket.policy or "{}")
    key_policy = parse_policy(done.key.policy if done.key and done.key.policy else "{}")

    def allowed(policy: Any, action: str, resource: str, **context: str) -> bool:
        request = Request(principal, action, resource, {**base, **context})
        return evaluate(policy, request).allowed

    acl = "bucket-owner-full-control"
    assert allowed(bucket_policy, "s3:PutObject", objects, **{"s3:x-amz-acl": acl})
    assert not allowed(bucket_policy, "s3:PutObject", objects, **{"s3:x-amz-acl": "public-read"})
    assert not allowed(bucket_policy, "s3:PutObject", objects)
    via = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    context_key = "kms:EncryptionContext:aws:s3:arn"
    for arn in (bucket, f"{bucket}/exportedlogs/000000.gz"):
        assert allowed(key_policy, "kms:GenerateDataKey", "*", **via, **{context_key: arn})
    assert not allowed(key_policy, "kms:GenerateDataKey", "*", **{context_key: bucket})
    assert not allowed(
        key_policy, "kms:Decrypt", "*", **via, **{context_key: "arn:aws:s3:::another-bucket"}
    )
    # What is not confirmed is marked so, in the one table docs/service-facts.md points to.
    unconfirmed = {c.key for c in req.CALLER_CONDITIONS if not c.confirmed}
    assert unconfirmed == {"kms:ViaService", "kms:EncryptionContext:aws:s3:arn"}
