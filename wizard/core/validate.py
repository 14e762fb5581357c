"""Validators shared by every face: one function per kind of input.

``*_problem`` functions return a plain-language message, or None when the input is fine, so a
TUI can validate as you type and the plain mode and the commands can refuse before any AWS call.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from datetime import datetime, timezone
from urllib.parse import urlsplit

from wizard.core.arn import is_valid_region, parse_arn

# CloudWatch Logs stream names are up to 512 characters; a data object's key is
# PREFIX/TASK_ID(36)/STREAM(512)/000000.gz and must fit S3's 1,024-byte limit.
MAX_PREFIX_BYTES = 1024 - len("/") - 36 - len("/") - 512 - len("/000000.gz")

# Every pattern is matched against the whole text (fullmatch): "$" would accept a trailing
# newline, and \d any Unicode digit.
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
_BUCKET_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_ALIAS_NAME = re.compile(r"alias/[a-zA-Z0-9/_-]{1,250}")
_KEY_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}"
)
_LOG_GROUP = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
_DURATION = re.compile(r"([0-9]{1,9}) ?(m|min|h|d|w)")
MAX_DURATION_MS = 10 * 366 * 86_400_000  # ten years: more is a typo
# Epoch milliseconds from 1970 to the end of year 9999 (what a date can name).
MAX_EPOCH_MS = 253_402_300_799_999
_ACCOUNT = re.compile(r"[0-9]{12}")
_DURATION_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def bucket_name_problem(name: str) -> str | None:
    """S3's bucket naming rules for general purpose buckets."""
    if not name:
        return "Enter a bucket name."
    if not 3 <= len(name) <= 63:
        return f"A bucket name has 3 to 63 characters; this one has {len(name)}."
    bad = sorted({c for c in name if c not in _BUCKET_ALPHABET})
    if bad:
        # One rule for every wrong character, capitals included ("Bad_Name" and "bad_name"
        # are told the same precise thing).
        return (
            f"A bucket name may contain only lowercase a-z, 0-9, '.' and '-'; not {''.join(bad)!r}."
        )
    if not _BUCKET_CHARS.fullmatch(name):
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


def _hostile_characters(text: str) -> str | None:
    """The first kind of character a name from a person never means: controls (C0, DEL, C1),
    bidi controls and other invisible format characters, line and paragraph separators."""
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            return "control characters (such as a tab or a line break)"
        if category in ("Zl", "Zp"):
            return "line or paragraph separators (U+2028, U+2029)"
        if category in ("Cf", "Cs"):
            return (
                "invisible or bidirectional control characters "
                f"(U+{ord(char):04X} here: text would not read as it is stored)"
            )
    return None


def prefix_problem(prefix: str) -> str | None:
    """An S3 key prefix for the exports: the folders CloudWatch Logs writes into. Refused:
    what no user means and what would make the grant, the keys or the printed commands lie
    (empty, '.' and '..' folders, invisible and control characters, policy wildcards)."""
    if not prefix:
        return "Enter a prefix (CloudWatch Logs uses 'exportedlogs' when none is given)."
    hostile = _hostile_characters(prefix)
    if hostile:
        return f"The prefix must not contain {hostile}."
    if prefix != prefix.strip():
        return "The prefix must not start or end with a space."
    if prefix.startswith("/"):
        return "The prefix must not start with '/': S3 keys would begin with an empty folder."
    if prefix.endswith("/"):
        return "The prefix must not end with '/': CloudWatch Logs adds the '/' itself."
    if "//" in prefix:
        return "The prefix must not contain '//' (an empty folder name)."
    for segment in prefix.split("/"):
        if segment in (".", ".."):
            return (
                f"The prefix must not have a {segment!r} folder: S3 keeps it as a name, while "
                "paths, consoles and tools read it as a relative folder."
            )
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
    return None


def normalize_alias(alias: str) -> str:
    """``NAME`` or ``alias/NAME`` -> ``alias/NAME`` (check it with alias_problem first)."""
    return alias if alias.startswith("alias/") else f"alias/{alias}"


