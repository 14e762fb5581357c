"""Whether a KMS key can encrypt exports: decided here once.

The key list (greyed-out keys and why), the doctor (findings that block the plan) and the
sandbox (whether S3 may write with a key at all) all ask ``defects``. A key policy can be
fixed by the wizard; these defects cannot, so a key that has one must be replaced.
"""

from __future__ import annotations

from enum import Enum

from wizard.core.arn import parse_arn
from wizard.core.findings import FindingCode
from wizard.core.state import (
    KEY_MANAGER_AWS,
    KEY_SPEC_SYMMETRIC,
    KEY_STATE_ENABLED,
    KEY_USAGE_ENCRYPT,
    KeyState,
)


class KeyDefect(Enum):
    """What makes a key unusable for exports, most fundamental first."""

    MISSING = FindingCode.KEY_NOT_FOUND
    AWS_MANAGED = FindingCode.KEY_AWS_MANAGED
    NOT_ENABLED = FindingCode.KEY_NOT_ENABLED
    NOT_SYMMETRIC = FindingCode.KEY_NOT_SYMMETRIC
    WRONG_REGION = FindingCode.KEY_WRONG_REGION

    @property
    def code(self) -> FindingCode:
        """The doctor's finding code for it."""
        return FindingCode(self.value)


def is_aws_managed_reference(reference: str | None) -> bool:
    """S3's aws:kms with no key id means aws/s3; an alias under alias/aws/ is AWS managed."""
    if reference is None:
        return True
    parsed = parse_arn(reference)
    name = parsed.resource if parsed is not None else reference
    return name.startswith("alias/aws/")


def key_region(key: KeyState) -> str | None:
    if key.region:
        return key.region
    parsed = parse_arn(key.arn) if key.arn else None
    return parsed.region if parsed is not None else None


def defects(key: KeyState, region: str) -> tuple[KeyDefect, ...]:
    """Every defect of ``key`` for exports in ``region``; () when it can encrypt them.

    An AWS managed key is only that (its other properties do not matter: it can never be
    used); a missing key has nothing else to check.
    """
    if not key.exists:
        return (KeyDefect.MISSING,)
    if key.manager == KEY_MANAGER_AWS or any(a.startswith("alias/aws/") for a in key.aliases):
        return (KeyDefect.AWS_MANAGED,)
    found: list[KeyDefect] = []
    if key.state != KEY_STATE_ENABLED:
        found.append(KeyDefect.NOT_ENABLED)
    if key.spec != KEY_SPEC_SYMMETRIC or key.usage != KEY_USAGE_ENCRYPT:
        found.append(KeyDefect.NOT_SYMMETRIC)
    where = key_region(key)
    if where is not None and where != region:
        found.append(KeyDefect.WRONG_REGION)
    return tuple(found)


def short_reason(defect: KeyDefect, key: KeyState, region: str) -> str:
    """Why a listed key is greyed out, in a few words."""
    if defect is KeyDefect.MISSING:
        return "the key does not exist (or you may not see it)"
    if defect is KeyDefect.AWS_MANAGED:
        return "AWS managed key: its key policy cannot be changed to allow CloudWatch Logs"
    if defect is KeyDefect.NOT_ENABLED:
        if key.state == "PendingDeletion":
            return "pending deletion"
        return f"{(key.state or 'unknown state').lower()}: only Enabled keys can encrypt"
    if defect is KeyDefect.NOT_SYMMETRIC:
        return (
            f"asymmetric or not for encryption ({key.spec}, {key.usage}): exports need a "
            f"{KEY_SPEC_SYMMETRIC} {KEY_USAGE_ENCRYPT} key"
        )
    return f"in {key_region(key)}: the key must be in the bucket's region {region}"


def unusable_reason(key: KeyState, region: str) -> str | None:
    """The first defect in a few words, or None when the key can encrypt exports."""
    found = defects(key, region)
    return short_reason(found[0], key, region) if found else None
