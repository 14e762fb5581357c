"""The doctor: would a CloudWatch Logs export to this destination work, and if not, why?

``diagnose`` predicts the export by judging the calls the service makes
(``requirements.service_requests``) against the bucket policy and the key policy with the
same evaluator the sandbox uses, and adds the structural rules of docs/service-facts.md (region,
encryption type, key kind and state, one active task per region).

The key the export would use is decided once, in ``key_in_use``; the planner imports it and
``key_problems``/``bucket_problems`` so that the doctor and the plan never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from wizard.core import keys, wording
from wizard.core import requirements as req
from wizard.core.arn import key_arn as make_key_arn
from wizard.core.arn import logs_principal, parse_arn
from wizard.core.errors import PolicyError
from wizard.core.evaluate import (
    Decision,
    Evaluation,
    Request,
    evaluate,
    statement_applies,
    unknown_operators,
)
from wizard.core.findings import FindingCode
from wizard.core.keys import KeyDefect
from wizard.core.policy import (
    BUCKET_POLICY_LIMIT,
    KEY_POLICY_LIMIT,
    PolicyDocument,
    Statement,
    parse_policy,
    policy_size,
    upsert_statements,
)
from wizard.core.state import (
    ACTIVE_TASK_STATUSES,
    AWS_MANAGED_S3_ALIAS,
    DSSE_KMS,
    KEY_MANAGER_AWS,
    SSE_KMS,
    SSE_S3,
    Choices,
    Destination,
    KeyState,
    Snapshot,
)

if TYPE_CHECKING:  # iam_policy builds on the planner, which builds on the doctor
    from wizard.core.iam_policy import PermissionCheck


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    code: FindingCode  # stable, e.g. BUCKET_POLICY_BLOCKS_GETBUCKETACL
    severity: Severity
    message: str  # plain words: what is wrong
    fix: str  # what to do / what the wizard will do
    aws_error: str | None = None  # the AWS error text this causes, where one applies
    statements: tuple[str, ...] = ()  # labels of the statements involved (e.g. the Deny)


# The condition keys that tie a service principal's access to one account's resources.
SCOPE_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn"})

NEVER_EDITS_FOREIGN = "The wizard never edits a statement it did not write."


# --------------------------------------------------------------------------- the key in use


class KeyMode(str, Enum):
    NEW = "new"  # the wizard creates a key (choices.create_key_alias)
    CHOSEN = "chosen"  # the user chose an existing key (choices.key)
    BUCKET = "bucket"  # repair: the key the bucket already encrypts with
    NONE = "none"  # no SSE-KMS key at all (SSE-S3 or no default encryption, nothing chosen)


@dataclass(frozen=True)
class KeyInUse:
    mode: KeyMode
    reference: str | None  # the user's reference, the bucket's KMSMasterKeyID, or the new alias
    key: KeyState | None  # the described key, when it exists
    arn: str | None  # the key's ARN when known (never for NEW)

    @property
    def name(self) -> str:
        if self.key is not None:
            return self.key.display_name
        return self.reference or "(no key)"


def _key_id_of(key: KeyState) -> str | None:
    if key.key_id:
        return key.key_id
    parsed = parse_arn(key.arn) if key.arn else None
    if parsed and parsed.resource.startswith("key/"):
        return parsed.resource[len("key/") :]
    return None


def refers_to(reference: str | None, key: KeyState | None) -> bool:
    """Whether a key id, key ARN, alias or alias ARN (as S3 or a person wrote it) names ``key``."""
    if not reference or key is None:
        return False
    key_id = _key_id_of(key)
    names = {n for n in (key_id, key.arn, *key.aliases) if n}
    if reference in names:
        return True
    parsed = parse_arn(reference)
    if parsed is None or parsed.service != "kms":
        return False
    resource = parsed.resource
    if resource.startswith("key/") and key_id is not None and resource[len("key/") :] == key_id:
        return True
    return resource.startswith("alias/") and resource in key.aliases


def _arn_of(key: KeyState | None, reference: str | None, snapshot: Snapshot) -> str | None:
    if key is not None:
        if key.arn:
            return key.arn
        key_id = _key_id_of(key)
        if key_id:
            return make_key_arn(
                key.region or snapshot.region,
                snapshot.identity.account,
                key_id,
                snapshot.identity.partition,
            )
    parsed = parse_arn(reference) if reference else None
    if parsed is not None and parsed.resource.startswith("key/"):
        return reference
    return None


def key_in_use(snapshot: Snapshot, choices: Choices) -> KeyInUse:
    """The key the export would encrypt with once the wizard is done."""
    described = snapshot.key if snapshot.key is not None and snapshot.key.exists else None
    if choices.create_key_alias:
        alias = choices.create_key_alias
        # A second run after the key was created finds it under its alias: reuse it.
        if described is not None and alias in described.aliases:
            return KeyInUse(KeyMode.CHOSEN, alias, described, _arn_of(described, alias, snapshot))
        return KeyInUse(KeyMode.NEW, alias, None, None)
    if choices.key:
        return KeyInUse(
            KeyMode.CHOSEN, choices.key, described, _arn_of(described, choices.key, snapshot)
        )
    encryption = snapshot.bucket.encryption if snapshot.bucket.exists else None
    if encryption is not None and encryption.algorithm in (SSE_KMS, DSSE_KMS):
        reference = encryption.kms_key_id
        arn = _arn_of(described, reference, snapshot)
        return KeyInUse(KeyMode.BUCKET, reference, described, arn)
    return KeyInUse(KeyMode.NONE, None, None, None)


def alias_conflict(snapshot: Snapshot, choices: Choices) -> tuple[str, str] | None:
    """(problem, fix) when ``create_key_alias`` names an alias that already exists on a key
    the wizard did not create: creating a key was asked for, so patching another is refused."""
    alias = choices.create_key_alias
    key = snapshot.key
    if not alias or key is None or not key.exists or alias not in key.aliases:
        return None
    if key.created_by_wizard:
        return None
    return (
        f"The alias {alias} already exists in {choices.region} (key {key.key_id}); "
        "--create-key would not create a key but change that key's policy.",
        f"To use that key, pass --key {alias}; to create a new key, choose another alias.",
    )


def key_problems(use: KeyInUse, snapshot: Snapshot, choices: Choices) -> list[Finding]:
    """Errors that make the key in use unusable for exports; the planner blocks on them."""
    if use.mode in (KeyMode.NEW, KeyMode.NONE):
        return []
    key = use.key
    whose = "The key you chose" if use.mode is KeyMode.CHOSEN else "The bucket's encryption key"
    choose = (
        "Choose a customer managed, enabled, symmetric key in "
        f"{choices.region}, or let the wizard create one."
    )
    if key is None:
        if use.mode is KeyMode.BUCKET and keys.is_aws_managed_reference(use.reference):
            return [_aws_managed_finding(whose, use.reference or AWS_MANAGED_S3_ALIAS, choose)]
        key = KeyState(use.reference or "", exists=False)
    found: list[Finding] = []
    for defect in keys.defects(key, choices.region):
        if defect is KeyDefect.MISSING:
            message = (
                f"{whose} ({use.reference}) was not found in {choices.region}, or you may not "
                "describe it. S3 does not check the key, so exports would fail when they write."
            )
            fix = f"Check the key id or alias. {choose}"
        elif defect is KeyDefect.AWS_MANAGED:
            found.append(_aws_managed_finding(whose, key.display_name, choose))
            continue
        elif defect is KeyDefect.NOT_ENABLED:
            message = (
                f"{whose} ({key.display_name}) is {key.state or 'not enabled'}: KMS refuses to "
                "make data keys with it, so S3 cannot encrypt the exported objects."
            )
            fix = f"Enable the key (or cancel its deletion) in the KMS console. {choose}"
        elif defect is KeyDefect.NOT_SYMMETRIC:
            message = (
                f"{whose} ({key.display_name}) is a {key.spec or 'non-symmetric'} key for "
                f"{key.usage or 'other uses'}; S3 encrypts only with symmetric "
                "encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)."
            )
            fix = choose
        else:
            message = (
                f"{whose} ({key.display_name}) is in {keys.key_region(key)}, but the bucket and "
                f"the log group are in {choices.region}: S3 can only use a key from its own "
                "region."
            )
            fix = choose
        found.append(Finding(defect.code, Severity.ERROR, message, fix, req.ERR_PUT_OBJECT_KMS))
    return found


def _aws_managed_finding(whose: str, name: str, choose: str) -> Finding:
    return Finding(
        FindingCode.KEY_AWS_MANAGED,
        Severity.ERROR,
        f"{whose} ({name}) is the AWS managed key for S3. Its key policy belongs to AWS and "
        "cannot be changed, so it can never let CloudWatch Logs encrypt the exported objects.",
        choose,
        req.ERR_PUT_OBJECT_KMS,
    )


# --------------------------------------------------------------------------- the bucket


def bucket_problems(snapshot: Snapshot, choices: Choices) -> list[Finding]:
    """Errors that make the bucket unusable as it is named (policy checks make no sense then)."""
    bucket = snapshot.bucket
    if bucket.unreadable:
        return [
            Finding(
                FindingCode.BUCKET_NOT_READABLE,
                Severity.ERROR,
                f"You may not read the bucket {bucket.name} ({bucket.unreadable}): it is in your "
                "account, but these credentials cannot look at it, so the wizard can neither "
                "check nor change it.",
                f"Grant your identity {bucket.unreadable} on arn:"
                f"{snapshot.identity.partition}:s3:::{bucket.name} (see cwl-export-wizard "
                "iam-policy), or use a profile that has it.",
            )
        ]
    if not bucket.owned:
        return [
            Finding(
                FindingCode.BUCKET_NOT_OWNED,
                Severity.ERROR,
                f"The bucket name {bucket.name} is taken by another AWS account (S3 refuses to "
                "show it to you, and it is not among your account's buckets). Bucket names are "
                "global, and the wizard only sets up buckets in your own account.",
                "Choose another bucket name (the wizard can create the bucket for you).",
                req.ERR_BUCKET_MISSING,
            )
        ]
    if not bucket.exists:
        if choices.create_bucket:
            return []
        return [
            Finding(
                FindingCode.BUCKET_NOT_FOUND,
                Severity.ERROR,
                f"The bucket {bucket.name} does not exist (or you cannot see it).",
                "Check the name, or let the wizard create the bucket.",
                req.ERR_BUCKET_MISSING,
            )
        ]
    if bucket.region is not None and bucket.region != choices.region:
        return [
            Finding(
                FindingCode.BUCKET_WRONG_REGION,
                Severity.ERROR,
                f"The bucket {bucket.name} is in {bucket.region}, but CloudWatch Logs exports "
                f"only to a bucket in the log group's region ({choices.region}).",
                f"Choose a bucket in {choices.region}, or let the wizard create one there.",
            )
        ]
    return []


def _encryption_findings(
    snapshot: Snapshot, choices: Choices, use: KeyInUse, key_ok: bool
) -> list[Finding]:
    bucket = snapshot.bucket
    encryption = bucket.encryption
    algorithm = encryption.algorithm if encryption is not None else None
    will_set = use.mode in (KeyMode.NEW, KeyMode.CHOSEN) and key_ok
    if algorithm == DSSE_KMS:
        fix = (
            f"The wizard replaces it with SSE-KMS under {use.name}."
            if will_set
            else "Choose a customer managed key (or let the wizard create one): the wizard then "
            "sets SSE-KMS with it."
        )
        return [
            Finding(
                FindingCode.BUCKET_DSSE_UNSUPPORTED,
                Severity.ERROR,
                f"The bucket {bucket.name} uses dual-layer encryption (DSSE-KMS), which "
                "CloudWatch Logs exports do not support.",
                fix,
            )
        ]
    if algorithm != SSE_KMS:
        what = {SSE_S3: "SSE-S3 (AES256)", None: "no default encryption"}.get(
            algorithm, f"{algorithm} encryption"
        )
        fix = (
            f"The wizard sets SSE-KMS with {use.name} (S3 Bucket Key on)."
            if will_set
            else "Choose a customer managed key (or let the wizard create one): the wizard then "
            "sets SSE-KMS with it."
        )
        return [
            Finding(
                FindingCode.BUCKET_NOT_KMS,
                Severity.WARNING,
                f"The bucket {bucket.name} uses {what}. Exports work, but the objects are not "
                "encrypted with your own KMS key.",
                fix,
            )
        ]
    assert encryption is not None  # algorithm is SSE_KMS
    if will_set and (use.mode is KeyMode.NEW or not refers_to(encryption.kms_key_id, use.key)):
        current = encryption.kms_key_id
        current_key = snapshot.bucket_key
        if keys.is_aws_managed_reference(current) or (
            current_key is not None and current_key.manager == KEY_MANAGER_AWS
        ):
            return [
                Finding(
                    FindingCode.KEY_AWS_MANAGED,
                    Severity.ERROR,
                    f"The bucket {bucket.name} encrypts with the AWS managed key aws/s3. Its key "
                    "policy cannot be changed, so exports to the bucket fail as it is.",
                    f"The wizard switches the bucket's default encryption to {use.name}.",
                    req.ERR_PUT_OBJECT_KMS,
                )
            ]
        return [
            Finding(
                FindingCode.KEY_MISMATCH,
                Severity.INFO,
                f"The bucket {bucket.name} encrypts new objects with another key ({current}), "
                f"not {use.name}.",
                f"The wizard switches the bucket's default encryption to {use.name}. Objects "
                "already in the bucket keep the key they were written with.",
            )
        ]
    if use.mode is not KeyMode.NONE and key_ok and not encryption.bucket_key:
        return [
            Finding(
                FindingCode.BUCKET_KEY_OFF,
                Severity.INFO,
                f"S3 Bucket Key is off for {bucket.name}: every object written costs a KMS "
                "request, and the encryption context is the object, not the bucket.",
                "The wizard turns S3 Bucket Key on (as AWS documents for exports).",
            )
        ]
    return []


# --------------------------------------------------------------------------- explaining


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


def _failing_conditions(statement: Statement, request: Request) -> list[str]:
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


def _near_misses(
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


def without_denies(doc: PolicyDocument) -> PolicyDocument:
    """The document as if its Deny statements were gone: is there an Allow at all?"""
    return dataclasses.replace(
        doc, statements=tuple(s for s in doc.statements if s.effect != "Deny")
    )


def _deny_finding(
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
    finding = _deny_finding(policy_name, statement, requests)
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


# --------------------------------------------------------------------------- policies


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


def _bucket_policy_findings(snapshot: Snapshot, choices: Choices) -> list[Finding]:
    findings: list[Finding] = []
    doc, readable = _parse(snapshot.bucket.policy, "bucket policy", BUCKET_POLICY_LIMIT, findings)
    if not readable:
        return findings
    dest = Destination.of(snapshot.identity, choices)
    bucket = snapshot.bucket
    every = req.destination_requests(dest, choices.log_group, acls_enabled=bucket.acls_enabled)
    evaluations = evaluate_requests(doc, (r for r in every if r.target == "bucket"))
    for statement, requests in deny_groups(evaluations).values():
        findings.append(_deny_finding("bucket policy", statement, requests))

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
                "the first thing an export does." + _near_miss_note(doc, acl[0].request),
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
                f"{choices.prefix}/ (s3:PutObject)." + _near_miss_note(doc, put[0].request),
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


def _near_miss_note(doc: PolicyDocument | None, request: Request) -> str:
    by_condition, by_resource = _near_misses(doc, request)
    notes: list[str] = []
    for statement in by_condition:
        failing = "; ".join(_failing_conditions(statement, request))
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


def _key_policy_findings(snapshot: Snapshot, choices: Choices, use: KeyInUse) -> list[Finding]:
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
        findings.append(_deny_finding("key policy", statement, requests))
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


def effective_bucket_key(snapshot: Snapshot, use: KeyInUse) -> bool:
    """Whether S3 Bucket Key will be on when this key encrypts exports: as the bucket has it
    when it already encrypts with the key, else on (the wizard turns it on when it sets the
    key). It decides the encryption context KMS sees (see requirements.service_requests)."""
    bucket = snapshot.bucket
    encryption = bucket.encryption if bucket.exists else None
    if (
        encryption is not None
        and encryption.algorithm == SSE_KMS
        and use.mode is not KeyMode.NEW
        and (use.mode is KeyMode.BUCKET or refers_to(encryption.kms_key_id, use.key))
    ):
        return encryption.bucket_key
    return True


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
    by_condition, _ = _near_misses(doc, request)
    context = (
        "the bucket's ARN, since S3 Bucket Key is on"
        if bucket_key
        else "each object's ARN, since S3 Bucket Key is off"
    )
    if by_condition:
        details = "; ".join(
            f"{s.label}: " + ", ".join(_failing_conditions(s, request)) for s in by_condition
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


# --------------------------------------------------------------------------- the rest


def _log_group_findings(snapshot: Snapshot, choices: Choices) -> list[Finding]:
    group = snapshot.log_group
    if not choices.log_group or group is None or group.exists:
        return []
    return [
        Finding(
            FindingCode.LOG_GROUP_NOT_FOUND,
            Severity.ERROR,
            f"The log group {choices.log_group} does not exist in {choices.region}.",
            "Check the name and the region, or choose another log group.",
        )
    ]


def _task_findings(snapshot: Snapshot) -> list[Finding]:
    active = [t for t in snapshot.active_tasks if t.status in ACTIVE_TASK_STATUSES]
    if not active:
        return []
    return [
        Finding(
            FindingCode.EXPORT_TASK_ACTIVE,
            Severity.WARNING,
            wording.export_busy(snapshot.region, active),
            "Wait for it to finish, or cancel it; a new export started now fails.",
            req.ERR_LIMIT_EXCEEDED,
        )
    ]


def diagnose(snapshot: Snapshot, choices: Choices) -> list[Finding]:
    """Every finding for this destination, most important first."""
    findings: list[Finding] = []
    use = key_in_use(snapshot, choices)
    bucket = snapshot.bucket
    bucket_errors = bucket_problems(snapshot, choices)
    findings.extend(bucket_errors)
    bucket_usable = not bucket_errors and bucket.exists
    if bucket.owned and not bucket.exists and choices.create_bucket:
        findings.append(
            Finding(
                FindingCode.BUCKET_WILL_BE_CREATED,
                Severity.INFO,
                f"The bucket {bucket.name} does not exist yet.",
                f"The wizard creates it in {choices.region}: public access blocked, ACLs "
                "disabled, SSE-KMS default encryption and a policy for CloudWatch Logs.",
            )
        )
    if bucket_usable and choices.create_bucket:
        findings.append(
            Finding(
                FindingCode.BUCKET_ALREADY_EXISTS,
                Severity.INFO,
                f"The bucket {bucket.name} already exists in your account.",
                "The wizard uses it as it is and only adds what exports need.",
            )
        )

    key_errors = key_problems(use, snapshot, choices)
    findings.extend(key_errors)
    if choices.create_key_alias and use.mode is KeyMode.CHOSEN and use.key is not None:
        findings.append(
            Finding(
                FindingCode.KEY_REUSED,
                Severity.INFO,
                f"The key {choices.create_key_alias} ({use.key.key_id}) was created by the "
                "wizard earlier.",
                "The wizard reuses it instead of creating another key.",
            )
        )
    if use.mode is KeyMode.NEW:
        findings.append(
            Finding(
                FindingCode.KEY_WILL_BE_CREATED,
                Severity.INFO,
                f"The key {use.reference} does not exist yet.",
                "The wizard creates a symmetric customer managed key with that alias; its policy "
                "keeps your account's full control (kms:*) and lets CloudWatch Logs use it.",
            )
        )
    if bucket_usable:
        findings.extend(_encryption_findings(snapshot, choices, use, not key_errors))
        findings.extend(_bucket_policy_findings(snapshot, choices))
    if not key_errors and use.mode in (KeyMode.CHOSEN, KeyMode.BUCKET):
        findings.extend(_key_policy_findings(snapshot, choices, use))
    findings.extend(_log_group_findings(snapshot, choices))
    findings.extend(_task_findings(snapshot))
    return sort_findings(findings)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most important first (errors, warnings, then notes); otherwise as found."""
    return sorted(findings, key=lambda f: _SEVERITY_RANK[f.severity])


