"""The caller's own permissions in the sandbox (``sandbox --caller-policy FILE``).

AWS refuses a call the caller's identity policy does not allow; moto never does. Given an
identity policy, the sandbox judges every request signed with the wizard's credentials by
the same evaluator as everything else (``wizard.core.evaluate``) and refuses it as the
service would: S3 with a 403 ``AccessDenied``, KMS and CloudWatch Logs with
``AccessDeniedException``, EC2 with ``UnauthorizedOperation``, each message naming the
action, as AWS's do. KMS also needs the key policy to allow the call (the usual root
statement delegates to IAM, so then the identity policy decides).

Requests signed with ``ADMIN_ACCESS_KEY`` are not judged: that is how tests and a presenter
look at the account without the wizard's restrictions (``Sandbox.client``).

What each call is judged on (its IAM action, resource and condition keys) follows the IAM
service authorization reference; where that is not certain, the choice is marked here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.kms.models import kms_backends
from moto.s3.models import s3_backends

from wizard.core.arn import bucket_arn, object_arn
from wizard.core.errors import PolicyError, UsageError
from wizard.core.evaluate import Decision, Request, evaluate
from wizard.core.permissions import ALWAYS_ALLOWED, permission
from wizard.core.policy import PolicyDocument, parse_policy
from wizard.sandbox.identity import caller_request
from wizard.sandbox.incoming import Incoming
from wizard.sandbox.moto_state import key_policy, resolve_key
from wizard.sandbox.preview import caller_arn
from wizard.sandbox.wire import ApiError

ADMIN_ACCESS_KEY = "sandbox-admin"
PARTITION = "aws"

# KMS operations that name no key: judged on "*".
_KMS_NO_RESOURCE = frozenset({"CreateKey", "ListKeys", "ListAliases", "GenerateRandom"})
_LOGS_NO_RESOURCE = frozenset({"DescribeLogGroups", "DescribeExportTasks", "CancelExportTask"})


@dataclass(frozen=True)
class Check:
    """One authorization: the caller may perform ``action`` on ``resource``."""

    action: str
    resource: str
    context: Mapping[str, str | tuple[str, ...]]
    key_policy: PolicyDocument | None = None  # KMS: the key's own policy must allow it too
    needs_key_policy: bool = False


POLICY_FILE_LIMIT = 256 * 1024  # far above any policy AWS stores (RCP 5,120; IAM 6,144 chars)


def read_policy_file(path: Path, option: str, check: Callable[[str, str], object]) -> str:
    """The text of a policy file given to the sandbox (``--caller-policy``,
    ``--org-guardrail``), checked by ``check(text, name)``; a UsageError names the option,
    the file and the problem."""
    try:
        with path.open("rb") as handle:  # never all of /dev/zero: at most the limit and a byte
            data = handle.read(POLICY_FILE_LIMIT + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"{option}: cannot read {path}: {reason}.") from None
    if len(data) > POLICY_FILE_LIMIT:
        raise UsageError(
            f"{option}: {path} is larger than {POLICY_FILE_LIMIT // 1024} KiB; a policy is "
            "a few KiB at most."
        )
    check(text, str(path))
    return text


def read_caller_policy(path: Path) -> str:
    """The text of ``--caller-policy FILE``, checked; UsageError names the file and problem."""
    return read_policy_file(path, "--caller-policy", parse_caller_policy)


def parse_caller_policy(text: str, source: str = "the caller policy") -> PolicyDocument:
    """An identity policy (no Principal), or UsageError naming its source and the problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--caller-policy: {source} is not JSON: {exc}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("Statement"), list | dict):
        raise UsageError(f"--caller-policy: {source} is not an IAM policy (no Statement).")
    statements = data["Statement"] if isinstance(data["Statement"], list) else [data["Statement"]]
    # An identity policy has no Principal: the evaluator judges resource policies, so every
    # statement gets the caller as its principal ("*": whoever is judged, the caller).
    as_resource_policy = {
        **data,
        "Statement": [{**s, "Principal": "*"} if isinstance(s, dict) else s for s in statements],
    }
    try:
        return parse_policy(as_resource_policy, kind="caller policy")
    except PolicyError as exc:
        raise UsageError(f"--caller-policy: {source}: {exc.message}", fix=exc.fix) from None


