"""Open the AWS session a face runs on: the user's credential chain, or the sandbox.

Shared by the TUI and the plain mode so that ``--demo`` means the same everywhere.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.sandbox.available import SANDBOX_INSTALL, sandbox_missing

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.core.state import Identity
    from wizard.sandbox.server import Sandbox


@dataclass(frozen=True)
class LaunchOptions:
    demo: bool = False
    scenario: str = "demo"
    export_delay: float = 2.0
    profile: str | None = None
    source_profile: str | None = None  # a central logging account: the source account's
    region: str | None = None
    endpoint_url: str | None = None
    repair: str | None = None
    survey: bool = False  # start with the survey view (every destination)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LaunchOptions:
        return cls(
            demo=bool(getattr(args, "demo", False)),
            scenario=getattr(args, "scenario", None) or "demo",
            export_delay=float(
                2.0 if getattr(args, "export_delay", None) is None else args.export_delay
            ),
            profile=getattr(args, "profile", None),
            source_profile=getattr(args, "source_profile", None),
            region=getattr(args, "region", None),
            endpoint_url=getattr(args, "endpoint_url", None),
            repair=getattr(args, "repair", None),
            survey=bool(getattr(args, "survey", False)),
        )


# = sandbox.scenarios.SCENARIO_NAMES (a test checks)
SCENARIOS = ("demo", "empty", "broken", "central", "fleet")


def launch_problem(options: LaunchOptions, given: frozenset[str]) -> tuple[str, str] | None:
    """(option, what is wrong) for launch options no wizard can start with; checked before
    anything starts. ``given``: the options the user typed (a default is never wrong)."""
    from wizard.core.validate import (
        bucket_name_problem,
        endpoint_problem,
        profile_problem,
        region_problem,
        seconds_problem,
    )

    if not options.demo:
        for option in ("--scenario", "--export-delay"):
            if option in given:
                return option, "only the sandbox has scenarios and an export delay: add --demo."
    if options.demo and (missing := sandbox_missing()):
        return "--demo", missing
    if options.scenario not in SCENARIOS:
        return "--scenario", f"{options.scenario!r} is not one of {', '.join(SCENARIOS)}."
    problem = seconds_problem(options.export_delay, 3600)
    if problem:
        return "--export-delay", problem
    if options.region is not None and (problem := region_problem(options.region)):
        return "--region", problem
    if options.endpoint_url is not None and (problem := endpoint_problem(options.endpoint_url)):
        return "--endpoint-url", problem
    if options.repair is not None and (problem := bucket_name_problem(options.repair)):
        return "--repair", problem
    for flag, profile in (
        ("--profile", options.profile),
        ("--source-profile", options.source_profile),
    ):
        if profile is not None and (problem := profile_problem(profile)):
            return flag, problem
    if options.survey and options.repair is not None:
        return "--survey", "the survey leads to a repair itself: leave out --repair."
    if options.survey and "--plain" in given:
        return (
            "--survey",
            "the survey view is the full-screen wizard's; as text: cwl-export-wizard doctor "
            "--all-profiles --regions all.",
        )
    if options.demo and options.source_profile:
        return (
            "--source-profile",
            "the sandbox brings its own source account: use --scenario central.",
        )
    if options.demo and (options.profile or options.endpoint_url):
        return (
            "--demo",
            "the sandbox has its own credentials and endpoint: leave out "
            + ("--profile" if options.profile else "--endpoint-url")
            + ".",
        )
    return None


def start_sandbox(options: LaunchOptions) -> Sandbox:
    missing = sandbox_missing()
    if missing:
        from wizard.core.errors import WizardError

        raise WizardError(f"The sandbox cannot start: {missing}", SANDBOX_INSTALL)
    from wizard.sandbox.server import Sandbox, SandboxConfig

    config = SandboxConfig(scenario=options.scenario, export_delay=options.export_delay)
    if options.region:
        config = SandboxConfig(
            scenario=options.scenario, region=options.region, export_delay=options.export_delay
        )
    return Sandbox(config).start()


@dataclass(frozen=True)
class SandboxPreview:
    """What the sandbox ``options`` start will answer about itself, known before it starts
    (nothing heavy is imported): the region step shows it while the sandbox starts."""

    identity: Identity
    regions: tuple[str, ...]  # as DescribeRegions lists them
    region: str  # the sandbox's own: its session's region
    source_account: str | None  # the central scenario's application account


def sandbox_preview(options: LaunchOptions) -> SandboxPreview:
    from wizard.core.state import Identity
    from wizard.sandbox import preview

    region = options.region or preview.DEFAULT_REGION
    return SandboxPreview(
        identity=Identity(
            account=preview.ACCOUNT,
            arn=preview.caller_arn(preview.ACCOUNT),
            partition=preview.CALLER_PARTITION,
        ),
        regions=tuple(preview.enabled_regions(region)),
        region=region,
        source_account=preview.CENTRAL_SOURCE_ACCOUNT if options.scenario == "central" else None,
    )


def sandbox_session(sandbox: Sandbox) -> AwsSession:
    """A session on the sandbox only: never the user's real credentials."""
    from wizard.aws.session import AwsSession, ConnectionOptions

    return AwsSession(
        ConnectionOptions(region=sandbox.region, endpoint_url=sandbox.endpoint_url),
        credentials=("testing", "testing"),
    )


