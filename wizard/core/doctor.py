"""The doctor: would a CloudWatch Logs export to this destination work, and if not, why?

``diagnose`` predicts the export by judging the calls the service makes
(``requirements.service_requests``) against the bucket policy and the key policy with the
same evaluator the sandbox uses (those rules: ``policy_findings``), and adds the structural
rules of docs/service-facts.md held here (region, encryption type, key kind and state, one
active task per region).

The key the export would use is decided once, in ``key_in_use``; the planner imports it and
``key_problems``/``bucket_problems`` so that the doctor and the plan never disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wizard.core import keys, wording
from wizard.core import requirements as req
from wizard.core.findings import Finding, FindingCode, Severity, sort_findings
from wizard.core.key_in_use import KeyInUse, KeyMode, key_in_use, refers_to
from wizard.core.keys import KeyDefect
from wizard.core.policy_findings import bucket_policy_findings, key_policy_findings
from wizard.core.state import (
    ACTIVE_TASK_STATUSES,
    AWS_MANAGED_S3_ALIAS,
    DSSE_KMS,
    KEY_MANAGER_AWS,
    SSE_KMS,
    SSE_S3,
    Choices,
    KeyState,
    Snapshot,
)

if TYPE_CHECKING:  # iam_policy builds on the planner, which builds on the doctor
    from wizard.core.iam_policy import PermissionCheck


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
        findings.extend(bucket_policy_findings(snapshot, choices))
    if not key_errors and use.mode in (KeyMode.CHOSEN, KeyMode.BUCKET):
        findings.extend(key_policy_findings(snapshot, choices, use))
    findings.extend(_log_group_findings(snapshot, choices))
    findings.extend(_task_findings(snapshot))
    return sort_findings(findings)


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
