"""Planner laws over random existing policies (hypothesis).

For any valid bucket policy made of foreign statements that do not involve CloudWatch Logs
(Allows for other principals, Denies that do not touch the export's calls), optionally with
the wizard's own statements from an earlier prefix: build -> apply in memory ->
- every foreign statement is unchanged and in its original order,
- the destination is healthy (no ERROR finding) and a second build is empty,
- an earlier prefix of the wizard's keeps working.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.test_plan import (
    ACCOUNT,
    BUCKET,
    KEY_ARN,
    apply_plan,
    bucket,
    choose,
    customer_key,
    dest,
    documented_bucket_statements,
    documented_key_statement,
    root_statement,
    snap,
)
from wizard.core import requirements as req
from wizard.core.change import Action
from wizard.core.doctor import diagnose
from wizard.core.findings import Severity
from wizard.core.plan import build
from wizard.core.state import BucketEncryption

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
PREFIXES = ("exportedlogs", "logs/cwl", "a", "exports/2026", "x-y_z")

aws_principals = st.sampled_from(
    [
        f"arn:aws:iam::{ACCOUNT}:root",
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:role/Reader",
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        "arn:aws:iam::210987654321:root",
        "arn:aws:iam::210987654321:role/Auditor",
    ]
)
s3_allow_actions = st.sampled_from(
    ["s3:GetObject", "s3:ListBucket", "s3:*", "s3:Get*", "s3:PutObject", "s3:GetBucketAcl"]
)
s3_resources = st.sampled_from(
    [BUCKET_ARN, f"{BUCKET_ARN}/*", f"{BUCKET_ARN}/reports/*", f"{BUCKET_ARN}/exportedlogs/*"]
)
sids = st.one_of(
    st.none(),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        min_size=1,
        max_size=12,
    ),
)


def _one_or_list(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else values


@st.composite
def foreign_allow(draw: st.DrawFn) -> dict[str, Any]:
    principals = draw(st.lists(aws_principals, min_size=1, max_size=3, unique=True))
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": _one_or_list(principals)},
        "Action": _one_or_list(
            draw(st.lists(s3_allow_actions, min_size=1, max_size=3, unique=True))
        ),
        "Resource": _one_or_list(draw(st.lists(s3_resources, min_size=1, max_size=2, unique=True))),
    }
    if draw(st.booleans()):
        statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    sid = draw(sids)
    if sid is not None:
        statement = {"Sid": sid, **statement}
    return statement


@st.composite
def harmless_deny(draw: st.DrawFn) -> dict[str, Any]:
    """Denies that never match CloudWatch Logs' GetBucketAcl/PutObject calls."""
    kind = draw(st.sampled_from(["insecure", "delete", "other-principal", "policy", "ip", "org"]))
    statement: dict[str, Any]
    if kind == "insecure":
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    elif kind == "delete":
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": draw(
                st.sampled_from(
                    ["s3:DeleteBucket", "s3:DeleteObject*", "s3:PutLifecycleConfiguration"]
                )
            ),
            "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        }
    elif kind == "other-principal":
        statement = {
            "Effect": "Deny",
            "Principal": {"AWS": draw(aws_principals)},
            "Action": "s3:*",
            "Resource": f"{BUCKET_ARN}/*",
        }
    elif kind == "policy":
        statement = {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
            "Resource": BUCKET_ARN,
        }
    elif kind == "ip":
        # A positive operator on a key the service's calls lack: never true for them.
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": f"{BUCKET_ARN}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        }
    else:
        # An org guard written with the exemption the doctor suggests for AWS services.
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }
    sid = draw(sids)
    return statement if sid is None else {"Sid": sid, **statement}