def _key_context(key: Any) -> dict[str, str | tuple[str, ...]]:
    backend = kms_backends[key.account_id][key.region]
    context: dict[str, str | tuple[str, ...]] = {}
    for tag in backend.list_resource_tags(key.id).get("Tags", []):
        context[f"aws:ResourceTag/{tag['TagKey']}"] = tag["TagValue"]
    aliases = tuple(sorted(key.aliases))  # moto keeps a key's aliases on the key
    if aliases:
        context["kms:ResourceAliases"] = aliases
    return context


def _request_tags(params: Mapping[str, Any]) -> dict[str, str | tuple[str, ...]]:
    tags = params.get("Tags") or []
    context: dict[str, str | tuple[str, ...]] = {}
    keys: list[str] = []
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict) and "TagKey" in tag:
            context[f"aws:RequestTag/{tag['TagKey']}"] = str(tag.get("TagValue", ""))
            keys.append(str(tag["TagKey"]))
    if keys:
        context["aws:TagKeys"] = tuple(keys)
    return context


def _kms_checks(request: Incoming, account: str) -> list[Check]:
    operation = request.operation
    action = f"kms:{operation}"
    region = request.region
    params = request.params
    if operation in _KMS_NO_RESOURCE:
        unkeyed = [Check(action, "*", _request_tags(params) if operation == "CreateKey" else {})]
        if operation == "CreateKey" and params.get("Tags"):
            # Tags on CreateKey also need kms:TagResource. Judged on the new key's ARN as a
            # pattern (UNCONFIRMED: AWS documents the permission, not the resource it checks).
            new_key = f"arn:{PARTITION}:kms:{region}:{account}:key/*"
            unkeyed.append(Check("kms:TagResource", new_key, _request_tags(params)))
        return unkeyed
    checks: list[Check] = []
    reference = (
        params.get("TargetKeyId")
        if operation in ("CreateAlias", "UpdateAlias")
        else (params.get("KeyId"))
    )
    if operation in ("CreateAlias", "DeleteAlias", "UpdateAlias"):
        alias = str(params.get("AliasName") or "")
        checks.append(Check(action, f"arn:{PARTITION}:kms:{region}:{account}:{alias}", {}))
        if operation == "DeleteAlias":
            reference = alias
    key = resolve_key(account, region, str(reference)) if isinstance(reference, str) else None
    if key is None:
        return checks  # moto answers for a key that does not exist
    context = _key_context(key)
    if operation in ("TagResource", "UntagResource"):
        context.update(_request_tags(params))
    checks.append(Check(action, key.arn, context, key_policy(key), needs_key_policy=True))
    return checks


def _s3_checks(request: Incoming, account: str) -> list[Check]:
    action = permission("s3", request.operation)
    if request.bucket is None:
        return [Check(action, "*", {})]
    if (
        request.operation != "CreateBucket"
        and request.bucket not in s3_backends[account][PARTITION].buckets
    ):
        return []  # S3 answers 404 for a bucket that does not exist, whoever asks
    resource = (
        object_arn(request.bucket, request.key, PARTITION)
        if request.key
        else bucket_arn(request.bucket, PARTITION)
    )
    return [Check(action, resource, {})]


def _logs_checks(request: Incoming, account: str) -> list[Check]:
    action = f"logs:{request.operation}"
    group = request.params.get("logGroupName")
    if request.operation in _LOGS_NO_RESOURCE or not isinstance(group, str):
        return [Check(action, "*", {})]
    # UNCONFIRMED whether AWS checks "log-group:NAME" or "log-group:NAME:*";
    # iam-policy grants both, the sandbox checks the first.
    return [Check(action, f"arn:{PARTITION}:logs:{request.region}:{account}:log-group:{group}", {})]


def checks_for(request: Incoming, account: str) -> list[Check]:
    """What the caller must be allowed for this request ([] : nothing to judge)."""
    if (request.service, request.operation) in ALWAYS_ALLOWED:
        return []
    if request.service == "kms":
        return _kms_checks(request, account)
    if request.service == "s3":
        return _s3_checks(request, account)
    if request.service == "logs":
        return _logs_checks(request, account)
    if request.service == "ec2":
        return [Check(f"ec2:{request.operation}", "*", {})]
    if request.service == "iam":
        source = request.params.get("PolicySourceArn") or "*"
        return [Check(f"iam:{request.operation}", str(source), {})]
    return []


def _denied(service: str, action: str, resource: str, account: str, why: str) -> ApiError:
    user = caller_arn(account)
    on = f" on resource: {resource}" if resource != "*" else ""
    message = f"User: {user} is not authorized to perform: {action}{on} because {why}"
    if service == "s3":
        return ApiError("AccessDenied", message, 403)
    if service == "ec2":
        return ApiError(
            "UnauthorizedOperation",
            f"You are not authorized to perform this operation. {message}",
            403,
        )
    if service == "iam":
        return ApiError("AccessDenied", message, 403)
    return ApiError("AccessDeniedException", message, 400)


