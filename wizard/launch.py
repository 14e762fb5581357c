"""Open the AWS session a face runs on: the user's credential chain, or the sandbox.

Shared by the TUI and the plain mode so that ``--demo`` means the same everywhere.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.sandbox.server import Sandbox


@dataclass(frozen=True)
class LaunchOptions:
    demo: bool = False
    scenario: str = "demo"
    export_delay: float = 2.0
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    repair: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LaunchOptions:
        return cls(
            demo=bool(getattr(args, "demo", False)),
            scenario=getattr(args, "scenario", None) or "demo",
            export_delay=float(getattr(args, "export_delay", None) or 2.0),
            profile=getattr(args, "profile", None),
            region=getattr(args, "region", None),
            endpoint_url=getattr(args, "endpoint_url", None),
            repair=getattr(args, "repair", None),
        )


def start_sandbox(options: LaunchOptions) -> Sandbox:
    from wizard.sandbox.server import Sandbox, SandboxConfig

    config = SandboxConfig(scenario=options.scenario, export_delay=options.export_delay)
    if options.region:
        config = SandboxConfig(
            scenario=options.scenario, region=options.region, export_delay=options.export_delay
        )
    return Sandbox(config).start()


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


def sandbox_journal_dir() -> Path:
    """Journals of sandbox runs go to one temporary folder, never beside real ones: the
    sandbox forgets everything when it stops, so they could only confuse a later undo."""
    folder = Path(tempfile.gettempdir()) / "cwl-export-wizard-sandbox-journals"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder
