"""The survey's fan-out: every export destination of many profiles (accounts) and regions.

For each profile: its identity, its regions (the account's enabled ones, or those asked for,
an opt-in region the account has not enabled is an error row) and its bucket list (one
ListBuckets, with each bucket's region). Then for each of its regions: the newest export
tasks (one DescribeExportTasks page), the policies of the region's buckets, and for every
destination found (``wizard.core.survey.candidates``) the doctor's reading and verdict.

Concurrency is bounded: ``Limits.per_account`` regions of one account at a time,
``Limits.total`` regions and destinations in all, on one pool that lives as long as the
``Surveyor``. The calls keep the sessions' retry policy. A profile or region that refuses
(AccessDenied, an expired SSO sign-in, a disabled region) becomes an error row; the rest go
on. Results are reported as they arrive (``on_event``), from the pool's threads.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import botocore.configloader
import botocore.exceptions
import botocore.session
from botocore.exceptions import ClientError

from wizard.aws.inventory import task_from_reply
from wizard.aws.pool import AwsPool
from wizard.aws.session import AwsSession, ConnectionOptions, aws_call, error_code, translate
from wizard.aws.snapshot import bucket_key_reference, read_bucket, read_key
from wizard.core import doctor
from wizard.core import survey as core
from wizard.core.errors import AwsError, Cancelled, NoRegion, UsageError, WizardError
from wizard.core.state import ACTIVE_TASK_STATUSES, Choices, Snapshot
from wizard.core.text import shell_command, visible

FALLBACK_REGION = "us-east-1"  # for a profile without a region: STS and the bucket list


@dataclass(frozen=True)
class Limits:
    per_account: int = 8  # regions of one account surveyed at once
    total: int = 32  # regions and destinations surveyed at once, over every account
    # A profile's sign-in (its credential_process, SSO token or AssumeRole) at most this long:
    # one that waits for ever (a process asking for input no one sees) is a row, not a hang.
    sign_in_seconds: float = 60.0
    # How long a profile that has signed in waits for the earlier profiles' sign-ins, to
    # know whether one of them reaches the same account (then it is surveyed through that one).
    claim_seconds: float = 5.0


# What a survey reports as it goes (from its threads).
@dataclass(frozen=True)
class RowFound:
    row: core.Row


@dataclass(frozen=True)
class ErrorFound:
    error: core.SurveyError


@dataclass(frozen=True)
class UnitsPlanned:
    """A profile's regions are known: this many more (profile, region) pairs to survey."""

    profile: core.Profile
    count: int


@dataclass(frozen=True)
class UnitDone:
    profile: core.Profile
    region: str


SurveyEvent = RowFound | ErrorFound | UnitsPlanned | UnitDone


def config_profiles() -> list[str]:
    """Every profile in the AWS config and credentials files (AWS_CONFIG_FILE honoured), in
    the files' order: the first that reaches an account surveys it. A name a terminal does
    not show as it is comes after the others, so that it never takes an account from a
    profile whose repair commands can be printed."""
    names = botocore.session.Session().available_profiles
    return sorted(names, key=lambda name: visible(name) != name)  # stable: the files' order


def skipped_config_sections() -> list[str]:
    """The AWS config file's sections that look like profiles but that botocore (and so the
    AWS CLI) reads as none: ``[profile my name]`` (spaces not quoted), ``[profilex]``."""
    path = botocore.session.Session().get_config_variable("config_file")
    try:
        sections = botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.BotoCoreError:
        return []  # no such file, or one botocore cannot read: the survey's sign-in says so
    skipped = []
    for section in sections:
        if not section.startswith("profile"):
            continue
        try:
            words = shlex.split(section)
        except ValueError:
            words = []
        if len(words) != 2 or words[0] != "profile":
            skipped.append(section)
    return skipped


@dataclass
class _Account:
    profile: core.Profile
    session: AwsSession
    account: str
    regions: list[str]
    buckets: dict[str, list[str]]  # region -> bucket names


