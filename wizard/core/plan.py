"""The planner: the smallest set of changes that makes a destination work, in apply order.

Rules (see docs/service-facts.md):
- A healthy destination gets an empty plan: statements are added only when the evaluator says
  a service request is not allowed, so a policy that already works (say, with the statements
  AWS documents under other Sids) is left alone.
- Policies are patched, never replaced: a statement is the wizard's own only when its content
  says so (``core.grants``); only those ever grow, in one dimension at a time, and every other
  statement (whatever its Sid) keeps its content and its place.
- A foreign explicit Deny is never fixed silently: it becomes a blocker naming the statement.
- An unusable key, a bucket of another account or region, an unreadable policy or a result
  over the size limit is a blocker, and the change it concerns is left out.
- Every "before" comes from ``current_document`` so the AWS layer can detect drift by
  re-reading the state and comparing.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from wizard.core import requirements as req
from wizard.core.actions import (
    NEW_KEY_ARN,
    OBJECT_OWNERSHIP,
    ROTATION_ON,
    US_EAST_1,
    alias_document,
    create_bucket_document,
    current_document,
    encryption_document,
    ownership_document,
    public_access_block_document,
)
from wizard.core.arn import account_root_arn, log_group_arn, logs_principal
from wizard.core.change import Action, Change, Plan
from wizard.core.diff import unified
from wizard.core.doctor import bucket_problems, key_problems
from wizard.core.evaluate import evaluate
from wizard.core.explain import deny_blocker, deny_groups, evaluate_requests, without_denies
from wizard.core.findings import Finding
from wizard.core.grants import Grant, Merge, condition_values, listed, merge
from wizard.core.key_in_use import KeyInUse, KeyMode, key_in_use, refers_to
from wizard.core.policy import (
    BUCKET_POLICY_LIMIT,
    KEY_POLICY_LIMIT,
    PolicyDocument,
    canonical_json,
    empty_policy,
    parse_policy,
    policy_size,
    wire_json,
)

__all__ = [  # the registry's names that callers of the planner use
    "NEW_KEY_ARN",
    "OBJECT_OWNERSHIP",
    "US_EAST_1",
    "build",
    "current_document",
]
from wizard.core.errors import PolicyError
from wizard.core.state import (
    DSSE_KMS,
    SSE_KMS,
    BucketState,
    Choices,
    Destination,
    Snapshot,
)


def _change(
    action: Action,
    target: str,
    summary: str,
    before: str | None,
    after: str | None,
    params: Mapping[str, str],
    notes: tuple[str, ...] = (),
    before_text: str | None = None,
    after_text: str | None = None,
) -> Change:
    label = f"{action.value} {target}"
    diff = unified(before, after, label)
    return Change(
        action, target, summary, before, after, diff, params, notes, before_text, after_text
    )


# --------------------------------------------------------------------------- helpers


def _blocker(finding: Finding) -> str:
    return f"{finding.message} {finding.fix}"


def _count_phrase(added: int, updated: int, noun: str) -> str:
    def count(n: int) -> str:
        return f"{n} {noun}" + ("" if n == 1 else "s")

    if added and updated:
        return f"Add {count(added)} and update {count(updated)}"
    if updated:
        return f"Update {count(updated)}"
    return f"Add {count(added)}"


def _others_stay(others: int) -> str:
    if others <= 0:
        return ""
    return (
        "; the other statement stays as it is"
        if others == 1
        else (f"; the other {others} statements stay as they are")
    )


def _account_may_manage(doc: PolicyDocument, account: str) -> bool:
    """Does some Allow statement let a principal of this account call kms:PutKeyPolicy?

    Lenient on purpose (conditions are ignored): it only catches policies that nobody in
    the account could change, which KMS would refuse or the lockout check would stop.
    """

    def covers(patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase("kms:putkeypolicy", p.lower()) for p in patterns)

    for statement in doc.statements:
        if statement.effect != "Allow" or statement.principal is None:
            continue
        if statement.actions is not None and not covers(statement.actions):
            continue
        if statement.not_actions is not None and covers(statement.not_actions):
            continue
        principals = [*statement.principal.get("AWS", ()), *statement.principal.get("*", ())]
        for entry in principals:
            if entry in ("*", account) or f":{account}:" in entry:
                return True
    return False


# --------------------------------------------------------------------------- the key


def _key_target(use: KeyInUse) -> str:
    return f"KMS key {use.name} ({use.arn})" if use.arn else f"KMS key {use.name}"


def _new_key_changes(dest: Destination, alias: str) -> list[Change]:
    target = f"new KMS key {alias}"
    description = f"CloudWatch Logs exports to s3://{dest.bucket} (created by cwl-export-wizard)"
    return [
        _change(
            Action.CREATE_KEY,
            target,
            "Create a symmetric customer managed KMS key that CloudWatch Logs may use, "
            "with your account keeping full control (kms:*)",
            None,
            canonical_json(req.new_key_policy(dest)),
            {"alias": alias, "description": description, "region": dest.region},
            (req.KEY_STATEMENT_NOTE,),
        ),
        _change(
            Action.ENABLE_KEY_ROTATION,
            target,
            "Turn on automatic yearly rotation of the new key",
            None,
            ROTATION_ON,
            {"key_id": NEW_KEY_ARN, "region": dest.region},
        ),
        _change(
            Action.CREATE_ALIAS,
            target,
            f"Name the new key {alias}",
            None,
            canonical_json(alias_document(alias, NEW_KEY_ARN)),
            {"alias": alias, "key_id": NEW_KEY_ARN, "region": dest.region},
        ),
    ]


def _key_policy_change(
    use: KeyInUse, snapshot: Snapshot, choices: Choices, dest: Destination
) -> tuple[Change | None, list[str]]:
    key = use.key
    assert key is not None and use.arn is not None
    if key.policy is None:
        return None, [
            f"The key policy of {key.display_name} could not be read, so the wizard cannot add "
            "CloudWatch Logs to it without risking the rest. Allow yourself kms:GetKeyPolicy "
            "on the key and run the wizard again."
        ]
    try:
        doc = parse_policy(key.policy, kind="key policy")
    except PolicyError as exc:
        return None, [
            f"The key policy of {key.display_name} cannot be read: {exc.message} "
            "Correct it yourself; the wizard will not overwrite a policy it cannot read."
        ]
    # Judged as the plan leaves the bucket: S3 Bucket Key on (the encryption context is the
    # bucket's ARN), whatever it is now.
    requests = [
        r
        for r in req.destination_requests(dest, choices.log_group, use.arn, bucket_key=True)
        if r.target == "key"
    ]
    blockers = [
        deny_blocker("key policy", statement, blocked)
        for statement, blocked in deny_groups(evaluate_requests(doc, requests)).values()
    ]
    allow_only = without_denies(doc)
    refused = [r for r in requests if not evaluate(allow_only, r.request).allowed]
    if not refused:
        return None, blockers
    grants: list[Grant] = []
    if any(r.caller is None for r in refused):
        grants.extend(_fixed_grant(s) for s in req.key_statements(dest))
    caller_statement = req.caller_key_statement(dest)
    callers = _refused_callers(refused)
    if caller_statement is not None and callers:
        grants.append(_caller_grant(dest, caller_statement, callers))
    merged = merge(doc, grants, kind="key policy")
    if not merged.placements:
        return None, blockers
    new_doc = merged.document
    size = policy_size(new_doc)
    if size > KEY_POLICY_LIMIT:
        return None, [
            *blockers,
            f"With the statement CloudWatch Logs needs, the key policy of {key.display_name} "
            f"would be {size} bytes, over AWS's limit of {KEY_POLICY_LIMIT} bytes. Remove "
            "statements that are no longer needed, then run the wizard again.",
        ]
    if not _account_may_manage(new_doc, dest.account):
        return None, [
            *blockers,
            f"The key policy of {key.display_name} lets no principal of account {dest.account} "
            "change it (kms:PutKeyPolicy), so KMS would refuse the wizard's change. Ask whoever "
            "administers the key to add the statement "
            f"{req.SID_KEY_USE} for {logs_principal(dest.region)}.",
        ]
    whom = " and ".join(
        who
        for who, present in (
            (
                f"CloudWatch Logs ({logs_principal(dest.region)})",
                any(r.caller is None for r in refused),
            ),
            ("the export callers of other accounts", bool(callers)),
        )
        if present
    )
    change = _change(
        Action.PUT_KEY_POLICY,
        _key_target(use),
        f"{_count_phrase(merged.added, merged.extended, 'statement')} letting {whom} "
        "use the key" + _others_stay(len(doc.statements) - merged.extended),
        current_document(Action.PUT_KEY_POLICY, snapshot.bucket, key),
        canonical_json(new_doc),
        {"key_id": use.arn, "region": dest.region},
        (*merged.notes, req.KEY_STATEMENT_NOTE),
        key.policy,
        wire_json(new_doc),
    )
    return change, blockers


# --------------------------------------------------------------------------- the bucket


def _new_bucket_changes(dest: Destination) -> list[Change]:
    target = f"s3://{dest.bucket}"
    params = {"bucket": dest.bucket, "region": dest.region}
    return [
        _change(
            Action.CREATE_BUCKET,
            target,
            f"Create the bucket {dest.bucket} in {dest.region}",
            None,
            canonical_json(create_bucket_document(dest.bucket, dest.region)),
            params,
        ),
        _change(
            Action.PUT_PUBLIC_ACCESS_BLOCK,
            target,
            "Block all public access to the new bucket",
            None,
            canonical_json(public_access_block_document()),
            params,
        ),
        _change(
            Action.PUT_OWNERSHIP_CONTROLS,
            target,
            "Turn ACLs off on the new bucket: the bucket owner owns every object",
            None,
            canonical_json(ownership_document(OBJECT_OWNERSHIP)),
            params,
        ),
    ]


def _needs_encryption(bucket: BucketState, use: KeyInUse) -> bool:
    encryption = bucket.encryption if bucket.exists else None
    if encryption is None or encryption.algorithm != SSE_KMS or not encryption.bucket_key:
        return True
    if use.mode is KeyMode.NEW:
        return True
    # Repair keeps the bucket's own key by definition; a chosen key must be the same key.
    return use.mode is KeyMode.CHOSEN and not refers_to(encryption.kms_key_id, use.key)


def _encryption_change(snapshot: Snapshot, dest: Destination, use: KeyInUse, arn: str) -> Change:
    bucket = snapshot.bucket
    before = current_document(Action.PUT_BUCKET_ENCRYPTION, bucket, snapshot.key)
    encryption = bucket.encryption if bucket.exists else None
    name = f"the new key {use.reference}" if use.mode is KeyMode.NEW else use.name
    if (
        encryption is not None
        and encryption.algorithm == SSE_KMS
        and refers_to(encryption.kms_key_id, use.key)
    ):
        summary = f"Turn S3 Bucket Key on for the bucket's key {name}"
    elif encryption is not None and encryption.algorithm == DSSE_KMS:
        summary = f"Replace DSSE-KMS (not supported by exports) with SSE-KMS under {name}"
    else:
        summary = f"Encrypt new objects with {name} by default (SSE-KMS, S3 Bucket Key on)"
    return _change(
        Action.PUT_BUCKET_ENCRYPTION,
        f"s3://{dest.bucket}",
        summary,
        before,
        canonical_json(encryption_document(SSE_KMS, arn, True)),
        {"bucket": dest.bucket, "region": dest.region},
    )


def _logs_grant(dest: Destination, sid: str, accounts: Sequence[str]) -> Grant:
    """A bucket statement for the logs principal, for these source accounts."""
    template = next(s for s in req.bucket_statements(dest) if s["Sid"] == sid)

    def render(resources: Sequence[str], params: Sequence[str]) -> dict[str, Any]:
        body = copy.deepcopy(template)
        body["Resource"] = resources[0] if len(resources) == 1 else list(resources)
        condition = body["Condition"]
        condition["StringEquals"]["aws:SourceAccount"] = list(params)
        condition["ArnLike"]["aws:SourceArn"] = [
            log_group_arn(dest.region, account, "*", dest.partition) for account in params
        ]
        return body

    def read(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
        return condition_values(raw, "StringEquals", "aws:SourceAccount")

    return Grant(sid, (template["Resource"],), tuple(accounts), render, read)


def _caller_grant(dest: Destination, template: dict[str, Any], callers: Sequence[str]) -> Grant:
    """A statement for the CreateExportTask callers of other accounts, for these callers."""

    def render(resources: Sequence[str], params: Sequence[str]) -> dict[str, Any]:
        body = copy.deepcopy(template)
        accounts = list(dict.fromkeys(p.split(":")[4] for p in params if p.count(":") >= 5))
        body["Principal"] = {"AWS": [account_root_arn(a, dest.partition) for a in accounts]}
        body["Resource"] = resources[0] if len(resources) == 1 else list(resources)
        body["Condition"]["ArnLike"]["aws:PrincipalArn"] = list(params)
        return body

    def read(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
        return condition_values(raw, "ArnLike", "aws:PrincipalArn")

    patterns = tuple(req.caller_patterns(tuple(callers)))
    return Grant(template["Sid"], tuple(listed(template["Resource"])), patterns, render, read)


def _fixed_grant(statement: dict[str, Any]) -> Grant:
    """A statement with nothing to merge (the key's: any resource, no condition)."""

    def render(resources: Sequence[str], params: Sequence[str]) -> dict[str, Any]:
        return {**copy.deepcopy(statement), "Resource": statement["Resource"]}

    def read(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
        return ()

    return Grant(statement["Sid"], tuple(listed(statement["Resource"])), (), render, read)


def _refused_accounts(refused: Sequence[req.ServiceRequest], action: str) -> list[str]:
    accounts: list[str] = []
    for r in refused:
        account = r.request.context.get("aws:SourceAccount")
        wanted = r.caller is None and r.request.action == action
        if wanted and isinstance(account, str) and account not in accounts:
            accounts.append(account)
    return accounts


def _refused_callers(refused: Sequence[req.ServiceRequest]) -> list[str]:
    return list(dict.fromkeys(r.caller for r in refused if r.caller is not None))


def _summary_of(merge: Merge, others: int) -> str:
    return _count_phrase(merge.added, merge.extended, "statement")


def _bucket_policy_change(
    snapshot: Snapshot, choices: Choices, dest: Destination
) -> tuple[Change | None, list[str]]:
    bucket = snapshot.bucket
    if not bucket.exists or bucket.policy is None:
        doc = empty_policy()
    else:
        try:
            doc = parse_policy(bucket.policy, kind="bucket policy")
        except PolicyError as exc:
            return None, [
                f"The bucket policy of {bucket.name} cannot be read: {exc.message} Correct it "
                "yourself; the wizard will not overwrite a policy it cannot read."
            ]
    acls = bucket.acls_enabled
    requests = [
        r
        for r in req.destination_requests(dest, choices.log_group, acls_enabled=acls)
        if r.target == "bucket"
    ]
    blockers = [
        deny_blocker("bucket policy", statement, blocked)
        for statement, blocked in deny_groups(evaluate_requests(doc, requests)).values()
    ]
    allow_only = without_denies(doc)
    refused = [r for r in requests if not evaluate(allow_only, r.request).allowed]
    grants: list[Grant] = []
    for sid, action in (
        (req.SID_GET_BUCKET_ACL, "s3:GetBucketAcl"),
        (req.SID_PUT_OBJECT, "s3:PutObject"),
    ):
        accounts = _refused_accounts(refused, action)
        if accounts:
            grants.append(_logs_grant(dest, sid, accounts))
    caller_statement = req.caller_bucket_statement(dest, acls_enabled=acls)
    callers = _refused_callers(refused)
    if caller_statement is not None and callers:
        grants.append(_caller_grant(dest, caller_statement, callers))
    merged = merge(doc, grants, kind="bucket policy")
    new_doc = merged.document
    if not bucket.exists:
        # A bucket the wizard creates refuses requests without TLS from the start.
        new_doc = parse_policy(
            {**new_doc.raw, "Statement": [*new_doc.raw["Statement"], req.tls_only_statement(dest)]},
            kind="bucket policy",
        )
    elif not merged.placements:
        return None, blockers
    added = len(new_doc.statements) - len(doc.statements)
    size = policy_size(new_doc)
    if size > BUCKET_POLICY_LIMIT:
        return None, [
            *blockers,
            f"With the statements CloudWatch Logs needs, the bucket policy of {bucket.name} "
            f"would be {size} bytes, over AWS's limit of {BUCKET_POLICY_LIMIT} bytes. Remove "
            "statements that are no longer needed, then run the wizard again.",
        ]
    before = current_document(Action.PUT_BUCKET_POLICY, bucket, snapshot.key)
    phrase = _count_phrase(merged.added, merged.extended, "statement")
    change = _change(
        Action.PUT_BUCKET_POLICY,
        f"s3://{dest.bucket}",
        f"Create a bucket policy with {added} statements: CloudWatch Logs may "
        "write, requests without TLS are refused"
        if not bucket.exists
        else f"Create a bucket policy with {added} statement"
        f"{'' if added == 1 else 's'} for CloudWatch Logs"
        if before is None
        else f"{phrase} for CloudWatch Logs"
        + (" and the export callers of other accounts" if callers else "")
        + " in the bucket policy"
        + _others_stay(len(doc.statements) - merged.extended),
        before,
        canonical_json(new_doc),
        {"bucket": dest.bucket, "region": dest.region},
        merged.notes,
        bucket.policy if bucket.exists else None,
        wire_json(new_doc),
    )
    return change, blockers


# --------------------------------------------------------------------------- build


def build(snapshot: Snapshot, choices: Choices) -> Plan:
    """The ordered changes that make the destination work, and what stops them (blockers)."""
    dest = Destination.of(snapshot.identity, choices)
    bucket_errors = bucket_problems(snapshot, choices)
    if bucket_errors:
        # Nothing the wizard could change makes a bucket of another account or region work.
        return Plan((), tuple(_blocker(f) for f in bucket_errors), choices)

    use = key_in_use(snapshot, choices)
    key_errors = key_problems(use, snapshot, choices)
    blockers = [_blocker(f) for f in key_errors]
    key_changes: list[Change] = []
    encrypt_with: str | None = None
    if use.mode is KeyMode.NEW and use.reference:
        key_changes = _new_key_changes(dest, use.reference)
        encrypt_with = NEW_KEY_ARN
    elif use.mode in (KeyMode.CHOSEN, KeyMode.BUCKET) and not key_errors and use.arn:
        encrypt_with = use.arn
        change, why = _key_policy_change(use, snapshot, choices, dest)
        key_changes = [change] if change is not None else []
        blockers.extend(why)

    bucket = snapshot.bucket
    bucket_changes = [] if bucket.exists else _new_bucket_changes(dest)
    encryption = bucket.encryption if bucket.exists else None
    if use.mode is KeyMode.BUCKET and encryption is not None and encryption.algorithm == DSSE_KMS:
        # Repair never downgrades dual-layer encryption on its own: the user must choose.
        blockers.append(
            f"The bucket {bucket.name} uses DSSE-KMS, which CloudWatch Logs exports do not "
            "support. Choose a key (or let the wizard create one) to switch it to SSE-KMS."
        )
    elif encrypt_with is not None and _needs_encryption(bucket, use):
        bucket_changes.append(_encryption_change(snapshot, dest, use, encrypt_with))

    policy_change, why = _bucket_policy_change(snapshot, choices, dest)
    if policy_change is not None:
        bucket_changes.append(policy_change)
    blockers.extend(why)
    return Plan(tuple(key_changes + bucket_changes), tuple(blockers), choices)
