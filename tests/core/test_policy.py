"""The policy document model: every JSON form, every error (naming its place), printing, upsert."""

# ruff: noqa: E501  (the error tables read best as one case per line)

from __future__ import annotations

import json
from typing import Any

import pytest

from wizard.core.errors import PolicyError, WizardError
from wizard.core.policy import (
    BUCKET_POLICY_LIMIT,
    KEY_POLICY_LIMIT,
    Condition,
    PolicyDocument,
    Statement,
    canonical_json,
    compact_json,
    empty_policy,
    parse_policy,
    policy_size,
    statement_by_sid,
    upsert_statements,
)


def stmt(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def doc(*statements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements), **extra}


def one(statement: dict[str, Any]) -> Statement:
    return parse_policy(doc(statement)).statements[0]


# --------------------------------------------------------------------------- forms


def test_limits() -> None:
    assert BUCKET_POLICY_LIMIT == 20480
    assert KEY_POLICY_LIMIT == 32768


def test_parse_text_and_mapping_agree() -> None:
    data = doc(stmt(Sid="A"), stmt(Sid="B", Effect="Deny"))
    from_text = parse_policy(json.dumps(data))
    from_map = parse_policy(data)
    assert from_text == from_map
    assert from_text.version == "2012-10-17"
    assert from_text.id is None
    assert [s.sid for s in from_text.statements] == ["A", "B"]
    assert [s.index for s in from_text.statements] == [0, 1]
    assert from_text.statements[1].effect == "Deny"


def test_id_version_optional() -> None:
    parsed = parse_policy({"Id": "my-policy", "Statement": [stmt()]})
    assert parsed.id == "my-policy"
    assert parsed.version is None
    assert parse_policy({"Version": "2008-10-17", "Statement": []}).version == "2008-10-17"


def test_statement_as_object() -> None:
    parsed = parse_policy({"Version": "2012-10-17", "Statement": stmt(Sid="Only")})
    assert len(parsed.statements) == 1
    assert parsed.statements[0].index == 0
    assert parsed.statements[0].sid == "Only"


def test_empty_statement_list() -> None:
    assert parse_policy(doc()).statements == ()


def test_bom_is_ignored() -> None:
    assert parse_policy("\ufeff" + json.dumps(doc(stmt()))).statements


def test_action_resource_string_or_list() -> None:
    s = one(stmt(Action="s3:GetObject", Resource=["arn:aws:s3:::a", "arn:aws:s3:::b/*"]))
    assert s.actions == ("s3:GetObject",)
    assert s.resources == ("arn:aws:s3:::a", "arn:aws:s3:::b/*")
    assert s.not_actions is None and s.not_resources is None


def test_not_action_not_resource() -> None:
    s = one(stmt(Action=None, NotAction=["s3:Delete*"], Resource=None, NotResource="arn:x"))
    assert s.actions is None and s.not_actions == ("s3:Delete*",)
    assert s.resources is None and s.not_resources == ("arn:x",)


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", {"*": ("*",)}),
        ({"AWS": "*"}, {"AWS": ("*",)}),
        ({"AWS": "123456789012"}, {"AWS": ("123456789012",)}),
        (
            {"AWS": ["arn:aws:iam::1:root", "arn:aws:iam::2:user/a"]},
            {"AWS": ("arn:aws:iam::1:root", "arn:aws:iam::2:user/a")},
        ),
        (
            {"Service": "logs.us-east-1.amazonaws.com"},
            {"Service": ("logs.us-east-1.amazonaws.com",)},
        ),
        (
            {"Service": ["a.amazonaws.com", "b.amazonaws.com"]},
            {"Service": ("a.amazonaws.com", "b.amazonaws.com")},
        ),
        (
            {"Federated": "cognito-identity.amazonaws.com"},
            {"Federated": ("cognito-identity.amazonaws.com",)},
        ),
        ({"CanonicalUser": "79a59df900b949e5"}, {"CanonicalUser": ("79a59df900b949e5",)}),
        (
            {"AWS": "arn:aws:iam::1:root", "Service": "s3.amazonaws.com"},
            {"AWS": ("arn:aws:iam::1:root",), "Service": ("s3.amazonaws.com",)},
        ),
    ],
)
def test_principal_forms(principal: Any, expected: dict[str, tuple[str, ...]]) -> None:
    s = one(stmt(Principal=principal))
    assert s.principal is not None
    assert dict(s.principal) == expected
    assert s.not_principal is None