@st.composite
def existing_setups(draw: st.DrawFn) -> tuple[dict[str, Any], str | None, str]:
    """(bucket policy, an earlier wizard prefix or None, the prefix chosen now)."""
    foreign = draw(st.lists(st.one_of(foreign_allow(), harmless_deny()), max_size=7))
    # Foreign statements never use the wizard's Sids, and Sids are unique in one document.
    seen: set[str] = set()
    for statement in foreign:
        sid = statement.get("Sid")
        if sid is not None and (sid in seen or sid in req.WIZARD_SIDS):
            del statement["Sid"]
        elif sid is not None:
            seen.add(sid)
    statements: list[dict[str, Any]] = list(foreign)
    earlier = draw(st.one_of(st.none(), st.sampled_from(PREFIXES)))
    if earlier is not None:
        own = req.bucket_statements(dest(choose(prefix=earlier)))
        for statement in own:
            statements.insert(draw(st.integers(0, len(statements))), statement)
    if draw(st.booleans()):
        documented = documented_bucket_statements()
        statements.extend(draw(st.sampled_from([documented, documented[:1], documented[1:]])))
    policy: dict[str, Any] = {"Version": "2012-10-17", "Statement": statements}
    if len(statements) == 1 and draw(st.booleans()):
        policy["Statement"] = statements[0]  # a statement-as-object document
    if draw(st.booleans()):
        policy["Id"] = "ExistingPolicy"
    return policy, earlier, draw(st.sampled_from(PREFIXES))


def _statements(text: str | None) -> list[dict[str, Any]]:
    if text is None:
        return []
    body = json.loads(text)["Statement"]
    return body if isinstance(body, list) else [body]


def _foreign(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if s.get("Sid") not in req.WIZARD_SIDS]


encryptions = st.sampled_from(
    [
        BucketEncryption("aws:kms", KEY_ARN, True),
        BucketEncryption("aws:kms", KEY_ARN, False),
        BucketEncryption("AES256"),
        BucketEncryption("aws:kms", "alias/aws/s3", True),
        BucketEncryption("aws:kms:dsse", KEY_ARN),
        None,
    ]
)


@SETTINGS
@given(setup=existing_setups(), encryption=encryptions)
def test_build_apply_keeps_foreign_statements_and_converges(
    setup: tuple[dict[str, Any], str | None, str], encryption: BucketEncryption | None
) -> None:
    policy, earlier, prefix = setup
    choices = choose(prefix=prefix)
    key = customer_key({"Version": "2012-10-17", "Statement": [root_statement()]})
    snapshot = snap(bucket(policy, encryption=encryption), key)

    plan = build(snapshot, choices)
    assert plan.blockers == ()
    after = apply_plan(snapshot, plan)

    before_statements = policy["Statement"]
    before_statements = (
        before_statements if isinstance(before_statements, list) else [before_statements]
    )
    assert _foreign(_statements(after.bucket.policy)) == _foreign(before_statements)
    assert [f for f in diagnose(after, choices) if f.severity is Severity.ERROR] == []
    again = build(after, choices)
    assert again.empty and again.blockers == ()
    if earlier is not None:
        # The earlier destination prefix keeps working: no bucket policy change for it.
        earlier_plan = build(after, choose(prefix=earlier))
        assert Action.PUT_BUCKET_POLICY not in [c.action for c in earlier_plan.changes]


foreign_key_statements = st.lists(
    st.builds(
        lambda principal, actions, sid: {
            **({"Sid": sid} if sid else {}),
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": actions,
            "Resource": "*",
        },
        aws_principals,
        st.sampled_from(["kms:Decrypt", ["kms:Encrypt", "kms:Decrypt"], "kms:Describe*", "kms:*"]),
        st.sampled_from([None, "Users", "Auditors", "CrossAccount"]),
    ),
    max_size=5,
)


@SETTINGS
@given(
    statements=foreign_key_statements,
    documented=st.booleans(),
    deny_deletion=st.booleans(),
)
def test_key_policy_patch_keeps_foreign_statements_and_converges(
    statements: list[dict[str, Any]], documented: bool, deny_deletion: bool
) -> None:
    seen: set[str] = set()
    for statement in statements:
        sid = statement.get("Sid")
        if sid in seen:
            del statement["Sid"]
        elif sid:
            seen.add(sid)
    body = [root_statement(), *statements]
    if documented:
        body.append(documented_key_statement())
    if deny_deletion:
        body.append(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"],
                "Resource": "*",
            }
        )
    key = customer_key({"Version": "2012-10-17", "Statement": body})
    choices = choose()
    snapshot = snap(
        bucket({"Version": "2012-10-17", "Statement": req.bucket_statements(dest())}), key
    )
    plan = build(snapshot, choices)
    assert plan.blockers == ()
    assert [c.action for c in plan.changes] == ([] if documented else [Action.PUT_KEY_POLICY])
    after = apply_plan(snapshot, plan)
    assert after.key is not None
    assert _foreign(_statements(after.key.policy)) == body
    assert [f for f in diagnose(after, choices) if f.severity is Severity.ERROR] == []
    assert build(after, choices).empty
