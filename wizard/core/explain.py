"""Why a policy lets CloudWatch Logs' requests through or not: statements, in plain words."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from wizard.core import requirements as req
from wizard.core.evaluate import Decision, Evaluation, Request, evaluate, statement_applies
from wizard.core.findings import Finding, FindingCode, Severity
from wizard.core.policy import PolicyDocument, Statement

NEVER_EDITS_FOREIGN = "The wizard never edits a statement it did not write."


def _context_value(request: Request, key: str) -> str | tuple[str, ...] | None:
    wanted = key.lower()
    return next((v for k, v in request.context.items() if k.lower() == wanted), None)


def _show(value: str | tuple[str, ...]) -> str:
    return value if isinstance(value, str) else ", ".join(value)


def _condition_holds(statement: Statement, index: int, request: Request) -> bool:
    only = dataclasses.replace(statement, conditions=(statement.conditions[index],))
    loose = dataclasses.replace(only, resources=("*",), not_resources=None)
    return statement_applies(loose, request)


def explain_match(statement: Statement, request: Request) -> str:
    """Why a statement applies to one of CloudWatch Logs' requests, in plain words."""
    reasons: list[str] = []
    principal = statement.principal or {}
    if "*" in principal.get("*", ()) or "*" in principal.get("AWS", ()):
        reasons.append('its Principal is "*" (everyone, AWS services included)')
    elif statement.not_principal is not None:
        reasons.append("its NotPrincipal does not exclude CloudWatch Logs")
    for condition in statement.conditions:
        value = _context_value(request, condition.key)
        operator = condition.operator
        wanted = ", ".join(condition.values)
        if value is None:
            if operator.startswith("Null"):
                reasons.append(f"the request carries no {condition.key}, so Null matches")
            else:
                reasons.append(
                    f"CloudWatch Logs' request carries no {condition.key}, so "
                    f"{operator} [{wanted}] is true for it"
                )
        else:
            reasons.append(
                f"{condition.key} is {_show(value)} in CloudWatch Logs' request, which "
                f"satisfies {operator} [{wanted}]"
            )
    if not reasons:
        reasons.append(f"it covers {request.action} on {request.resource}")
    return "; ".join(reasons)


def failing_conditions(statement: Statement, request: Request) -> list[str]:
    failing: list[str] = []
    for index, condition in enumerate(statement.conditions):
        if _condition_holds(statement, index, request):
            continue
        value = _context_value(request, condition.key)
        got = (
            f"the request carries no {condition.key}"
            if value is None
            else f"the request has {condition.key} = {_show(value)}"
        )
        wanted = ", ".join(condition.values)
        failing.append(f"{condition.operator} {condition.key} [{wanted}] ({got})")
    return failing


def near_misses(
    doc: PolicyDocument | None, request: Request
) -> tuple[list[Statement], list[Statement]]:
    """Allow statements that fail only on their conditions / only on their resources."""
    by_condition: list[Statement] = []
    by_resource: list[Statement] = []
    if doc is None:
        return by_condition, by_resource
    for statement in doc.statements:
        if statement.effect != "Allow" or statement_applies(statement, request):
            continue
        if statement.conditions and statement_applies(
            dataclasses.replace(statement, conditions=()), request
        ):
            by_condition.append(statement)
        elif statement_applies(
            dataclasses.replace(statement, resources=("*",), not_resources=None), request
        ):
            by_resource.append(statement)
    return by_condition, by_resource


def near_miss_note(doc: PolicyDocument | None, request: Request) -> str:
    by_condition, by_resource = near_misses(doc, request)
    notes: list[str] = []
    for statement in by_condition:
        failing = "; ".join(failing_conditions(statement, request))
        notes.append(
            f" {statement.label[0].upper()}{statement.label[1:]} would allow it, but its "
            f"conditions do not match this export: {failing}."
        )
    for statement in by_resource:
        resources = ", ".join(statement.resources or statement.not_resources or ())
        notes.append(
            f" {statement.label[0].upper()}{statement.label[1:]} would allow it, but only for "
            f"{resources}, not {request.resource}."
        )
    return "".join(notes)


def without_denies(doc: PolicyDocument) -> PolicyDocument:
    """The document as if its Deny statements were gone: is there an Allow at all?"""
    return dataclasses.replace(
        doc, statements=tuple(s for s in doc.statements if s.effect != "Deny")
    )


def deny_finding(
    policy_name: str, statement: Statement, requests: Sequence[req.ServiceRequest]
) -> Finding:
    steps = " and ".join(r.step for r in requests)
    return Finding(
        FindingCode.EXPLICIT_DENY,
        Severity.ERROR,
        f"The {policy_name}'s {statement.label} denies CloudWatch Logs' {steps}: "
        f"{explain_match(statement, requests[0].request)}. An explicit Deny wins over any Allow.",
        "Decide whether this Deny should stop CloudWatch Logs exports. If not, narrow it "
        'yourself, for example add the condition "BoolIfExists": {"aws:PrincipalIsAWSService": '
        '"false"} so that it does not apply to AWS services. ' + NEVER_EDITS_FOREIGN,
        requests[0].aws_error,
        (statement.label,),
    )


def deny_blocker(
    policy_name: str, statement: Statement, requests: Sequence[req.ServiceRequest]
) -> str:
    """The planner's words for a foreign Deny: it stops the plan short of a working export."""
    finding = deny_finding(policy_name, statement, requests)
    return f"{finding.message} {finding.fix}"


def evaluate_requests(
    doc: PolicyDocument | None, requests: Iterable[req.ServiceRequest]
) -> list[tuple[req.ServiceRequest, Evaluation]]:
    return [(r, evaluate(doc, r.request)) for r in requests]


def deny_groups(
    evaluations: Sequence[tuple[req.ServiceRequest, Evaluation]],
) -> dict[int, tuple[Statement, list[req.ServiceRequest]]]:
    """The requests each Deny statement blocks, by statement (the doctor's findings and the
    planner's blockers name the same statements)."""
    groups: dict[int, tuple[Statement, list[req.ServiceRequest]]] = {}
    for service_request, evaluation in evaluations:
        if evaluation.decision is not Decision.EXPLICIT_DENY:
            continue
        for statement in evaluation.deciding:
            groups.setdefault(statement.index, (statement, []))[1].append(service_request)
    return groups
