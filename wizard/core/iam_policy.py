"""The least-privilege identity policy a caller of the wizard needs (``cwl-export-wizard
iam-policy``), narrowed to what one run touches when its bucket, key, region and account are
given. Write permissions come from the Action registry (``core.actions``), so the policy and
what apply does cannot drift apart.

Choices (documented once):
- HeadBucket names the bucket's region, so s3:GetBucketLocation is not asked for (the
  wizard calls it only when an emulator leaves the region out).
- Listing calls (ListKeys, ListAliases, ListAllMyBuckets, DescribeLogGroups,
  DescribeExportTasks, CancelExportTask, DescribeRegions) support no resource: "*".
- Key metadata may be read on every key of the account and region (the key step lists them,
  and the bucket's current key may be any key); only writes and Decrypt are narrowed.
- A key the wizard creates is recognised by its tag ``created-by = cwl-export-wizard``
  (KMS attribute-based access control): the caller may create keys only with that tag and
  manage or delete only keys that carry it.
- An existing key named by alias is narrowed with ``kms:ResourceAliases`` (an alias ARN is
  not a key's resource).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from wizard.core import requirements as req
from wizard.core.actions import NEW_KEY_ARN, REGISTRY, Resource
from wizard.core.arn import bucket_arn, parse_arn, partition_for_region
from wizard.core.change import Action, Change, Plan
from wizard.core.state import CREATED_BY_TAG, CREATED_BY_VALUE, JOURNAL_TAG, Choices, KeyState

POLICY_VERSION = "2012-10-17"

# Needed only after a crash: undo looks for a key whose CreateKey answer never arrived.
RECOVERY_ACTIONS = ("kms:ListKeys",)
# Needed only now and then: test-export --if-busy cancel (another export task is running).
OCCASIONAL_ACTIONS = ["logs:CancelExportTask"]
# Needed only for some destinations: putting back a bucket that had no policy before.
CONDITIONAL_ACTIONS = ("s3:DeleteBucketPolicy",)
# Optional: the doctor checks the caller's policy with it, and says when it could not.
OPTIONAL_ACTIONS = ("iam:SimulatePrincipalPolicy",)


@dataclass(frozen=True)
class PolicyScope:
    region: str | None = None  # None: any region
    account: str | None = None  # None: any account
    bucket: str | None = None  # None: any bucket
    prefix: str | None = None
    key: str | None = None  # an existing key: id, ARN, alias or alias ARN
    create_key_alias: str | None = None
    create_bucket: bool = False
    log_group: str | None = None

    @property
    def partition(self) -> str:
        return partition_for_region(self.region).name if self.region else "aws"

    @property
    def generic(self) -> bool:
        """Nothing chosen: everything the full-screen wizard may do, on any bucket or key."""
        return not (self.bucket or self.key or self.create_key_alias)


def _actions(*actions: Action, restore: bool = True) -> list[str]:
    names: list[str] = []
    for action in actions:
        spec = REGISTRY[action]
        for name in (*spec.write, *(spec.restore if restore else ())):
            if name not in names:
                names.append(name)
    return names


def _sorted(names: list[str]) -> list[str]:
    return sorted(set(names), key=str.lower)


def _kms(scope: PolicyScope, resource: str) -> str:
    return f"arn:{scope.partition}:kms:{scope.region or '*'}:{scope.account or '*'}:{resource}"


def _existing_key(scope: PolicyScope) -> tuple[list[str], dict[str, Any] | None]:
    """(resources, condition) that name the chosen existing key."""
    reference = scope.key
    if not reference:
        return [_kms(scope, "key/*")], None
    arn = parse_arn(reference)
    if arn is not None and arn.resource.startswith("key/"):
        return [reference], None
    if arn is None and not reference.startswith("alias/"):
        return [_kms(scope, f"key/{reference}")], None
    alias = arn.resource if arn is not None else reference
    condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}
    return [_kms(scope, "key/*")], condition


def _statement(sid: str, actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": _sorted(actions),
        "Resource": resources[0] if len(resources) == 1 else resources,
        **extra,
    }


def identity_policy(scope: PolicyScope) -> dict[str, Any]:
    """The policy document, as JSON data."""
    partition = scope.partition
    listing = ["kms:ListAliases", "logs:DescribeLogGroups", "logs:DescribeExportTasks"]
    if scope.generic:  # what the full-screen wizard's pickers list
        listing += ["ec2:DescribeRegions", "s3:ListAllMyBuckets", "kms:ListKeys"]
    else:
        listing += list(RECOVERY_ACTIONS if scope.create_key_alias else ())
    listing += OCCASIONAL_ACTIONS
    statements: list[dict[str, Any]] = [
        _statement("Inventory", listing, ["*"]),
        # Optional: lets the doctor check this policy before a write (the check is skipped,
        # and says so, when it is missing).
        _statement(
            "CheckOwnPermissions",
            ["iam:SimulatePrincipalPolicy"],
            [f"arn:{partition}:iam::{scope.account or '*'}:*"],
        ),
        _statement(
            "ReadKeys",
            ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"]
            # A key's tags say whether the wizard created it (a second --create-key reuses it).
            + (["kms:ListResourceTags"] if scope.create_key_alias or scope.generic else []),
            [_kms(scope, "key/*")],
        ),
    ]

    # The bucket.
    bucket = bucket_arn(scope.bucket, partition) if scope.bucket else f"arn:{partition}:s3:::*"
    reads = sorted(
        {
            name
            for spec in REGISTRY.values()
            if spec.resource is Resource.BUCKET
            for name in spec.read
            if name != "s3:ListAllMyBuckets"
        }
        | {"s3:GetBucketObjectLockConfiguration"}
    )
    statements.append(_statement("ReadBucket", reads, [bucket]))
    statements.append(
        _statement(
            "PatchBucket",
            _actions(Action.PUT_BUCKET_ENCRYPTION, Action.PUT_BUCKET_POLICY),
            [bucket],
        )
    )
    if scope.create_bucket or scope.generic:
        creating = _actions(
            Action.CREATE_BUCKET, Action.PUT_PUBLIC_ACCESS_BLOCK, Action.PUT_OWNERSHIP_CONTROLS
        )
        statements.append(
            _statement("CreateBucket", [a for a in creating if a not in reads], [bucket])
        )
    prefix = f"{scope.prefix}/*" if scope.prefix else "*"
    objects = f"{bucket}/{prefix}" if scope.bucket else f"arn:{partition}:s3:::*/*"
    statements.append(_statement("ReadExportedObjects", ["s3:GetObject"], [objects]))

    # The key.
    if scope.create_key_alias or scope.generic:
        alias = scope.create_key_alias or "alias/*"
        tagged = {"StringEquals": {f"aws:RequestTag/{CREATED_BY_TAG}": CREATED_BY_VALUE}}
        statements.append(
            _statement(
                "CreateTaggedKey",
                ["kms:CreateKey"],
                ["*"],
                Condition={
                    **tagged,
                    "ForAllValues:StringEquals": {"aws:TagKeys": [CREATED_BY_TAG, JOURNAL_TAG]},
                },
            )
        )
        statements.append(
            _statement(
                "TagTheNewKey", ["kms:TagResource"], [_kms(scope, "key/*")], Condition=tagged
            )
        )
        statements.append(
            _statement(
                "ManageKeysTheWizardCreated",
                [
                    *_actions(Action.ENABLE_KEY_ROTATION, restore=False),
                    *REGISTRY[Action.CREATE_KEY].restore,
                    *_actions(Action.CREATE_ALIAS),
                    "kms:Decrypt",
                ],
                [_kms(scope, "key/*")],
                Condition={"StringEquals": {f"aws:ResourceTag/{CREATED_BY_TAG}": CREATED_BY_VALUE}},
            )
        )
        statements.append(
            _statement("NameTheNewKey", _actions(Action.CREATE_ALIAS), [_kms(scope, alias)])
        )
    if not scope.create_key_alias or scope.generic:
        resources, condition = _existing_key(scope)
        extra = {"Condition": condition} if condition else {}
        statements.append(
            _statement(
                "PatchTheChosenKey",
                [*_actions(Action.PUT_KEY_POLICY), "kms:Decrypt"],
                resources,
                **extra,
            )
        )

    # The test export.
    region, account = scope.region or "*", scope.account or "*"
    group = scope.log_group or "*"
    groups = [f"arn:{partition}:logs:{region}:{account}:log-group:{group}"]
    if scope.log_group:  # whether AWS checks the group's ARN with or without ":*" is unsure
        groups.append(f"{groups[0]}:*")
    test_export = ["logs:CreateExportTask"]
    if scope.generic:  # the log-group picker orders groups by their newest stream
        test_export.append("logs:DescribeLogStreams")
    statements.append(_statement("TestExport", test_export, groups))
    return {"Version": POLICY_VERSION, "Statement": statements}


# --- a central logging account: the caller in the source account -------------------------------


@dataclass(frozen=True)
class SourceScope:
    """The caller of CreateExportTask in another account, exporting into a destination."""

    region: str | None = None
    account: str | None = None  # the source account; None: any
    bucket: str | None = None  # the destination's
    prefix: str | None = None
    key: str | None = None  # the destination's key ARN (a key of another account: an ARN)
    acls_enabled: bool = False
    log_group: str | None = None

    @property
    def partition(self) -> str:
        return partition_for_region(self.region).name if self.region else "aws"


def source_needs(scope: SourceScope) -> list[Need]:
    """What the source caller's own IAM policy must allow: the test export in its account,
    and (cross-account access needs both sides) what the destination's policies grant it,
    as requirements.CROSS_ACCOUNT_CALLER_NEEDS lists it."""
    partition = scope.partition
    region, account = scope.region or "*", scope.account or "*"
    group = scope.log_group or "*"
    found = [
        Need(
            "logs:CreateExportTask",
            f"arn:{partition}:logs:{region}:{account}:log-group:{group}",
            "test export",
        )
    ]
    bucket = bucket_arn(scope.bucket, partition) if scope.bucket else f"arn:{partition}:s3:::*"
    objects = f"{bucket}/{scope.prefix or '*'}/*" if scope.prefix else f"{bucket}/*"
    key = scope.key or f"arn:{partition}:kms:{region}:*:key/*"
    for need in req.caller_needs(kms=True, acls_enabled=scope.acls_enabled):
        resource = key if need.target == "key" else objects
        found.append(Need(need.action, resource, "test export"))
    return found


def source_command_for(scope: SourceScope) -> str:
    """The ``iam-policy --source`` command that prints the source caller's policy."""
    words = ["cwl-export-wizard", "iam-policy", "--source"]
    for option, value in (
        ("--region", scope.region),
        ("--source-account", scope.account),
        ("--bucket", scope.bucket),
        ("--prefix", scope.prefix),
        ("--key", scope.key),
        ("--log-group", scope.log_group),
    ):
        if value:
            words += [option, value]
    if scope.acls_enabled:
        words.append("--acls-enabled")
    return " ".join(shlex.quote(w) for w in words)


