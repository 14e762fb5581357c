"""What the sandbox reads of moto's state: KMS keys, buckets, their policies and encryption."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.kms.models import Key, kms_backends
from moto.s3.models import FakeBucket, s3_backends

from wizard.core import keys
from wizard.core.arn import parse_arn
from wizard.core.policy import PolicyDocument, parse_policy
from wizard.core.state import (
    AWS_MANAGED_S3_ALIAS,
    DSSE_KMS,
    SSE_KMS,
    KeyState,
)
from wizard.sandbox.scenarios import ensure_aws_managed_key

PARTITION = "aws"


def resolve_key(account: str, region: str, reference: str | None) -> Key | None:
    """The KMS key a bucket or object names (key id, key ARN, alias, alias ARN) in ``region``.

    None reference: ``aws/s3``, as S3 uses for ``aws:kms`` without a key id. A key in another
    region or account is not usable by S3 and resolves to None.
    """
    if reference is None or reference.endswith(AWS_MANAGED_S3_ALIAS):
        ensure_aws_managed_key(account, region)
        reference = reference or AWS_MANAGED_S3_ALIAS
    arn = parse_arn(reference)
    if arn and (arn.service != "kms" or arn.region != region or arn.account != account):
        return None
    backend = kms_backends[account][region]
    try:
        key_id = backend.any_id_to_key_id(reference)
    except Exception:  # moto raises assorted errors for unknown aliases
        return None
    return backend.keys.get(key_id)


def key_policy(key: Key, text: str | None = None) -> PolicyDocument | None:
    """The key's policy (or ``text``, the version in effect for someone else)."""
    try:
        return parse_policy((text if text is not None else key.policy) or "", kind="key policy")
    except Exception:  # a policy our parser refuses decides nothing: implicit deny
        return None


def policy_text(value: Any) -> str | None:
    if not value:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def bucket_policy(bucket: FakeBucket, text: str | None = None) -> PolicyDocument | None:
    text = text if text is not None else policy_text(bucket.policy)
    if not text:
        return None
    try:
        return parse_policy(text, kind="bucket policy")
    except Exception:
        return None


@dataclass(frozen=True)
class BucketCrypto:
    """A bucket's default encryption as applied to new objects."""

    algorithm: str | None  # AES256, aws:kms, aws:kms:dsse; None: no default rule
    key_reference: str | None = None
    key: Key | None = None  # resolved, for aws:kms / aws:kms:dsse
    bucket_key: bool = False


def bucket_crypto(account: str, bucket: FakeBucket, config: Any = ...) -> BucketCrypto:
    """The bucket's default encryption (or ``config``, the rule in effect for someone else)."""
    config = bucket.encryption if config is ... else config
    if not config:
        return BucketCrypto(None)
    rule = config.get("Rule") or {}
    if isinstance(rule, list):
        rule = rule[0] if rule else {}
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = default.get("SSEAlgorithm")
    reference = default.get("KMSMasterKeyID")
    bucket_key = str(rule.get("BucketKeyEnabled", "false")).lower() == "true"
    key = None
    if algorithm in (SSE_KMS, DSSE_KMS):
        key = resolve_key(account, bucket.region_name, reference)
    return BucketCrypto(algorithm, reference, key, bucket_key)


def key_unusable_by_s3(crypto: BucketCrypto) -> bool:
    """Problems no key policy can fix: DSSE, no key, or a key with a defect (wizard.core.keys:
    the same decision the key list and the doctor make)."""
    if crypto.algorithm == DSSE_KMS:  # not supported by exports (docs/service-facts.md)
        return True
    key = crypto.key
    if key is None:
        return True
    state = KeyState(
        key.id,
        exists=True,
        key_id=key.id,
        arn=key.arn,
        region=key.region,
        manager=key.key_manager,
        state=key.key_state,
        spec=key.key_spec,
        usage=key.key_usage,
    )
    return bool(keys.defects(state, key.region))  # resolve_key found it in the bucket's region


def find_bucket(name: str) -> tuple[str, FakeBucket] | None:
    """(owner account, bucket): bucket names are global, each bucket in one account."""
    for account, backends in list(s3_backends.items()):
        bucket = backends[PARTITION].buckets.get(name)
        if bucket is not None:
            return account, bucket
    return None
