"""Property tests: parsing never crashes, upsert never touches foreign statements, and the
evaluator grants CloudWatch Logs exactly what ``requirements`` lists."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.core import requirements
from wizard.core.arn import (
    bucket_arn,
    log_group_arn,
    logs_principal,
    object_arn,
    partition_for_region,
)
from wizard.core.errors import PolicyError
from wizard.core.evaluate import Decision, Request, RequestPrincipal, evaluate
from wizard.core.policy import (
    STATEMENT_ELEMENTS,
    PolicyDocument,
    canonical_json,
    compact_json,
    parse_policy,
    policy_size,
    upsert_statements,
)
from wizard.core.state import Destination
from wizard.core.validate import bucket_name_problem, prefix_problem

# No example database: the tests write nothing into the repository.
FAST = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --------------------------------------------------------------------------- arbitrary input

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included: they must be refused, not crash
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
element_names = st.sampled_from([*STATEMENT_ELEMENTS, "Actions", "effect", ""])
plausible_values = st.one_of(
    st.sampled_from(["Allow", "Deny", "*", "s3:*", "arn:aws:s3:::b/*", "allow"]),
    st.lists(st.sampled_from(["s3:GetObject", "*", 5, None]), max_size=3),
    st.fixed_dictionaries({"AWS": json_values}),
    st.dictionaries(
        st.sampled_from(["Service", "AWS", "Federated", "CanonicalUser", "Bad"]),
        json_values,
        max_size=2,
    ),
    st.dictionaries(
        st.sampled_from(["StringEquals", "Bool", "ForAnyValue:StringLike", "X"]),
        st.dictionaries(st.text(max_size=6), json_values, max_size=2) | json_values,
        max_size=2,
    ),
    json_values,
)
near_statements = st.dictionaries(element_names, plausible_values, max_size=9)
near_documents = st.dictionaries(
    st.sampled_from(["Version", "Id", "Statement", "Statements"]),
    st.one_of(
        near_statements,
        st.lists(near_statements | json_values, max_size=3),
        st.sampled_from(["2012-10-17", "2008-10-17"]),
        json_values,
    ),
    max_size=4,
)


def parse_or_policy_error(source: Any) -> PolicyDocument | None:
    try:
        doc = parse_policy(source, kind="bucket policy")
    except PolicyError as exc:
        assert exc.message.startswith("bucket policy: ")
        return None
    # Whatever parses prints, measures and parses again to the same thing.
    assert parse_policy(compact_json(doc)) == doc
    assert policy_size(doc) == len(compact_json(doc).encode())
    canonical_json(doc)
    return doc


@FAST
@given(json_values | near_documents)
def test_parse_arbitrary_json_raises_only_policy_error(value: Any) -> None:
    parse_or_policy_error(value)  # as a Python value (a mapping, a list, a number...)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):  # pragma: no cover - every JSON value dumps
        return
    parse_or_policy_error(text)  # as JSON text (NaN/Infinity come out as non-JSON words)


@FAST
@given(st.text(max_size=60))
def test_parse_arbitrary_text_raises_only_policy_error(text: str) -> None:
    parse_or_policy_error(text)


# --------------------------------------------------------------------------- valid policies

WIZARD_SIDS = [requirements.SID_GET_BUCKET_ACL, requirements.SID_PUT_OBJECT]
sids = st.one_of(
    st.none(),
    st.sampled_from(["A", "B", "Foreign", "DenyInsecureTransport", *WIZARD_SIDS]),
    st.text(alphabet="abcXYZ019 ", min_size=1, max_size=6),
)
actions = st.sampled_from(
    ["s3:GetObject", "s3:PutObject", "s3:*", "s3:Get*", "*", "kms:Decrypt", "s3:?etObject"]
)
resources = st.sampled_from(
    ["*", "arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:s3:::b/p/*", "arn:aws:s3:::c?/x"]
)
principal_ids = st.sampled_from(
    ["*", "123456789012", "arn:aws:iam::123456789012:root", "arn:aws:iam::1:user/a"]
)
service_ids = st.sampled_from(["logs.us-east-1.amazonaws.com", "s3.amazonaws.com"])


def one_or_list(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return values | st.lists(values, min_size=1, max_size=3)


principals = st.one_of(
    st.just("*"),
    st.fixed_dictionaries({"AWS": one_or_list(principal_ids)}),
    st.fixed_dictionaries({"Service": one_or_list(service_ids)}),
    st.fixed_dictionaries(
        {"AWS": one_or_list(principal_ids), "Federated": st.just("cognito-identity.amazonaws.com")}
    ),
    st.fixed_dictionaries({"CanonicalUser": st.just("79a59df900b949e55d96a1e698fbaced")}),
)
condition_values = one_or_list(
    st.one_of(st.text(max_size=6), st.booleans(), st.integers(-5, 5), st.sampled_from(["1.5"]))
)
conditions = st.dictionaries(
    st.sampled_from(
        [
            "StringEquals",
            "StringNotEqualsIfExists",
            "Bool",
            "Null",
            "ArnLike",
            "ForAnyValue:StringLike",
        ]
    ),
    st.dictionaries(
        st.sampled_from(["aws:SourceAccount", "aws:x", "s3:y"]),
        condition_values,
        min_size=1,
        max_size=2,
    ),
    min_size=1,
    max_size=2,
)


@st.composite
def valid_statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {}
    sid = draw(sids)
    if sid is not None:
        statement["Sid"] = sid
    statement["Effect"] = draw(st.sampled_from(["Allow", "Deny"]))
    statement["NotPrincipal" if draw(st.booleans()) and draw(st.booleans()) else "Principal"] = (
        draw(principals)
    )
    statement["NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"] = draw(
        one_or_list(actions)
    )
    statement["NotResource" if draw(st.booleans()) and draw(st.booleans()) else "Resource"] = draw(
        one_or_list(resources)
    )
    if draw(st.booleans()):
        statement["Condition"] = draw(conditions)
    # Element order as written varies; canonical output must not care.
    items = list(statement.items())
    order = draw(st.permutations(range(len(items))))
    return dict(items[i] for i in order)


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.lists(valid_statements(), max_size=6))
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["Version"] = draw(st.sampled_from(["2012-10-17", "2008-10-17"]))
    if draw(st.booleans()):
        doc["Id"] = draw(st.text(max_size=8))
    doc["Statement"] = body[0] if len(body) == 1 and draw(st.booleans()) else body
    return doc


REGIONS = ["us-east-1", "ap-northeast-1", "eu-west-1", "us-west-2", "cn-north-1", "us-gov-west-1"]
bucket_names = st.text(alphabet="abcz019.-", min_size=3, max_size=22).filter(
    lambda name: bucket_name_problem(name) is None
)
# Prefixes stay clear of "*" and "?": see the report (they would widen the grant).
prefixes = (
    st.lists(st.text(alphabet="aZ09_.-", min_size=1, max_size=8), min_size=1, max_size=3)
    .map("/".join)
    .filter(lambda p: prefix_problem(p) is None)
)
accounts = st.integers(0, 10**12 - 1).map(lambda n: f"{n:012d}")


@st.composite
def destinations(draw: st.DrawFn) -> Destination:
    region = draw(st.sampled_from(REGIONS))
    return Destination(
        region=region,
        account=draw(accounts),
        partition=partition_for_region(region).name,
        bucket=draw(bucket_names),
        prefix=draw(prefixes),
    )


def expected_upsert(raw: dict[str, Any], new: list[dict[str, Any]]) -> list[str]:
    """The upsert rule, written the slow obvious way: canonical statements in order."""
    body = raw["Statement"] if isinstance(raw["Statement"], list) else [raw["Statement"]]
    result = [canonical_json(s) for s in body]
    sids_now = [s.get("Sid") for s in body]
    for statement in new:
        if statement["Sid"] in sids_now:
            result[sids_now.index(statement["Sid"])] = canonical_json(statement)
        else:
            result.append(canonical_json(statement))
            sids_now.append(statement["Sid"])
    return result


@FAST
@given(valid_documents(), destinations())
def test_upsert_keeps_foreign_statements(raw: dict[str, Any], dest: Destination) -> None:
    doc = parse_policy(raw)
    new = requirements.bucket_statements(dest)
    upserted = {s["Sid"] for s in new}
    result = upsert_statements(doc, new)

    def foreign(d: PolicyDocument) -> list[str]:
        return [canonical_json(s.raw) for s in d.statements if s.sid not in upserted]

    assert foreign(result) == foreign(doc)
    assert [canonical_json(s.raw) for s in result.statements] == expected_upsert(raw, new)
    assert {k: v for k, v in result.raw.items() if k != "Statement"} == {
        k: v for k, v in raw.items() if k != "Statement"
    }
    # Later statements that share a wizard Sid are left alone, as foreign ones are.
    for sid in upserted:
        same = [s for s in doc.statements if s.sid == sid]
        after = [s for s in result.statements if s.sid == sid]
        assert len(after) == max(len(same), 1)
        assert [canonical_json(s.raw) for s in after[1:]] == [
            canonical_json(s.raw) for s in same[1:]
        ]
    assert parse_policy(raw) == doc  # the input document is not modified


@FAST
@given(valid_documents(), destinations())
def test_upsert_is_idempotent(raw: dict[str, Any], dest: Destination) -> None:
    new = requirements.bucket_statements(dest)
    once = upsert_statements(parse_policy(raw), new)
    twice = upsert_statements(once, new)
    assert canonical_json(twice) == canonical_json(once)
    assert compact_json(twice) == compact_json(once)


# --------------------------------------------------------------------------- the evaluator


def with_context(req: Request, **changes: Any) -> Request:
    context = {k: v for k, v in req.context.items() if k not in changes}
    context.update({k: v for k, v in changes.items() if v is not None})
    return Request(req.principal, req.action, req.resource, context)


@FAST
@given(destinations(), st.sampled_from(REGIONS), accounts)
def test_evaluator_grants_logs_exactly_the_requirements(
    dest: Destination, other_region: str, other_account: str
) -> None:
    doc = parse_policy({"Version": "2012-10-17", "Statement": requirements.bucket_statements(dest)})
    bucket_requests = [r for r in requirements.service_requests(dest) if r.target == "bucket"]
    assert bucket_requests
    for service_request in bucket_requests:
        assert evaluate(doc, service_request.request).decision is Decision.ALLOW

    get_acl = bucket_requests[0].request
    put = next(r.request for r in bucket_requests if r.request.action == "s3:PutObject")
    denied: list[tuple[str, Request]] = []

    def variant(why: str, req: Request) -> None:
        denied.append((why, req))

    part = dest.partition
    for key in (f"{dest.prefix}x/obj", "obj-at-root", f"other/{dest.prefix}/obj"):
        variant(
            f"outside prefix {key}",
            Request(put.principal, put.action, object_arn(dest.bucket, key, part), put.context),
        )
    variant(
        "other bucket",
        Request(
            put.principal,
            put.action,
            object_arn(dest.bucket + "x", f"{dest.prefix}/o", part),
            put.context,
        ),
    )
    variant("no acl", with_context(put, **{"s3:x-amz-acl": None}))
    variant("other acl", with_context(put, **{"s3:x-amz-acl": "private"}))
    for principal in ("s3.amazonaws.com", f"logs.{other_region}.amazonaws.com"):
        if principal != logs_principal(dest.region):
            other = RequestPrincipal("Service", principal)
            variant(f"principal {principal}", Request(other, put.action, put.resource, put.context))
            variant(
                f"principal {principal} acl",
                Request(other, get_acl.action, get_acl.resource, get_acl.context),
            )
    same_account_user = RequestPrincipal(
        "AWS", f"arn:{part}:iam::{dest.account}:user/u", dest.account
    )
    variant("an IAM user", Request(same_account_user, put.action, put.resource, put.context))
    if other_account != dest.account:
        for req in (put, get_acl):
            variant(
                "other SourceAccount", with_context(req, **{"aws:SourceAccount": other_account})
            )
            variant(
                "other SourceArn",
                with_context(
                    req, **{"aws:SourceArn": log_group_arn(dest.region, other_account, "/g", part)}
                ),
            )
    if other_region != dest.region:
        variant(
            "SourceArn other region",
            with_context(
                put, **{"aws:SourceArn": log_group_arn(other_region, dest.account, "/g", part)}
            ),
        )
    variant("no SourceAccount", with_context(get_acl, **{"aws:SourceAccount": None}))
    variant("GetObject", Request(put.principal, "s3:GetObject", put.resource, put.context))
    variant(
        "DeleteBucket",
        Request(put.principal, "s3:DeleteBucket", bucket_arn(dest.bucket, part), get_acl.context),
    )
    variant("DeleteObject", Request(put.principal, "s3:DeleteObject", put.resource, put.context))
    variant(
        "PutObject on the bucket",
        Request(put.principal, "s3:PutObject", bucket_arn(dest.bucket, part), put.context),
    )
    for why, req in denied:
        result = evaluate(doc, req)
        assert result.decision is Decision.IMPLICIT_DENY, why
        assert result.deciding == ()