def source_policy(scope: SourceScope) -> dict[str, Any]:
    """The identity policy to attach to the source account's caller (``iam-policy --source``)."""
    listing = ["logs:DescribeExportTasks", "logs:DescribeLogGroups", *OCCASIONAL_ACTIONS]
    by_resource: dict[str, list[str]] = {}
    for need in source_needs(scope):
        by_resource.setdefault(need.resource, []).append(need.action)
    statements = [_statement("Inventory", listing, ["*"])]
    names = {"logs": "ExportTheLogGroups", "s3": "WriteToTheDestination", "kms": "UseTheKey"}
    for resource, actions in by_resource.items():
        service = actions[0].split(":")[0]
        resources = [resource]
        if service == "logs" and scope.log_group:
            resources.append(f"{resource}:*")
        statements.append(_statement(names[service], actions, resources))
    return {"Version": POLICY_VERSION, "Statement": statements}


# --- what a plan needs of its caller ------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One permission a plan's apply (or its rollback, or the test export) needs."""

    action: str
    resource: str
    why: str  # "apply", "rollback" or "test export"
    context: tuple[tuple[str, str | tuple[str, ...]], ...] = ()


def _key_context(key: KeyState) -> tuple[tuple[str, str | tuple[str, ...]], ...]:
    """The condition keys IAM knows of an existing key: its aliases and tags."""
    context: list[tuple[str, str | tuple[str, ...]]] = []
    if key.aliases:
        context.append(("kms:ResourceAliases", tuple(key.aliases)))
    context += [(f"aws:ResourceTag/{k}", v) for k, v in key.tags or ()]
    return tuple(context)


