"""What one kind of change (an Action) means: its documents, the permissions it needs, how its
current document is read from a Snapshot, and its AWS CLI equivalent.

The moving parts (the calls that read, write and restore) live beside this registry in
``wizard.aws.actions``; everything here is pure.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from wizard.core.change import Action, Change
from wizard.core.policy import canonical_json
from wizard.core.state import (
    CREATED_BY_TAG,
    CREATED_BY_VALUE,
    OWNER_ENFORCED,
    BucketState,
    KeyState,
)


class Resource(str, Enum):
    KEY = "key"
    ALIAS = "alias"
    BUCKET = "bucket"


# Placeholder for the ARN of a key the plan creates, until apply knows it.
NEW_KEY_ARN = "<ARN of the new key>"
NEW_KEY_VARIABLE = "KEY_ARN"  # the shell variable the CLI script keeps it in

US_EAST_1 = "us-east-1"  # the one region whose CreateBucket must omit LocationConstraint
OBJECT_OWNERSHIP = OWNER_ENFORCED


def rotation_document(enabled: bool) -> str:
    """The "document" of ENABLE_KEY_ROTATION, as GetKeyRotationStatus reports it."""
    return canonical_json({"KeyRotationEnabled": enabled})


ROTATION_ON = rotation_document(True)
ROTATION_OFF = rotation_document(False)


# --------------------------------------------------------------------------- documents


def create_bucket_document(bucket: str, region: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"Bucket": bucket}
    # us-east-1 must omit LocationConstraint; every other region must send it.
    if region and region != US_EAST_1:
        doc["CreateBucketConfiguration"] = {"LocationConstraint": region}
    return doc


def public_access_block_document(
    block_public_acls: bool = True,
    block_public_policy: bool = True,
    ignore_public_acls: bool = True,
    restrict_public_buckets: bool = True,
) -> dict[str, Any]:
    return {
        "BlockPublicAcls": block_public_acls,
        "BlockPublicPolicy": block_public_policy,
        "IgnorePublicAcls": ignore_public_acls,
        "RestrictPublicBuckets": restrict_public_buckets,
    }


def ownership_document(ownership: str) -> dict[str, Any]:
    return {"Rules": [{"ObjectOwnership": ownership}]}


def encryption_document(
    algorithm: str, key_id: str | None = None, bucket_key: bool = True
) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": algorithm}
    if key_id is not None:
        default["KMSMasterKeyID"] = key_id
    rule = {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bucket_key}
    return {"Rules": [rule]}


def alias_document(alias: str, target: str) -> dict[str, Any]:
    return {"AliasName": alias, "TargetKeyId": target}


def resolve(text: str | None, key_arn: str | None) -> str | None:
    """A document or parameter with the new key's placeholder replaced by its ARN."""
    if text is None or key_arn is None:
        return text
    return text.replace(NEW_KEY_ARN, key_arn)


def canonical_text(text: str | None) -> str | None:
    """A document as read, in canonical form; text that is not a JSON object stays as it is."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return canonical_json(data) if isinstance(data, dict) else text


# --------------------------------------------------------------------------- current state


def _none(bucket: BucketState, key: KeyState | None) -> str | None:
    return None


def _key_policy(bucket: BucketState, key: KeyState | None) -> str | None:
    return canonical_text(key.policy) if key is not None and key.exists else None


def _rotation(bucket: BucketState, key: KeyState | None) -> str | None:
    if key is None or not key.exists or key.rotation_enabled is None:
        return None
    return ROTATION_ON if key.rotation_enabled else ROTATION_OFF


def _bucket(bucket: BucketState, key: KeyState | None) -> str | None:
    if not bucket.exists:
        return None
    return canonical_json(create_bucket_document(bucket.name, bucket.region))


def _public_access_block(bucket: BucketState, key: KeyState | None) -> str | None:
    block = bucket.public_access_block if bucket.exists else None
    if block is None:
        return None
    return canonical_json(
        public_access_block_document(
            block.block_public_acls,
            block.block_public_policy,
            block.ignore_public_acls,
            block.restrict_public_buckets,
        )
    )


def _ownership(bucket: BucketState, key: KeyState | None) -> str | None:
    if not bucket.exists or bucket.object_ownership is None:
        return None
    return canonical_json(ownership_document(bucket.object_ownership))


def _encryption(bucket: BucketState, key: KeyState | None) -> str | None:
    encryption = bucket.encryption if bucket.exists else None
    if encryption is None or encryption.algorithm is None:
        return None
    return canonical_json(
        encryption_document(encryption.algorithm, encryption.kms_key_id, encryption.bucket_key)
    )


def _bucket_policy(bucket: BucketState, key: KeyState | None) -> str | None:
    return canonical_text(bucket.policy) if bucket.exists else None


# --------------------------------------------------------------------------- CLI equivalent


@dataclass(frozen=True)
class CliStep:
    """One AWS CLI command of a runnable script. ``argv`` words are shell-quoted when printed,
    except the new key's ARN, which is the shell variable ``capture`` set by CreateKey."""

    comment: str
    argv: tuple[str, ...]
    files: tuple[tuple[str, str], ...] = ()  # (file name, content) written before the command
    capture: str | None = None  # a shell variable that receives the command's output

    @property
    def command(self) -> str:
        return " ".join(shell_word(word) for word in self.argv)


