"""An organization's guardrail the account cannot see (``sandbox --org-guardrail FILE``).

A resource control policy (RCP) of AWS Organizations limits every request to a member
account's S3 buckets and KMS keys, AWS service principals included (CloudWatch Logs writing an
export, S3 asking KMS for a data key), and no API of the member account shows it. Given an
RCP-style document (Deny statements with Principal, Action, Resource and Condition), the
sandbox judges every request against its S3 and KMS resources by the same evaluator as
everything else (``wizard.core.evaluate``): an explicit Deny refuses it, with the text AWS
gives that request (an export's documented error, or "... with an explicit deny in a resource
control policy" for the caller's own calls). An RCP grants nothing: only its Deny statements
count. The doctor reads only the account's own policies, so it says healthy while the export
fails: the case ``doctor --verify`` exists for.

Requests signed with the sandbox's admin credentials are not judged (as with
``--caller-policy``): tests and a presenter look at the account without restrictions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wizard.core.errors import PolicyError, UsageError
from wizard.core.evaluate import Decision, Request, evaluate, unknown_operators
from wizard.core.policy import PolicyDocument, parse_policy
from wizard.sandbox.caller import ADMIN_ACCESS_KEY, checks_for, read_policy_file
from wizard.sandbox.identity import caller_request
from wizard.sandbox.incoming import Incoming
from wizard.sandbox.preview import caller_arn
from wizard.sandbox.scenarios import DEMO_ORG_ID
from wizard.sandbox.wire import ApiError

# The organization the sandbox's accounts are members of (the "broken" scenario's
# organisation-only bucket names it too).
SANDBOX_ORG_ID = DEMO_ORG_ID
GUARDED_SERVICES = ("s3", "kms")  # the resources RCPs limit that an export touches
# UNCONFIRMED: AWS documents aws:SourceOrgID for service principals acting for a source
# account; whether S3's KMS call for an export carries it is not documented. The sandbox sends
# it with every service-principal request that carries aws:SourceAccount (one place).
SOURCE_ORG_ON_SERVICE_REQUESTS = True
# The services whose resources an RCP can limit (AWS Organizations' RCP syntax); an action of
# any other service in an RCP is refused by Organizations, so the sandbox refuses it too.
RCP_SERVICES = ("s3", "kms", "sts", "sqs", "secretsmanager")


def read_guardrail(path: Path) -> str:
    """The text of ``--org-guardrail FILE``, checked; UsageError names the file and problem."""
    return read_policy_file(path, "--org-guardrail", parse_guardrail)


def _is_full_access(statement: Mapping[str, Any]) -> bool:
    """AWS's default RCPFullAWSAccess: Allow * on * for *; harmless, so accepted."""
    return (
        statement.get("Principal") == "*"
        and statement.get("Action") in ("*", ["*"])
        and statement.get("Resource") in ("*", ["*"])
        and not statement.get("Condition")
    )