def authorize(
    policy: PolicyDocument,
    request: Incoming,
    account: str,
    record: list[Request] | None = None,
) -> None:
    """Raise the service's AccessDenied when the caller may not make ``request``.
    ``record`` collects every judged request (tests check that each granted action is needed).
    """
    if request.access_key == ADMIN_ACCESS_KEY:
        return
    for check in checks_for(request, account):
        base = caller_request(
            account, check.action, check.resource, **{"aws:RequestedRegion": request.region}
        )
        judged = Request(
            base.principal, check.action, check.resource, {**base.context, **check.context}
        )
        if record is not None:
            record.append(judged)
        identity = evaluate(policy, judged)
        if identity.decision is Decision.EXPLICIT_DENY:
            raise _denied(
                request.service,
                check.action,
                check.resource,
                account,
                "an explicit deny in an identity-based policy",
            )
        if check.needs_key_policy:
            by_key = evaluate(check.key_policy, judged)
            if not by_key.allowed:
                raise _denied(
                    request.service,
                    check.action,
                    check.resource,
                    account,
                    f"no resource-based policy allows the {check.action} action",
                )
        if not identity.allowed:
            raise _denied(
                request.service,
                check.action,
                check.resource,
                account,
                f"no identity-based policy allows the {check.action} action",
            )


def identity_allows(
    policy: PolicyDocument,
    request: Incoming,
    account: str,
    action: str,
    key: Any,
    context: Mapping[str, str],
    record: list[Request] | None = None,
) -> bool:
    """A call S3 makes to KMS for the caller (GetObject of an SSE-KMS object): the caller's
    identity policy must allow it too."""
    if request.access_key == ADMIN_ACCESS_KEY:
        return True
    base = caller_request(account, action, key.arn)
    judged = Request(
        base.principal, action, key.arn, {**base.context, **context, **_key_context(key)}
    )
    if record is not None:
        record.append(judged)
    return evaluate(policy, judged).allowed


def _members(params: Mapping[str, Any], name: str) -> list[str]:
    """``Name.member.1``, ``Name.member.2``... of a query-protocol request, in order."""
    found = sorted(
        (int(k.rsplit(".", 1)[1]), str(v))
        for k, v in params.items()
        if k.startswith(f"{name}.member.") and k.rsplit(".", 1)[1].isdigit()
    )
    return [v for _, v in found]


def _context_entries(params: Mapping[str, Any]) -> dict[str, str | tuple[str, ...]]:
    context: dict[str, str | tuple[str, ...]] = {}
    index = 1
    while f"ContextEntries.member.{index}.ContextKeyName" in params:
        prefix = f"ContextEntries.member.{index}"
        name = str(params[f"{prefix}.ContextKeyName"])
        values = _members(params, f"{prefix}.ContextKeyValues")
        kind = str(params.get(f"{prefix}.ContextKeyType", "string"))
        context[name] = tuple(values) if kind.endswith("List") else (values[0] if values else "")
        index += 1
    return context


def simulate(policy: PolicyDocument | None, params: Mapping[str, Any], account: str) -> str:
    """The XML of IAM SimulatePrincipalPolicy, judged against the caller policy."""
    from xml.sax.saxutils import escape

    actions = _members(params, "ActionNames")
    resources = _members(params, "ResourceArns") or ["*"]
    context = _context_entries(params)
    members = []
    for action in actions:
        for resource in resources:
            if policy is None:
                decision = "allowed"
            else:
                base = caller_request(account, action, resource)
                judged = Request(base.principal, action, resource, {**base.context, **context})
                verdict = evaluate(policy, judged).decision
                decision = {Decision.ALLOW: "allowed", Decision.EXPLICIT_DENY: "explicitDeny"}.get(
                    verdict, "implicitDeny"
                )
            members.append(
                "<member>"
                f"<EvalActionName>{escape(action)}</EvalActionName>"
                f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
                f"<EvalDecision>{decision}</EvalDecision>"
                "<MatchedStatements/><MissingContextValues/>"
                "</member>"
            )
    return (
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
        f"<EvaluationResults>{''.join(members)}</EvaluationResults>"
        "</SimulatePrincipalPolicyResult>"
        "<ResponseMetadata><RequestId>sandbox</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )
