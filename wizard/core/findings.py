"""The doctor's findings: their codes, severities and order (what every face shows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from wizard.core.strenum import StrEnum


class FindingCode(StrEnum):
    """Every finding's stable code, as ``doctor --json`` prints it (the value)."""

    # the bucket
    BUCKET_NOT_READABLE = "BUCKET_NOT_READABLE"
    BUCKET_NOT_OWNED = "BUCKET_NOT_OWNED"
    BUCKET_NOT_FOUND = "BUCKET_NOT_FOUND"
    BUCKET_WRONG_REGION = "BUCKET_WRONG_REGION"
    BUCKET_WILL_BE_CREATED = "BUCKET_WILL_BE_CREATED"
    BUCKET_ALREADY_EXISTS = "BUCKET_ALREADY_EXISTS"
    BUCKET_DSSE_UNSUPPORTED = "BUCKET_DSSE_UNSUPPORTED"
    BUCKET_NOT_KMS = "BUCKET_NOT_KMS"
    BUCKET_KEY_OFF = "BUCKET_KEY_OFF"
    # the key (keys.KeyDefect names the first five)
    KEY_NOT_FOUND = "KEY_NOT_FOUND"
    KEY_AWS_MANAGED = "KEY_AWS_MANAGED"
    KEY_NOT_ENABLED = "KEY_NOT_ENABLED"
    KEY_NOT_SYMMETRIC = "KEY_NOT_SYMMETRIC"
    KEY_WRONG_REGION = "KEY_WRONG_REGION"
    KEY_MISMATCH = "KEY_MISMATCH"
    KEY_REUSED = "KEY_REUSED"
    KEY_WILL_BE_CREATED = "KEY_WILL_BE_CREATED"
    KEY_ROTATION_OFF = "KEY_ROTATION_OFF"
    KEY_POLICY_UNKNOWN = "KEY_POLICY_UNKNOWN"
    KEY_POLICY_BLOCKS_LOGS = "KEY_POLICY_BLOCKS_LOGS"
    KEY_CONTEXT_MISMATCH = "KEY_CONTEXT_MISMATCH"
    KEY_CONDITION_UNCONFIRMED = "KEY_CONDITION_UNCONFIRMED"
    # the policies
    EXPLICIT_DENY = "EXPLICIT_DENY"
    POLICY_UNREADABLE = "POLICY_UNREADABLE"
    POLICY_TOO_LARGE = "POLICY_TOO_LARGE"
    POLICY_UNKNOWN_OPERATOR = "POLICY_UNKNOWN_OPERATOR"
    BUCKET_POLICY_BLOCKS_GETBUCKETACL = "BUCKET_POLICY_BLOCKS_GETBUCKETACL"
    BUCKET_POLICY_BLOCKS_PUTOBJECT = "BUCKET_POLICY_BLOCKS_PUTOBJECT"
    BUCKET_POLICY_UNSCOPED = "BUCKET_POLICY_UNSCOPED"
    # a central logging account
    SOURCE_ACCOUNT_NOT_ALLOWED = "SOURCE_ACCOUNT_NOT_ALLOWED"
    SOURCE_CALLER_CANNOT_WRITE = "SOURCE_CALLER_CANNOT_WRITE"
    SOURCE_CALLER_CANNOT_USE_KEY = "SOURCE_CALLER_CANNOT_USE_KEY"
    SOURCE_PERMISSION_CHECK_SKIPPED = "SOURCE_PERMISSION_CHECK_SKIPPED"
    SOURCE_CALLER_MAY_NOT = "SOURCE_CALLER_MAY_NOT"
    # the rest: the log group, another export, the caller's own permissions
    LOG_GROUP_NOT_FOUND = "LOG_GROUP_NOT_FOUND"
    EXPORT_TASK_ACTIVE = "EXPORT_TASK_ACTIVE"
    PERMISSION_CHECK_SKIPPED = "PERMISSION_CHECK_SKIPPED"
    CALLER_MAY_NOT = "CALLER_MAY_NOT"


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


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most important first (errors, warnings, then notes); otherwise as found."""
    return sorted(findings, key=lambda f: _SEVERITY_RANK[f.severity])


def is_healthy(findings: Iterable[Finding]) -> bool:
    """No ERROR finding: an export is expected to succeed (warnings may remain)."""
    return all(f.severity is not Severity.ERROR for f in findings)
