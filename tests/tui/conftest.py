"""Fixtures for the TUI: an isolated AWS environment, apps that never leave a sandbox running.

Sandboxes are process-global (moto keeps its state per process): every app here starts its
own and the fixture stops it after the test, whatever the test did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.conftest import EXPORT_DELAY
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cursor that never blinks: snapshots do not depend on when they are taken (the way
    harlequin's tests do it; the product keeps Textual's blinking cursor)."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)


@pytest.fixture(autouse=True)
def _isolated(isolated_aws: Path) -> Path:
    """Every test here forgets the host's AWS setup (tests/conftest.py)."""
    return isolated_aws


@pytest.fixture
def make_app(isolated_aws: Path) -> Iterator[Callable[..., WizardApp]]:
    """WizardApp factory; every sandbox an app started is stopped after the test."""
    apps: list[WizardApp] = []

    def make(
        options: LaunchOptions | None = None, cls: type[WizardApp] = WizardApp, **kwargs: Any
    ) -> WizardApp:
        kwargs.setdefault("journal_dir", isolated_aws)
        app = cls(options or LaunchOptions(demo=True, export_delay=EXPORT_DELAY), **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop_sandbox()
