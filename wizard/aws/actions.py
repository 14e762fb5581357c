"""The moving parts of each Action: read its target's current document, write it, put it back,
and say how to finish by hand. The pure parts (documents, permissions, CLI) are in
``wizard.core.actions``; ``wizard.aws.apply`` decides when to call which.

A step is always judged by reading the account (never by trusting the journal): its target's
current document, in the same canonical form as the plan's "before" and "after".
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from wizard.aws.journal import Journal, JournalStep, write_private
from wizard.aws.session import AwsSession, aws_call, error_code, translate
from wizard.aws.snapshot import read_bucket, read_key
from wizard.core.actions import (
    NEW_KEY_ARN,
    canonical_text,
    current_document,
    rotation_document,
)
from wizard.core.actions import resolve as resolve  # the new key's ARN in a document
from wizard.core.change import Action
from wizard.core.outcomes import StepReport
from wizard.core.policy import compact_json
from wizard.core.state import CREATED_BY_TAG, CREATED_BY_VALUE, JOURNAL_TAG, BucketState

KEY_DELETION_WINDOW_DAYS = 7  # the minimum KMS allows: the shortest way back
_NO_BUCKET = BucketState(name="", exists=False)

_DELETE_OPERATION = {
    Action.PUT_PUBLIC_ACCESS_BLOCK: ("DeletePublicAccessBlock", "delete-public-access-block"),
    Action.PUT_OWNERSHIP_CONTROLS: (
        "DeleteBucketOwnershipControls",
        "delete-bucket-ownership-controls",
    ),
    Action.PUT_BUCKET_ENCRYPTION: ("DeleteBucketEncryption", "delete-bucket-encryption"),
    Action.PUT_BUCKET_POLICY: ("DeleteBucketPolicy", "delete-bucket-policy"),
}
_PUT_OPTION = {
    Action.PUT_PUBLIC_ACCESS_BLOCK: (
        "put-public-access-block",
        "--public-access-block-configuration",
    ),
    Action.PUT_OWNERSHIP_CONTROLS: ("put-bucket-ownership-controls", "--ownership-controls"),
    Action.PUT_BUCKET_ENCRYPTION: (
        "put-bucket-encryption",
        "--server-side-encryption-configuration",
    ),
    Action.PUT_BUCKET_POLICY: ("put-bucket-policy", "--policy"),
}


def _snake(operation: str) -> str:
    """DeleteBucketPolicy -> delete_bucket_policy (boto3's method name)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def _quote(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words)


def _document(text: str | None) -> Any:
    if text is None:
        raise ValueError("a write without a document")  # a plan bug, not a user error
    return json.loads(text)


def regional(session: AwsSession, step: JournalStep) -> AwsSession:
    region = step.params.get("region")
    return session.for_region(region) if region else session


def policy_text(document: str | None, text: str | None) -> str:
    """What to send for a policy: its exact ``text`` when that holds the same document as the
    canonical ``document`` (a journal edited by hand is not trusted), else the document."""
    if document is None:
        raise ValueError("a write without a document")  # a plan bug, not a user error
    if text is not None and canonical_text(text) == canonical_text(document):
        return text
    return compact_json(json.loads(document))


# --- finding what a create made ---------------------------------------------------------------


@dataclass(frozen=True)
class FoundKey:
    key_id: str
    arn: str
    state: str


def find_created_key(session: AwsSession, journal: Journal) -> FoundKey | None:
    """The key this journal's CreateKey made, found by its tag even when the answer to the
    CreateKey call never arrived (a crash, a timeout). The recorded id is looked at first."""
    kms = session.client("kms", journal.region)
    known = journal.created.get("key_id")
    if known:
        reply = _describe(kms, known)
        if reply is not None:
            return FoundKey(reply["KeyId"], reply["Arn"], reply["KeyState"])
    marker = f"journal {journal.journal_id}"
    key_ids: list[str] = []
    with aws_call("ListKeys"):
        for page in kms.get_paginator("list_keys").paginate():
            key_ids.extend(entry["KeyId"] for entry in page.get("Keys", []))
    described = session.pool.fan_out([partial(_describe, kms, key_id) for key_id in key_ids])
    for meta in described:
        if meta is None or meta.get("KeyManager") == "AWS":
            continue
        if marker not in str(meta.get("Description") or ""):
            continue
        with aws_call("ListResourceTags"):
            tags = kms.list_resource_tags(KeyId=meta["KeyId"]).get("Tags", [])
        if {"TagKey": JOURNAL_TAG, "TagValue": journal.journal_id} in tags:
            return FoundKey(meta["KeyId"], meta["Arn"], meta["KeyState"])
    return None


def _describe(kms: Any, key_id: str) -> dict[str, Any] | None:
    try:
        return dict(kms.describe_key(KeyId=key_id)["KeyMetadata"])
    except ClientError as exc:
        if error_code(exc) in ("NotFoundException", "AccessDeniedException"):
            return None
        raise translate(exc, "DescribeKey") from exc
    except Exception as exc:
        raise translate(exc, "DescribeKey") from exc


def bucket_object_count(session: AwsSession, bucket: str) -> int:
    """0 when empty; else at least 1 (up to 1,000: enough to say "it holds data")."""
    s3 = session.client("s3")
    with aws_call("ListObjectsV2"):
        reply = s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)
    return int(reply.get("KeyCount") or len(reply.get("Contents", [])))