def shell_word(word: str) -> str:
    """A word for a POSIX shell; the new key's ARN placeholder becomes "$KEY_ARN"."""
    if NEW_KEY_ARN not in word:
        return shlex.quote(word)
    parts = word.split(NEW_KEY_ARN)
    return f'"${NEW_KEY_VARIABLE}"'.join(shlex.quote(p) if p else "" for p in parts)


def _compact(document: str | None) -> str:
    return json.dumps(json.loads(document or "{}"), separators=(",", ":"), sort_keys=True)


def _key_reference(params: Mapping[str, str]) -> str:
    return params.get("key_id") or NEW_KEY_ARN


def _cli_create_key(change: Change, region: str) -> CliStep:
    params = change.params
    tags = f"TagKey={CREATED_BY_TAG},TagValue={CREATED_BY_VALUE}"
    return CliStep(
        change.summary,
        (
            "aws",
            "kms",
            "create-key",
            "--region",
            region,
            "--description",
            params.get("description", "CloudWatch Logs exports"),
            "--key-spec",
            "SYMMETRIC_DEFAULT",
            "--key-usage",
            "ENCRYPT_DECRYPT",
            "--tags",
            tags,
            "--policy",
            "file://key-policy.json",
            "--query",
            "KeyMetadata.Arn",
            "--output",
            "text",
        ),
        (("key-policy.json", change.after or "{}"),),
        capture=NEW_KEY_VARIABLE,
    )


def _cli_rotation(change: Change, region: str) -> CliStep:
    return CliStep(
        change.summary,
        (
            "aws",
            "kms",
            "enable-key-rotation",
            "--region",
            region,
            "--key-id",
            _key_reference(change.params),
        ),
    )


def _cli_alias(change: Change, region: str) -> CliStep:
    return CliStep(
        change.summary,
        (
            "aws",
            "kms",
            "create-alias",
            "--region",
            region,
            "--alias-name",
            change.params.get("alias", ""),
            "--target-key-id",
            _key_reference(change.params),
        ),
    )


def _cli_key_policy(change: Change, region: str) -> CliStep:
    return CliStep(
        change.summary,
        (
            "aws",
            "kms",
            "put-key-policy",
            "--region",
            region,
            "--key-id",
            _key_reference(change.params),
            "--policy-name",
            "default",
            "--policy",
            "file://key-policy.json",
        ),
        (("key-policy.json", change.after or "{}"),),
    )


def _cli_create_bucket(change: Change, region: str) -> CliStep:
    argv: tuple[str, ...] = (
        "aws",
        "s3api",
        "create-bucket",
        "--region",
        region,
        "--bucket",
        change.params.get("bucket", ""),
    )
    if region != US_EAST_1:  # us-east-1 refuses a LocationConstraint
        argv += ("--create-bucket-configuration", f"LocationConstraint={region}")
    return CliStep(change.summary, argv)


def _cli_bucket_json(command: str, option: str) -> Callable[[Change, str], CliStep]:
    def step(change: Change, region: str) -> CliStep:
        return CliStep(
            change.summary,
            (
                "aws",
                "s3api",
                command,
                "--region",
                region,
                "--bucket",
                change.params.get("bucket", ""),
                option,
                _compact(change.after),
            ),
        )

    return step


