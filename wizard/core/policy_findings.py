"""The doctor's rules for the bucket policy and the key policy: what they let CloudWatch Logs do."""

from __future__ import annotations

from collections.abc import Sequence

from wizard.core import requirements as req
from wizard.core.arn import logs_principal
from wizard.core.errors import PolicyError
from wizard.core.evaluate import Decision, evaluate, unknown_operators
from wizard.core.explain import (
    NEVER_EDITS_FOREIGN,
    deny_finding,
    deny_groups,
    evaluate_requests,
    failing_conditions,
    near_miss_note,
    near_misses,
    without_denies,
)
from wizard.core.findings import Finding, FindingCode, Severity
from wizard.core.key_in_use import KeyInUse, effective_bucket_key
from wizard.core.policy import (
    BUCKET_POLICY_LIMIT,
    KEY_POLICY_LIMIT,
    PolicyDocument,
    Statement,
    parse_policy,
    policy_size,
    upsert_statements,
)
from wizard.core.state import Choices, Destination, KeyState, Snapshot

# The condition keys that tie a service principal's access to one account's resources.
SCOPE_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn"})


def _parse(
    text: str | None, kind: str, limit: int, findings: list[Finding]
) -> tuple[PolicyDocument | None, bool]:
    """(document or None when absent, readable)."""
    if text is None:
        return None, True
    try:
        doc = parse_policy(text, kind=kind)
    except PolicyError as exc:
        findings.append(
            Finding(
                FindingCode.POLICY_UNREADABLE,
                Severity.ERROR,
                f"The {kind} cannot be read as an IAM policy: {exc.message}",
                (exc.fix + " " if exc.fix else "")
                + f"Correct the {kind} yourself; the wizard will not overwrite a policy it "
                "cannot read.",
            )
        )
        return None, False
    size = policy_size(doc)
    if size > limit:
        findings.append(
            Finding(
                FindingCode.POLICY_TOO_LARGE,
                Severity.ERROR,
                f"The {kind} is {size} bytes, over AWS's limit of {limit} bytes.",
                f"Remove statements that are no longer needed from the {kind}.",
            )
        )
    unknown = unknown_operators(doc)
    if unknown:
        findings.append(
            Finding(
                FindingCode.POLICY_UNKNOWN_OPERATOR,
                Severity.WARNING,
                f"The {kind} uses condition operators the wizard does not know: "
                f"{', '.join(unknown)}. Statements with them are treated as never applying, so "
                "this diagnosis may be wrong.",
                "Check the spelling of those operators; AWS refuses unknown ones.",
            )
        )
    return doc, True


