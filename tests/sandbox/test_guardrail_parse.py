"""What AWS Organizations refuses in a resource control policy, the sandbox refuses too: a
guardrail that silently denies nothing would make a demo of ``doctor --verify`` lie."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.aws.test_verify import ORG_ONLY_FOR_SERVICES
from wizard.core.errors import UsageError
from wizard.sandbox.guardrail import parse_guardrail

# AWS's own example RCP (service principals only for the organization's accounts).
AWS_EXAMPLE: dict[str, Any] = json.loads(json.dumps(ORG_ONLY_FOR_SERVICES))["Statement"][0]


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _refusal(statement: dict[str, Any]) -> str:
    with pytest.raises(UsageError) as caught:
        parse_guardrail(_policy(statement), "rcp.json")
    return caught.value.message


def test_awss_own_example_and_the_default_full_access_are_accepted() -> None:
    full = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    policy = parse_guardrail(_policy(full, AWS_EXAMPLE))
    assert len(policy.statements) == 2


def test_a_principal_other_than_star_is_refused() -> None:
    message = _refusal({**AWS_EXAMPLE, "Principal": {"Service": "logs.amazonaws.com"}})
    assert 'Principal is always "*"' in message and "statement 1" in message


def test_not_principal_is_refused() -> None:
    statement = {k: v for k, v in AWS_EXAMPLE.items() if k != "Principal"}
    message = _refusal({**statement, "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}})
    assert "NotPrincipal" in message


def test_a_missing_principal_is_refused() -> None:
    statement = {k: v for k, v in AWS_EXAMPLE.items() if k != "Principal"}
    assert "Principal none" in _refusal(statement)


def test_an_unknown_condition_operator_is_refused_not_judged_false() -> None:
    message = _refusal({**AWS_EXAMPLE, "Condition": {"StringNotEqualz": {"aws:SourceOrgID": "o"}}})
    assert "unknown condition operator 'StringNotEqualz'" in message


@pytest.mark.parametrize("action", ["logs:CreateExportTask", "PutObject", "iam:*"])
def test_an_action_of_a_service_rcps_cannot_limit_is_refused(action: str) -> None:
    message = _refusal({**AWS_EXAMPLE, "Action": action})
    with pytest.raises(UsageError) as caught:
        parse_guardrail(_policy({**AWS_EXAMPLE, "Action": action}))
    assert "s3, kms" in (caught.value.fix or "")
    assert f'action "{action}"' in message