def _cli_bucket_policy(change: Change, region: str) -> CliStep:
    return CliStep(
        change.summary,
        (
            "aws",
            "s3api",
            "put-bucket-policy",
            "--region",
            region,
            "--bucket",
            change.params.get("bucket", ""),
            "--policy",
            "file://bucket-policy.json",
        ),
        (("bucket-policy.json", change.after or "{}"),),
    )


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class ActionSpec:
    action: Action
    resource: Resource
    noun: str  # what the change writes, for people: "bucket policy", "new KMS key"
    creates: bool  # the change creates its target (rollback removes it)
    write: tuple[str, ...]  # IAM actions the change needs
    restore: tuple[str, ...]  # IAM actions putting it back needs
    read: tuple[str, ...]  # IAM actions reading its current state needs
    current: Callable[[BucketState, KeyState | None], str | None]
    cli: Callable[[Change, str], CliStep]

    def target_name(self, params: Mapping[str, Any], target: str) -> str:
        """The thing a person would look at: "the bucket policy of s3://b"."""
        if self.resource is Resource.BUCKET and not self.creates:
            return f"the {self.noun} of s3://{params.get('bucket', '?')}"
        if self.action is Action.PUT_KEY_POLICY:
            return f"the key policy of {target}"
        if self.action is Action.ENABLE_KEY_ROTATION:
            return f"the rotation setting of {target}"
        if self.action is Action.CREATE_BUCKET:
            return f"s3://{params.get('bucket', '?')}"
        if self.action is Action.CREATE_ALIAS:
            return f"the alias {params.get('alias', '?')}"
        return target


_BUCKET_READ = ("s3:ListBucket", "s3:ListAllMyBuckets")

REGISTRY: dict[Action, ActionSpec] = {
    spec.action: spec
    for spec in (
        ActionSpec(
            Action.CREATE_KEY,
            Resource.KEY,
            "new KMS key",
            True,
            ("kms:CreateKey", "kms:TagResource"),
            ("kms:ScheduleKeyDeletion",),
            ("kms:ListKeys", "kms:DescribeKey", "kms:ListResourceTags"),
            _none,
            _cli_create_key,
        ),
        ActionSpec(
            Action.ENABLE_KEY_ROTATION,
            Resource.KEY,
            "key rotation",
            False,
            ("kms:EnableKeyRotation",),
            ("kms:DisableKeyRotation",),
            ("kms:GetKeyRotationStatus",),
            _rotation,
            _cli_rotation,
        ),
        ActionSpec(
            Action.CREATE_ALIAS,
            Resource.ALIAS,
            "alias",
            True,
            ("kms:CreateAlias",),
            ("kms:DeleteAlias",),
            ("kms:DescribeKey", "kms:ListAliases"),
            _none,
            _cli_alias,
        ),
        ActionSpec(
            Action.PUT_KEY_POLICY,
            Resource.KEY,
            "key policy",
            False,
            ("kms:PutKeyPolicy",),
            ("kms:PutKeyPolicy",),
            ("kms:DescribeKey", "kms:GetKeyPolicy"),
            _key_policy,
            _cli_key_policy,
        ),
        ActionSpec(
            Action.CREATE_BUCKET,
            Resource.BUCKET,
            "bucket",
            True,
            ("s3:CreateBucket",),
            ("s3:DeleteBucket", "s3:ListBucket"),
            _BUCKET_READ,
            _bucket,
            _cli_create_bucket,
        ),
        ActionSpec(
            Action.PUT_PUBLIC_ACCESS_BLOCK,
            Resource.BUCKET,
            "public access block",
            False,
            ("s3:PutBucketPublicAccessBlock",),
            ("s3:PutBucketPublicAccessBlock",),
            ("s3:GetBucketPublicAccessBlock",),
            _public_access_block,
            _cli_bucket_json("put-public-access-block", "--public-access-block-configuration"),
        ),
        ActionSpec(
            Action.PUT_OWNERSHIP_CONTROLS,
            Resource.BUCKET,
            "object ownership setting",
            False,
            ("s3:PutBucketOwnershipControls",),
            ("s3:PutBucketOwnershipControls",),
            ("s3:GetBucketOwnershipControls",),
            _ownership,
            _cli_bucket_json("put-bucket-ownership-controls", "--ownership-controls"),
        ),
        ActionSpec(
            Action.PUT_BUCKET_ENCRYPTION,
            Resource.BUCKET,
            "default encryption",
            False,
            ("s3:PutEncryptionConfiguration",),
            ("s3:PutEncryptionConfiguration",),
            ("s3:GetEncryptionConfiguration",),
            _encryption,
            _cli_bucket_json("put-bucket-encryption", "--server-side-encryption-configuration"),
        ),
        ActionSpec(
            Action.PUT_BUCKET_POLICY,
            Resource.BUCKET,
            "bucket policy",
            False,
            ("s3:PutBucketPolicy",),
            ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
            ("s3:GetBucketPolicy",),
            _bucket_policy,
            _cli_bucket_policy,
        ),
    )
}


def spec(action: Action) -> ActionSpec:
    return REGISTRY[action]


def current_document(action: Action, bucket: BucketState, key: KeyState | None) -> str | None:
    """The canonical "before" of ``action``'s target, from a (re-)read state."""
    return REGISTRY[action].current(bucket, key)