class _Claims:
    """Which profile surveys each account: the first in the survey's order that reaches it.

    Profile ``i`` decides once every earlier profile has decided (signed in and claimed, or
    failed), or after ``wait`` seconds, so that a profile whose sign-in hangs does not hold
    up the others for longer than that."""

    def __init__(
        self,
        count: int,
        wait: float,
        cancel: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._decided = [threading.Event() for _ in range(count)]
        self._wait = wait
        self._cancel = cancel
        self._clock = clock
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[int, core.Profile]] = {}  # account -> its profile
        self._same: list[tuple[int, core.SameAccount]] = []

    def claim(self, index: int, profile: core.Profile, account: str) -> core.Profile | None:
        """None: ``profile`` (the ``index``-th) surveys ``account``; else the profile that
        does."""
        deadline = self._clock() + self._wait
        for earlier in self._decided[:index]:
            while not earlier.wait(0.05):
                if self._cancel.is_set() or self._clock() > deadline:
                    break
            else:
                continue
            break  # stopped, or out of patience: decide with what is known
        with self._lock:
            owner, owner_profile = self._owners.setdefault(account, (index, profile))
            if owner == index:
                return None
            self._same.append((index, core.SameAccount(profile, account, owner_profile)))
            return owner_profile

    def decided(self, index: int) -> None:
        self._decided[index].set()

    @property
    def same(self) -> tuple[core.SameAccount, ...]:
        """The profiles left out because an earlier one surveys their account, in order."""
        with self._lock:
            return tuple(same for _, same in sorted(self._same, key=lambda pair: pair[0]))


def _message(error: BaseException) -> str:
    wizard_error = error if isinstance(error, WizardError) else translate(error)
    return wizard_error.message


# (profile, a region for a profile without one, the survey's pool) -> the profile's session
SessionFactory = Callable[[core.Profile, str | None, AwsPool], AwsSession]


def profile_session_factory(endpoint_url: str | None) -> SessionFactory:
    """Sessions from the AWS config: the profile's region (AWS_REGION first, as everywhere),
    else ``region``, else us-east-1."""

    def open_session(profile: core.Profile, region: str | None, pool: AwsPool) -> AwsSession:
        # Many sign-ins at once prompt no one: each credential_process in a process group
        # of its own, which the survey stops whole when it gives up on it.
        options = ConnectionOptions(profile=profile, endpoint_url=endpoint_url)
        try:
            return AwsSession(options, pool=pool, detached_sign_in=True)
        except NoRegion:
            pass  # the profile names no region: survey it in the one asked for
        options = ConnectionOptions(
            profile=profile, region=region or FALLBACK_REGION, endpoint_url=endpoint_url
        )
        return AwsSession(options, pool=pool, detached_sign_in=True)

    return open_session