def user_session(options: LaunchOptions) -> AwsSession:
    from wizard.aws.session import AwsSession, ConnectionOptions

    return AwsSession(
        ConnectionOptions(
            profile=options.profile, region=options.region, endpoint_url=options.endpoint_url
        )
    )


def source_session(options: LaunchOptions, sandbox: Sandbox | None = None) -> AwsSession | None:
    """The source account's session of a central logging account: the sandbox's application
    account (its role assumed) in the central scenario, else --source-profile's; None: the
    log groups are the destination account's own."""
    if sandbox is not None:
        return sandbox_source_session(sandbox) if options.scenario == "central" else None
    if not options.source_profile:
        return None
    from wizard.aws.session import AwsSession, ConnectionOptions

    return AwsSession(
        ConnectionOptions(
            profile=options.source_profile,
            region=options.region,
            endpoint_url=options.endpoint_url,
            profile_option="--source-profile",
        )
    )


SOURCE_SESSION_NAME = "cwl-export-wizard"


def sandbox_source_session(sandbox: Sandbox) -> AwsSession:
    """The central scenario's application account, as its role (STS AssumeRole)."""
    from wizard.aws.session import AwsSession, ConnectionOptions
    from wizard.sandbox.scenarios import CENTRAL_ROLE_ARN

    reply = sandbox.client("sts").assume_role(
        RoleArn=CENTRAL_ROLE_ARN, RoleSessionName=SOURCE_SESSION_NAME
    )
    credentials = reply["Credentials"]
    return AwsSession(
        ConnectionOptions(region=sandbox.region, endpoint_url=sandbox.endpoint_url),
        credentials=(
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        ),
    )


def checked_session(
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    profile_option: str = "--profile",
) -> AwsSession:
    """The user's session for a command; refuses a region botocore does not know, before any
    AWS call. ``profile_option``: the option that named the profile (for its errors)."""
    from wizard.aws.session import AwsSession, ConnectionOptions, known_regions_problem
    from wizard.core.errors import UsageError
    from wizard.core.validate import region_problem

    session = AwsSession(
        ConnectionOptions(
            profile=profile,
            region=region,
            endpoint_url=endpoint_url,
            profile_option=profile_option,
        )
    )
    problem = region_problem(session.region) or known_regions_problem(
        session.region, session.known_regions()
    )
    if problem:
        raise UsageError(problem, fix="Pass --region with a region such as ap-northeast-1.")
    return session


def region_known_problem(region: str) -> str | None:
    """A region botocore has never heard of (no credentials needed to ask)."""
    from wizard.aws.session import region_known_problem as known_problem

    return known_problem(region)


SANDBOX_JOURNALS = "cwl-export-wizard-sandbox-journals"


def sandbox_journal_dir() -> Path:
    """Journals of sandbox runs go to a temporary folder of the user's own (0700), never
    beside real ones: the sandbox forgets everything when it stops, so they could only confuse
    a later undo. On a shared host each user has their own (named by uid); one that another
    user made first under that name is not used: a fresh private folder is made instead."""
    import os

    from wizard.aws.journal import private_dir
    from wizard.core.errors import UsageError

    uid = os.getuid() if hasattr(os, "getuid") else None
    name = SANDBOX_JOURNALS if uid is None else f"{SANDBOX_JOURNALS}-{uid}"
    try:
        return private_dir(Path(tempfile.gettempdir()) / name)
    except UsageError:
        # Someone else's (or unusable): mkdtemp makes a new folder, 0700, ours.
        return Path(tempfile.mkdtemp(prefix=f"{name}-"))


# The sandbox scenarios that tell the repair story: the Bucket step preselects the broken
# bucket and its Review reproduces the failure first, so Enter through the demo shows AWS's
# error, the repair and the decrypted lines (--demo alone stays the fresh setup).
STORY_SCENARIOS = ("broken",)


def story_bucket(scenario: str) -> str | None:
    """The bucket a demo of ``scenario`` is about, or None. Call it only with the sandbox
    running (its scenarios load moto)."""
    if scenario not in STORY_SCENARIOS:
        return None
    from wizard.sandbox.scenarios import SCENARIOS

    return SCENARIOS[scenario].suggested.get("bucket")
