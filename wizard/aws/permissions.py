"""Ask IAM's policy simulator whether the caller may do what a plan needs, before any write.

The answer is advice, never a gate: the simulator sees identity policies and permissions
boundaries as IAM stores them, not every control that can refuse a call (service control
policies, session policies, resource policies of other accounts). When the caller may not
run the simulator, the check is skipped and says so.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from wizard.aws.session import AwsSession, error_code
from wizard.core.arn import parse_arn
from wizard.core.change import Plan
from wizard.core.iam_policy import Need, PermissionCheck, needs
from wizard.core.state import Identity, KeyState

_SKIP_CODES = {
    "AccessDenied": "you may not call iam:SimulatePrincipalPolicy",
    "AccessDeniedException": "you may not call iam:SimulatePrincipalPolicy",
    "NoSuchEntity": "IAM does not know the caller under that name (a role with a path?)",
}


def principal_arn(identity: Identity) -> str | None:
    """The IAM principal the simulator judges: a user as is, an assumed role's role."""
    arn = parse_arn(identity.arn)
    if arn is None:
        return None
    if arn.service == "iam" and arn.resource.startswith("user/"):
        return identity.arn
    if arn.service == "sts" and arn.resource.startswith("assumed-role/"):
        role = arn.resource.split("/")[1]
        return f"arn:{arn.partition}:iam::{arn.account}:role/{role}"
    return None


def _context(need: Need) -> list[dict[str, Any]]:
    entries = []
    for key, value in need.context:
        many = isinstance(value, tuple)
        entries.append(
            {
                "ContextKeyName": key,
                "ContextKeyValues": list(value) if many else [value],
                "ContextKeyType": "stringList" if many else "string",
            }
        )
    return entries


def check(session: AwsSession, plan: Plan, key: KeyState | None = None) -> PermissionCheck:
    identity = session.identity()
    return simulate(session, needs(plan, identity.account, identity.partition, key))


def simulate(session: AwsSession, wanted: list[Need]) -> PermissionCheck:
    """What IAM's simulator says of the session's caller for these needs."""
    identity = session.identity()
    principal = principal_arn(identity)
    if principal is None:
        why = (
            "the account's root user may do everything"
            if identity.arn.endswith(":root")
            else f"the simulator cannot judge {identity.arn}"
        )
        return PermissionCheck(None, skipped=why)
    if not wanted:
        return PermissionCheck(principal)
    groups: dict[tuple[str, tuple[Any, ...]], list[Need]] = defaultdict(list)
    for need in wanted:
        groups[(need.resource, need.context)].append(need)
    iam = session.client("iam")
    denied: list[Need] = []
    try:
        for (resource, _), group in groups.items():
            reply = iam.simulate_principal_policy(
                PolicySourceArn=principal,
                ActionNames=sorted({n.action for n in group}),
                ResourceArns=[resource],
                ContextEntries=_context(group[0]),
            )
            refused = {
                r["EvalActionName"]
                for r in reply.get("EvaluationResults", [])
                if r.get("EvalDecision") != "allowed"
            }
            denied += [n for n in group if n.action in refused]
    except ClientError as exc:
        code = error_code(exc) or ""
        return PermissionCheck(principal, skipped=_SKIP_CODES.get(code, f"IAM said {code}"))
    except BotoCoreError as exc:
        reason = f"IAM could not be reached ({type(exc).__name__})"
        return PermissionCheck(principal, skipped=reason)
    except ResponseParserError:
        # IAM echoes each resource in XML, which cannot hold a control character: a prefix
        # with one gets an answer no parser reads. The check is skipped, not the review.
        reason = "IAM's answer could not be read (a name with a control character?)"
        return PermissionCheck(principal, skipped=reason)
    return PermissionCheck(principal, tuple(denied))