def objects_written_since(session: AwsSession, bucket: str, since_iso: str) -> int:
    """How many objects of ``bucket`` were written at or after ``since_iso`` (stops counting
    at the first page that has some: enough to say "data may depend on it")."""
    since = datetime.fromisoformat(since_iso.replace("Z", "+00:00"))
    s3 = session.client("s3")
    found = 0
    with aws_call("ListObjectsV2"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found += sum(1 for o in page.get("Contents", []) if o["LastModified"] >= since)
            if found:
                break
    return found


# --- reading a target ---------------------------------------------------------------------


def current(session: AwsSession, step: JournalStep, key_arn: str | None) -> str | None:
    """The canonical document a Put/Enable step's target holds now (None: none)."""
    session = regional(session, step)
    action = step.action
    if action is Action.PUT_KEY_POLICY:
        reference = resolve(step.params.get("key_id"), key_arn) or ""
        key = read_key(session, reference, session.region)
        return current_document(action, _NO_BUCKET, key)
    if action is Action.ENABLE_KEY_ROTATION:
        reference = resolve(step.params.get("key_id"), key_arn) or ""
        if NEW_KEY_ARN in reference:
            return None  # the key was never created
        kms = session.client("kms")
        try:
            reply = kms.get_key_rotation_status(KeyId=reference)
        except ClientError as exc:
            if error_code(exc) == "NotFoundException":
                return None
            raise translate(exc, "GetKeyRotationStatus") from exc
        except Exception as exc:
            raise translate(exc, "GetKeyRotationStatus") from exc
        return rotation_document(bool(reply.get("KeyRotationEnabled")))
    return current_document(action, read_bucket(session, step.params["bucket"]), None)


# --- writing ------------------------------------------------------------------------------


@dataclass
class WriteContext:
    session: AwsSession
    journal: Journal
    key_arn: str | None = None
    key_id: str | None = None
    # Told about each step a rollback judged (a face shows it beside the step).
    on_rollback: Callable[[StepReport], None] | None = None


def write(ctx: WriteContext, step: JournalStep) -> str:
    """One step's AWS call; returns what was done, in words."""
    session = regional(ctx.session, step)
    action = step.action
    params = step.params
    if action is Action.CREATE_KEY:
        description = params.get("description") or "CloudWatch Logs exports"
        kwargs: dict[str, Any] = {
            "Policy": compact_json(_document(step.after)),
            # The journal's id in the description and a tag: a key whose CreateKey answer
            # never arrived is found again by them (find_created_key).
            "Description": f"{description} [journal {ctx.journal.journal_id}]",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "Tags": [
                {"TagKey": CREATED_BY_TAG, "TagValue": CREATED_BY_VALUE},
                {"TagKey": JOURNAL_TAG, "TagValue": ctx.journal.journal_id},
            ],
        }
        # BypassPolicyLockoutSafetyCheck is never set: KMS must refuse a lock-out policy.
        with aws_call("CreateKey"):
            meta = session.client("kms").create_key(**kwargs)["KeyMetadata"]
        ctx.key_arn, ctx.key_id = meta["Arn"], meta["KeyId"]
        return f"created KMS key {ctx.key_arn}"
    if action is Action.ENABLE_KEY_ROTATION:
        key_id = params["key_id"]
        with aws_call("EnableKeyRotation"):
            session.client("kms").enable_key_rotation(KeyId=key_id)
        return f"turned on yearly rotation of {key_id}"
    if action is Action.CREATE_ALIAS:
        doc = _document(step.after)
        alias = params.get("alias") or doc["AliasName"]
        with aws_call("CreateAlias"):
            session.client("kms").create_alias(AliasName=alias, TargetKeyId=doc["TargetKeyId"])
        return f"named the key {alias}"
    if action is Action.PUT_KEY_POLICY:
        key_id = params["key_id"]
        with aws_call("PutKeyPolicy"):
            session.client("kms").put_key_policy(
                KeyId=key_id, PolicyName="default", Policy=policy_text(step.after, step.after_text)
            )
        return f"updated the key policy of {key_id}"
    bucket = params["bucket"]
    s3 = session.client("s3")
    document = _document(step.after)
    if action is Action.CREATE_BUCKET:
        create: dict[str, Any] = {"Bucket": bucket}
        if "CreateBucketConfiguration" in document:  # us-east-1 refuses a LocationConstraint
            create["CreateBucketConfiguration"] = document["CreateBucketConfiguration"]
        with aws_call("CreateBucket"):
            s3.create_bucket(**create)
        return f"created s3://{bucket} in {session.region}"
    if action is Action.PUT_BUCKET_POLICY:
        with aws_call(action.value):
            s3.put_bucket_policy(Bucket=bucket, Policy=policy_text(step.after, step.after_text))
        return f"updated the bucket policy of s3://{bucket}"
    _put(s3, action, bucket, document)
    return {
        Action.PUT_PUBLIC_ACCESS_BLOCK: f"blocked public access to s3://{bucket}",
        Action.PUT_OWNERSHIP_CONTROLS: f"set object ownership of s3://{bucket}",
        Action.PUT_BUCKET_ENCRYPTION: f"set the default encryption of s3://{bucket}",
        Action.PUT_BUCKET_POLICY: f"updated the bucket policy of s3://{bucket}",
    }[action]


def _put(s3: Any, action: Action, bucket: str, document: Any) -> None:
    with aws_call(action.value):
        if action is Action.PUT_PUBLIC_ACCESS_BLOCK:
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=document)
        elif action is Action.PUT_OWNERSHIP_CONTROLS:
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=document)
        elif action is Action.PUT_BUCKET_ENCRYPTION:
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=document)
        elif action is Action.PUT_BUCKET_POLICY:
            s3.put_bucket_policy(Bucket=bucket, Policy=compact_json(document))
        else:  # pragma: no cover
            raise ValueError(f"not a bucket document: {action}")


