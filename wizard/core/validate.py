"""Validators shared by every face: one function per kind of input.

``*_problem`` functions return a plain-language message, or None when the input is fine, so a
TUI can validate as you type and the plain mode and the commands can refuse before any AWS call.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone

from wizard.core.arn import is_valid_region, parse_arn

# CloudWatch Logs stream names are up to 512 characters; a data object's key is
# PREFIX/TASK_ID(36)/STREAM(512)/000000.gz and must fit S3's 1,024-byte limit.
MAX_PREFIX_BYTES = 1024 - len("/") - 36 - len("/") - 512 - len("/000000.gz")

_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]{1,250}$")
_KEY_ID = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
_LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_DURATION = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_DURATION_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def bucket_name_problem(name: str) -> str | None:
    """S3's bucket naming rules for general purpose buckets."""
    if not name:
        return "Enter a bucket name."
    if not 3 <= len(name) <= 63:
        return f"A bucket name has 3 to 63 characters; this one has {len(name)}."
    if name != name.lower():
        return "A bucket name uses lowercase letters only."
    if not _BUCKET_CHARS.match(name):
        bad = sorted({c for c in name if not (c.isalnum() or c in ".-")})
        if bad:
            return f"A bucket name may contain only a-z, 0-9, '.' and '-'; not {''.join(bad)!r}."
        return "A bucket name must begin and end with a letter or a digit."
    if ".." in name:
        return "A bucket name may not contain two adjacent periods."
    try:
        ipaddress.IPv4Address(name)
        return "A bucket name may not look like an IP address."
    except ValueError:
        pass
    for prefix in _BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"A bucket name may not start with {prefix!r} (reserved by S3)."
    for suffix in _BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"A bucket name may not end with {suffix!r} (reserved by S3)."
    return None


def prefix_problem(prefix: str) -> str | None:
    if not prefix:
        return "Enter a prefix (CloudWatch Logs uses 'exportedlogs' when none is given)."
    if prefix.startswith("/"):
        return "The prefix must not start with '/': S3 keys would begin with an empty folder."
    if prefix.endswith("/"):
        return "The prefix must not end with '/': CloudWatch Logs adds the '/' itself."
    if "//" in prefix:
        return "The prefix must not contain '//' (an empty folder name)."
    size = len(prefix.encode())
    if size > MAX_PREFIX_BYTES:
        return (
            f"The prefix is {size} bytes; at most {MAX_PREFIX_BYTES} fit, so that "
            "prefix/taskId/stream/000000.gz stays within S3's 1,024-byte key limit."
        )
    wildcards = sorted({c for c in prefix if c in "*?$"})
    if wildcards:
        # In a policy Resource these are wildcards or variables: they would widen the grant.
        return f"The prefix must not contain {', '.join(repr(c) for c in wildcards)}."
    if any(ord(c) < 32 or ord(c) == 127 for c in prefix):
        return "The prefix must not contain control characters."
    return None


def normalize_alias(alias: str) -> str:
    alias = alias.strip()
    return alias if alias.startswith("alias/") else f"alias/{alias}"


def alias_problem(alias: str) -> str | None:
    """For a key the wizard creates: ``NAME`` or ``alias/NAME``."""
    if not alias.strip():
        return "Enter an alias for the new key, for example alias/cwl-exports."
    name = normalize_alias(alias)
    if name.startswith("alias/aws/"):
        return "Aliases starting with alias/aws/ are reserved for AWS managed keys."
    if not _ALIAS_NAME.match(name):
        return (
            "An alias may contain only letters, digits, '/', '_' and '-' "
            "(at most 256 characters with 'alias/')."
        )
    return None


def key_reference_problem(reference: str) -> str | None:
    """An existing key: key id, key ARN, alias name or alias ARN."""
    if not reference:
        return "Enter a KMS key id, key ARN, alias (alias/NAME) or alias ARN."
    if _KEY_ID.match(reference) or _ALIAS_NAME.match(reference):
        return None
    arn = parse_arn(reference)
    if arn and arn.service == "kms" and arn.region and arn.account:
        resource = arn.resource
        if resource.startswith("key/") and _KEY_ID.match(resource[4:]):
            return None
        if _ALIAS_NAME.match(resource):
            return None
    return (
        f"{reference!r} is not a KMS key id (a UUID or mrk-...), key ARN, "
        "alias (alias/NAME) or alias ARN."
    )


_ACCOUNT = re.compile(r"[0-9]{12}")


def account_problem(account: str) -> str | None:
    """An AWS account id: exactly 12 ASCII digits."""
    if not _ACCOUNT.fullmatch(account):
        return f"{account!r} is not an AWS account id (12 digits, for example 123456789012)."
    return None


def region_problem(region: str) -> str | None:
    if not is_valid_region(region):
        return f"{region!r} is not an AWS region name (for example ap-northeast-1)."
    return None


def log_group_problem(name: str) -> str | None:
    if not _LOG_GROUP.match(name):
        return (
            "A log group name has 1 to 512 characters: "
            "letters, digits, and '_', '-', '/', '.', '#'."
        )
    return None


def parse_duration_ms(text: str) -> int:
    """``30m``, ``1h``, ``2d``, ``1w`` -> milliseconds. Raises ValueError with the reason."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30m, 1h, 24h, 2d or 1w.")
    return int(match.group(1)) * _DURATION_MS[match.group(2)]


def parse_time_ms(text: str) -> int:
    """Epoch milliseconds, or an ISO-8601 time (UTC when no offset is given)."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
        if value < 10**11:
            raise ValueError(
                f"{text} looks like seconds since the epoch; CloudWatch Logs takes milliseconds "
                f"({value * 1000})."
            )
        return value
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO-8601 (2026-11-26T09:00:00Z) or epoch milliseconds."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)
