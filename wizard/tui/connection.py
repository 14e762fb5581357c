"""Who and where the wizard works, once the first screen has connected."""

from __future__ import annotations

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
