"""Live state -> the core's Snapshot: what the bucket, the key and the log group look like now.

Absent configuration is data, not an error: no bucket policy reads as ``policy=None``, no
encryption rule as ``BucketEncryption(None)``. Independent reads run concurrently so a
review stays quick on a slow link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from wizard.aws.inventory import key_state_from_metadata, list_active_tasks, rotation_status
from wizard.aws.session import AwsSession, aws_call, error_code, translate
from wizard.core.arn import parse_arn
from wizard.core.key_in_use import refers_to
from wizard.core.state import (
    AWS_MANAGED_S3_ALIAS,
    DSSE_KMS,
    KEY_MANAGER_AWS,
    KEY_SPEC_SYMMETRIC,
    SSE_KMS,
    BucketEncryption,
    BucketState,
    Choices,
    KeyState,
    LogGroupState,
    PublicAccessBlock,
    Snapshot,
)

T = TypeVar("T")

_ENCRYPTION_NOT_FOUND = "ServerSideEncryptionConfigurationNotFoundError"
_POLICY_NOT_FOUND = "NoSuchBucketPolicy"
_OWNERSHIP_NOT_FOUND = "OwnershipControlsNotFoundError"
_PAB_NOT_FOUND = "NoSuchPublicAccessBlockConfiguration"
_LOCK_NOT_FOUND = "ObjectLockConfigurationNotFoundError"
_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})


def _optional(operation: str, call: Callable[[], T], *absent: str) -> T | None:
    """``call()``, or None when AWS answers with one of the ``absent`` codes."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in absent:
            return None
        raise translate(exc, operation) from exc
    except Exception as exc:
        raise translate(exc, operation) from exc


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def _region_header(reply: dict[str, Any]) -> str | None:
    headers = reply.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return reply.get("BucketRegion") or headers.get("x-amz-bucket-region") or None


def location_to_region(constraint: str | None) -> str:
    """GetBucketLocation's answer: null/empty is us-east-1, the legacy "EU" is eu-west-1."""
    if not constraint:
        return "us-east-1"
    if constraint == "EU":
        return "eu-west-1"
    return constraint


def _listed(session: AwsSession, name: str) -> str | None:
    """The region of ``name`` when it is one of the account's own buckets (ListBuckets with a
    prefix: one call), "" when it is not, None when the listing is not allowed either."""
    try:
        reply = session.client("s3").list_buckets(Prefix=name, MaxBuckets=1000)
    except ClientError as exc:
        if _status(exc) == 403:
            return None
        raise translate(exc, "ListBuckets") from exc
    except Exception as exc:
        raise translate(exc, "ListBuckets") from exc
    for bucket in reply.get("Buckets", []):
        if bucket.get("Name") == name:
            return str(bucket.get("BucketRegion") or "")
    return ""


def _bucket_region(session: AwsSession, name: str) -> tuple[bool, bool, str | None, bool]:
    """(exists, owned, region, readable) from HeadBucket; GetBucketLocation when the header is
    missing. A 403 is either another account's bucket or one of ours we may not read
    (no s3:ListBucket): the account's own bucket list tells which."""
    s3 = session.client("s3")
    try:
        reply = s3.head_bucket(Bucket=name)
        region = _region_header(reply)
    except ClientError as exc:
        status = _status(exc)
        region = _region_header(exc.response)
        if status == 404 or error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return False, True, None, True
        if status == 403:
            listed = _listed(session, name)
            if listed:  # ours: we may list it but not read it
                return True, True, region or listed, False
            return True, False, region, True
        if status in (301, 307, 400) and region:  # another region's endpoint said where it is
            return True, True, region, True
        raise translate(exc, "HeadBucket") from exc
    except Exception as exc:
        raise translate(exc, "HeadBucket") from exc
    if not region:
        with aws_call("GetBucketLocation"):
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        region = location_to_region(location)
    return True, True, region, True