def _change_resources(change: Change, choices: Choices, account: str, partition: str) -> list[str]:
    spec = REGISTRY[change.action]
    region = change.params.get("region") or choices.region
    if spec.resource is Resource.BUCKET:
        return [bucket_arn(change.params.get("bucket", choices.bucket), partition)]
    if spec.resource is Resource.ALIAS:
        alias = change.params.get("alias", "")
        return [
            f"arn:{partition}:kms:{region}:{account}:{alias}",
            f"arn:{partition}:kms:{region}:{account}:key/*",
        ]
    key = change.params.get("key_id") or ""
    if change.action is Action.CREATE_KEY or NEW_KEY_ARN in key:
        return [f"arn:{partition}:kms:{region}:{account}:key/*"]
    return [key]


def needs(
    plan: Plan, account: str, partition: str = "aws", key: KeyState | None = None
) -> list[Need]:
    """What the apply of ``plan``, its rollback and the test export after it need.
    ``key``: the existing key the plan changes (its aliases and tags are condition keys)."""
    choices = plan.choices
    if choices is None:
        return []
    created = (
        (f"aws:RequestTag/{CREATED_BY_TAG}", CREATED_BY_VALUE),
        (f"aws:ResourceTag/{CREATED_BY_TAG}", CREATED_BY_VALUE),
        ("aws:TagKeys", (CREATED_BY_TAG, JOURNAL_TAG)),
    )
    found: list[Need] = []
    for change in plan.changes:
        spec = REGISTRY[change.action]
        new_key = change.action is Action.CREATE_KEY or NEW_KEY_ARN in (
            change.params.get("key_id") or ""
        )
        context: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
        if new_key or change.action is Action.CREATE_ALIAS:
            context = created
        elif spec.resource is Resource.KEY and key is not None and key.exists:
            context = _key_context(key)
        resources = _change_resources(change, choices, account, partition)
        for action in spec.write:
            targets = ["*"] if action == "kms:CreateKey" else resources
            found += [Need(action, r, "apply", context) for r in targets]
        for action in spec.restore:
            found += [Need(action, r, "rollback", context) for r in resources]
    if choices.log_group:
        group = f"arn:{partition}:logs:{choices.region}:{account}:log-group:{choices.log_group}"
        found.append(Need("logs:CreateExportTask", group, "test export"))
    found.append(
        Need(
            "s3:GetObject",
            f"{bucket_arn(choices.bucket, partition)}/{choices.prefix}/*",
            "test export",
        )
    )
    unique: list[Need] = []
    for need in found:
        if need not in unique:
            unique.append(need)
    return unique


@dataclass(frozen=True)
class PermissionCheck:
    """What IAM's policy simulator said of the caller's own policies for a plan's needs."""

    principal: str | None
    denied: tuple[Need, ...] = ()
    skipped: str | None = None  # why no check was made (then ``denied`` means nothing)


def command_for(choices: Choices, account: str) -> str:
    """The ``iam-policy`` command that prints what a run with these choices needs."""
    words = [
        "cwl-export-wizard",
        "iam-policy",
        "--region",
        choices.region,
        "--account",
        account,
        "--bucket",
        choices.bucket,
        "--prefix",
        choices.prefix,
    ]
    if choices.create_key_alias:
        words += ["--create-key", choices.create_key_alias]
    elif choices.key:
        words += ["--key", choices.key]
    if choices.create_bucket:
        words.append("--create-bucket")
    if choices.log_group:
        words += ["--log-group", choices.log_group]
    return " ".join(shlex.quote(w) for w in words)
