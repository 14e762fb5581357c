"""The full-screen wizard in a hostile environment: the user's own AWS settings do not reach
the sandbox, and an endpoint that hangs is named within the read timeout."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.tui.pilot_helpers import at_step, error_text, text_of, wait_until
from wizard.flow import Step
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp

pytestmark = pytest.mark.slow

SIZE = (120, 40)
REGION = "ap-northeast-1"
MakeApp = Callable[..., WizardApp]


async def test_try_the_sandbox_with_a_profile_this_machine_lacks(
    make_app: MakeApp, monkeypatch: Any
) -> None:
    """AWS_PROFILE names a profile that is not here: the wizard says so, and "Try the
    sandbox" opens the central scenario (its role assumed) as if AWS_PROFILE were unset."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_PROFILE", "nope")
    app = make_app(LaunchOptions(demo=False, scenario="central", export_delay=0.3))
    async with app.run_test(size=SIZE) as pilot:
        sandbox_button = app.screen.query_one("#sandbox")
        await wait_until(pilot, lambda: sandbox_button.display, "the profile error")
        assert "The AWS profile 'nope' (from AWS_PROFILE)" in text_of(app, "#identity")
        await wait_until(pilot, lambda: sandbox_button.has_focus, "the focus on the sandbox")
        await pilot.press("enter")  # "Try the sandbox"
        await wait_until(pilot, lambda: app.connection is not None, "the sandbox")
        await at_step(pilot, Step.REGION)
        assert app.is_sandbox
        assert not error_text(app)


@pytest.fixture
def hanging() -> Iterator[str]:
    """127.0.0.1: accepts every connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


async def test_an_endpoint_that_hangs_is_named_on_the_screen(
    make_app: MakeApp, monkeypatch: Any, hanging: str
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("CWL_WIZARD_TIMEOUT_SCALE", "0.02")  # 0.2 s to read
    app = make_app(LaunchOptions(demo=False, endpoint_url=hanging))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "did not answer" in text_of(app, "#identity"), "why")
        assert f"{hanging} accepted GetCallerIdentity but did not answer within 0.2 s." in text_of(
            app, "#identity"
        )
