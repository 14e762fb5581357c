"""core.plan: the smallest change set that makes a destination work, and its safety rules.

The helpers at the top (snapshot builders and ``apply_plan``, an in-memory AWS) are shared
with test_doctor.py and test_plan_properties.py.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import pytest

from tests import policies
from wizard.core import requirements as req
from wizard.core.arn import key_arn, logs_principal
from wizard.core.change import Action, Plan
from wizard.core.doctor import diagnose
from wizard.core.findings import Severity
from wizard.core.plan import NEW_KEY_ARN, build, current_document
from wizard.core.policy import BUCKET_POLICY_LIMIT, KEY_POLICY_LIMIT, policy_size
from wizard.core.state import (
    BucketEncryption,
    BucketState,
    Choices,
    Destination,
    Identity,
    KeyState,
    PublicAccessBlock,
    Snapshot,
)

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
BUCKET = "demo-exports-bucket"
ALIAS = "alias/demo-exports"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = key_arn(REGION, ACCOUNT, KEY_ID)
AWS_S3_KEY_ID = "0000aaaa-00aa-00aa-00aa-000000000000"
NEW_ID = "9999ffff-99ff-99ff-99ff-999999999999"
NEW_ARN = key_arn(REGION, ACCOUNT, NEW_ID)
IDENTITY = Identity(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")
PRINCIPAL = logs_principal(REGION)
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


# --------------------------------------------------------------------------- builders


def choose(**changes: Any) -> Choices:
    base: dict[str, Any] = {"region": REGION, "bucket": BUCKET, "key": ALIAS}
    base.update(changes)
    return Choices(**base)


def dest(choices: Choices | None = None) -> Destination:
    return Destination.of(IDENTITY, choices or choose())


def doc(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def root_statement() -> dict[str, Any]:
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "kms:*",
        "Resource": "*",
    }


def default_key_policy() -> dict[str, Any]:
    return {**doc(root_statement()), "Id": "key-default-1"}


def healthy_key_policy(choices: Choices | None = None) -> dict[str, Any]:
    return doc(root_statement(), *req.key_statements(dest(choices)))


def healthy_bucket_policy(choices: Choices | None = None) -> dict[str, Any]:
    return doc(*req.bucket_statements(dest(choices)))


def deny_insecure_transport() -> dict[str, Any]:
    return policies.deny_insecure_transport(BUCKET)


def documented_bucket_statements() -> list[dict[str, Any]]:
    """The statements exactly as the AWS documentation prints them (other Sids)."""
    conditions = {
        "StringEquals": {"aws:SourceAccount": [ACCOUNT]},
        "ArnLike": {"aws:SourceArn": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"]},
    }
    return [
        {
            "Sid": "AllowCloudWatchLogsGetBucketAcl",
            "Effect": "Allow",
            "Principal": {"Service": PRINCIPAL},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{BUCKET}",
            "Condition": conditions,
        },
        {
            "Sid": "AllowCloudWatchLogsPutObject",
            "Effect": "Allow",
            "Principal": {"Service": PRINCIPAL},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceAccount": [ACCOUNT],
                },
                "ArnLike": conditions["ArnLike"],
            },
        },
    ]


def documented_key_statement() -> dict[str, Any]:
    return {
        "Sid": "Allow CWL Service Principal usage",
        "Effect": "Allow",
        "Principal": {"Service": PRINCIPAL},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
    }


def customer_key(policy: Mapping[str, Any] | str | None = None, **changes: Any) -> KeyState:
    text = policy if isinstance(policy, str) or policy is None else json.dumps(policy)
    base: dict[str, Any] = {
        "reference": ALIAS,
        "exists": True,
        "key_id": KEY_ID,
        "arn": KEY_ARN,
        "region": REGION,
        "manager": "CUSTOMER",
        "state": "Enabled",
        "spec": "SYMMETRIC_DEFAULT",
        "usage": "ENCRYPT_DECRYPT",
        "aliases": (ALIAS,),
        "policy": text,
        "rotation_enabled": True,
    }
    base.update(changes)
    return KeyState(**base)


def healthy_key(**changes: Any) -> KeyState:
    changes.setdefault("policy", json.dumps(healthy_key_policy()))
    return customer_key(**changes)


def aws_managed_key() -> KeyState:
    return KeyState(
        reference="alias/aws/s3",
        exists=True,
        key_id=AWS_S3_KEY_ID,
        arn=key_arn(REGION, ACCOUNT, AWS_S3_KEY_ID),
        region=REGION,
        manager="AWS",
        state="Enabled",
        spec="SYMMETRIC_DEFAULT",
        usage="ENCRYPT_DECRYPT",
        aliases=("alias/aws/s3",),
        policy=None,
    )


def bucket(policy: Mapping[str, Any] | str | None = None, **changes: Any) -> BucketState:
    text = policy if isinstance(policy, str) or policy is None else json.dumps(policy)
    base: dict[str, Any] = {
        "name": BUCKET,
        "exists": True,
        "region": REGION,
        "encryption": BucketEncryption("aws:kms", KEY_ARN, True),
        "policy": text,
        "object_ownership": "BucketOwnerEnforced",
        "public_access_block": PublicAccessBlock(),
    }
    base.update(changes)
    return BucketState(**base)


def healthy_bucket(**changes: Any) -> BucketState:
    changes.setdefault("policy", json.dumps(healthy_bucket_policy()))
    return bucket(**changes)


def snap(bucket_state: BucketState | None = None, key: KeyState | None = None) -> Snapshot:
    return Snapshot(IDENTITY, REGION, bucket_state or healthy_bucket(), key)


def healthy_snapshot() -> Snapshot:
    return snap(healthy_bucket(), healthy_key())


# --------------------------------------------------------------------------- in-memory apply


def apply_plan(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """What AWS would hold after the plan, checking each "before" the way drift detection does."""
    bucket_state = snapshot.bucket
    key = snapshot.key
    created_bucket = False
    for change in plan.changes:
        # A bucket created by this plan has S3's defaults, not the "before" (none) the plan
        # was built from: the drift check is for state that existed before the run.
        created_key = change.params.get("key_id") == NEW_KEY_ARN
        if not (created_bucket and change.target == f"s3://{bucket_state.name}") and not (
            created_key
        ):
            assert change.before == current_document(change.action, bucket_state, key), change
        after = change.after.replace(NEW_KEY_ARN, NEW_ARN) if change.after else None
        assert after is not None
        data = json.loads(after)
        if change.action is Action.CREATE_KEY:
            key = KeyState(
                reference=change.params["alias"],
                exists=True,
                key_id=NEW_ID,
                arn=NEW_ARN,
                region=change.params["region"],
                manager="CUSTOMER",
                state="Enabled",
                spec="SYMMETRIC_DEFAULT",
                usage="ENCRYPT_DECRYPT",
                policy=after,
                rotation_enabled=False,
                description=change.params["description"],
                tags=(("created-by", "cwl-export-wizard"),),
            )
        elif change.action is Action.ENABLE_KEY_ROTATION:
            assert key is not None and change.params["key_id"] == NEW_KEY_ARN
            key = dataclasses.replace(key, rotation_enabled=data["KeyRotationEnabled"])
        elif change.action is Action.CREATE_ALIAS:
            assert key is not None and data["TargetKeyId"] == key.arn
            key = dataclasses.replace(key, aliases=(*key.aliases, data["AliasName"]))
        elif change.action is Action.PUT_KEY_POLICY:
            assert key is not None and change.params["key_id"] == key.arn
            key = dataclasses.replace(key, policy=after)
        elif change.action is Action.CREATE_BUCKET:
            assert not bucket_state.exists and data["Bucket"] == bucket_state.name
            created_bucket = True
            region = data.get("CreateBucketConfiguration", {}).get("LocationConstraint")
            bucket_state = BucketState(
                name=data["Bucket"],
                exists=True,
                region=region or "us-east-1",
                encryption=BucketEncryption("AES256"),  # S3's default for new buckets
                object_ownership="BucketOwnerEnforced",
                public_access_block=PublicAccessBlock(),
            )
        elif change.action is Action.PUT_PUBLIC_ACCESS_BLOCK:
            bucket_state = dataclasses.replace(
                bucket_state,
                public_access_block=PublicAccessBlock(
                    data["BlockPublicAcls"],
                    data["IgnorePublicAcls"],
                    data["BlockPublicPolicy"],
                    data["RestrictPublicBuckets"],
                ),
            )
        elif change.action is Action.PUT_OWNERSHIP_CONTROLS:
            ownership = data["Rules"][0]["ObjectOwnership"]
            bucket_state = dataclasses.replace(bucket_state, object_ownership=ownership)
        elif change.action is Action.PUT_BUCKET_ENCRYPTION:
            rule = data["Rules"][0]
            default = rule["ApplyServerSideEncryptionByDefault"]
            encryption = BucketEncryption(
                default["SSEAlgorithm"], default.get("KMSMasterKeyID"), rule["BucketKeyEnabled"]
            )
            bucket_state = dataclasses.replace(bucket_state, encryption=encryption)
        elif change.action is Action.PUT_BUCKET_POLICY:
            bucket_state = dataclasses.replace(bucket_state, policy=after)
        else:  # pragma: no cover
            raise AssertionError(change.action)
    return dataclasses.replace(snapshot, bucket=bucket_state, key=key)


def assert_converges(snapshot: Snapshot, choices: Choices) -> Snapshot:
    """Build, apply, re-diagnose: healthy, and a second build is empty (idempotence)."""
    plan = build(snapshot, choices)
    assert plan.blockers == (), plan.blockers
    after = apply_plan(snapshot, plan)
    errors = [f for f in diagnose(after, choices) if f.severity is Severity.ERROR]
    assert errors == []
    again = build(after, choices)
    assert again.empty and again.blockers == (), again
    assert apply_plan(after, again) == after
    return after


def actions(plan: Plan) -> list[Action]:
    return [c.action for c in plan.changes]


def statements_of(text: str | None) -> list[dict[str, Any]]:
    assert text is not None
    body = json.loads(text)["Statement"]
    return body if isinstance(body, list) else [body]


def by_sid(text: str | None, sid: str) -> dict[str, Any]:
    return next(s for s in statements_of(text) if s.get("Sid") == sid)


# --------------------------------------------------------------------------- scenarios


def test_fresh_setup_creates_everything_in_order() -> None:
    choices = choose(key=None, create_key_alias="alias/cwl-exports", create_bucket=True)
    snapshot = snap(BucketState(BUCKET, exists=False), None)
    plan = build(snapshot, choices)
    assert plan.blockers == ()
    assert actions(plan) == [
        Action.CREATE_KEY,
        Action.ENABLE_KEY_ROTATION,
        Action.CREATE_ALIAS,
        Action.CREATE_BUCKET,
        Action.PUT_PUBLIC_ACCESS_BLOCK,
        Action.PUT_OWNERSHIP_CONTROLS,
        Action.PUT_BUCKET_ENCRYPTION,
        Action.PUT_BUCKET_POLICY,
    ]
    changes = {c.action: c for c in plan.changes}
    assert all(c.before is None for c in plan.changes)
    for change in plan.changes:
        lines = change.diff.splitlines()
        assert lines[0].endswith("(none)")
        assert all(line.startswith("+") for line in lines[3:])
        assert change.summary and "\n" not in change.summary

    key_policy = json.loads(changes[Action.CREATE_KEY].after or "")
    assert key_policy == req.new_key_policy(dest(choices))
    assert {"Sid": req.SID_KEY_ADMIN, **req.key_admin_statement(ACCOUNT)} in key_policy["Statement"]
    assert changes[Action.CREATE_KEY].params["alias"] == "alias/cwl-exports"
    assert changes[Action.CREATE_KEY].params["description"]
    assert json.loads(changes[Action.CREATE_ALIAS].after or "") == {
        "AliasName": "alias/cwl-exports",
        "TargetKeyId": NEW_KEY_ARN,
    }
    assert json.loads(changes[Action.CREATE_BUCKET].after or "") == {
        "Bucket": BUCKET,
        "CreateBucketConfiguration": {"LocationConstraint": REGION},
    }
    assert changes[Action.CREATE_BUCKET].params == {"bucket": BUCKET, "region": REGION}
    assert json.loads(changes[Action.PUT_PUBLIC_ACCESS_BLOCK].after or "") == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert json.loads(changes[Action.PUT_OWNERSHIP_CONTROLS].after or "") == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    assert json.loads(changes[Action.PUT_BUCKET_ENCRYPTION].after or "") == {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {
                    "KMSMasterKeyID": NEW_KEY_ARN,
                    "SSEAlgorithm": "aws:kms",
                },
                "BucketKeyEnabled": True,
            }
        ]
    }
    assert statements_of(changes[Action.PUT_BUCKET_POLICY].after) == [
        *req.bucket_statements(dest(choices)),
        req.tls_only_statement(dest(choices)),
    ]
    assert json.loads(changes[Action.ENABLE_KEY_ROTATION].after or "") == {
        "KeyRotationEnabled": True
    }
    assert req.KEY_STATEMENT_NOTE in changes[Action.CREATE_KEY].notes
    after = assert_converges(snapshot, choices)
    assert after.key is not None and after.key.aliases == ("alias/cwl-exports",)
    # The flow may switch to the created key by alias: still nothing to do.
    assert build(after, choose(key="alias/cwl-exports", create_bucket=True)).empty


def test_fresh_bucket_in_us_east_1_omits_the_location_constraint() -> None:
    choices = Choices(
        region="us-east-1", bucket=BUCKET, create_bucket=True, create_key_alias="alias/x"
    )
    snapshot = Snapshot(IDENTITY, "us-east-1", BucketState(BUCKET, exists=False), None)
    plan = build(snapshot, choices)
    create = next(c for c in plan.changes if c.action is Action.CREATE_BUCKET)
    assert json.loads(create.after or "") == {"Bucket": BUCKET}
    assert_converges(snapshot, choices)


def test_existing_key_and_new_bucket() -> None:
    choices = choose(create_bucket=True)
    snapshot = snap(BucketState(BUCKET, exists=False), customer_key(default_key_policy()))
    plan = build(snapshot, choices)
    assert actions(plan) == [
        Action.PUT_KEY_POLICY,
        Action.CREATE_BUCKET,
        Action.PUT_PUBLIC_ACCESS_BLOCK,
        Action.PUT_OWNERSHIP_CONTROLS,
        Action.PUT_BUCKET_ENCRYPTION,
        Action.PUT_BUCKET_POLICY,
    ]
    encryption = json.loads(plan.changes[4].after or "")
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == (
        KEY_ARN
    )
    assert plan.changes[0].params == {"key_id": KEY_ARN, "region": REGION}
    assert plan.changes[0].target == f"KMS key {ALIAS} ({KEY_ARN})"
    assert_converges(snapshot, choices)


def test_healthy_destination_gets_an_empty_plan() -> None:
    plan = build(healthy_snapshot(), choose())
    assert plan.empty and plan.changes == () and plan.blockers == ()
    # Repair mode (no key chosen) on the same destination: also nothing to do.
    assert build(healthy_snapshot(), choose(key=None)).empty


def test_repair_of_an_aws_s3_bucket_with_a_foreign_deny_insecure_transport() -> None:
    """The demo's broken bucket: aws/s3, a foreign Deny, a PutObject Allow, no GetBucketAcl."""
    foreign_put = documented_bucket_statements()[1]
    policy = doc(deny_insecure_transport(), foreign_put)
    broken = bucket(policy, encryption=BucketEncryption("aws:kms", "alias/aws/s3", True))
    snapshot = snap(broken, customer_key(default_key_policy()))
    choices = choose()
    plan = build(snapshot, choices)
    assert plan.blockers == ()
    assert actions(plan) == [
        Action.PUT_KEY_POLICY,
        Action.PUT_BUCKET_ENCRYPTION,
        Action.PUT_BUCKET_POLICY,
    ]
    key_change, encryption_change, policy_change = plan.changes
    # The key policy keeps its root statement and gains the logs statement.
    key_after = json.loads(key_change.after or "")
    assert key_after["Statement"][0] == root_statement()
    assert key_after["Statement"][1] == req.key_statements(dest())[0]
    assert key_after["Id"] == "key-default-1"
    assert "+" in key_change.diff and "-  " not in key_change.diff.replace("---", "")
    # Encryption switches from aws/s3 to the chosen key.
    assert json.loads(encryption_change.before or "")["Rules"][0][
        "ApplyServerSideEncryptionByDefault"
    ] == {"KMSMasterKeyID": "alias/aws/s3", "SSEAlgorithm": "aws:kms"}
    assert KEY_ARN in (encryption_change.after or "")
    # The bucket policy: foreign statements unchanged and first, GetBucketAcl appended.
    body = statements_of(policy_change.after)
    assert body[:2] == [deny_insecure_transport(), foreign_put]
    assert [s.get("Sid") for s in body[2:]] == [req.SID_GET_BUCKET_ACL]
    assert policy_change.before == current_document(Action.PUT_BUCKET_POLICY, broken, snapshot.key)
    assert "Add 1 statement" in policy_change.summary
    assert_converges(snapshot, choices)


