"""The survey for every face: which profiles and regions, the sessions, the run.

``doctor`` without ``--bucket`` and the TUI's survey view both come here: the rules are in
``wizard.core.survey``, the fan-out in ``wizard.aws.survey``. A face only asks and shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wizard.aws.survey import (
    ErrorFound,
    Limits,
    RowFound,
    SessionFactory,
    SurveyEvent,
    Surveyor,
    UnitDone,
    UnitsPlanned,
    config_profiles,
    profile_session_factory,
    skipped_config_sections,
)
from wizard.core import survey as core
from wizard.core.errors import UsageError
from wizard.core.text import visible
from wizard.core.validate import profile_problem, region_problem

if TYPE_CHECKING:
    from wizard.aws.pool import AwsPool
    from wizard.aws.session import AwsSession
    from wizard.sandbox.server import Sandbox

__all__ = [
    "ErrorFound",
    "Limits",
    "RowFound",
    "SurveyEvent",
    "Surveyor",
    "UnitDone",
    "UnitsPlanned",
    "parse_profiles",
    "parse_regions",
    "sandbox_factory",
    "start",
]


def parse_regions(text: str | None, region: str | None) -> core.RegionChoice:
    """--regions (``all`` or a comma-separated list); without it --region, else each
    profile's own region. Raises UsageError naming the option."""
    from wizard.aws.session import region_known_problem

    if text is None:
        return (region,) if region else core.Regions.HOME
    if text.strip().lower() == core.Regions.ALL.value:
        return core.Regions.ALL
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",")))
    for name in names:
        problem = region_problem(name) or region_known_problem(name)
        if problem:
            raise UsageError(f"--regions: {problem}")
    return names


def parse_profiles(
    listed: str | None, every: bool, profile: str | None
) -> tuple[core.Profile, ...]:
    """--profiles, --all-profiles (every profile of the AWS config files), else --profile,
    else the default credential chain. Raises UsageError naming the option."""
    if listed is not None and every:
        raise UsageError("--profiles and --all-profiles say two things: give one.")
    if profile is not None and (listed is not None or every):
        option = "--profiles" if listed is not None else "--all-profiles"
        raise UsageError(
            f"--profile and {option} say two things: give one (--profiles takes a list)."
        )
    if listed is not None:
        names = tuple(dict.fromkeys(name.strip() for name in listed.split(",")))
        known = set(config_profiles())
        for name in names:
            # A name in the AWS config is surveyed as --all-profiles would, however odd.
            problem = None if name in known else profile_problem(name)
            if problem:
                raise UsageError(f"--profiles: {problem}")
        unknown = [name for name in names if name not in known]
        if unknown:
            unusable = {f"profile {name}" for name in unknown} & set(skipped_config_sections())
            why = (
                f" (its section [{sorted(unusable)[0]}] is no profile to botocore and the AWS "
                'CLI: quote the name, [profile "my name"])'
                if unusable
                else ""
            )
            raise UsageError(
                f"--profiles: {', '.join(repr(n) for n in unknown)} not in your AWS config{why}.",
                fix="Check 'aws configure list-profiles' (AWS_CONFIG_FILE names the file).",
            )
        return names
    if every:
        found = tuple(config_profiles())
        if not found:
            raise UsageError(
                "--all-profiles: your AWS config files have no profile.",
                fix="Check AWS_CONFIG_FILE, or run 'aws configure --profile NAME'.",
            )
        return found
    return (profile,)


def start(
    factory: SessionFactory,
    *,
    limits: Limits | None = None,
    on_event: Callable[[SurveyEvent], None] | None = None,
    cancel: threading.Event | None = None,
    one_by_one: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Surveyor:
    """A surveyor: ``run(profiles, regions)`` once; it reports through ``on_event``."""
    return Surveyor(
        factory, limits or Limits(), on_event, cancel, one_by_one=one_by_one, clock=clock
    )


def user_factory(endpoint_url: str | None) -> SessionFactory:
    """Sessions of the user's AWS config profiles."""
    return profile_session_factory(endpoint_url)


@dataclass(frozen=True)
class SandboxFleet:
    """The sandbox's accounts as profiles, without a config file (the TUI's demo)."""

    profiles: tuple[str, ...]
    factory: SessionFactory


def sandbox_factory(sandbox: Sandbox) -> SandboxFleet:
    """Each account of ``sandbox --scenario fleet`` as a profile: the sandbox's own keys, or
    its role assumed through the sandbox's STS (refused for the denied account)."""
    from wizard.aws.session import AwsSession, ConnectionOptions, aws_call
    from wizard.sandbox.fleet import FLEET_ACCOUNTS

    roles = {a.profile: a.role_arn for a in FLEET_ACCOUNTS}
    options = ConnectionOptions(region=sandbox.region, endpoint_url=sandbox.endpoint_url)

    def open_session(profile: core.Profile, region: str | None, pool: AwsPool) -> AwsSession:
        base = AwsSession(options, credentials=("testing", "testing"), pool=pool)
        role = roles.get(profile or "")
        if role is None:
            return base
        with aws_call("AssumeRole"):
            reply = base.client("sts").assume_role(
                RoleArn=role, RoleSessionName="cwl-export-wizard-survey"
            )
        found = reply["Credentials"]
        credentials = (found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"])
        return AwsSession(options, credentials=credentials, pool=pool)

    return SandboxFleet(tuple(a.profile for a in FLEET_ACCOUNTS), open_session)


@dataclass(frozen=True)
class Plan:
    """What a face's survey covers: the profiles, their sessions, the regions."""

    profiles: tuple[core.Profile, ...]
    factory: SessionFactory
    regions: core.RegionChoice
    where: str  # for a heading: "the sandbox's 6 accounts", "3 profiles of your AWS config"
    skipped: tuple[str, ...] = ()  # sections of the AWS config that are no profile


def plan_for(
    *, sandbox: Sandbox | None, profile: str | None, region: str | None, endpoint_url: str | None
) -> Plan:
    """The TUI's survey: the sandbox's accounts (each region they have), or the user's
    profile, else every profile of the AWS config (in --region, else every enabled region)."""
    regions: core.RegionChoice = (region,) if region else core.Regions.ALL
    if sandbox is not None:
        if sandbox.config.scenario == "fleet":
            fleet = sandbox_factory(sandbox)
            return Plan(fleet.profiles, fleet.factory, regions, "the sandbox's accounts")
        own = sandbox_factory(sandbox).factory
        return Plan(("sandbox",), own, regions, "the sandbox's account")
    if profile:
        return Plan((profile,), user_factory(endpoint_url), regions, f"profile {visible(profile)}")
    named = tuple(config_profiles())
    profiles: tuple[core.Profile, ...] = named or (None,)
    if not named:  # no profile in the config: the default credentials (AWS_* variables, ...)
        where = "your default AWS credentials"
    elif len(named) == 1:
        where = "the 1 profile of your AWS config"
    else:
        where = f"{len(named)} profiles of your AWS config"
    skipped = tuple(skipped_config_sections())
    return Plan(profiles, user_factory(endpoint_url), regions, where, skipped)


def skipped_sections(every: bool) -> tuple[str, ...]:
    """With --all-profiles: the AWS config's sections that are no profile (error rows)."""
    return tuple(skipped_config_sections()) if every else ()


def profiles_text(profiles: Sequence[core.Profile]) -> str:
    return ", ".join(core.profile_label(p) for p in profiles)