def alias_problem(alias: str) -> str | None:
    """For a key the wizard creates: ``NAME`` or ``alias/NAME``."""
    if not alias.strip():
        return "Enter an alias for the new key, for example alias/cwl-exports."
    if alias != alias.strip():
        return "An alias may not start or end with a space or a line break."
    name = normalize_alias(alias)
    if name.startswith("alias/aws/"):
        return "Aliases starting with alias/aws/ are reserved for AWS managed keys."
    if not _ALIAS_NAME.fullmatch(name):
        return (
            "An alias may contain only letters, digits, '/', '_' and '-' "
            "(at most 256 characters with 'alias/')."
        )
    return None


# Every partition's name with the regions it holds (the ARN of a key names both, and they must
# agree): aws (commercial), China, GovCloud, the ISO partitions and the European Sovereign Cloud.
KEY_PARTITIONS: dict[str, re.Pattern[str]] = {
    "aws": re.compile(r"(?!cn-|us-gov-|[a-z]{2}-iso[a-z]?-|eusc-)[a-z]{2}-[a-z]+-[0-9]{1,2}"),
    "aws-cn": re.compile(r"cn-[a-z]+-[0-9]{1,2}"),
    "aws-us-gov": re.compile(r"us-gov-[a-z]+-[0-9]{1,2}"),
    "aws-iso": re.compile(r"[a-z]{2}-iso-[a-z]+-[0-9]{1,2}"),
    "aws-iso-b": re.compile(r"[a-z]{2}-isob-[a-z]+-[0-9]{1,2}"),
    "aws-iso-e": re.compile(r"[a-z]{2}-isoe-[a-z]+-[0-9]{1,2}"),
    "aws-iso-f": re.compile(r"[a-z]{2}-isof-[a-z]+-[0-9]{1,2}"),
    "aws-eusc": re.compile(r"eusc-[a-z]{2}-[a-z]+-[0-9]{1,2}"),
}


def key_reference_problem(reference: str) -> str | None:
    """An existing key, in every form AWS documents: a key id (a UUID, or ``mrk-`` and 32 hex
    digits for a multi-Region key), a key ARN, an alias name (``alias/NAME``) or an alias ARN,
    the ARNs in any partition (with a region of that partition). Nothing else."""
    if not reference:
        return "Enter a KMS key id, key ARN, alias (alias/NAME) or alias ARN."
    if _KEY_ID.fullmatch(reference) or _ALIAS_NAME.fullmatch(reference):
        return None
    arn = parse_arn(reference)
    region_rule = KEY_PARTITIONS.get(arn.partition) if arn else None
    if (
        arn
        and region_rule is not None
        and arn.service == "kms"
        and region_rule.fullmatch(arn.region)
        and _ACCOUNT.fullmatch(arn.account)
    ):
        resource = arn.resource
        if resource.startswith("key/") and _KEY_ID.fullmatch(resource[4:]):
            return None
        if _ALIAS_NAME.fullmatch(resource):
            return None
    return (
        f"{reference!r} is not a KMS key id (a UUID or mrk-...), key ARN, "
        "alias (alias/NAME) or alias ARN."
    )


def account_problem(account: str) -> str | None:
    """An AWS account id: exactly 12 ASCII digits."""
    if not _ACCOUNT.fullmatch(account):
        return f"{account!r} is not an AWS account id (12 digits, for example 123456789012)."
    return None


def parse_source_accounts(text: str) -> tuple[str, ...]:
    """Account ids separated by commas or spaces, each once, in the order given."""
    return tuple(dict.fromkeys(part for part in re.split(r"[\s,]+", text.strip()) if part))


def source_accounts_problem(text: str) -> str | None:
    """The other accounts of a central logging destination: account ids, or nothing."""
    for account in parse_source_accounts(text):
        problem = account_problem(account)
        if problem:
            return f"{problem} Separate several with commas."
    return None