def test_not_principal() -> None:
    s = one(stmt(Principal=None, NotPrincipal={"AWS": "arn:aws:iam::1:root"}))
    assert s.principal is None
    assert s.not_principal is not None
    assert dict(s.not_principal) == {"AWS": ("arn:aws:iam::1:root",)}


def test_conditions_flattened_and_rendered() -> None:
    s = one(
        stmt(
            Condition={
                "StringEquals": {"aws:SourceAccount": ["1", "2"], "s3:x-amz-acl": "x"},
                "Bool": {"aws:SecureTransport": False},
                "NumericLessThan": {"s3:max-keys": 10, "n:float": 1.5},
                "ForAnyValue:StringLike": {"aws:TagKeys": [True, "a*"]},
            }
        )
    )
    assert s.conditions == (
        Condition("StringEquals", "aws:SourceAccount", ("1", "2")),
        Condition("StringEquals", "s3:x-amz-acl", ("x",)),
        Condition("Bool", "aws:SecureTransport", ("false",)),
        Condition("NumericLessThan", "s3:max-keys", ("10",)),
        Condition("NumericLessThan", "n:float", ("1.5",)),
        Condition("ForAnyValue:StringLike", "aws:TagKeys", ("true", "a*")),
    )


def test_empty_condition_block() -> None:
    assert one(stmt(Condition={})).conditions == ()


def test_raw_is_original_and_private() -> None:
    source = doc(stmt(Sid="A", Action=["s3:B", "s3:A"]))
    parsed = parse_policy(source)
    assert parsed.raw == source
    assert parsed.statements[0].raw == source["Statement"][0]
    source["Statement"][0]["Sid"] = "changed"  # the caller's later edits do not leak in
    assert parsed.statements[0].raw["Sid"] == "A"


def test_tuples_accepted_in_mappings() -> None:
    s = one(stmt(Action=("s3:A", "s3:B")))
    assert s.actions == ("s3:A", "s3:B")


def test_label() -> None:
    parsed = parse_policy(doc(stmt(Sid="Named"), stmt(), stmt(Sid="")))
    assert parsed.statements[0].label == "statement 'Named'"
    assert parsed.statements[1].label == "statement #2 (no Sid)"
    assert parsed.statements[2].label == "statement #3 (no Sid)"


def test_statements_are_hashable() -> None:
    parsed = parse_policy(doc(stmt(Sid="A"), stmt(Sid="B")))
    assert len(set(parsed.statements)) == 2
    assert hash(parsed) == hash(parse_policy(doc(stmt(Sid="A"), stmt(Sid="B"))))


def test_empty_policy() -> None:
    empty = empty_policy()
    assert empty.raw == {"Version": "2012-10-17", "Statement": []}
    assert empty.statements == ()
    assert compact_json(empty) == '{"Statement":[],"Version":"2012-10-17"}'


# --------------------------------------------------------------------------- errors


def error_of(source: Any, kind: str = "bucket policy") -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(source, kind=kind)
    assert isinstance(info.value, WizardError)
    return info.value.message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # malformed JSON: line and column
        ('{"Statement": [\n  {"Effect": "Allow",,}\n]}', "not valid JSON: Expecting property name"),
        ('{"Statement": [\n  {"Effect": "Allow",,}\n]}', "(line 2, column 22)"),
        ("", "the document is empty"),
        ("   \n", "the document is empty"),
        ('{"Statement": [], "Version": NaN}', "NaN is not a JSON number"),
        ('{"Statement": [], "Version": 1e999}', "1e999 is not a JSON number"),
        ('{"Statement": [], "Statement": []}', 'the key "Statement" appears twice'),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ('{"Statement": [], "Id": ' + "1" * 5000 + "}", "not valid JSON"),
        # the document
        ("[]", "the document must be a JSON object, not an array"),
        ('"x"', "the document must be a JSON object, not a string"),
        ("null", "the document must be a JSON object, not null"),
        ('{"Version": "2012-10-17"}', 'missing element "Statement"'),
        (
            '{"Statement": [], "Statements": []}',
            'unknown element "Statements" (did you mean "Statement"?)',
        ),
        (
            '{"Statement": [], "version": "2012-10-17"}',
            'unknown element "version" (did you mean "Version"?)',
        ),
        ('{"Statement": [], "Version": 2012}', "Version: must be a string, not a number"),
        (
            '{"Statement": [], "Version": "2020-01-01"}',
            'Version: must be "2012-10-17" or "2008-10-17"',
        ),
        ('{"Statement": [], "Id": ["x"]}', "Id: must be a string, not an array"),
        ('{"Statement": "x"}', "Statement: must be an object or an array of objects, not a string"),
        ('{"Statement": [1]}', "Statement[0]: must be an object, not a number"),
        ('{"Statement": ["\\ud800"]}', "Statement[0]: must be an object, not a string"),
    ],
)
def test_document_errors(source: str, expected: str) -> None:
    message = error_of(source)
    assert message.startswith("bucket policy: ")
    assert expected in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"Actions": "s3:GetObject"},
            'Statement[1]: unknown element "Actions" (did you mean "Action"?)',
        ),
        ({"effect": "Allow"}, 'Statement[1]: unknown element "effect" (did you mean "Effect"?)'),
        ({"Foo": 1}, 'Statement[1]: unknown element "Foo"'),
        ({"Effect": None}, 'Statement[1]: needs "Effect"'),
        ({"Effect": "allow"}, 'Statement[1].Effect: must be "Allow" or "Deny", not "allow"'),
        ({"Effect": True}, "Statement[1].Effect: must be a string, not a boolean"),
        ({"Sid": 5}, "Statement[1].Sid: must be a string, not a number"),
        ({"Action": None}, 'Statement[1]: needs "Action" or "NotAction"'),
        ({"NotAction": "s3:*"}, 'Statement[1]: has both "Action" and "NotAction"'),
        ({"Resource": None}, 'Statement[1]: needs "Resource" or "NotResource"'),
        ({"NotResource": "*"}, 'Statement[1]: has both "Resource" and "NotResource"'),
        ({"Principal": None}, 'Statement[1]: needs "Principal" or "NotPrincipal"'),
        ({"NotPrincipal": "*"}, 'Statement[1]: has both "Principal" and "NotPrincipal"'),
        (
            {"Action": 5},
            "Statement[1].Action: must be a string or an array of strings, not a number",
        ),
        ({"Action": []}, "Statement[1].Action: must not be an empty array"),
        ({"Action": ["s3:A", 7]}, "Statement[1].Action[1]: must be a string, not a number"),
        (
            {"Action": {"a": 1}},
            "Statement[1].Action: must be a string or an array of strings, not an object",
        ),
        (
            {"Resource": None, "NotResource": [None]},
            "Statement[1].NotResource[0]: must be a string, not null",
        ),
        ({"Resource": "\ud800"}, "Statement[1].Resource: contains a lone surrogate"),
        ({"Principal": "arn:aws:iam::1:root"}, 'Statement[1].Principal: must be "*" or an object'),
        ({"Principal": ["*"]}, 'Statement[1].Principal: must be "*" or an object, not an array'),
        ({"Principal": {}}, "Statement[1].Principal: must name at least one principal"),
        (
            {"Principal": {"aws": "*"}},
            'Statement[1].Principal: unknown principal type "aws" (did you mean "AWS"?)',
        ),
        ({"Principal": {"User": "x"}}, 'Statement[1].Principal: unknown principal type "User"'),
        (
            {"Principal": {"AWS": 123456789012}},
            "Statement[1].Principal.AWS: must be a string or an array",
        ),
        (
            {"Principal": {"Service": []}},
            "Statement[1].Principal.Service: must not be an empty array",
        ),
        (
            {"Principal": None, "NotPrincipal": {"AWS": [1]}},
            "Statement[1].NotPrincipal.AWS[0]: must be a string",
        ),
        (
            {"Condition": []},
            "Statement[1].Condition: must be an object of condition operators, not an array",
        ),
        (
            {"Condition": {"StringEquals": "x"}},
            "Statement[1].Condition.StringEquals: must be an object mapping",
        ),
        (
            {"Condition": {"StringEquals": {"k": {"a": 1}}}},
            "Statement[1].Condition.StringEquals.k: a condition value must be a string, number or boolean, not an object",
        ),
        (
            {"Condition": {"StringEquals": {"k": None}}},
            "Statement[1].Condition.StringEquals.k: a condition value must be a string, number or boolean, not null",
        ),
        (
            {"Condition": {"StringEquals": {"k": ["a", ["b"]]}}},
            "Statement[1].Condition.StringEquals.k[1]: a condition value must be",
        ),
        (
            {"Condition": {"StringEquals": {"k": []}}},
            "Statement[1].Condition.StringEquals.k: must not be an empty array",
        ),
    ],
)
def test_statement_errors(extra: dict[str, Any], expected: str) -> None:
    message = error_of(doc(stmt(Sid="Fine"), stmt(**extra)))
    assert message.startswith("bucket policy: ")
    assert expected in message