# --- putting back -------------------------------------------------------------------------


def put_back(session: AwsSession, step: JournalStep, key_arn: str | None) -> str:
    """Write a Put/Enable step's "before" again (delete the configuration when there was none)."""
    session = regional(session, step)
    action = step.action
    before = step.before
    if action is Action.PUT_KEY_POLICY:
        key_id = resolve(step.params["key_id"], key_arn)
        if before is None:
            raise ValueError("a key policy always exists")  # the plan never records None
        with aws_call("PutKeyPolicy"):
            session.client("kms").put_key_policy(
                KeyId=key_id, PolicyName="default", Policy=policy_text(before, step.before_text)
            )
        return f"restored the key policy of {key_id}"
    if action is Action.ENABLE_KEY_ROTATION:
        key_id = resolve(step.params["key_id"], key_arn)
        with aws_call("DisableKeyRotation"):
            session.client("kms").disable_key_rotation(KeyId=key_id)
        return f"turned rotation of {key_id} off again"
    bucket = step.params["bucket"]
    s3 = session.client("s3")
    noun = {
        Action.PUT_PUBLIC_ACCESS_BLOCK: "public access block",
        Action.PUT_OWNERSHIP_CONTROLS: "object ownership setting",
        Action.PUT_BUCKET_ENCRYPTION: "default encryption",
        Action.PUT_BUCKET_POLICY: "bucket policy",
    }[action]
    if before is None:
        operation = _DELETE_OPERATION[action][0]
        with aws_call(operation):
            getattr(s3, _snake(operation))(Bucket=bucket)
        return f"removed the {noun} of s3://{bucket} (there was none before)"
    if action is Action.PUT_BUCKET_POLICY:
        with aws_call(action.value):
            s3.put_bucket_policy(Bucket=bucket, Policy=policy_text(before, step.before_text))
    else:
        _put(s3, action, bucket, json.loads(before))
    return f"restored the {noun} of s3://{bucket}"