def _encryption(s3: Any, name: str) -> BucketEncryption:
    reply = _optional(
        "GetBucketEncryption",
        lambda: s3.get_bucket_encryption(Bucket=name),
        _ENCRYPTION_NOT_FOUND,
    )
    rules = (reply or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if not rules:
        return BucketEncryption(algorithm=None)
    rule = rules[0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    return BucketEncryption(
        algorithm=default.get("SSEAlgorithm"),
        kms_key_id=default.get("KMSMasterKeyID") or None,
        bucket_key=bool(rule.get("BucketKeyEnabled", False)),
    )


def _policy(s3: Any, name: str) -> str | None:
    reply = _optional(
        "GetBucketPolicy", lambda: s3.get_bucket_policy(Bucket=name), _POLICY_NOT_FOUND
    )
    return reply.get("Policy") if reply else None


def _ownership(s3: Any, name: str) -> str | None:
    reply = _optional(
        "GetBucketOwnershipControls",
        lambda: s3.get_bucket_ownership_controls(Bucket=name),
        _OWNERSHIP_NOT_FOUND,
    )
    rules = (reply or {}).get("OwnershipControls", {}).get("Rules", [])
    return rules[0].get("ObjectOwnership") if rules else None


def _public_access_block(s3: Any, name: str) -> PublicAccessBlock | None:
    reply = _optional(
        "GetPublicAccessBlock",
        lambda: s3.get_public_access_block(Bucket=name),
        _PAB_NOT_FOUND,
    )
    if not reply:
        return None
    config = reply.get("PublicAccessBlockConfiguration", {})
    return PublicAccessBlock(
        block_public_acls=bool(config.get("BlockPublicAcls", False)),
        ignore_public_acls=bool(config.get("IgnorePublicAcls", False)),
        block_public_policy=bool(config.get("BlockPublicPolicy", False)),
        restrict_public_buckets=bool(config.get("RestrictPublicBuckets", False)),
    )


def _object_lock(s3: Any, name: str) -> bool:
    reply = _optional(
        "GetObjectLockConfiguration",
        lambda: s3.get_object_lock_configuration(Bucket=name),
        _LOCK_NOT_FOUND,
    )
    config = (reply or {}).get("ObjectLockConfiguration", {})
    return bool(config.get("ObjectLockEnabled") == "Enabled")


def read_bucket(session: AwsSession, name: str) -> BucketState:
    """HeadBucket, then the five configurations that matter, read concurrently."""
    exists, owned, region, readable = _bucket_region(session, name)
    if not readable:
        return BucketState(
            name=name, exists=True, owned=True, region=region, unreadable="s3:ListBucket"
        )
    if not exists or not owned:
        return BucketState(name=name, exists=exists, owned=owned, region=region)
    s3 = session.client("s3", region)
    encryption, policy, ownership, pab, lock = session.pool.fan_out(
        [
            lambda: _encryption(s3, name),
            lambda: _policy(s3, name),
            lambda: _ownership(s3, name),
            lambda: _public_access_block(s3, name),
            lambda: _object_lock(s3, name),
        ]
    )
    return BucketState(
        name=name,
        exists=True,
        owned=True,
        region=region,
        encryption=encryption,  # type: ignore[arg-type]
        policy=policy,  # type: ignore[arg-type]
        object_ownership=ownership,  # type: ignore[arg-type]
        public_access_block=pab,  # type: ignore[arg-type]
        object_lock=bool(lock),
    )


def read_key(
    session: AwsSession, reference: str, region: str, *, with_tags: bool = False
) -> KeyState:
    """DescribeKey, its aliases, its key policy and rotation (and its tags when asked: who
    created it). A missing key: ``exists=False``."""
    arn = parse_arn(reference)
    if arn and arn.service == "kms" and arn.region:
        region = arn.region  # a key ARN says where the key is
    kms = session.client("kms", region)
    reply = _optional("DescribeKey", lambda: kms.describe_key(KeyId=reference), "NotFoundException")
    if reply is None:
        return KeyState(reference=reference, exists=False, region=region)
    meta = reply["KeyMetadata"]
    key_id = meta["KeyId"]
    rotates = meta.get("KeyManager") != KEY_MANAGER_AWS and meta.get("KeySpec") == (
        KEY_SPEC_SYMMETRIC
    )
    aliases, policy, rotation, tags = session.pool.fan_out(
        [
            lambda: _key_aliases(kms, key_id),
            lambda: _key_policy(kms, key_id),
            lambda: rotation_status(kms, key_id) if rotates else None,
            lambda: _key_tags(kms, key_id) if with_tags else None,
        ]
    )
    state = key_state_from_metadata(
        reference,
        meta,
        aliases,  # type: ignore[arg-type]
        policy=policy,  # type: ignore[arg-type]
        rotation=rotation,  # type: ignore[arg-type]
    )
    return replace(state, tags=tags) if with_tags else state  # type: ignore[arg-type]


def _key_tags(kms: Any, key_id: str) -> tuple[tuple[str, str], ...] | None:
    """The key's tags; None when they may not be read (then it counts as not the wizard's)."""
    reply = _optional("ListResourceTags", lambda: kms.list_resource_tags(KeyId=key_id), *_DENIED)
    if reply is None:
        return None
    return tuple((str(t["TagKey"]), str(t["TagValue"])) for t in reply.get("Tags", []))


def _key_aliases(kms: Any, key_id: str) -> list[str]:
    names: list[str] = []
    try:
        for page in kms.get_paginator("list_aliases").paginate(KeyId=key_id):
            names.extend(a["AliasName"] for a in page.get("Aliases", []))
    except ClientError as exc:
        if error_code(exc) in _DENIED:
            return []  # aliases are for display; the key itself was described
        raise translate(exc, "ListAliases") from exc
    return names


def _key_policy(kms: Any, key_id: str) -> str | None:
    reply = _optional(
        "GetKeyPolicy",
        lambda: kms.get_key_policy(KeyId=key_id, PolicyName="default"),
        *_DENIED,
    )
    return reply.get("Policy") if reply else None


def read_log_group(session: AwsSession, name: str, region: str) -> LogGroupState:
    logs = session.client("logs", region)
    with aws_call("DescribeLogGroups"):
        kwargs: dict[str, Any] = {"logGroupNamePrefix": name, "limit": 50}
        while True:
            reply = logs.describe_log_groups(**kwargs)
            for group in reply.get("logGroups", []):
                if group["logGroupName"] == name:
                    arn = str(group.get("logGroupArn") or group.get("arn") or "")
                    return LogGroupState(
                        name=name,
                        exists=True,
                        arn=arn[:-2] if arn.endswith(":*") else arn,
                        stored_bytes=group.get("storedBytes"),
                    )
            token = reply.get("nextToken")
            if not token:
                return LogGroupState(name=name, exists=False)
            kwargs["nextToken"] = token


def bucket_key_reference(bucket: BucketState) -> str | None:
    """The key the bucket encrypts with: aws:kms without a key id means aws/s3."""
    enc = bucket.encryption
    if not bucket.exists or enc is None or enc.algorithm not in (SSE_KMS, DSSE_KMS):
        return None
    return enc.kms_key_id or AWS_MANAGED_S3_ALIAS


def read(session: AwsSession, choices: Choices, source: AwsSession | None = None) -> Snapshot:
    """The whole destination at one moment. ``source``: the account that runs the export (a
    central logging account's source): its log group and its export tasks are read there."""
    identity = session.identity()
    regional = session.for_region(choices.region)
    exporter = (source or session).for_region(choices.region)
    chosen_key = choices.key or choices.create_key_alias
    group = choices.log_group
    # A key to be created is looked for under its alias: a key the wizard created earlier
    # (its tag says so) is reused; anyone else's is refused (key_in_use.alias_conflict).
    found = session.pool.fan_out(
        [
            lambda: read_bucket(regional, choices.bucket),
            lambda: (
                read_key(
                    regional, chosen_key, choices.region, with_tags=bool(choices.create_key_alias)
                )
                if chosen_key
                else None
            ),
            lambda: read_log_group(exporter, group, choices.region) if group else None,
            lambda: list_active_tasks(exporter, choices.region),
        ]
    )
    bucket, chosen, log_group, tasks = found
    assert isinstance(bucket, BucketState)
    reference = bucket_key_reference(bucket)
    key = chosen if isinstance(chosen, KeyState) else None
    bucket_key: KeyState | None = None
    if key is not None:
        if reference and not refers_to(reference, key):
            # The doctor must know what the bucket uses now (aws/s3 by its ARN, say).
            bucket_key = read_key(regional, reference, bucket.region or choices.region)
    elif reference:
        key = read_key(regional, reference, bucket.region or choices.region)
    return Snapshot(
        identity=identity,
        region=choices.region,
        bucket=bucket,
        key=key,
        log_group=log_group if isinstance(log_group, LogGroupState) else None,
        active_tasks=tuple(tasks),  # type: ignore[arg-type]
        bucket_key=bucket_key,
    )