def bucket_policy_findings(snapshot: Snapshot, choices: Choices) -> list[Finding]:
    findings: list[Finding] = []
    doc, readable = _parse(snapshot.bucket.policy, "bucket policy", BUCKET_POLICY_LIMIT, findings)
    if not readable:
        return findings
    dest = Destination.of(snapshot.identity, choices)
    bucket = snapshot.bucket
    every = req.destination_requests(dest, choices.log_group, acls_enabled=bucket.acls_enabled)
    evaluations = evaluate_requests(doc, (r for r in every if r.target == "bucket"))
    for statement, requests in deny_groups(evaluations).values():
        findings.append(deny_finding("bucket policy", statement, requests))

    # Judged without Deny statements: what is missing once the user settles the Denies.
    allow_only = without_denies(doc) if doc is not None else None
    refused = [r for r, _ in evaluations if not evaluate(allow_only, r.request).allowed]
    own = dest.account
    implicit = [r for r in refused if r.caller is None and _source(r) == own]
    acl = [r for r in implicit if r.request.action == "s3:GetBucketAcl"]
    put = [r for r in implicit if r.request.action == "s3:PutObject"]
    findings.extend(_other_account_findings(dest, refused, {r.request.action for r in implicit}))
    evaluations = [(r, e) for r, e in evaluations if r.caller is None]
    wizard_adds = "The wizard adds its own statement for CloudWatch Logs to the bucket policy"
    if acl:
        findings.append(
            Finding(
                FindingCode.BUCKET_POLICY_BLOCKS_GETBUCKETACL,
                Severity.ERROR,
                "The bucket policy does not let CloudWatch Logs "
                f"({logs_principal(choices.region)}) read the bucket's ACL (s3:GetBucketAcl), "
                "the first thing an export does." + near_miss_note(doc, acl[0].request),
                f"{wizard_adds} ({req.SID_GET_BUCKET_ACL}), limited to your account's log groups.",
                req.ERR_GET_BUCKET_ACL,
            )
        )
    if put:
        findings.append(
            Finding(
                FindingCode.BUCKET_POLICY_BLOCKS_PUTOBJECT,
                Severity.ERROR,
                "The bucket policy does not let CloudWatch Logs "
                f"({logs_principal(choices.region)}) write objects under "
                f"{choices.prefix}/ (s3:PutObject)." + near_miss_note(doc, put[0].request),
                f"{wizard_adds} ({req.SID_PUT_OBJECT}), limited to {choices.prefix}/ and your "
                "account's log groups.",
                req.ERR_PUT_OBJECT,
            )
        )

    unscoped: dict[int, Statement] = {}
    for _, evaluation in evaluations:
        if evaluation.decision is Decision.ALLOW:
            for statement in evaluation.deciding:
                if not {c.key.lower() for c in statement.conditions} & SCOPE_KEYS:
                    unscoped[statement.index] = statement
    if unscoped:
        labels = tuple(s.label for s in sorted(unscoped.values(), key=lambda s: s.index))
        findings.append(
            Finding(
                FindingCode.BUCKET_POLICY_UNSCOPED,
                Severity.WARNING,
                f"The bucket policy's {', '.join(labels)} lets CloudWatch Logs write to the "
                "bucket without an aws:SourceAccount or aws:SourceArn condition, so exports "
                "from log groups of any AWS account could land here (the confused-deputy "
                "problem).",
                'Add "aws:SourceAccount" and "aws:SourceArn" conditions to '
                + ("that statement" if len(labels) == 1 else "those statements")
                + " (the wizard's own statements carry them). "
                + NEVER_EDITS_FOREIGN,
                statements=labels,
            )
        )
    if acl or put:
        findings.extend(_room_findings(doc, dest))
    return findings


def _source(service_request: req.ServiceRequest) -> str:
    return str(service_request.request.context.get("aws:SourceAccount", ""))


def _other_account_findings(
    dest: Destination, refused: list[req.ServiceRequest], own_missing: set[str]
) -> list[Finding]:
    """A central logging account: the source accounts the bucket policy leaves out (where
    the own account passes), and the callers of other accounts it does not let write."""
    findings: list[Finding] = []
    left_out = [
        r
        for r in refused
        if r.caller is None and _source(r) != dest.account and r.request.action not in own_missing
    ]
    accounts = sorted({_source(r) for r in left_out})
    if accounts:
        named = ", ".join(accounts)
        findings.append(
            Finding(
                FindingCode.SOURCE_ACCOUNT_NOT_ALLOWED,
                Severity.ERROR,
                f"The bucket policy does not let CloudWatch Logs write for the log groups of "
                f"account{'s' if len(accounts) > 1 else ''} {named}: exports from there are "
                "refused (the statements for CloudWatch Logs do not list "
                f"{'them' if len(accounts) > 1 else 'it'} in aws:SourceAccount and "
                "aws:SourceArn).",
                f"The wizard adds {named} to its statements' aws:SourceAccount and the "
                "account's log groups to aws:SourceArn; the accounts listed already stay.",
                left_out[0].aws_error,
            )
        )
    callers: dict[str, list[req.ServiceRequest]] = {}
    for r in refused:
        if r.caller is not None:
            callers.setdefault(r.caller, []).append(r)
    for caller, requests in callers.items():
        actions = ", ".join(dict.fromkeys(r.request.action for r in requests))
        uncertain = _uncertain(requests)
        findings.append(
            Finding(
                FindingCode.SOURCE_CALLER_CANNOT_WRITE,
                Severity.ERROR,
                f"The bucket policy does not let {_caller_words(caller)} write to the bucket "
                f"({actions}): "
                "CreateExportTask checks its caller's access to a bucket of another account."
                + uncertain,
                f"The wizard adds {req.SID_CALLER_PUT_OBJECT} for that caller, limited to "
                f"{dest.prefix}/; its own account must allow the same in its IAM policy "
                "(cwl-export-wizard iam-policy --source prints it).",
                requests[0].aws_error,
            )
        )
    return findings


def _caller_words(caller: str) -> str:
    """Who runs exports in another account, for a finding."""
    account = caller.split(":")[4] if caller.count(":") >= 5 else "?"
    if caller.endswith(":root"):
        return f"the callers of account {account} (whoever runs its exports)"
    return f"{req.caller_role_arn(caller)}, which runs the exports of account {account},"


def _uncertain(requests: Sequence[req.ServiceRequest]) -> str:
    """A sentence naming the UNCONFIRMED needs among these requests, or ""."""
    asked = list(dict.fromkeys(r.request.action for r in requests))
    unconfirmed = [
        n.action for n in req.CROSS_ACCOUNT_CALLER_NEEDS if not n.confirmed and n.action in asked
    ]
    if not unconfirmed:
        return ""
    them = "it" if len(unconfirmed) == 1 else "them"
    named = "" if unconfirmed == asked else f" ({', '.join(unconfirmed)})"
    return (
        f" The current AWS documentation names {them}{named}; whether exports check {them} is "
        "not confirmed."
    )


def _room_findings(doc: PolicyDocument | None, dest: Destination) -> list[Finding]:
    """Whether the statements the wizard must add still fit in the bucket policy."""
    if doc is None:
        return []
    size = policy_size(upsert_statements(doc, req.bucket_statements(dest)))
    if size <= BUCKET_POLICY_LIMIT or policy_size(doc) > BUCKET_POLICY_LIMIT:
        return []
    return [
        Finding(
            FindingCode.POLICY_TOO_LARGE,
            Severity.ERROR,
            f"With the statements CloudWatch Logs needs, the bucket policy would be about "
            f"{size} bytes, over AWS's limit of {BUCKET_POLICY_LIMIT} bytes.",
            "Remove statements that are no longer needed from the bucket policy, then run the "
            "wizard again.",
        )
    ]


def key_policy_findings(snapshot: Snapshot, choices: Choices, use: KeyInUse) -> list[Finding]:
    key = use.key
    if key is None:
        return []
    findings: list[Finding] = []
    if key.rotation_enabled is False and not key.created_by_wizard:
        findings.append(
            Finding(
                FindingCode.KEY_ROTATION_OFF,
                Severity.INFO,
                f"Automatic yearly rotation is off for {key.display_name}.",
                "Consider turning on key rotation in the KMS console; exports work either way.",
            )
        )
    if key.policy is None:
        findings.append(
            Finding(
                FindingCode.KEY_POLICY_UNKNOWN,
                Severity.WARNING,
                f"The key policy of {key.display_name} could not be read, so the wizard cannot "
                "tell whether CloudWatch Logs may use the key.",
                "Allow yourself kms:GetKeyPolicy on the key, then run the doctor again.",
            )
        )
        return findings
    doc, readable = _parse(key.policy, "key policy", KEY_POLICY_LIMIT, findings)
    if not readable or use.arn is None:
        return findings
    dest = Destination.of(snapshot.identity, choices)
    bucket_key = effective_bucket_key(snapshot, use)
    every = [
        r
        for r in req.destination_requests(dest, choices.log_group, use.arn, bucket_key=bucket_key)
        if r.target == "key"
    ]
    for statement, requests in deny_groups(evaluate_requests(doc, every)).values():
        findings.append(deny_finding("key policy", statement, requests))
    # Judged without Deny statements: what is missing once the user settles the Denies.
    allow_only = without_denies(doc) if doc is not None else None
    callers: dict[str, list[req.ServiceRequest]] = {}
    for r in every:
        if r.caller is not None and not evaluate(allow_only, r.request).allowed:
            callers.setdefault(r.caller, []).append(r)
    for caller, requests in callers.items():
        actions = ", ".join(dict.fromkeys(r.request.action for r in requests))
        findings.append(
            Finding(
                FindingCode.SOURCE_CALLER_CANNOT_USE_KEY,
                Severity.ERROR,
                f"The key policy of {key.display_name} does not let {_caller_words(caller)} "
                f"use the key ({actions})." + _uncertain(requests),
                f"The wizard adds {req.SID_CALLER_KEY_USE} for that caller; its own account "
                "must allow the same in its IAM policy (cwl-export-wizard iam-policy --source "
                "prints it).",
                requests[0].aws_error,
            )
        )
    key_requests = [r for r in every if r.caller is None]
    blocked = next((r for r in key_requests if not evaluate(allow_only, r.request).allowed), None)
    if blocked is not None:
        findings.append(_key_blocked_finding(doc, key, blocked, bucket_key))
    elif doc is not None:
        findings.extend(_unconfirmed_context_findings(doc, key, key_requests))
    return findings


def _unconfirmed_context_findings(
    doc: PolicyDocument, key: KeyState, requests: Sequence[req.ServiceRequest]
) -> list[Finding]:
    """The key policy allows the export only because of a condition key whose presence in
    S3's request to KMS is an assumption (requirements.KMS_REQUEST_CONTEXT)."""
    relied: list[str] = []
    for service_request in requests:
        evaluation = evaluate(doc, service_request.request)
        if not evaluation.allowed:
            continue
        uncertain = [
            [c.key for c in s.conditions if c.key.lower() in req.UNCONFIRMED_KMS_KEYS]
            for s in evaluation.deciding
        ]
        if all(uncertain):  # no allowing statement stands without an assumption
            for name in (n for names in uncertain for n in names):
                if name not in relied:
                    relied.append(name)
    if not relied:
        return []
    return [
        Finding(
            FindingCode.KEY_CONDITION_UNCONFIRMED,
            Severity.WARNING,
            f"The key policy of {key.display_name} lets CloudWatch Logs use the key only under "
            f"conditions on {', '.join(relied)}. Whether S3 sends "
            f"{'that key' if len(relied) == 1 else 'those keys'} to KMS for an export is not "
            "documented, so the wizard cannot promise that exports pass them.",
            "Run a test export to be sure; if it fails with a KMS error, add a statement "
            f"without those conditions (the wizard's {req.SID_KEY_USE} has none).",
        )
    ]


def _key_blocked_finding(
    doc: PolicyDocument | None,
    key: KeyState,
    service_request: req.ServiceRequest,
    bucket_key: bool,
) -> Finding:
    request = service_request.request
    principal = request.principal.id
    fix = (
        f"The wizard adds its own statement ({req.SID_KEY_USE}) letting {principal} use the "
        "key for kms:GenerateDataKey and kms:Decrypt; every other statement stays as it is."
    )
    by_condition, _ = near_misses(doc, request)
    context = (
        "the bucket's ARN, since S3 Bucket Key is on"
        if bucket_key
        else "each object's ARN, since S3 Bucket Key is off"
    )
    if by_condition:
        details = "; ".join(
            f"{s.label}: " + ", ".join(failing_conditions(s, request)) for s in by_condition
        )
        logs_note = (
            " Conditions on kms:EncryptionContext:aws:logs:arn are written for log-group "
            "encryption."
            if "aws:logs:arn" in details
            else ""
        )
        return Finding(
            FindingCode.KEY_CONTEXT_MISMATCH,
            Severity.ERROR,
            f"The key policy of {key.display_name} has a statement for CloudWatch Logs, but its "
            "conditions do not match what S3 sends when it encrypts an export (encryption "
            f"context aws:s3:arn = {context}).{logs_note} {details}.",
            fix,
            service_request.aws_error,
            tuple(s.label for s in by_condition),
        )
    return Finding(
        FindingCode.KEY_POLICY_BLOCKS_LOGS,
        Severity.ERROR,
        f"The key policy of {key.display_name} does not let CloudWatch Logs ({principal}) use "
        "the key, so S3 cannot encrypt the exported objects with it (kms:GenerateDataKey).",
        fix,
        service_request.aws_error,
    )