def is_healthy(findings: Iterable[Finding]) -> bool:
    """No ERROR finding: an export is expected to succeed (warnings may remain)."""
    return all(f.severity is not Severity.ERROR for f in findings)


def permission_findings(check: PermissionCheck | None, iam_policy_hint: str) -> list[Finding]:
    """The caller's own permissions for the plan, as IAM's policy simulator judged them."""
    if check is None:
        return []
    if check.skipped is not None:
        return [
            Finding(
                FindingCode.PERMISSION_CHECK_SKIPPED,
                Severity.INFO,
                f"Your own permissions were not checked before the apply: {check.skipped}.",
                f"Compare your policy with: {iam_policy_hint}",
            )
        ]
    if not check.denied:
        return []
    by_stage: dict[str, list[str]] = {}
    for need in check.denied:
        by_stage.setdefault(need.why, []).append(f"{need.action} on {need.resource}")
    what = "; ".join(f"{stage}: {', '.join(items)}" for stage, items in by_stage.items())
    return [
        Finding(
            FindingCode.CALLER_MAY_NOT,
            Severity.WARNING,
            f"Your policies (as IAM's simulator sees {check.principal}) do not allow what the "
            f"wizard needs for {what}. The apply would stop at that step and roll back.",
            f"Attach the policy printed by: {iam_policy_hint}",
        )
    ]


def source_permission_findings(check: PermissionCheck, iam_policy_hint: str) -> list[Finding]:
    """The source account's caller's own policy (a central logging account), as IAM's
    simulator in that account judged it: cross-account access needs both sides."""
    if check.skipped is not None:
        return [
            Finding(
                FindingCode.SOURCE_PERMISSION_CHECK_SKIPPED,
                Severity.INFO,
                f"The source account's caller was not checked: {check.skipped}.",
                f"Compare its policy with: {iam_policy_hint}",
            )
        ]
    if not check.denied:
        return []
    what = ", ".join(f"{n.action} on {n.resource}" for n in check.denied)
    return [
        Finding(
            FindingCode.SOURCE_CALLER_MAY_NOT,
            Severity.ERROR,
            f"The source account's caller ({check.principal}) may not, by its own policies, "
            f"do what an export into this destination needs: {what}. The destination's "
            "policies cannot make up for that: cross-account access needs both sides.",
            f"Attach this policy to it, in its account: {iam_policy_hint}",
            req.ERR_CALLER_PUT_OBJECT
            if any(n.action.startswith("s3:") for n in check.denied)
            else None,
        )
    ]