def parse_guardrail(text: str, source: str = "the guardrail") -> PolicyDocument:
    """An RCP-style policy, or UsageError naming its source and the problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--org-guardrail: {source} is not JSON: {exc}.") from None
    statements = data.get("Statement") if isinstance(data, dict) else None
    if not isinstance(statements, list | dict):
        raise UsageError(f"--org-guardrail: {source} is not a policy (no Statement).")
    for number, statement in enumerate(
        statements if isinstance(statements, list) else [statements], 1
    ):
        if not isinstance(statement, dict):
            continue  # parse_policy names it
        if statement.get("Effect") == "Allow" and not _is_full_access(statement):
            raise UsageError(
                f"--org-guardrail: {source}: statement {number} is an Allow: an organization's "
                "resource control policy grants nothing, it only denies.",
                fix="Give Deny statements (Principal, Action, Resource, Condition).",
            )
        _check_rcp_statement(statement, f"--org-guardrail: {source}: statement {number}")
    try:
        policy = parse_policy(data, kind="organization guardrail")
    except PolicyError as exc:
        raise UsageError(f"--org-guardrail: {source}: {exc.message}", fix=exc.fix) from None
    unknown = unknown_operators(policy)
    if unknown:
        # AWS refuses such a policy when it is attached; judging it would silently deny nothing.
        raise UsageError(
            f"--org-guardrail: {source}: unknown condition operator "
            f"{', '.join(repr(name) for name in unknown)}.",
            fix="Use an IAM condition operator such as StringNotEqualsIfExists, Null or Bool.",
        )
    return policy


def _check_rcp_statement(statement: Mapping[str, Any], where: str) -> None:
    """What AWS Organizations refuses in a resource control policy's statement."""
    if "NotPrincipal" in statement:
        raise UsageError(
            f"{where} uses NotPrincipal, which a resource control policy does not support.",
            fix='Use "Principal": "*" and a Condition (e.g. on aws:PrincipalIsAWSService).',
        )
    if statement.get("Principal") != "*":
        shown = json.dumps(statement.get("Principal")) if "Principal" in statement else "none"
        raise UsageError(
            f'{where} has Principal {shown}: a resource control policy\'s Principal is always "*".',
            fix="Narrow whom it limits with a Condition (aws:PrincipalIsAWSService, "
            "aws:SourceOrgID, aws:PrincipalOrgID).",
        )
    actions = statement.get("Action")
    for action in [actions] if isinstance(actions, str) else actions or []:
        if not isinstance(action, str) or action == "*":
            continue  # parse_policy names a non-text action
        service = action.split(":", 1)[0].lower() if ":" in action else ""
        if service not in RCP_SERVICES:
            raise UsageError(
                f'{where}: action "{action}" is not one a resource control policy can limit.',
                fix=f"Use actions of {', '.join(RCP_SERVICES)} (e.g. s3:PutObject, kms:*).",
            )


def _guarded(resource: str) -> bool:
    return resource.startswith(tuple(f"arn:aws:{service}:" for service in GUARDED_SERVICES))


@dataclass(frozen=True)
class Guardrail:
    """The organization's policy, as AWS applies it to a member account's resources."""

    policy: PolicyDocument
    org_id: str = SANDBOX_ORG_ID

    def with_org(self, request: Request) -> Request:
        """The request as AWS sees it in a member account of ``org_id``."""
        context = dict(request.context)
        if request.principal.kind == "Service":
            if SOURCE_ORG_ON_SERVICE_REQUESTS and "aws:SourceAccount" in context:
                context.setdefault("aws:SourceOrgID", self.org_id)
            context.setdefault("aws:PrincipalIsAWSService", "true")
        else:
            context.setdefault("aws:PrincipalOrgID", self.org_id)
            context.setdefault("aws:PrincipalIsAWSService", "false")
        return replace(request, context=context)

    def denies(self, request: Request) -> bool:
        """An explicit Deny of the organization applies to this request."""
        if not _guarded(request.resource):
            return False
        return evaluate(self.policy, self.with_org(request)).decision is Decision.EXPLICIT_DENY

    def check_caller(self, request: Incoming, account: str) -> None:
        """The caller's own call (S3 or KMS, on the account's resources): raise the
        service's AccessDenied when the organization denies it."""
        if request.access_key == ADMIN_ACCESS_KEY or request.service not in GUARDED_SERVICES:
            return
        for check in checks_for(request, account):
            base = caller_request(
                account, check.action, check.resource, **{"aws:RequestedRegion": request.region}
            )
            judged = Request(
                base.principal, check.action, check.resource, {**base.context, **check.context}
            )
            self.check_request(request, judged, account)

    def check_request(self, incoming: Incoming, request: Request, account: str) -> None:
        """One judged request made for the caller (its own, or S3's call to KMS for it)."""
        if incoming.access_key == ADMIN_ACCESS_KEY:
            return
        if self.denies(request):
            service = "s3" if incoming.service == "s3" else request.action.split(":")[0]
            raise denied(service, request.action, request.resource, account)


def denied(service: str, action: str, resource: str, account: str) -> ApiError:
    """AWS's refusal of a caller's request by a resource control policy."""
    message = (
        f"User: {caller_arn(account)} is not authorized to perform: {action} on resource: "
        f"{resource} with an explicit deny in a resource control policy"
    )
    if service == "s3":
        return ApiError("AccessDenied", message, 403)
    return ApiError("AccessDeniedException", message, 400)