class Surveyor:
    """One survey run's pool and limits; ``run`` may be called once per instance."""

    def __init__(
        self,
        open_session: SessionFactory,
        limits: Limits = Limits(),
        on_event: Callable[[SurveyEvent], None] | None = None,
        cancel: threading.Event | None = None,
        *,
        one_by_one: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``one_by_one``: every call after the other, on the calling thread (the baseline
        that measures what the concurrency is worth; with it ``limits`` are moot).
        ``clock``: what the sign-in and claim limits are measured on (tests hold it)."""
        self._open = open_session
        self._clock = clock
        self.limits = Limits(1, 1) if one_by_one else limits
        self._on_event = on_event or (lambda event: None)
        self.cancel = cancel or threading.Event()
        # The survey's one pool: every profile's session runs its own fan-outs on it too.
        self.pool = AwsPool(0 if one_by_one else max(1, limits.total), name="survey")
        self._pool = self.pool
        self._close_pool = True  # keep_sessions() keeps it: the sessions live on
        self._total = threading.BoundedSemaphore(max(1, limits.total))
        self._judging = threading.BoundedSemaphore(max(1, limits.total))
        self._lock = threading.Lock()
        self._rows: list[core.Row] = []
        self._errors: list[core.SurveyError] = []
        self._units_read = 0
        self.sessions: dict[core.Profile, AwsSession] = {}  # profile -> its session (for a repair)
        # run() makes its own
        self._claims = _Claims(0, self.limits.claim_seconds, self.cancel, clock)

    def keep_sessions(self) -> None:
        """The sessions outlive the run (a repair opens from a row): the pool stays open
        until ``close``."""
        self._close_pool = False

    def close(self) -> None:
        self._pool.close()

    def abandon(self, profiles: Sequence[core.Profile]) -> core.SurveyResult:
        """Stopped again while calls are still in flight: what was read so far, as a stopped
        survey, at once (the calls in flight are left behind, their results unused), and
        every credential_process still signing in stopped."""
        self.cancel.set()
        with self._lock:
            sessions = list(self.sessions.values())
            result = core.SurveyResult(
                rows=tuple(core.sort_rows(self._rows)),
                errors=tuple(core.sort_errors(self._errors)),
                units_read=self._units_read,
                profiles=tuple(profiles),
                same_account=self._claims.same,
                interrupted=True,
            )
        for session in sessions:
            session.abandon_sign_in()
        return result

    # -- reporting

    def _row(self, row: core.Row) -> None:
        with self._lock:
            self._rows.append(row)
        self._on_event(RowFound(row))

    def _error(self, profile: core.Profile, region: str | None, error: BaseException | str) -> None:
        message = error if isinstance(error, str) else _message(error)
        found = core.SurveyError(profile, region, message)
        with self._lock:
            self._errors.append(found)
        self._on_event(ErrorFound(found))

    # -- the run

    def run(
        self,
        profiles: Sequence[core.Profile],
        regions: core.RegionChoice,
        skipped: Sequence[str] = (),
    ) -> core.SurveyResult:
        """Survey ``profiles`` in ``regions`` (ALL: each account's enabled regions; HOME:
        each profile's own region; or the regions named). Each profile is surveyed as soon
        as it has signed in, so a slow sign-in holds up only its own profile. An account
        reached through several profiles is surveyed once, through the first of them in
        ``profiles`` (a profile whose sign-in takes more than ``Limits.claim_seconds`` longer
        than a later one's may lose that place to it). ``skipped``: sections of the AWS config
        that are no profile (``skipped_config_sections``), each an error row."""
        for section in skipped:
            self._error(f"[{section}]", None, core.SKIPPED_SECTION)
        self._claims = _Claims(len(profiles), self.limits.claim_seconds, self.cancel, self._clock)
        try:
            self._pool.fan_out(
                [partial(self._whole_profile, i, p, regions) for i, p in enumerate(profiles)]
            )
        finally:
            if self._close_pool:
                self._pool.close()
        with self._lock:
            return core.SurveyResult(
                rows=tuple(core.sort_rows(self._rows)),
                errors=tuple(core.sort_errors(self._errors)),
                units_read=self._units_read,
                profiles=tuple(profiles),
                same_account=self._claims.same,
                interrupted=self.cancel.is_set(),
            )

    def _whole_profile(self, index: int, profile: core.Profile, wanted: core.RegionChoice) -> None:
        """Sign in, claim the account (or find it claimed by an earlier profile), survey."""
        opened = None
        try:
            opened = self._sign_in(profile, wanted)
            owner = self._claims.claim(index, profile, opened[1]) if opened else None
        finally:
            self._claims.decided(index)
        if opened is not None and owner is None:
            self._profile(profile, opened[0], opened[1], wanted)

    def _sign_in(
        self, profile: core.Profile, wanted: core.RegionChoice
    ) -> tuple[AwsSession, str] | None:
        """The profile's session and account (GetCallerIdentity); None: an error row."""
        if self.cancel.is_set():
            return None
        first = wanted[0] if isinstance(wanted, tuple) and wanted else None
        try:
            with self._total:
                session = self._open(profile, first, self._pool)
                with self._lock:
                    self.sessions[profile] = session
                return session, self._account_of(profile, session)
        except Exception as error:
            # Stopped (Ctrl-C reaches the credential_process too): the survey says it was
            # stopped, and what failed because of it is not the profile's fault.
            if not self.cancel.is_set():
                self._error(profile, None, error)
            return None

    def _account_of(self, profile: core.Profile, session: AwsSession) -> str:
        """GetCallerIdentity, bounded: botocore waits on a credential_process for ever. A
        sign-in given up has its credential_process stopped."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def sign_in() -> None:
            try:
                box["account"] = session.identity().account
            except BaseException as error:  # handed to the caller's thread
                box["error"] = error
            finally:
                done.set()

        # A daemon: a sign-in that never returns must not keep the program alive.
        threading.Thread(target=sign_in, name="survey-sign-in", daemon=True).start()
        deadline = self._clock() + self.limits.sign_in_seconds
        while not done.wait(0.1):
            if self.cancel.is_set():
                session.abandon_sign_in()
                raise Cancelled("The survey was stopped.")
            if self._clock() > deadline:
                session.abandon_sign_in()
                check = ["aws", "sts", "get-caller-identity"]
                if profile is not None:
                    check.append(f"--profile={profile}")
                raise UsageError(
                    f"Signing in with profile {core.profile_label(profile)} took longer than "
                    f"{self.limits.sign_in_seconds:g} s (a credential_process or SSO login "
                    "waiting for input?); left out of the survey.",
                    fix=f"Check that the profile signs in on its own: {shell_command(*check)}",
                )
        if "error" in box:
            raise box["error"]
        return str(box["account"])

    def _profile(
        self,
        profile: core.Profile,
        session: AwsSession,
        account_id: str,
        wanted: core.RegionChoice,
    ) -> None:
        if self.cancel.is_set():
            return
        try:
            with self._total:
                account = self._open_account(profile, session, account_id, wanted)
        except Exception as error:
            self._error(profile, None, error)
            return
        self._on_event(UnitsPlanned(profile, len(account.regions)))
        per_account = threading.BoundedSemaphore(max(1, self.limits.per_account))
        # The regions that hold the account's buckets first: they take longest (policies to
        # read, destinations to judge), and the many quick ones fill in around them.
        regions = sorted(account.regions, key=lambda r: (not account.buckets.get(r), r))
        self._pool.fan_out([partial(self._unit, account, r, per_account) for r in regions])

    def _open_account(
        self,
        profile: core.Profile,
        session: AwsSession,
        account_id: str,
        wanted: core.RegionChoice,
    ) -> _Account:
        regions, disabled = _regions(session, wanted)
        for region in disabled:
            self._error(
                profile,
                region,
                f"{region} is not enabled for account {account_id} (an opt-in region): "
                "enable it in the account's settings, or leave it out of --regions.",
            )
        return _Account(profile, session, account_id, regions, _buckets(session))

    def _unit(self, account: _Account, region: str, per_account: threading.Semaphore) -> None:
        with per_account, self._total:
            if self.cancel.is_set():
                return
            try:
                self._destinations(account, region)
            except Exception as error:
                self._error(account.profile, region, error)
                self._on_event(UnitDone(account.profile, region))
                return
        with self._lock:
            self._units_read += 1
        self._on_event(UnitDone(account.profile, region))

    def _destinations(self, account: _Account, region: str) -> None:
        regional = account.session.for_region(region)
        tasks = _recent_tasks(regional, region)
        names = account.buckets.get(region, [])
        read = self._pool.fan_out([partial(_policy_or_error, regional, n) for n in names])
        policies: dict[str, str | None] = {}
        for name, (policy, problem) in zip(names, read, strict=True):
            policies[name] = policy
            if problem is not None:
                # One bucket that cannot be read is its own error row; the region's other
                # buckets are still surveyed (an export task may still name this one).
                self._error(account.profile, region, f"{name}: {problem}")
        targets = [core.TaskTarget(t.destination, t.prefix or "") for t in tasks if t.destination]
        active = tuple(t for t in tasks if t.status in ACTIVE_TASK_STATUSES)
        found = core.candidates(policies, targets)

        def judge(candidate: core.Candidate) -> None:
            if self.cancel.is_set():
                return
            with self._judging:
                try:
                    row = _judge(regional, account, region, candidate, active)
                except Exception as error:
                    self._error(account.profile, region, f"{candidate.bucket}: {_message(error)}")
                    return
            self._row(row)

        self._pool.fan_out([partial(judge, c) for c in found])


def _regions(session: AwsSession, wanted: core.RegionChoice) -> tuple[list[str], list[str]]:
    """(regions to survey, asked-for regions the account has not enabled)."""
    if wanted is core.Regions.HOME:
        return [session.region], []
    ec2 = session.client("ec2")
    try:
        with aws_call("DescribeRegions"):
            reply = ec2.describe_regions(AllRegions=True)
    except AwsError as error:
        if error.code != "AccessDenied":
            raise
        if wanted is core.Regions.ALL:
            return [session.region], []
        return list(wanted), []  # may not ask: try each, and let each say
    status = {
        r["RegionName"]: r.get("OptInStatus", "opt-in-not-required")
        for r in reply.get("Regions", [])
    }
    if not isinstance(wanted, tuple):
        return sorted(name for name, s in status.items() if s != "not-opted-in"), []
    enabled = [r for r in wanted if status.get(r, "opt-in-not-required") != "not-opted-in"]
    return enabled, [r for r in wanted if r not in enabled]


def _buckets(session: AwsSession) -> dict[str, list[str]]:
    """The account's buckets by region (ListBuckets returns each bucket's region)."""
    s3 = session.client("s3")
    by_region: dict[str, list[str]] = {}
    kwargs: dict[str, Any] = {"MaxBuckets": 10000}
    with aws_call("ListBuckets"):
        while True:
            reply = s3.list_buckets(**kwargs)
            for bucket in reply.get("Buckets", []):
                region = str(bucket.get("BucketRegion") or FALLBACK_REGION)
                by_region.setdefault(region, []).append(str(bucket["Name"]))
            token = reply.get("ContinuationToken")
            if not token:
                return by_region
            kwargs["ContinuationToken"] = token


def _recent_tasks(session: AwsSession, region: str) -> list[Any]:
    """The newest export tasks of the account in ``region`` (one page, newest first)."""
    logs = session.client("logs", region)
    with aws_call("DescribeExportTasks"):
        reply = logs.describe_export_tasks(limit=core.RECENT_TASKS)
    return [task_from_reply(t) for t in reply.get("exportTasks", [])]


def _policy_or_error(session: AwsSession, bucket: str) -> tuple[str | None, str | None]:
    """(the bucket's policy, None) or (None, why it could not be read)."""
    try:
        return _policy(session, bucket), None
    except AwsError as error:
        return None, f"its policy could not be read: {_message(error)}"


def _policy(session: AwsSession, bucket: str) -> str | None:
    """The bucket's policy; None when it has none or it may not be read (then only its export
    tasks can name it)."""
    try:
        reply = session.client("s3", session.region).get_bucket_policy(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchBucketPolicy", "NoSuchBucket"):
            return None
        raise translate(exc, "GetBucketPolicy") from exc
    except Exception as exc:
        raise translate(exc, "GetBucketPolicy") from exc
    policy = reply.get("Policy")
    return str(policy) if policy else None


def _judge(
    session: AwsSession,
    account: _Account,
    region: str,
    candidate: core.Candidate,
    active: tuple[Any, ...],
) -> core.Row:
    """The doctor's reading of one destination, with the bucket's own key."""
    choices = Choices(region=region, bucket=candidate.bucket, prefix=candidate.prefix)
    identity = session.identity()
    bucket = read_bucket(session, candidate.bucket)
    reference = bucket_key_reference(bucket)
    key = read_key(session, reference, bucket.region or region) if reference else None
    snap = Snapshot(
        identity=identity,
        region=region,
        bucket=bucket,
        key=key,
        log_group=None,
        active_tasks=active,
    )
    findings = tuple(doctor.diagnose(snap, choices))
    return core.Row(
        profile=account.profile,
        account=account.account,
        region=region,
        bucket=candidate.bucket,
        prefix=candidate.prefix,
        findings=findings,
        via=candidate.via,
        pattern=candidate.pattern,
    )