def test_repair_without_a_chosen_key_on_aws_s3_is_blocked_for_the_key() -> None:
    broken = bucket(
        doc(deny_insecure_transport()), encryption=BucketEncryption("aws:kms", None, True)
    )
    plan = build(snap(broken, None), choose(key=None))
    assert actions(plan) == [Action.PUT_BUCKET_POLICY]
    assert len(plan.blockers) == 1 and "AWS managed key" in plan.blockers[0]


def test_aws_documented_statements_with_other_sids_need_nothing() -> None:
    policy = doc(deny_insecure_transport(), *documented_bucket_statements())
    key = customer_key(doc(root_statement(), documented_key_statement()))
    snapshot = snap(bucket(policy), key)
    assert build(snapshot, choose()).empty
    assert build(snapshot, choose()).blockers == ()
    assert [f.code for f in diagnose(snapshot, choose())] == []


def test_foreign_deny_is_a_blocker_not_a_silent_fix() -> None:
    deny = {
        "Sid": "DenyOutsideOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    policy = doc(*req.bucket_statements(dest()), deny)
    plan = build(snap(bucket(policy), healthy_key()), choose())
    assert plan.changes == ()
    assert len(plan.blockers) == 1
    assert "'DenyOutsideOrg'" in plan.blockers[0]
    assert "aws:PrincipalOrgID" in plan.blockers[0]
    assert "never edits" in plan.blockers[0]


def test_foreign_deny_leaves_the_deny_alone_while_adding_missing_allows() -> None:
    deny = {
        "Sid": "DenyOutsideOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    plan = build(snap(bucket(doc(deny)), healthy_key()), choose())
    assert actions(plan) == [Action.PUT_BUCKET_POLICY]
    body = statements_of(plan.changes[0].after)
    assert body[0] == deny
    assert [s["Sid"] for s in body[1:]] == [req.SID_GET_BUCKET_ACL, req.SID_PUT_OBJECT]
    assert len(plan.blockers) == 1 and "'DenyOutsideOrg'" in plan.blockers[0]


def test_foreign_deny_in_the_key_policy_is_a_blocker() -> None:
    deny = {
        "Sid": "DenyOutsideOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    key = customer_key(doc(root_statement(), deny))
    plan = build(snap(healthy_bucket(), key), choose())
    assert actions(plan) == [Action.PUT_KEY_POLICY]
    assert statements_of(plan.changes[0].after)[:2] == [root_statement(), deny]
    assert len(plan.blockers) == 1 and "key policy" in plan.blockers[0]


def test_key_policy_without_the_root_statement_gets_only_the_logs_statement() -> None:
    admin = {
        "Sid": "KeyAdmins",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"},
        "Action": "kms:*",
        "Resource": "*",
    }
    key = customer_key(doc(admin))
    snapshot = snap(healthy_bucket(), key)
    plan = build(snapshot, choose())
    assert actions(plan) == [Action.PUT_KEY_POLICY] and plan.blockers == ()
    body = statements_of(plan.changes[0].after)
    # Never widened: no root kms:* is added to a policy that deliberately has none.
    assert body == [admin, *req.key_statements(dest())]
    assert ROOT not in (plan.changes[0].after or "")
    assert_converges(snapshot, choose())


def test_key_policy_nobody_in_the_account_may_change_is_a_blocker() -> None:
    use_only = {
        "Sid": "UseOnly",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GetKeyPolicy"],
        "Resource": "*",
    }
    plan = build(snap(healthy_bucket(), customer_key(doc(use_only))), choose())
    assert plan.changes == ()
    assert len(plan.blockers) == 1 and "kms:PutKeyPolicy" in plan.blockers[0]


def test_prefix_change_keeps_the_old_prefix_working() -> None:
    old = choose(prefix="old/logs")
    new = choose(prefix="new")
    snapshot = snap(healthy_bucket(policy=json.dumps(healthy_bucket_policy(old))), healthy_key())
    plan = build(snapshot, new)
    assert actions(plan) == [Action.PUT_BUCKET_POLICY]
    change = plan.changes[0]
    assert "Update 1 statement" in change.summary
    put = by_sid(change.after, req.SID_PUT_OBJECT)
    assert put["Resource"] == [
        f"arn:aws:s3:::{BUCKET}/old/logs/*",
        f"arn:aws:s3:::{BUCKET}/new/*",
    ]
    # GetBucketAcl already worked: untouched; the order of statements is kept.
    assert statements_of(change.after)[0] == req.bucket_statements(dest(old))[0]
    after = assert_converges(snapshot, new)
    assert build(after, old).empty  # the earlier destination still works
    third = choose(prefix="third")
    later = assert_converges(after, third)
    assert by_sid(later.bucket.policy, req.SID_PUT_OBJECT)["Resource"] == [
        f"arn:aws:s3:::{BUCKET}/old/logs/*",
        f"arn:aws:s3:::{BUCKET}/new/*",
        f"arn:aws:s3:::{BUCKET}/third/*",
    ]


def test_a_statement_for_another_regions_principal_is_kept_and_a_new_one_added() -> None:
    # The same Sid, but a grant for logs.us-west-2: not what the wizard writes for this
    # bucket's region, so it is left exactly as it is and the grant gets a Sid of its own.
    stale = req.bucket_statements(dest())[0]
    stale = {**stale, "Principal": {"Service": "logs.us-west-2.amazonaws.com"}}
    policy = doc(stale, req.bucket_statements(dest())[1], deny_insecure_transport())
    snapshot = snap(bucket(policy), healthy_key())
    plan = build(snapshot, choose())
    assert actions(plan) == [Action.PUT_BUCKET_POLICY]
    change = plan.changes[0]
    body = statements_of(change.after)
    assert body[:3] == policy["Statement"]  # every statement kept, in its place
    assert body[3] == {**req.bucket_statements(dest())[0], "Sid": req.SID_GET_BUCKET_ACL + "2"}
    assert any("is not the wizard's" in note for note in change.notes), change.notes
    assert_converges(snapshot, choose())


def padded(statements: list[dict[str, Any]], limit: int, room: int) -> dict[str, Any]:
    """A valid policy of ``statements`` plus fillers, with less than ``room`` bytes left."""
    policy = doc(*statements)
    i = 0
    while policy_size(policy) < limit - room:
        policy["Statement"].append(
            {
                "Sid": f"Reader{i:04d}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader-{i:04d}"},
                "Action": "s3:GetObject" if limit == BUCKET_POLICY_LIMIT else "kms:Decrypt",
                "Resource": f"arn:aws:s3:::{BUCKET}/reports/{i:04d}/*"
                if limit == BUCKET_POLICY_LIMIT
                else "*",
            }
        )
        i += 1
    policy["Statement"].pop()
    assert limit - room - 200 < policy_size(policy) <= limit
    return policy


def test_bucket_policy_size_limit_is_a_blocker() -> None:
    policy = padded([deny_insecure_transport()], BUCKET_POLICY_LIMIT, 300)
    plan = build(snap(bucket(policy), healthy_key()), choose())
    assert plan.changes == ()
    assert len(plan.blockers) == 1
    assert "bytes" in plan.blockers[0] and str(BUCKET_POLICY_LIMIT) in plan.blockers[0]
    codes = [f.code for f in diagnose(snap(bucket(policy), healthy_key()), choose())]
    assert "POLICY_TOO_LARGE" in codes


def test_key_policy_size_limit_is_a_blocker() -> None:
    policy = padded([root_statement()], KEY_POLICY_LIMIT, 100)
    plan = build(snap(healthy_bucket(), customer_key(policy)), choose())
    assert plan.changes == ()
    assert len(plan.blockers) == 1 and str(KEY_POLICY_LIMIT) in plan.blockers[0]


@pytest.mark.parametrize(
    ("key", "words"),
    [
        (aws_managed_key(), "AWS managed"),
        (customer_key(default_key_policy(), state="Disabled"), "Disabled"),
        (customer_key(default_key_policy(), spec="RSA_2048", usage="SIGN_VERIFY"), "symmetric"),
        (customer_key(default_key_policy(), region="us-west-2"), "us-west-2"),
        (KeyState(reference=ALIAS, exists=False), "not found"),
    ],
)
def test_unusable_chosen_key_is_a_blocker(key: KeyState, words: str) -> None:
    plan = build(snap(bucket(doc()), key), choose())
    assert len(plan.blockers) == 1 and words in plan.blockers[0]
    # Nothing touches the key or the encryption; the bucket policy can still be prepared.
    assert actions(plan) == [Action.PUT_BUCKET_POLICY]


@pytest.mark.parametrize(
    "state",
    [
        BucketState(BUCKET, exists=True, owned=False),
        BucketState(BUCKET, exists=False, owned=False),
        BucketState(BUCKET, exists=False),
        healthy_bucket(region="us-west-2"),
    ],
)
def test_unusable_bucket_is_a_blocker_with_no_changes(state: BucketState) -> None:
    plan = build(snap(state, healthy_key()), choose(create_bucket=not state.owned))
    assert plan.changes == () and len(plan.blockers) == 1


def test_encryption_is_left_alone_when_the_bucket_already_uses_the_key() -> None:
    for reported in (KEY_ARN, KEY_ID, ALIAS, f"arn:aws:kms:{REGION}:{ACCOUNT}:{ALIAS}"):
        state = healthy_bucket(encryption=BucketEncryption("aws:kms", reported, True))
        assert build(snap(state, healthy_key()), choose()).empty, reported
        assert build(snap(state, healthy_key()), choose(key=KEY_ARN)).empty, reported


@pytest.mark.parametrize(
    "encryption",
    [
        BucketEncryption("AES256"),
        None,
        BucketEncryption(None),
        BucketEncryption("aws:kms:dsse", KEY_ARN, False),
        BucketEncryption("aws:kms", key_arn(REGION, ACCOUNT, NEW_ID), True),
        BucketEncryption("aws:kms", KEY_ARN, False),
    ],
)
def test_encryption_is_set_to_the_chosen_key(encryption: BucketEncryption | None) -> None:
    snapshot = snap(healthy_bucket(encryption=encryption), healthy_key())
    plan = build(snapshot, choose())
    assert actions(plan) == [Action.PUT_BUCKET_ENCRYPTION]
    assert json.loads(plan.changes[0].after or "")["Rules"][0] == {
        "ApplyServerSideEncryptionByDefault": {
            "KMSMasterKeyID": KEY_ARN,
            "SSEAlgorithm": "aws:kms",
        },
        "BucketKeyEnabled": True,
    }
    assert plan.changes[0].target == f"s3://{BUCKET}"
    assert_converges(snapshot, choose())


def test_repair_turns_bucket_key_on_but_never_replaces_dsse() -> None:
    off = snap(
        healthy_bucket(encryption=BucketEncryption("aws:kms", KEY_ARN, False)), healthy_key()
    )
    assert actions(build(off, choose(key=None))) == [Action.PUT_BUCKET_ENCRYPTION]
    assert_converges(off, choose(key=None))
    dsse = snap(healthy_bucket(encryption=BucketEncryption("aws:kms:dsse", KEY_ARN)), healthy_key())
    plan = build(dsse, choose(key=None))
    assert plan.changes == () and "DSSE" in plan.blockers[0]


def test_repair_of_sse_s3_bucket_only_fixes_the_policy() -> None:
    snapshot = snap(bucket(None, encryption=BucketEncryption("AES256")), None)
    plan = build(snapshot, choose(key=None))
    assert actions(plan) == [Action.PUT_BUCKET_POLICY] and plan.blockers == ()
    assert plan.changes[0].before is None
    assert plan.changes[0].summary.startswith("Create a bucket policy")
    assert_converges(snapshot, choose(key=None))


def test_key_context_mismatch_gets_the_wizard_statement_beside_the_foreign_one() -> None:
    log_group_use = {
        **documented_key_statement(),
        "Sid": "LogGroupEncryption",
        "Condition": {
            "ArnEquals": {
                "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"
            }
        },
    }
    snapshot = snap(healthy_bucket(), customer_key(doc(root_statement(), log_group_use)))
    plan = build(snapshot, choose())
    assert actions(plan) == [Action.PUT_KEY_POLICY]
    assert statements_of(plan.changes[0].after) == [
        root_statement(),
        log_group_use,
        *req.key_statements(dest()),
    ]
    assert_converges(snapshot, choose())


def test_unreadable_policies_are_blockers_not_overwritten() -> None:
    plan = build(snap(bucket("{not json"), healthy_key()), choose())
    assert plan.changes == () and "bucket policy" in plan.blockers[0]
    plan = build(snap(healthy_bucket(), customer_key(None)), choose())
    assert plan.changes == () and "could not be read" in plan.blockers[0]
    plan = build(snap(healthy_bucket(), customer_key('{"Statement": 5}')), choose())
    assert plan.changes == () and "key policy" in plan.blockers[0]


def test_create_bucket_choice_on_an_existing_own_bucket_uses_it() -> None:
    assert build(healthy_snapshot(), choose(create_bucket=True)).empty


def test_current_document_matches_what_build_compares() -> None:
    state = healthy_bucket()
    key = healthy_key()
    assert current_document(Action.CREATE_KEY, state, key) is None
    assert current_document(Action.CREATE_ALIAS, state, key) is None
    assert current_document(Action.CREATE_BUCKET, BucketState(BUCKET, exists=False), None) is None
    assert json.loads(current_document(Action.CREATE_BUCKET, state, key) or "") == {
        "Bucket": BUCKET,
        "CreateBucketConfiguration": {"LocationConstraint": REGION},
    }
    assert json.loads(current_document(Action.PUT_PUBLIC_ACCESS_BLOCK, state, key) or "") == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert json.loads(current_document(Action.PUT_OWNERSHIP_CONTROLS, state, key) or "") == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    assert current_document(Action.PUT_BUCKET_ENCRYPTION, bucket(encryption=None), key) is None
    # Policies compare canonically: the same document written differently is no drift.
    compact = json.dumps(healthy_key_policy(), separators=(",", ":"))
    spaced = json.dumps(healthy_key_policy(), indent=4)
    assert current_document(Action.PUT_KEY_POLICY, state, customer_key(compact)) == (
        current_document(Action.PUT_KEY_POLICY, state, customer_key(spaced))
    )
    assert current_document(Action.PUT_KEY_POLICY, state, None) is None
    assert current_document(Action.PUT_BUCKET_POLICY, bucket("{oops"), key) == "{oops"