def schedule_key_deletion(session: AwsSession, key_id: str) -> None:
    with aws_call("ScheduleKeyDeletion"):
        session.client("kms").schedule_key_deletion(
            KeyId=key_id, PendingWindowInDays=KEY_DELETION_WINDOW_DAYS
        )


def alias_target(session: AwsSession, alias: str) -> str | None:
    """The key id an alias names now, or None when there is no such alias."""
    kms = session.client("kms")
    with aws_call("ListAliases"):
        for page in kms.get_paginator("list_aliases").paginate():
            for entry in page.get("Aliases", []):
                if entry.get("AliasName") == alias:
                    return str(entry.get("TargetKeyId") or "")
    return None


def delete_alias(session: AwsSession, alias: str) -> None:
    with aws_call("DeleteAlias"):
        session.client("kms").delete_alias(AliasName=alias)


def bucket_exists(session: AwsSession, bucket: str) -> bool:
    state = read_bucket(session, bucket)
    return state.exists and state.owned


def delete_bucket(session: AwsSession, bucket: str) -> None:
    with aws_call("DeleteBucket"):
        session.client("s3").delete_bucket(Bucket=bucket)


# --- finishing by hand --------------------------------------------------------------------


def before_file(journal: Journal, step: JournalStep) -> Path:
    """The step's "before" document beside the journal (0600), for a command to restore it."""
    path = journal.path.with_name(f"before-{journal.journal_id}-change-{step.index + 1}.json")
    if step.before is not None:
        policy = step.action in (Action.PUT_KEY_POLICY, Action.PUT_BUCKET_POLICY)
        text = (
            policy_text(step.before, step.before_text)
            if policy
            else compact_json(json.loads(step.before))
        )
        write_private(path, text + "\n")
    return path


def manual_restore(journal: Journal, step: JournalStep, key_arn: str | None) -> tuple[str, ...]:
    """The AWS CLI command that writes a Put/Enable step's "before" back (drops later changes)."""
    region = step.params.get("region") or journal.region
    action = step.action
    if action is Action.PUT_KEY_POLICY:
        key_id = resolve(step.params.get("key_id"), key_arn) or "KEY_ID"
        return (
            _quote(
                "aws",
                "kms",
                "put-key-policy",
                "--region",
                region,
                "--key-id",
                key_id,
                "--policy-name",
                "default",
                "--policy",
                f"file://{before_file(journal, step)}",
            ),
        )
    if action is Action.ENABLE_KEY_ROTATION:
        key_id = resolve(step.params.get("key_id"), key_arn) or "KEY_ID"
        return (
            _quote("aws", "kms", "disable-key-rotation", "--region", region, "--key-id", key_id),
        )
    bucket = step.params.get("bucket", "")
    if step.before is None:
        return (
            _quote(
                "aws", "s3api", _DELETE_OPERATION[action][1], "--region", region, "--bucket", bucket
            ),
        )
    command, option = _PUT_OPTION[action]
    return (
        _quote(
            "aws",
            "s3api",
            command,
            "--region",
            region,
            "--bucket",
            bucket,
            option,
            f"file://{before_file(journal, step)}",
        ),
    )


def manual_key_deletion(region: str, key_id: str) -> str:
    return _quote(
        "aws",
        "kms",
        "schedule-key-deletion",
        "--region",
        region,
        "--key-id",
        key_id,
        "--pending-window-in-days",
        str(KEY_DELETION_WINDOW_DAYS),
    )


def manual_alias_deletion(region: str, alias: str) -> str:
    return _quote("aws", "kms", "delete-alias", "--region", region, "--alias-name", alias)


def manual_bucket_deletion(region: str, bucket: str, objects: int) -> tuple[str, ...]:
    delete = _quote("aws", "s3api", "delete-bucket", "--region", region, "--bucket", bucket)
    if not objects:
        return (delete,)
    return (
        f"# s3://{bucket} holds objects (exported logs): keep it, or delete them first:",
        _quote("aws", "s3", "rm", f"s3://{bucket}", "--recursive", "--region", region),
        delete,
    )