def test_error_place_for_statement_object() -> None:
    message = error_of({"Statement": stmt(Action=5)}, kind="key policy")
    assert message.startswith("key policy: Statement.Action: ")


def test_error_from_text_names_place() -> None:
    text = json.dumps(doc(stmt(), stmt(), stmt(Actions="x")))
    assert error_of(text) == (
        'bucket policy: Statement[2]: unknown element "Actions" (did you mean "Action"?).'
    )


def test_default_kind() -> None:
    assert error_of("[]", kind="policy").startswith("policy: ")
    with pytest.raises(PolicyError, match=r"^policy: "):
        parse_policy("[]")


@pytest.mark.parametrize(
    "source",
    [
        5,
        None,
        ["a"],
        {"Statement": [], "Id": float("nan")},
        {"Statement": [], "Id": object()},
        {"Statement": [], ("t",): 1},
        {"Statement": [], 1: 1},
    ],
)
def test_non_json_mapping_inputs(source: Any) -> None:
    error_of(source)


def test_unknown_element_fix_lists_allowed() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(doc(stmt(Actions="x")))
    assert info.value.fix is not None and "NotResource" in info.value.fix


# --------------------------------------------------------------------------- printing


def test_canonical_json_sorts_keys_keeps_lists() -> None:
    parsed = parse_policy(
        '{"Version":"2012-10-17","Statement":[{"Sid":"x","Resource":"*","Effect":"Allow",'
        '"Principal":"*","Action":["s3:B","s3:A"]}]}'
    )
    assert canonical_json(parsed) == (
        "{\n"
        '  "Statement": [\n'
        "    {\n"
        '      "Action": [\n'
        '        "s3:B",\n'
        '        "s3:A"\n'
        "      ],\n"
        '      "Effect": "Allow",\n'
        '      "Principal": "*",\n'
        '      "Resource": "*",\n'
        '      "Sid": "x"\n'
        "    }\n"
        "  ],\n"
        '  "Version": "2012-10-17"\n'
        "}"
    )
    assert canonical_json(parsed) == canonical_json(dict(parsed.raw))


def test_compact_json_and_size() -> None:
    raw = {"Version": "2012-10-17", "Statement": [stmt(Sid="é")]}
    compact = compact_json(raw)
    assert " " not in compact and "\n" not in compact
    assert json.loads(compact) == raw
    assert compact.startswith('{"Statement":[{"Action":"s3:GetObject","Effect":"Allow"')
    # sizes are UTF-8 bytes of the compact form: "é" is two bytes
    assert policy_size(raw) == len(compact) + 1
    assert policy_size(parse_policy(raw)) == policy_size(raw)


def test_size_against_limit() -> None:
    big = doc(*(stmt(Sid=f"S{i}", Resource=f"arn:aws:s3:::bucket-{i:04d}/*") for i in range(200)))
    assert policy_size(big) > BUCKET_POLICY_LIMIT
    assert policy_size(empty_policy()) < 50


# --------------------------------------------------------------------------- upsert


def wizard_statement(sid: str, action: str = "s3:PutObject") -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
        "Action": action,
        "Resource": "arn:aws:s3:::b/p/*",
    }


def test_upsert_appends_new() -> None:
    base = parse_policy(doc(stmt(Sid="Keep")))
    result = upsert_statements(base, [wizard_statement("W1"), wizard_statement("W2")])
    assert [s.sid for s in result.statements] == ["Keep", "W1", "W2"]
    assert result.statements[0].raw == base.statements[0].raw
    assert base.statements[0].sid == "Keep" and len(base.statements) == 1  # input unchanged


