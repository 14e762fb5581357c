"""Who and where the wizard works, once the first screen has connected."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from wizard.core.state import Identity
from wizard.flow import Flow


@dataclass(frozen=True)
class Connection:
    flow: Flow
    identity: Identity
    regions: tuple[str, ...]
    label: str  # "local AWS sandbox (demo)" or "AWS profile prod"
    sandbox: bool

    @property
    def default_region(self) -> str:
        return self.flow.default_region


@dataclass(frozen=True)
class Preview:
    """Who and where the wizard will work, known before the sandbox answers (``--demo``):
    the region step shows it, and waits for the Connection only when the user goes on."""

    identity: Identity
    regions: tuple[str, ...]
    label: str
    default_region: str
    sandbox: bool = True


def settle_heap() -> None:
    """Once, right after the connection is shown (the region screen calls it in a worker):
    boto3's service models and the sandbox live as long as the app, so the full collections
    that would walk them again and again, stopping every thread, leave them out from now on.
    The UI benchmark's "longest garbage collection" row measures what it saves.
    Once per process: what a later connection (a sandbox started after a failed sign-in)
    brings is small, and freezing again would keep whatever the first run left behind."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
