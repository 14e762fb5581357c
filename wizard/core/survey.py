"""The survey: which export destinations an account has in a region, and a verdict per row.

Pure rules, no AWS: discovery reads the bucket policies and the export tasks the AWS layer
fetched (``wizard.aws.survey``), and each destination's verdict is the doctor's
(``wizard.core.doctor.diagnose``). A destination is a bucket and a prefix:

- every bucket of the region whose policy lets a CloudWatch Logs principal (``logs.*``) in,
  with the prefixes its PutObject grants name (``BUCKET/PREFIX/*``);
- every bucket an export task of the account wrote to (newest task first), with the
  task's prefix.

A bucket granted on ``BUCKET/*`` with no task naming a prefix is judged at the default prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from wizard.core.errors import PolicyError
from wizard.core.findings import Finding, FindingCode, Severity, is_healthy
from wizard.core.policy import Statement, parse_policy
from wizard.core.presets import DEFAULT_KEY_ALIAS, DEFAULT_PREFIX
from wizard.core.text import shell_command, visible
from wizard.core.validate import bucket_name_problem, prefix_problem

PROGRAM = "cwl-export-wizard"
# What the AWS layer reads of the newest export tasks per account and region (one page).
RECENT_TASKS = 50


class Via(str, Enum):
    """How a destination was found."""

    POLICY = "bucket policy"
    TASK = "export task"


@dataclass(frozen=True)
class TaskTarget:
    """Where one export task wrote: the bucket and prefix it was given."""

    bucket: str
    prefix: str


@dataclass(frozen=True)
class Candidate:
    """A destination to judge: a bucket and a prefix, and how it was found. ``pattern``: the
    bucket policy grants CloudWatch Logs only under this pattern (``a*b/*``), which names no
    prefix, so the destination is judged at the default prefix (the row says so)."""

    bucket: str
    prefix: str
    via: tuple[Via, ...]
    pattern: str | None = None


# A profile of None: the default credential chain (no --profile).
Profile = str | None
DEFAULT_CHAIN = "(default)"


def profile_label(profile: Profile) -> str:
    return DEFAULT_CHAIN if profile is None else profile


class Regions(str, Enum):
    """Which regions of each account: ``ALL`` its enabled ones, ``HOME`` its profile's own.
    A list of names is given as a tuple instead."""

    ALL = "all"
    HOME = "home"


RegionChoice = Regions | tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One destination with its verdict."""

    profile: Profile
    account: str
    region: str
    bucket: str
    prefix: str
    findings: tuple[Finding, ...]
    via: tuple[Via, ...] = ()
    pattern: str | None = None  # see Candidate.pattern

    @property
    def healthy(self) -> bool:
        return is_healthy(self.findings)

    @property
    def first_finding(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def verdict(self) -> str:
        return "healthy" if self.healthy else "broken"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.profile or "", self.region, self.bucket, self.prefix)


@dataclass(frozen=True)
class SurveyError:
    """A profile (region None: the whole account) or one of its regions that could not be
    read, and why."""

    profile: Profile
    region: str | None
    message: str


@dataclass(frozen=True)
class Progress:
    """How far a survey has come: profiles and regions done of those known so far."""

    units_done: int = 0
    units: int = 0
    destinations: int = 0
    errors: int = 0


@dataclass(frozen=True)
class SameAccount:
    """A profile that reaches an account another profile already surveyed: not twice."""

    profile: Profile
    account: str
    surveyed_as: Profile


@dataclass(frozen=True)
class SurveyResult:
    rows: tuple[Row, ...]
    errors: tuple[SurveyError, ...]
    units_read: int = 0  # (profile, region) pairs read without error
    profiles: tuple[Profile, ...] = field(default=())
    same_account: tuple[SameAccount, ...] = field(default=())
    # Stopped (Ctrl-C) before the end: what was not read yet is simply absent, so no verdict
    # of "all healthy" may be drawn from it.
    interrupted: bool = False


class Outcome(Enum):
    HEALTHY = 0
    FINDINGS = 1
    NOTHING_READ = 2
    STOPPED = 130  # as an interrupted command anywhere (128 + SIGINT)


def outcome(result: SurveyResult) -> Outcome:
    """HEALTHY: every destination healthy and everything read; FINDINGS: a broken
    destination, or a profile or region that refused; NOTHING_READ: not one region read;
    STOPPED: interrupted, whatever was read (it may be any part of the whole)."""
    if result.interrupted:
        return Outcome.STOPPED
    if result.units_read == 0 and result.errors:
        return Outcome.NOTHING_READ
    if result.errors or not all(row.healthy for row in result.rows):
        return Outcome.FINDINGS
    return Outcome.HEALTHY


# --------------------------------------------------------------------------- discovery


def is_logs_service_principal(name: str) -> bool:
    """``logs.<region>.amazonaws.com`` (or ``.cn``), or the global ``logs.amazonaws.com``."""
    lowered = name.strip().lower()
    return lowered.startswith("logs.") and (
        lowered.endswith(".amazonaws.com") or lowered.endswith(".amazonaws.com.cn")
    )


def _grants_logs(statement: Statement) -> bool:
    if statement.effect != "Allow" or statement.principal is None:
        return False
    return any(is_logs_service_principal(p) for p in statement.principal.get("Service", ()))


def _put_object(statement: Statement) -> bool:
    actions = statement.actions or ()
    return any(a.lower() in ("s3:putobject", "s3:*", "*", "s3:put*") for a in actions)


def _path_of(resource: str, bucket: str) -> str | None:
    """``arn:aws:s3:::BUCKET/PATH`` -> PATH; None for a resource of another bucket."""
    _, _, rest = resource.partition(":s3:::")
    if not rest.startswith(bucket + "/"):
        return None
    return rest[len(bucket) + 1 :]


def _prefix_of(resource: str, bucket: str) -> str | None:
    """``arn:aws:s3:::BUCKET/PREFIX/*`` -> PREFIX; None for the whole bucket or a pattern."""
    path = _path_of(resource, bucket)
    if path is None:
        return None
    if path.endswith("/*"):
        path = path[:-2]
    elif path.endswith("*"):
        return None
    if not path or "*" in path or "?" in path:
        return None
    return path


def _grant_paths(bucket: str, policy: str | None) -> tuple[bool, list[str]]:
    """(grants CloudWatch Logs, the paths its PutObject grants name in ``bucket``).

    An unreadable policy grants nothing that can be seen: the bucket is left to export tasks.
    """
    if not policy:
        return False, []
    try:
        doc = parse_policy(policy, kind="bucket policy")
    except PolicyError:
        return False, []
    grants = False
    paths: list[str] = []
    for statement in doc.statements:
        if not _grants_logs(statement):
            continue
        grants = True
        if _put_object(statement):
            for resource in statement.resources or ():
                path = _path_of(resource, bucket)
                if path is not None:
                    paths.append(path)
    return grants, paths


def policy_prefixes(bucket: str, policy: str | None) -> tuple[bool, tuple[str, ...]]:
    """(grants CloudWatch Logs, the prefixes its PutObject grants name) for a bucket policy."""
    grants, paths = _grant_paths(bucket, policy)
    prefixes = (_prefix_of(f"arn:aws:s3:::{bucket}/{path}", bucket) for path in paths)
    return grants, tuple(dict.fromkeys(p for p in prefixes if p is not None))


def policy_pattern(bucket: str, policy: str | None) -> str | None:
    """The first pattern (``a*b/*``) the CloudWatch Logs grants name, when they name neither
    a prefix nor the whole bucket: the default prefix may well be outside it."""
    _, paths = _grant_paths(bucket, policy)
    if any(path in ("*", "") for path in paths):
        return None  # the whole bucket: every prefix is granted
    if any(_prefix_of(f"arn:aws:s3:::{bucket}/{path}", bucket) for path in paths):
        return None
    return next((path for path in paths if "*" in path or "?" in path), None)


def candidates(policies: Mapping[str, str | None], tasks: Sequence[TaskTarget]) -> list[Candidate]:
    """The destinations of one account and region: ``policies`` maps each bucket of the
    region to its policy (None: none); ``tasks`` are the export tasks, newest first."""
    found: dict[tuple[str, str], list[Via]] = {}
    patterns: dict[tuple[str, str], str] = {}

    def add(bucket: str, prefix: str, via: Via) -> None:
        vias = found.setdefault((bucket, prefix), [])
        if via not in vias:
            vias.append(via)

    task_prefixes: dict[str, list[str]] = {}
    for task in tasks:
        task_prefixes.setdefault(task.bucket, []).append(task.prefix)
        add(task.bucket, task.prefix or DEFAULT_PREFIX, Via.TASK)
    for bucket in sorted(policies):
        grants, prefixes = policy_prefixes(bucket, policies[bucket])
        if not grants:
            continue
        named = list(prefixes)
        if not named and not task_prefixes.get(bucket):
            named = [DEFAULT_PREFIX]
            pattern = policy_pattern(bucket, policies[bucket])
            if pattern is not None:
                patterns[(bucket, DEFAULT_PREFIX)] = pattern
        for prefix in named or task_prefixes.get(bucket, []):
            add(bucket, prefix or DEFAULT_PREFIX, Via.POLICY)
    return [
        Candidate(bucket, prefix, tuple(vias), patterns.get((bucket, prefix)))
        for (bucket, prefix), vias in sorted(found.items())
    ]


def pattern_note(row: Row) -> str | None:
    """Why a row's prefix is the default one, when the policy grants only a pattern; with
    the doctor command for the prefix the user exports to (PREFIX, a placeholder)."""
    if row.pattern is None:
        return None
    said = (
        f"the bucket policy grants CloudWatch Logs only under the pattern {row.pattern}, "
        f"which names no prefix: judged at the default prefix {row.prefix}"
    )
    if _unprintable_profile(row):
        return said + "."
    words = [PROGRAM, "doctor"]
    if row.profile is not None:
        words += _option("--profile", row.profile)
    words += ["--region", row.region, "--bucket", row.bucket]
    return f"{said}; for the prefix you export to: {shell_command(*words)} --prefix PREFIX"


# --------------------------------------------------------------------------- output

# Findings whose repair needs another key (the bucket's own can never serve), or the bucket
# created again: the repair command says so.
NEEDS_A_KEY = frozenset(
    {
        FindingCode.KEY_AWS_MANAGED,
        FindingCode.KEY_NOT_ENABLED,
        FindingCode.KEY_NOT_SYMMETRIC,
        FindingCode.KEY_WRONG_REGION,
        FindingCode.BUCKET_DSSE_UNSUPPORTED,
    }
)
NEEDS_THE_BUCKET = frozenset({FindingCode.BUCKET_NOT_FOUND})


# Findings no command of this tool repairs: a Deny the account wrote (the wizard never edits
# a foreign statement) stops every apply short of a working export.
NOT_OURS_TO_REPAIR = frozenset({FindingCode.EXPLICIT_DENY})


def _option(name: str, value: str) -> list[str]:
    """``--name value``, or ``--name=value`` when the value would read as an option
    (a profile called ``-h`` must not print help instead of repairing)."""
    return [f"{name}={value}"] if value.startswith("-") else [name, value]


@dataclass(frozen=True)
class Repair:
    """The change that repairs a broken destination: the same in its printed command and in
    the TUI's repair from its row."""

    profile: Profile
    region: str
    bucket: str
    prefix: str
    create_bucket: bool = False
    create_key_alias: str | None = None  # None: the bucket keeps its own encryption and key


def unsupported_name(row: Row) -> str | None:
    """Why this tool writes no change for the row's bucket or prefix (a prefix with a ``$``,
    ``//`` or a control character, a bucket name of the old US East rules): the reason, as
    ``--bucket`` and ``--prefix`` would refuse them."""
    if problem := bucket_name_problem(row.bucket):
        return f"the bucket name {row.bucket!r}: {problem}"
    if problem := prefix_problem(row.prefix):
        return f"the prefix {row.prefix!r}: {problem}"
    return None


def repair_of(row: Row) -> Repair | None:
    """The repair of a broken row; None when a finding is one no change of this tool repairs,
    or its bucket or prefix is one this tool does not write to (see ``repair_text``)."""
    codes = {f.code for f in row.findings}
    if codes & NOT_OURS_TO_REPAIR or unsupported_name(row):
        return None
    create_bucket = bool(codes & NEEDS_THE_BUCKET)
    needs_key = bool(codes & NEEDS_A_KEY) or create_bucket
    return Repair(
        profile=row.profile,
        region=row.region,
        bucket=row.bucket,
        prefix=row.prefix,
        create_bucket=create_bucket,
        create_key_alias=DEFAULT_KEY_ALIAS if needs_key else None,
    )


def _unprintable_profile(row: Row) -> bool:
    """The row's profile name holds characters a terminal does not show as they are (control
    or bidi): a command printed with it, once pasted, would name another profile. (A bucket
    or prefix with such characters has no repair at all: ``unsupported_name``.)"""
    return row.profile is not None and visible(row.profile) != row.profile


def repair_command(row: Row) -> str | None:
    """What to run to repair a broken destination (asks before changing anything); None
    when no command of this tool repairs it, or none can be printed (see ``repair_text``)."""
    repair = repair_of(row)
    if repair is None or _unprintable_profile(row):
        return None
    words = [PROGRAM, "apply"]
    if repair.profile is not None:
        words += _option("--profile", repair.profile)
    words += ["--region", repair.region, "--bucket", repair.bucket]
    words += _option("--prefix", repair.prefix)
    if repair.create_bucket:
        words += ["--create-bucket"]
    if repair.create_key_alias is not None:
        words += ["--create-key", repair.create_key_alias]
    return shell_command(*words)


SKIPPED_SECTION = (
    "this section of the AWS config names no profile that botocore or the AWS CLI can use "
    "(its name does not read as one word: quote a name with spaces or quotes in it, "
    '[profile "my name"]); left out of the survey.'
)

NO_REPAIR_FOR_A_DENY = (
    "none by this tool: a Deny statement of the account stops the export, and the wizard "
    "never edits a statement it did not write; narrow it yourself (see the finding's fix), "
    "then run the survey again."
)


def repair_text(row: Row) -> str:
    """The repair line of a broken row: the command, or why there is none."""
    command = repair_command(row)
    if command is not None:
        return command
    if {f.code for f in row.findings} & NOT_OURS_TO_REPAIR:
        return NO_REPAIR_FOR_A_DENY
    if unsupported := unsupported_name(row):
        return (
            f"none by this tool: {unsupported} The wizard writes no change for such a "
            "destination (apply would refuse it); repair it by hand, or export to another "
            "prefix."
        )
    return (
        "no command printed: the profile name holds characters a terminal does not show as "
        "they are (shown escaped above), so a pasted command would name something else; "
        "repair it from the survey in the TUI (cwl-export-wizard --survey), which uses the "
        "names as they are."
    )


def finding_text(finding: Finding | None) -> str:
    if finding is None:
        return ""
    return f"{finding.code}: {finding.message}"


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    """Broken first, then by profile, region, bucket and prefix."""
    return sorted(rows, key=lambda r: (r.healthy, *r.key))


def sort_errors(errors: Iterable[SurveyError]) -> list[SurveyError]:
    return sorted(errors, key=lambda e: (e.profile or "", e.region or ""))


def summary(result: SurveyResult) -> str:
    from wizard.core.text import count

    broken = sum(not r.healthy for r in result.rows)
    healthy = len(result.rows) - broken
    text = (
        f"{count(len(result.rows), 'destination')} in {count(result.units_read, 'account-region')}"
        f" of {count(len(result.profiles), 'profile')}: {healthy} healthy, {broken} broken"
    )
    if result.errors:
        text += f"; {count(len(result.errors), 'profile or region', 'profiles or regions')}"
        text += " could not be read"
    if result.interrupted:
        return f"{STOPPED_EARLY} Read before it stopped: {text}."
    return text + "."


STOPPED_EARLY = (
    "The survey was stopped before the end: profiles and regions not read yet are missing, "
    "so this is no verdict on them."
)


def row_json(row: Row) -> dict[str, object]:
    return {
        "profile": row.profile,
        "account": row.account,
        "region": row.region,
        "bucket": row.bucket,
        "prefix": row.prefix,
        **({"granted_pattern": row.pattern} if row.pattern is not None else {}),
        "healthy": row.healthy,
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "message": f.message,
                "fix": f.fix,
                "aws_error": f.aws_error,
            }
            for f in row.findings
        ],
    }


def result_json(result: SurveyResult) -> dict[str, object]:
    stopped: dict[str, object] = {"interrupted": True} if result.interrupted else {}
    return {
        **stopped,  # only a stopped survey says so: a complete one keeps the documented keys
        "destinations": [row_json(r) for r in sort_rows(result.rows)],
        "errors": [
            {"profile": e.profile, "region": e.region, "message": e.message}
            for e in sort_errors(result.errors)
        ],
        "same_account": [
            {"profile": s.profile, "account": s.account, "surveyed_as": s.surveyed_as}
            for s in result.same_account
        ],
    }


def same_account_text(same: SameAccount) -> str:
    return (
        f"{profile_label(same.profile)} reaches account {same.account}, surveyed once as "
        f"{profile_label(same.surveyed_as)}."
    )


def severity_rank(row: Row) -> int:
    first = row.first_finding
    if first is None:
        return 3
    return {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[first.severity]