def test_upsert_replaces_in_place() -> None:
    base = parse_policy(doc(stmt(Sid="A"), wizard_statement("W1", "s3:GetObject"), stmt(Sid="C")))
    result = upsert_statements(base, [wizard_statement("W1")])
    assert [s.sid for s in result.statements] == ["A", "W1", "C"]
    assert result.statements[1].actions == ("s3:PutObject",)
    assert [s.index for s in result.statements] == [0, 1, 2]


def test_upsert_mixed_replace_and_append_keeps_foreign_bytes() -> None:
    foreign = {
        "Sid": "Foreign",
        "Resource": "*",
        "Effect": "Deny",
        "Principal": {"AWS": ["1", "2"]},
        "NotAction": ["s3:B", "s3:A"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    base = parse_policy(doc(wizard_statement("W2"), foreign, stmt()))
    result = upsert_statements(base, [wizard_statement("W1"), wizard_statement("W2", "s3:X")])
    assert [s.sid for s in result.statements] == ["W2", "Foreign", None, "W1"]
    assert canonical_json(result.statements[1].raw) == canonical_json(foreign)
    assert result.statements[0].actions == ("s3:X",)


def test_upsert_duplicate_sids_in_document_replaces_first_only() -> None:
    first = wizard_statement("Dup", "s3:First")
    second = wizard_statement("Dup", "s3:Second")
    base = parse_policy(doc(first, stmt(Sid="Other"), second))
    result = upsert_statements(base, [wizard_statement("Dup", "s3:New")])
    assert [s.actions for s in result.statements] == [
        ("s3:New",),
        ("s3:GetObject",),
        ("s3:Second",),
    ]
    assert statement_by_sid(result, "Dup") == result.statements[0]


def test_upsert_statement_object_becomes_list() -> None:
    base = parse_policy({"Version": "2012-10-17", "Statement": stmt(Sid="Solo")})
    result = upsert_statements(base, [wizard_statement("W")])
    assert isinstance(result.raw["Statement"], list)
    assert [s.sid for s in result.statements] == ["Solo", "W"]
    replaced = upsert_statements(base, [wizard_statement("Solo")])
    assert [s.actions for s in replaced.statements] == [("s3:PutObject",)]


def test_upsert_keeps_document_elements() -> None:
    base = parse_policy({"Id": "mine", "Version": "2008-10-17", "Statement": []})
    result = upsert_statements(base, [wizard_statement("W")])
    assert result.id == "mine" and result.version == "2008-10-17"


def test_upsert_nothing_is_identity() -> None:
    base = parse_policy({"Statement": stmt()})
    assert upsert_statements(base, []) is base


def test_upsert_is_idempotent() -> None:
    base = parse_policy(doc(stmt(Sid="A"), stmt()))
    new = [wizard_statement("W1"), wizard_statement("A", "s3:Other")]
    once = upsert_statements(base, new)
    assert canonical_json(upsert_statements(once, new)) == canonical_json(once)


def test_upsert_does_not_alias_caller_statement() -> None:
    new = wizard_statement("W")
    result = upsert_statements(empty_policy(), [new])
    new["Action"] = "s3:Changed"
    assert result.statements[0].actions == ("s3:PutObject",)


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
        {"Sid": "", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
        {"Sid": 3, "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
    ],
)
def test_upsert_without_sid_is_a_programming_error(statement: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Sid"):
        upsert_statements(empty_policy(), [statement])


def test_upsert_same_sid_twice_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        upsert_statements(empty_policy(), [wizard_statement("W"), wizard_statement("W")])


def test_upsert_invalid_statement_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"Statement\[0\]: unknown element"):
        upsert_statements(empty_policy(), [{"Sid": "W", "Actions": "x"}])


def test_statement_by_sid() -> None:
    parsed = parse_policy(doc(stmt(Sid="A"), stmt(), stmt(Sid="B")))
    found = statement_by_sid(parsed, "B")
    assert found is not None and found.index == 2
    assert statement_by_sid(parsed, "b") is None  # Sids are case-sensitive
    assert statement_by_sid(parsed, "missing") is None


def test_document_type() -> None:
    assert isinstance(empty_policy(), PolicyDocument)
