"""Fixtures for the TUI: an isolated AWS environment, apps that never leave a sandbox running.

Sandboxes are process-global (moto keeps its state per process): every app here starts its
own and the fixture stops it after the test, whatever the test did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp

EXPORT_DELAY = 0.3


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No host AWS config or credentials, no instance metadata, a private journal directory."""
    for name in (
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CWL_WIZARD_MAX_ATTEMPTS", "2")
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state / "cwl-export-wizard"


@pytest.fixture
def make_app(isolated_aws: Path) -> Iterator[Callable[..., WizardApp]]:
    """WizardApp factory; every sandbox an app started is stopped after the test."""
    apps: list[WizardApp] = []

    def make(
        options: LaunchOptions | None = None, cls: type[WizardApp] = WizardApp, **kwargs: Any
    ) -> WizardApp:
        kwargs.setdefault("journal_dir", isolated_aws)
        kwargs.setdefault("cursor_blink", False)
        app = cls(options or LaunchOptions(demo=True, export_delay=EXPORT_DELAY), **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop_sandbox()
