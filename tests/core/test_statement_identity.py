"""A statement is the wizard's only when its content says so, and a merge never widens a grant.

The cases came from trying the tool from outside (issue 21): a Deny and an admin's ``kms:*``
that reuse the wizard's Sids were overwritten, and a grant narrowed by hand was widened to every
log group when a new prefix was added. The property at the end generates such policies.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.test_plan import (
    ACCOUNT,
    BUCKET,
    PRINCIPAL,
    REGION,
    apply_plan,
    assert_converges,
    bucket,
    by_sid,
    choose,
    customer_key,
    dest,
    doc,
    healthy_key,
    root_statement,
    snap,
    statements_of,
)
from wizard.core import requirements as req
from wizard.core.change import Action
from wizard.core.evaluate import Request, RequestPrincipal, evaluate
from wizard.core.grants import same_meaning
from wizard.core.plan import build
from wizard.core.policy import canonical_json, parse_policy

OTHER_ACCOUNT = "210987654321"
ONE_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/payments"


def deny_delete_with_wizard_sid() -> dict[str, Any]:
    return {
        "Sid": req.SID_PUT_OBJECT,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }


def narrowed_put_object(prefix: str = "old") -> dict[str, Any]:
    """The wizard's PutObject, narrowed by hand to one log group and one more condition."""
    return {
        "Sid": req.SID_PUT_OBJECT,
        "Effect": "Allow",
        "Principal": {"Service": PRINCIPAL},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/{prefix}/*",
        "Condition": {
            "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceAccount": [ACCOUNT],
                "aws:PrincipalTag/team": "payments",
            },
            "ArnLike": {"aws:SourceArn": [ONE_GROUP]},
        },
    }


def test_a_deny_that_reuses_the_wizards_sid_is_kept_and_the_grant_gets_a_free_sid() -> None:
    get_acl = req.bucket_statements(dest())[0]
    policy = doc(get_acl, deny_delete_with_wizard_sid())
    snapshot = snap(bucket(policy), healthy_key())
    plan = build(snapshot, choose(prefix="new"))
    assert plan.blockers == ()
    [change] = plan.changes
    body = statements_of(change.after)
    assert body[:2] == policy["Statement"]  # the Deny is there, exactly as it was
    added = body[2]
    assert added["Sid"] == req.SID_PUT_OBJECT + "2"
    assert added["Resource"] == f"arn:aws:s3:::{BUCKET}/new/*"  # never BUCKET/*
    assert "Add 1 statement" in change.summary
    assert any("a Deny of s3:DeleteObject" in note for note in change.notes), change.notes
    assert_converges(snapshot, choose(prefix="new"))


def test_an_admin_statement_that_reuses_the_wizards_key_sid_is_kept() -> None:
    admin = {**root_statement(), "Sid": req.SID_KEY_USE}
    key = customer_key(doc(admin))
    snapshot = snap(bucket(doc(*req.bucket_statements(dest()))), key)
    plan = build(snapshot, choose())
    [change] = plan.changes
    assert change.action is Action.PUT_KEY_POLICY
    body = statements_of(change.after)
    assert body[0] == admin
    assert body[1] == {**req.key_statements(dest())[0], "Sid": req.SID_KEY_USE + "2"}
    assert any("is not the wizard's" in note for note in change.notes)
    assert_converges(snapshot, choose())


def test_a_narrowed_grant_keeps_its_conditions_when_a_prefix_is_added() -> None:
    narrowed = narrowed_put_object("old")
    policy = doc(req.bucket_statements(dest())[0], narrowed)
    snapshot = snap(bucket(policy), healthy_key())
    after = assert_converges(snapshot, choose(prefix="new"))
    body = statements_of(after.bucket.policy)
    assert body[1] == narrowed  # the old prefix is still open to one log group only
    new = by_sid(after.bucket.policy, req.SID_PUT_OBJECT + "2")
    assert new["Resource"] == f"arn:aws:s3:::{BUCKET}/new/*"


def test_an_own_statement_gains_a_prefix_only_under_the_same_conditions() -> None:
    old = req.bucket_statements(dest(choose(prefix="old")))
    snapshot = snap(bucket(doc(*old)), healthy_key())
    plan = build(snapshot, choose(prefix="new"))
    [change] = plan.changes
    assert "Update 1 statement" in change.summary
    assert any("also covers" in note and "/new/*" in note for note in change.notes)
    put = by_sid(change.after, req.SID_PUT_OBJECT)
    assert put["Condition"] == old[1]["Condition"]


def test_a_new_account_on_a_new_prefix_is_a_grant_of_its_own() -> None:
    # Adding both at once to the old statement would open the old prefix to the new account.
    old = req.bucket_statements(dest(choose(prefix="old")))
    snapshot = snap(bucket(doc(*old)), healthy_key())
    choices = choose(prefix="new", source_accounts=(OTHER_ACCOUNT,))
    after = apply_plan(snapshot, build(snapshot, choices))
    assert by_sid(after.bucket.policy, req.SID_PUT_OBJECT) == old[1]
    assert not _allowed(after.bucket.policy, "old", OTHER_ACCOUNT)
    assert _allowed(after.bucket.policy, "new", OTHER_ACCOUNT)
    assert _allowed(after.bucket.policy, "new", ACCOUNT)


# --------------------------------------------------------------------------- the property


def _allowed(policy: str | None, prefix: str, account: str, group: str = "/app/other") -> bool:
    if policy is None:
        return False
    request = Request(
        RequestPrincipal(kind="Service", id=PRINCIPAL),
        "s3:PutObject",
        f"arn:aws:s3:::{BUCKET}/{prefix}/some/object.gz",
        {
            "aws:SourceAccount": account,
            "aws:SourceArn": f"arn:aws:logs:{REGION}:{account}:log-group:{group}",
            "aws:SecureTransport": "true",
            "aws:PrincipalIsAWSService": "true",
            "s3:x-amz-acl": "bucket-owner-full-control",
        },
    )
    return evaluate(parse_policy(policy), request).allowed


PREFIXES = ("old", "exportedlogs", "logs/cwl", "x-y_z")
wizard_sids = st.sampled_from(sorted(req.WIZARD_SIDS))
other_sids = st.sampled_from(["Readers", "AllowCloudWatchLogsPutObject", "Keep1"])


@st.composite
def foreign_statement(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["deny", "reader", "narrowed", "admin-like"]))
    prefix = draw(st.sampled_from(PREFIXES))
    if kind == "deny":
        return {
            "Effect": "Deny",
            "Principal": "*",
            "Action": draw(st.sampled_from(["s3:DeleteObject", "s3:PutBucketPolicy"])),
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    if kind == "reader":
        return {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Reader"},
            "Action": draw(st.sampled_from(["s3:GetObject", "s3:PutObject", "s3:*"])),
            "Resource": f"arn:aws:s3:::{BUCKET}/{prefix}/*",
        }
    if kind == "narrowed":
        statement = narrowed_put_object(prefix)
        if draw(st.booleans()):
            del statement["Condition"]["StringEquals"]["aws:PrincipalTag/team"]
        return statement
    return {  # the logs principal, but GetBucketAcl limited to one log group
        "Effect": "Allow",
        "Principal": {"Service": PRINCIPAL},
        "Action": "s3:GetBucketAcl",
        "Resource": f"arn:aws:s3:::{BUCKET}",
        "Condition": {"ArnLike": {"aws:SourceArn": ONE_GROUP}},
    }


@st.composite
def existing_policies(draw: st.DrawFn) -> dict[str, Any]:
    statements = draw(st.lists(foreign_statement(), max_size=5))
    if draw(st.booleans()):  # the wizard's own statements from an earlier run
        earlier = draw(st.sampled_from(PREFIXES))
        statements.extend(req.bucket_statements(dest(choose(prefix=earlier))))
    draw(st.randoms()).shuffle(statements)
    taken: set[str] = set()
    for statement in statements:
        sid = draw(st.one_of(st.none(), wizard_sids, other_sids))
        statement.pop("Sid", None)
        if sid is not None and sid not in taken:  # S3 refuses a policy with a Sid twice
            taken.add(sid)
            statement["Sid"] = sid
    return doc(*statements)


def _foreign(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements that are not exactly what the wizard writes (whatever their Sid)."""
    own = [
        statement
        for prefix in PREFIXES
        for accounts in ((), (OTHER_ACCOUNT,))
        for statement in req.bucket_statements(
            dest(choose(prefix=prefix, source_accounts=accounts))
        )
    ]
    return [s for s in policy["Statement"] if not any(same_meaning(s, o) for o in own)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=existing_policies(),
    prefix=st.sampled_from(PREFIXES),
    other=st.booleans(),
)
def test_apply_then_undo_keeps_every_foreign_statement_and_never_widens_an_old_prefix(
    policy: dict[str, Any], prefix: str, other: bool
) -> None:
    choices = choose(prefix=prefix, source_accounts=(OTHER_ACCOUNT,) if other else ())
    snapshot = snap(bucket(policy), healthy_key())
    plan = build(snapshot, choices)
    if plan.blockers:  # a foreign Deny that refuses the export: nothing is written for it
        assert all(c.action is not Action.PUT_BUCKET_POLICY for c in plan.changes)
        return
    after = apply_plan(snapshot, plan)
    text = after.bucket.policy
    assert text is not None
    applied = json.loads(text)
    # Every statement that was there is still there, content-equal, in the same order,
    # except own statements that grew (they are the wizard's by content).
    foreign_before = _foreign(policy)
    assert [s for s in applied["Statement"] if s in foreign_before] == foreign_before
    # Nothing that was refused before on another prefix, or to an account not asked for, is
    # allowed now.
    asked = {ACCOUNT, OTHER_ACCOUNT} if other else {ACCOUNT}
    for old_prefix in PREFIXES:
        for account in (ACCOUNT, OTHER_ACCOUNT):
            for group in ("/app/other", "/app/payments"):
                if old_prefix == prefix and account in asked:
                    continue
                if _allowed(text, old_prefix, account, group):
                    assert _allowed(json.dumps(policy), old_prefix, account, group), (
                        old_prefix,
                        account,
                        group,
                    )
    # The export asked for works, and undo (the "before" written back) is the old policy.
    assert _allowed(text, prefix, ACCOUNT)
    for change in plan.changes:
        if change.action is Action.PUT_BUCKET_POLICY:
            assert change.before == canonical_json(policy)