def profile_problem(name: str) -> str | None:
    """An AWS profile name: printable and not blank (whether it exists is botocore's to say)."""
    if not name.strip() or not name.isprintable():
        return f"{name!r} is not a profile name."
    return None


def region_problem(region: str) -> str | None:
    if not region:
        return "Give a region name (for example ap-northeast-1)."
    if not is_valid_region(region):
        return f"{region!r} is not an AWS region name (for example ap-northeast-1)."
    return None


def log_group_problem(name: str) -> str | None:
    if not _LOG_GROUP.fullmatch(name):
        return (
            "A log group name has 1 to 512 characters: "
            "letters, digits, and '_', '-', '/', '.', '#'."
        )
    return None


def stream_prefix_problem(prefix: str) -> str | None:
    """A log stream name prefix: 1 to 512 characters, no ':' or '*', no control characters."""
    if not prefix:
        return "Give a non-empty prefix, or leave the option out."
    if len(prefix) > 512:
        return f"A log stream name has at most 512 characters; this prefix has {len(prefix)}."
    if any(c in ":*" or ord(c) < 32 or ord(c) == 127 for c in prefix):
        return "A log stream name may not contain ':', '*' or control characters."
    hostile = _hostile_characters(prefix)
    if hostile:
        return f"A log stream name prefix must not contain {hostile}."
    return None


def parse_duration_ms(text: str) -> int:
    """``30m``, ``1h``, ``2d``, ``1w`` -> milliseconds. Raises ValueError with the reason."""
    match = _DURATION.fullmatch(text.strip(" "))
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30m, 1h, 24h, 2d or 1w.")
    value = int(match.group(1)) * _DURATION_MS[match.group(2)]
    if value > MAX_DURATION_MS:
        raise ValueError(f"{text!r} is longer than ten years.")
    return value


def parse_time_ms(text: str) -> int:
    """Epoch milliseconds, or an ISO-8601 time (UTC when no offset is given)."""
    text = text.strip(" ")
    if text.isascii() and text.isdigit():
        if len(text) > len(str(MAX_EPOCH_MS)) or int(text) > MAX_EPOCH_MS:
            raise ValueError(f"{text} is after the year 9999: not a time in milliseconds.")
        value = int(text)
        if value < 10**11:
            raise ValueError(
                f"{text} looks like seconds since the epoch; CloudWatch Logs takes milliseconds "
                f"({value * 1000})."
            )
        return value
    if not text.isascii() or any(ord(c) < 32 for c in text):
        raise ValueError(
            f"{text!r} is not a time: use ISO-8601 (2026-11-26T09:00:00Z) or epoch milliseconds."
        )
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO-8601 (2026-11-26T09:00:00Z) or epoch milliseconds."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def endpoint_problem(url: str) -> str | None:
    """An endpoint URL: http(s)://HOST[:PORT][/PATH], nothing a request could not go to."""
    if not url.isascii() or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return f"{url!r} contains spaces or control characters."
    try:
        parsed = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": a bracket left open
        return f"{url!r} is not a URL: {exc}."
    if parsed.scheme not in ("http", "https"):
        return f"{url!r} is not an http:// or https:// URL."
    if not parsed.hostname:
        return f"{url!r} names no host (for example http://127.0.0.1:4566)."
    try:
        port = parsed.port
        parsed.hostname  # noqa: B018 (it raises for a malformed host)
    except ValueError:
        return f"{url!r} has a port that is not 1 to 65535."
    if port == 0:
        return f"{url!r} has a port that is not 1 to 65535."
    if parsed.query or parsed.fragment:
        return f"{url!r} has a query or fragment; give the endpoint alone."
    return None


def seconds_problem(value: float, most: float) -> str | None:
    """A number of seconds: not negative, not NaN or infinite, at most ``most``."""
    if not math.isfinite(value) or value < 0 or value > most:
        return f"give 0 to {most:g} seconds, not {value!r}."
    return None
