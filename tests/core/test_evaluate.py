"""The resource-policy evaluator: a table per concern, then whole-policy decisions."""

# ruff: noqa: E501  (the tables read best as one case per line)

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from wizard.core import requirements
from wizard.core.evaluate import (
    Decision,
    Evaluation,
    Request,
    RequestPrincipal,
    evaluate,
    statement_applies,
    unknown_operators,
)
from wizard.core.policy import PolicyDocument, Statement, parse_policy
from wizard.core.state import Destination

LOGS = RequestPrincipal("Service", "logs.ap-northeast-1.amazonaws.com")
ALICE = RequestPrincipal("AWS", "arn:aws:iam::111122223333:user/alice")
ABSENT = object()  # the key is not in the request context
KEY = "test:Key"


def policy(*statements: dict[str, Any]) -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def allow(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def request(
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::bucket/key",
    principal: RequestPrincipal = LOGS,
    context: Mapping[str, Any] | None = None,
) -> Request:
    return Request(principal, action, resource, dict(context or {}))


def one(statement: dict[str, Any]) -> Statement:
    return policy(statement).statements[0]


# --------------------------------------------------------------------------- conditions

CONDITION_TABLE: list[tuple[str, Any, Any, bool]] = [
    # (operator, policy values, request value or ABSENT, condition holds?)
    # StringEquals family
    ("StringEquals", "abc", "abc", True),
    ("StringEquals", "abc", "ABC", False),
    ("StringEquals", ["x", "abc"], "abc", True),
    ("StringEquals", ["x", "y"], "abc", False),
    ("StringEquals", "abc", ABSENT, False),
    ("StringEqualsIfExists", "abc", ABSENT, True),
    ("StringEqualsIfExists", "abc", "abc", True),
    ("StringEqualsIfExists", "abc", "x", False),
    ("StringNotEquals", "abc", "abc", False),
    ("StringNotEquals", "abc", "x", True),
    ("StringNotEquals", ["a", "b"], "b", False),
    ("StringNotEquals", ["a", "b"], "c", True),
    ("StringNotEquals", "abc", ABSENT, True),
    ("StringNotEqualsIfExists", "abc", ABSENT, True),
    ("StringNotEqualsIfExists", "abc", "abc", False),
    ("StringNotEqualsIfExists", "abc", "x", True),
    ("StringEqualsIgnoreCase", "ABC", "abc", True),
    ("StringEqualsIgnoreCase", "ABC", "abd", False),
    ("StringEqualsIgnoreCase", "ABC", ABSENT, False),
    ("StringEqualsIgnoreCaseIfExists", "ABC", ABSENT, True),
    ("StringEqualsIgnoreCaseIfExists", "ABC", "aBc", True),
    ("StringNotEqualsIgnoreCase", "ABC", "abc", False),
    ("StringNotEqualsIgnoreCase", "ABC", "x", True),
    ("StringNotEqualsIgnoreCase", "ABC", ABSENT, True),
    ("StringNotEqualsIgnoreCaseIfExists", "ABC", "abc", False),
    ("StringNotEqualsIgnoreCaseIfExists", "ABC", ABSENT, True),
    # StringLike family: * and ?, case-sensitive, whole value
    ("StringLike", "a*c", "abbbc", True),
    ("StringLike", "a*c", "ac", True),
    ("StringLike", "a?c", "abc", True),
    ("StringLike", "a?c", "abbc", False),
    ("StringLike", "a*", "A", False),
    ("StringLike", "a*", "ba", False),
    ("StringLike", "a.c", "abc", False),
    ("StringLike", "a${*}", "a*", True),
    ("StringLike", "a${*}", "ab", False),
    ("StringLike", "a${?}", "a?", True),
    ("StringLike", ["x*", "a*"], "ab", True),
    ("StringLike", "a*", ABSENT, False),
    ("StringLikeIfExists", "a*", ABSENT, True),
    ("StringLikeIfExists", "a*", "b", False),
    ("StringNotLike", "a*", "abc", False),
    ("StringNotLike", "a*", "b", True),
    ("StringNotLike", ["a*", "b*"], "b", False),
    ("StringNotLike", "a*", ABSENT, True),
    ("StringNotLikeIfExists", "a*", ABSENT, True),
    ("StringNotLikeIfExists", "a*", "abc", False),
    # Arn family: six parts compared separately, wildcards, case-sensitive
    ("ArnLike", "arn:aws:logs:r:111:log-group:*", "arn:aws:logs:r:111:log-group:/a/b", True),
    ("ArnLike", "arn:aws:logs:r:111:log-group:*", "arn:aws:logs:r:222:log-group:/a", False),
    ("ArnLike", "arn:aws:logs:*:111:*", "arn:aws:logs:eu-west-1:111:log-group:x:*", True),
    ("ArnLike", "arn:aws:logs:*", "arn:aws:logs:r:111:log-group:x", False),
    ("ArnLike", "arn:aws:s3:::b?", "arn:aws:s3:::bx", True),
    ("ArnLike", "arn:aws:s3:::b", "not-an-arn", False),
    ("ArnLike", "arn:aws:s3:::b*", "arn:aws:s3:::B1", False),
    ("ArnLike", "arn:aws:s3:::b", ABSENT, False),
    ("ArnLikeIfExists", "arn:aws:s3:::b", ABSENT, True),
    ("ArnLikeIfExists", "arn:aws:s3:::b", "arn:aws:s3:::c", False),
    ("ArnEquals", "arn:aws:s3:::b", "arn:aws:s3:::b", True),
    ("ArnEquals", "arn:aws:s3:::b*", "arn:aws:s3:::b-1", True),
    ("ArnEquals", "arn:aws:s3:::B", "arn:aws:s3:::b", False),
    ("ArnEquals", "arn:aws:s3:::b", ABSENT, False),
    ("ArnEqualsIfExists", "arn:aws:s3:::b", ABSENT, True),
    ("ArnNotEquals", "arn:aws:s3:::b", "arn:aws:s3:::b", False),
    ("ArnNotEquals", "arn:aws:s3:::b", "arn:aws:s3:::c", True),
    ("ArnNotEquals", "arn:aws:s3:::b", ABSENT, True),
    ("ArnNotEqualsIfExists", "arn:aws:s3:::b", ABSENT, True),
    ("ArnNotEqualsIfExists", "arn:aws:s3:::b", "arn:aws:s3:::b", False),
    ("ArnNotLike", "arn:aws:logs:*:111:*", "arn:aws:logs:r:111:log-group:x", False),
    ("ArnNotLike", "arn:aws:logs:*:111:*", "arn:aws:logs:r:222:log-group:x", True),
    ("ArnNotLike", "arn:aws:logs:*:111:*", ABSENT, True),
    ("ArnNotLikeIfExists", "arn:aws:logs:*:111:*", ABSENT, True),
    ("ArnNotLikeIfExists", "arn:aws:logs:*:111:*", "arn:aws:logs:r:111:log-group:x", False),
    # Bool
    ("Bool", "true", "true", True),
    ("Bool", "true", "TRUE", True),
    ("Bool", True, "true", True),
    ("Bool", "true", "false", False),
    ("Bool", False, "false", True),
    ("Bool", "false", ABSENT, False),
    ("BoolIfExists", "false", ABSENT, True),
    ("BoolIfExists", "false", "true", False),
    ("BoolIfExists", "false", "false", True),
    # Null: "true" means the key must be absent
    ("Null", "true", ABSENT, True),
    ("Null", "true", "x", False),
    ("Null", "false", "x", True),
    ("Null", "false", ABSENT, False),
    ("Null", True, ABSENT, True),
    ("Null", "true", (), True),
    ("Null", "false", ("a", "b"), True),
    # Numeric
    ("NumericEquals", "10", "10", True),
    ("NumericEquals", 10, "10.0", True),
    ("NumericEquals", "10", "11", False),
    ("NumericEquals", "10", "ten", False),
    ("NumericEquals", "10", ABSENT, False),
    ("NumericEqualsIfExists", "10", ABSENT, True),
    ("NumericEqualsIfExists", "10", "11", False),
    ("NumericNotEquals", "10", "10", False),
    ("NumericNotEquals", "10", "11", True),
    ("NumericNotEquals", "10", ABSENT, True),
    ("NumericNotEqualsIfExists", "10", ABSENT, True),
    ("NumericNotEqualsIfExists", "10", "10", False),
    ("NumericLessThan", "10", "9", True),
    ("NumericLessThan", "10", "10", False),
    ("NumericLessThan", "10", "-1e3", True),
    ("NumericLessThan", "10", ABSENT, False),
    ("NumericLessThanIfExists", "10", ABSENT, True),
    ("NumericLessThanIfExists", "10", "11", False),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericLessThanEquals", "10", "11", False),
    ("NumericLessThanEquals", "10", ABSENT, False),
    ("NumericLessThanEqualsIfExists", "10", ABSENT, True),
    ("NumericGreaterThan", "10", "11", True),
    ("NumericGreaterThan", "10", "10", False),
    ("NumericGreaterThan", "10", ABSENT, False),
    ("NumericGreaterThanIfExists", "10", ABSENT, True),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericGreaterThanEquals", "10", "9.5", False),
    ("NumericGreaterThanEquals", "10", ABSENT, False),
    ("NumericGreaterThanEqualsIfExists", "10", ABSENT, True),
    # Date: ISO-8601 or epoch seconds
    ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
    ("DateEquals", "2024-01-01T00:00:00Z", "1704067200", True),
    ("DateEquals", "2024-01-01T00:00:00+00:00", "2024-01-01T09:00:00+09:00", True),
    ("DateEquals", "2024-01-01", "2024-01-01T00:00:00Z", True),
    ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", False),
    ("DateEquals", "2024-01-01T00:00:00Z", "garbage", False),
    ("DateEquals", "2024-01-01T00:00:00Z", ABSENT, False),
    ("DateEqualsIfExists", "2024-01-01T00:00:00Z", ABSENT, True),
    ("DateNotEquals", "2024-01-01T00:00:00Z", "1704067200", False),
    ("DateNotEquals", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", True),
    ("DateNotEquals", "2024-01-01T00:00:00Z", ABSENT, True),
    ("DateNotEqualsIfExists", "2024-01-01T00:00:00Z", ABSENT, True),
    ("DateNotEqualsIfExists", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
    ("DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", True),
    ("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
    ("DateLessThan", "2024-01-01T00:00:00Z", ABSENT, False),
    ("DateLessThanIfExists", "2024-01-01T00:00:00Z", ABSENT, True),
    ("DateLessThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", True),
    ("DateLessThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.500Z", False),
    ("DateLessThanEquals", "2024-01-01T00:00:00Z", ABSENT, False),
    ("DateLessThanEqualsIfExists", "2024-01-01T00:00:00Z", ABSENT, True),
    ("DateGreaterThan", "1704067200", "2024-01-02T00:00:00Z", True),
    ("DateGreaterThan", "2024-01-01T00:00:00Z", "2023-06-01T00:00:00Z", False),
    ("DateGreaterThan", "2024-01-01T00:00:00Z", ABSENT, False),
    ("DateGreaterThanIfExists", "2024-01-01T00:00:00Z", ABSENT, True),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "1704067200", True),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "1704067199", False),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", ABSENT, False),
    ("DateGreaterThanEqualsIfExists", "2024-01-01T00:00:00Z", ABSENT, True),
    # IP addresses
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "10.0.0.0/8", "11.0.0.1", False),
    ("IpAddress", ["192.168.0.0/16", "10.0.0.0/8"], "10.0.0.1", True),
    ("IpAddress", "203.0.113.5", "203.0.113.5", True),
    ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
    ("IpAddress", "10.0.0.0/8", "::1", False),
    ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
    ("IpAddress", "10.0.0.0/8", ABSENT, False),
    ("IpAddressIfExists", "10.0.0.0/8", ABSENT, True),
    ("IpAddressIfExists", "10.0.0.0/8", "11.0.0.1", False),
    ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
    ("NotIpAddress", "10.0.0.0/8", "11.0.0.1", True),
    ("NotIpAddress", "10.0.0.0/8", ABSENT, True),
    ("NotIpAddressIfExists", "10.0.0.0/8", ABSENT, True),
    ("NotIpAddressIfExists", "10.0.0.0/8", "10.0.0.1", False),
    # Binary (base64)
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWU=", True),
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", "T3RoZXI=", False),
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", "!!not base64!!", False),
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", ABSENT, False),
    ("BinaryEqualsIfExists", "QmluYXJ5VmFsdWU=", ABSENT, True),
    ("BinaryEqualsIfExists", "QmluYXJ5VmFsdWU=", "T3RoZXI=", False),
    # ForAnyValue: any request value matches any policy value; absent or empty -> false
    ("ForAnyValue:StringEquals", ["a", "b"], ("b", "c"), True),
    ("ForAnyValue:StringEquals", ["a", "b"], ("c", "d"), False),
    ("ForAnyValue:StringEquals", ["a", "b"], "a", True),
    ("ForAnyValue:StringEquals", ["a", "b"], ABSENT, False),
    ("ForAnyValue:StringEquals", ["a", "b"], (), False),
    ("ForAnyValue:StringEqualsIfExists", ["a"], ABSENT, True),
    ("ForAnyValue:StringLike", ["x*"], ("y", "xz"), True),
    ("ForAnyValue:StringNotEquals", ["a"], ("a", "b"), True),
    ("ForAnyValue:StringNotEquals", ["a"], ("a",), False),
    ("ForAnyValue:StringNotEquals", ["a"], ABSENT, False),
    ("foranyvalue:stringequals", ["a"], ("a",), True),
    # ForAllValues: every request value matches some policy value; absent or empty -> true
    ("ForAllValues:StringEquals", ["a", "b"], ("a", "b"), True),
    ("ForAllValues:StringEquals", ["a", "b"], ("a", "c"), False),
    ("ForAllValues:StringEquals", ["a", "b"], "a", True),
    ("ForAllValues:StringEquals", ["a", "b"], ABSENT, True),
    ("ForAllValues:StringEquals", ["a", "b"], (), True),
    ("ForAllValues:StringLike", ["a*"], ("ab", "ac"), True),
    ("ForAllValues:StringLike", ["a*"], ("ab", "bc"), False),
    ("ForAllValues:StringNotEquals", ["a"], ("b", "c"), True),
    ("ForAllValues:StringNotEquals", ["a"], ("a", "b"), False),
    ("ForAllValues:StringEqualsIfExists", ["a"], ABSENT, True),
    # a multi-valued request value under a plain operator is judged as ForAnyValue
    ("StringEquals", "a", ("b", "a"), True),
    ("StringEquals", "a", ("b", "c"), False),
    ("StringNotEquals", "a", ("a", "b"), True),
    ("StringNotEquals", "a", ("a",), False),
    ("StringEquals", "a", (), False),  # empty: absent
    ("StringNotEquals", "a", (), True),
    ("StringEqualsIfExists", "a", (), True),
    # operator names compare case-insensitively
    ("stringequals", "a", "a", True),
    ("STRINGNOTEQUALSIFEXISTS", "a", ABSENT, True),
    # unknown operators never hold
    ("StringEqualz", "a", "a", False),
    ("NullIfExists", "true", ABSENT, False),
    ("ForAnyValue:Null", "true", ABSENT, False),
    ("ForSomeValues:StringEquals", "a", "a", False),
]


def _case_id(case: tuple[str, Any, Any, bool]) -> str:
    operator, values, value, expected = case
    shown = "ABSENT" if value is ABSENT else repr(value)
    return f"{operator}-{values!r}-{shown}-{expected}"


@pytest.mark.parametrize(
    ("operator", "values", "value", "expected"),
    CONDITION_TABLE,
    ids=[_case_id(c) for c in CONDITION_TABLE],
)
def test_condition_table(operator: str, values: Any, value: Any, expected: bool) -> None:
    statement = one(allow(Condition={operator: {KEY: values}}))
    context = {} if value is ABSENT else {KEY: value}
    assert statement_applies(statement, request(context=context)) is expected
    # The same condition in a Deny decides the other way round.
    denied = evaluate(
        policy(allow(), {**allow(Condition={operator: {KEY: values}}), "Effect": "Deny"}),
        request(context=context),
    )
    assert denied.decision is (Decision.EXPLICIT_DENY if expected else Decision.ALLOW)


def test_condition_table_covers_every_operator_family_with_if_exists() -> None:
    families = [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
        "Bool", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
        "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals",
        "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
        "IpAddress", "NotIpAddress", "BinaryEquals",
    ]  # fmt: skip
    operators = {c[0] for c in CONDITION_TABLE}
    for family in families:
        assert family in operators
        assert f"{family}IfExists" in operators
        assert (family, ABSENT) in {(c[0], c[2]) for c in CONDITION_TABLE}
    assert "Null" in operators


def test_conditions_and_across_blocks_and_keys() -> None:
    statement = one(
        allow(
            Condition={
                "StringEquals": {"k:a": "1", "k:b": ["2", "3"]},
                "Bool": {"k:c": "true"},
            }
        )
    )
    assert statement_applies(statement, request(context={"k:a": "1", "k:b": "3", "k:c": "true"}))
    assert not statement_applies(
        statement, request(context={"k:a": "1", "k:b": "4", "k:c": "true"})
    )
    assert not statement_applies(
        statement, request(context={"k:a": "1", "k:b": "2", "k:c": "false"})
    )
    assert not statement_applies(statement, request(context={"k:b": "2", "k:c": "true"}))


def test_condition_key_names_compare_case_insensitively() -> None:
    statement = one(allow(Condition={"StringEquals": {"AWS:SourceAccount": "111"}}))
    assert statement_applies(statement, request(context={"aws:sourceaccount": "111"}))
    assert not statement_applies(statement, request(context={"aws:sourceaccount": "222"}))


def test_policy_variables_stay_literal() -> None:
    statement = one(allow(Condition={"StringEquals": {"k:a": "${aws:SourceAccount}"}}))
    assert not statement_applies(
        statement, request(context={"k:a": "111", "aws:SourceAccount": "111"})
    )
    assert statement_applies(statement, request(context={"k:a": "${aws:SourceAccount}"}))


def test_context_values_are_coerced() -> None:
    statement = one(allow(Condition={"Bool": {"aws:SecureTransport": "true"}}))
    assert statement_applies(statement, request(context={"aws:SecureTransport": True}))
    assert not statement_applies(statement, request(context={"aws:SecureTransport": None}))


# --------------------------------------------------------------------------- elements

ELEMENT_TABLE: list[tuple[str, dict[str, Any], Request, bool]] = [
    # Action: case-insensitive, * and ?, whole name
    ("action exact", allow(Action="s3:GetObject"), request(), True),
    ("action case", allow(Action="S3:getobject"), request(), True),
    ("action service *", allow(Action="s3:*"), request(action="s3:PutObject"), True),
    ("action prefix *", allow(Action="s3:Get*"), request(), True),
    ("action prefix * miss", allow(Action="s3:Get*"), request(action="s3:PutObject"), False),
    ("action *", allow(Action="*"), request(action="kms:Decrypt"), True),
    ("action ?", allow(Action="s3:?etObject"), request(), True),
    ("action ? one char", allow(Action="s3:?etObject"), request(action="s3:GGetObject"), False),
    ("action whole name", allow(Action="s3:GetObject"), request(action="s3:GetObjectAcl"), False),
    ("action other service", allow(Action="kms:*"), request(), False),
    ("action list", allow(Action=["kms:*", "s3:Get*"]), request(), True),
    ("NotAction miss", allow(Action=None, NotAction="s3:Delete*"), request(), True),
    ("NotAction hit", allow(Action=None, NotAction=["s3:delete*"]), request(action="s3:DeleteObject"), False),
    # Resource: case-sensitive, * and ?
    ("resource object", allow(Resource="arn:aws:s3:::bucket/*"), request(), True),
    ("resource bucket", allow(Resource="arn:aws:s3:::bucket/*"), request(resource="arn:aws:s3:::bucket"), False),
    ("resource case", allow(Resource="arn:aws:s3:::BUCKET/*"), request(), False),
    ("resource *", allow(Resource="*"), request(resource="anything"), True),
    ("resource ?", allow(Resource="arn:aws:s3:::bucke?/key"), request(), True),
    ("resource prefix", allow(Resource="arn:aws:s3:::bucket/p/*"), request(resource="arn:aws:s3:::bucket/q/x"), False),
    ("resource list", allow(Resource=["arn:aws:s3:::x", "arn:aws:s3:::bucket/key"]), request(), True),
    ("NotResource miss", allow(Resource=None, NotResource="arn:aws:s3:::bucket/*"), request(resource="arn:aws:s3:::bucket"), True),
    ("NotResource hit", allow(Resource=None, NotResource="arn:aws:s3:::bucket/*"), request(), False),
    # Principal
    ("principal * service", allow(Principal="*"), request(), True),
    ("principal * aws", allow(Principal="*"), request(principal=ALICE), True),
    ("principal AWS * service", allow(Principal={"AWS": "*"}), request(), True),
    ("principal AWS * aws", allow(Principal={"AWS": ["*"]}), request(principal=ALICE), True),
    ("service case", allow(Principal={"Service": "LOGS.ap-northeast-1.amazonaws.com"}), request(), True),
    ("service other region", allow(Principal={"Service": "logs.us-east-1.amazonaws.com"}), request(), False),
    ("service list", allow(Principal={"Service": ["s3.amazonaws.com", "logs.ap-northeast-1.amazonaws.com"]}), request(), True),
    ("service vs aws principal", allow(Principal={"Service": "logs.ap-northeast-1.amazonaws.com"}), request(principal=RequestPrincipal("AWS", "logs.ap-northeast-1.amazonaws.com")), False),
    ("aws account id", allow(Principal={"AWS": "111122223333"}), request(principal=ALICE), True),
    ("aws root arn", allow(Principal={"AWS": "arn:aws:iam::111122223333:root"}), request(principal=ALICE), True),
    ("aws root other account", allow(Principal={"AWS": "arn:aws:iam::444455556666:root"}), request(principal=ALICE), False),
    ("aws account other", allow(Principal={"AWS": "444455556666"}), request(principal=ALICE), False),
    ("aws exact arn", allow(Principal={"AWS": "arn:aws:iam::111122223333:user/alice"}), request(principal=ALICE), True),
    ("aws other arn", allow(Principal={"AWS": "arn:aws:iam::111122223333:user/bob"}), request(principal=ALICE), False),
    ("aws explicit account", allow(Principal={"AWS": "111122223333"}), request(principal=RequestPrincipal("AWS", "AROAEXAMPLE", account="111122223333")), True),
    ("aws account vs service", allow(Principal={"AWS": "111122223333"}), request(), False),
    ("aws list", allow(Principal={"AWS": ["444455556666", "111122223333"]}), request(principal=ALICE), True),
    ("federated", allow(Principal={"Federated": "cognito-identity.amazonaws.com"}), request(principal=RequestPrincipal("Federated", "cognito-identity.amazonaws.com")), True),
    ("federated vs service", allow(Principal={"Federated": "cognito-identity.amazonaws.com"}), request(), False),
    # NotPrincipal: applies to everyone not listed
    ("NotPrincipal listed", allow(Principal=None, NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"}), request(principal=ALICE), False),
    ("NotPrincipal other account", allow(Principal=None, NotPrincipal={"AWS": "444455556666"}), request(principal=ALICE), True),
    ("NotPrincipal service", allow(Principal=None, NotPrincipal={"AWS": "111122223333"}), request(), True),
    ("NotPrincipal listed service", allow(Principal=None, NotPrincipal={"Service": "logs.ap-northeast-1.amazonaws.com"}), request(), False),
    ("NotPrincipal *", allow(Principal=None, NotPrincipal="*"), request(), False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("statement", "req", "expected"),
    [c[1:] for c in ELEMENT_TABLE],
    ids=[c[0] for c in ELEMENT_TABLE],
)
def test_element_table(statement: dict[str, Any], req: Request, expected: bool) -> None:
    assert statement_applies(one(statement), req) is expected


# --------------------------------------------------------------------------- decisions


def test_no_policy_is_implicit_deny() -> None:
    result = evaluate(None, request())
    assert result == Evaluation(Decision.IMPLICIT_DENY, ())
    assert not result.allowed


def test_empty_policy_is_implicit_deny() -> None:
    assert evaluate(policy(), request()).decision is Decision.IMPLICIT_DENY


def test_allow_reports_every_matching_allow() -> None:
    doc = policy(
        allow(Sid="A"),
        allow(Sid="Miss", Action="kms:*"),
        allow(Sid="B", Action="s3:*"),
        {**allow(Sid="DenyOther", Action="s3:DeleteObject"), "Effect": "Deny"},
    )
    result = evaluate(doc, request())
    assert result.decision is Decision.ALLOW
    assert result.allowed
    assert [s.sid for s in result.deciding] == ["A", "B"]
    assert result.deciding == (doc.statements[0], doc.statements[2])


def test_explicit_deny_beats_allow() -> None:
    doc = policy(
        allow(Sid="Allow"),
        {**allow(Sid="Deny1", Action="s3:*"), "Effect": "Deny"},
        {**allow(Sid="DenyMiss", Action="kms:*"), "Effect": "Deny"},
        {**allow(Sid="Deny2"), "Effect": "Deny"},
    )
    result = evaluate(doc, request())
    assert result.decision is Decision.EXPLICIT_DENY
    assert not result.allowed
    assert [s.label for s in result.deciding] == ["statement 'Deny1'", "statement 'Deny2'"]


def test_no_matching_allow_is_implicit_deny() -> None:
    result = evaluate(policy(allow(Action="s3:PutObject")), request())
    assert result == Evaluation(Decision.IMPLICIT_DENY, ())


DEST = Destination("ap-northeast-1", "123456789012", "aws", "exports", "exportedlogs")
ORG_DENY = {
    "Sid": "DenyOutsideOrg",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::exports", "arn:aws:s3:::exports/*"],
    "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
}


def test_org_deny_blocks_the_logs_service_principal() -> None:
    doc = policy(*requirements.bucket_statements(DEST), ORG_DENY)
    for service_request in requirements.service_requests(DEST):
        result = evaluate(doc, service_request.request)
        # aws:PrincipalOrgID is absent for a service principal: the negated operator holds.
        assert result.decision is Decision.EXPLICIT_DENY, service_request.step
        assert [s.sid for s in result.deciding] == ["DenyOutsideOrg"]
    member = Request(
        RequestPrincipal("AWS", "arn:aws:iam::123456789012:user/a"),
        "s3:GetObject",
        "arn:aws:s3:::exports/k",
        {"aws:PrincipalOrgID": "o-abc123"},
    )
    assert evaluate(doc, member).decision is Decision.IMPLICIT_DENY


def test_org_deny_if_exists_still_blocks_but_service_exception_spares() -> None:
    # IfExists makes an absent key hold: the negated operator still applies the Deny.
    if_exists = {
        **ORG_DENY,
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    # The usual repair: exempt AWS service principals from the organisation guard.
    exempt = {
        **ORG_DENY,
        "Condition": {
            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"},
            "Bool": {"aws:PrincipalIsAWSService": "false"},
        },
    }
    for deny, expected in ((if_exists, Decision.EXPLICIT_DENY), (exempt, Decision.ALLOW)):
        doc = policy(*requirements.bucket_statements(DEST), deny)
        for service_request in requirements.service_requests(DEST):
            assert evaluate(doc, service_request.request).decision is expected


def test_secure_transport_deny_spares_the_service() -> None:
    deny = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::exports", "arn:aws:s3:::exports/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    doc = policy(deny, *requirements.bucket_statements(DEST))
    decisions = [evaluate(doc, r.request) for r in requirements.service_requests(DEST)]
    assert all(d.allowed for d in decisions)
    assert [d.deciding[0].sid for d in decisions] == [
        requirements.SID_GET_BUCKET_ACL,
        requirements.SID_PUT_OBJECT,
        requirements.SID_PUT_OBJECT,
    ]


def test_broken_bucket_misses_get_bucket_acl() -> None:
    put_only = {
        "Sid": "AllowLogsPut",
        "Effect": "Allow",
        "Principal": {"Service": "logs.ap-northeast-1.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::exports/*",
    }
    doc = policy(put_only)
    steps = {r.step: evaluate(doc, r.request).decision for r in requirements.service_requests(DEST)}
    assert steps == {
        "GetBucketAcl": Decision.IMPLICIT_DENY,
        "PutObject (test object)": Decision.ALLOW,
        "PutObject (exported data)": Decision.ALLOW,
    }


def test_new_key_policy_allows_generate_data_key() -> None:
    key = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    doc = parse_policy(requirements.new_key_policy(DEST), kind="key policy")
    kms = [r for r in requirements.service_requests(DEST, key_arn=key) if r.target == "key"]
    assert len(kms) == 1
    result = evaluate(doc, kms[0].request)
    assert result.allowed
    assert [s.sid for s in result.deciding] == [requirements.SID_KEY_USE]
    admin = Request(
        RequestPrincipal("AWS", "arn:aws:iam::123456789012:role/Admin"), "kms:PutKeyPolicy", key, {}
    )
    assert [s.sid for s in evaluate(doc, admin).deciding] == [requirements.SID_KEY_ADMIN]


def test_log_group_encryption_context_statement_does_not_match_s3() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.ap-northeast-1.amazonaws.com"},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:ap-northeast-1:123456789012:*"
            }
        },
    }
    key = "arn:aws:kms:ap-northeast-1:123456789012:key/k"
    kms = next(r for r in requirements.service_requests(DEST, key_arn=key) if r.target == "key")
    assert evaluate(policy(statement), kms.request).decision is Decision.IMPLICIT_DENY


def test_unknown_operator_in_deny_does_not_apply_and_is_reported() -> None:
    doc = policy(
        allow(Condition={"StringEquals": {"k": "v"}, "StringEqualz": {"k": "v"}}),
        {**allow(Condition={"NullIfExists": {"k": "true"}}), "Effect": "Deny"},
        allow(Condition={"StringEqualz": {"k2": "v"}, "stringequals": {"k": "v"}}),
    )
    assert unknown_operators(doc) == ["StringEqualz", "NullIfExists"]
    assert evaluate(doc, request(context={"k": "v"})).decision is Decision.IMPLICIT_DENY
    assert unknown_operators(None) == []
    assert (
        unknown_operators(policy(allow(Condition={"ForAllValues:ArnLikeIfExists": {"k": "*"}})))
        == []
    )


def test_decision_values() -> None:
    assert Decision.ALLOW == "ALLOW"
    assert Decision("EXPLICIT_DENY") is Decision.EXPLICIT_DENY
    assert Decision.IMPLICIT_DENY.value == "IMPLICIT_DENY"
