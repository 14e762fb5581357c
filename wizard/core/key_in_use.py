"""The key an export would encrypt with once the wizard is done: decided once, here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from wizard.core.arn import key_arn as make_key_arn
from wizard.core.arn import parse_arn
from wizard.core.state import DSSE_KMS, SSE_KMS, Choices, KeyState, Snapshot


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
