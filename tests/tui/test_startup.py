"""Start-up in --demo: the region step is usable before the sandbox answers; Next waits for it.

The sandbox's account, caller and regions are known before it starts (``launch.sandbox_preview``)
so the first screen shows them at once. A held connect job stands in for a slow sandbox: the
test decides when it answers, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button

from tests.tui.pilot_helpers import at_step, highlight, screen_text, wait_until
from wizard.core.errors import WizardError
from wizard.flow import Step
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp
from wizard.tui.connection import Connection
from wizard.tui.screens.help import HelpScreen
from wizard.tui.screens.region import WAITING_TEXT, RegionScreen
from wizard.tui.widgets import BusyLine
from wizard.tui.widgets.option_lists import ChoiceList

SIZE = (120, 40)
MakeApp = Callable[..., WizardApp]
# Every account has these; an opted-in region is listed besides.
DEFAULT_REGIONS = [
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
]


class HeldSandboxApp(WizardApp):
    """Its connect job waits until the test lets the sandbox start (``release``)."""

    def __init__(self, *args: Any, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connecting = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def open_connection(self, demo: bool) -> Connection:
        self.connecting.set()
        self.release.wait()
        if self.fail:
            raise WizardError("The sandbox cannot start: port taken.", "Choose another port.")
        return super().open_connection(demo)


@asynccontextmanager
async def released(app: HeldSandboxApp) -> AsyncIterator[None]:
    """Whatever the test did, the held job ends (the app can close)."""
    try:
        yield
    finally:
        app.release.set()


def region_step(app: WizardApp) -> RegionScreen:
    screen = app.screen
    assert isinstance(screen, RegionScreen)
    return screen


def loading(app: WizardApp) -> str | None:
    """What the step's loading line says, or None when it is hidden."""
    busy = app.screen.query_one(BusyLine)
    return busy.text if busy.has_class("-busy") else None


async def held(pilot: Pilot[Any], app: HeldSandboxApp) -> None:
    await wait_until(pilot, app.connecting.is_set, "the connect job started")
    await pilot.pause()


async def test_region_step_is_usable_before_the_sandbox_answers(make_app: MakeApp) -> None:
    app = make_app(cls=HeldSandboxApp)
    assert isinstance(app, HeldSandboxApp)
    async with app.run_test(size=SIZE) as pilot, released(app):
        await held(pilot, app)
        screen = region_step(app)
        assert app.connection is None and app.sandbox is None  # the sandbox has not started
        text = screen_text(app)
        assert "Account 123456789012" in text
        assert "arn:aws:iam::123456789012:user/sandbox" in text
        assert "Starting local AWS sandbox (demo)" in text and "Connected to" not in text
        regions = screen.query_one("#regions", ChoiceList)
        assert [str(regions.get_option_at_index(i).id) for i in range(regions.option_count)] == (
            DEFAULT_REGIONS
        )
        assert regions.highlighted_id == "ap-northeast-1" and regions.has_focus
        assert loading(app) is None
        assert screen.can_go_next() and not screen.query_one("#next", Button).disabled
        assert screen.query_one("#repair", Button).disabled  # it reads a bucket: later

        # Quicker than the sandbox: the choice is kept and the step says what it waits for.
        await highlight(pilot, "#regions", "us-east-1")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and app.state.region == "us-east-1"
        assert loading(app) == WAITING_TEXT
        assert screen.query_one("#next", Button).disabled

        app.release.set()
        await at_step(pilot, Step.KEY)
        assert app.state.region == "us-east-1"
        assert app.connection is not None and app.sandbox is not None
        assert "Connected to" not in screen_text(app)  # the key step, not the region's


async def test_next_after_the_sandbox_answered_does_not_wait(make_app: MakeApp) -> None:
    app = make_app(cls=HeldSandboxApp)
    assert isinstance(app, HeldSandboxApp)
    async with app.run_test(size=SIZE) as pilot, released(app):
        await held(pilot, app)
        region_step(app).query_one("#regions", ChoiceList).highlight_id("eu-west-1")
        app.release.set()
        await at_step(pilot, Step.REGION)
        assert "Connected to local AWS sandbox (demo)" in screen_text(app)
        # The sandbox's answer left the user's highlight where it was.
        assert region_step(app).query_one("#regions", ChoiceList).highlighted_id == "eu-west-1"
        assert not region_step(app).query_one("#repair", Button).disabled
        assert loading(app) is None
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        assert app.state.region == "eu-west-1"


async def test_waiting_next_goes_on_once_a_dialog_is_closed(make_app: MakeApp) -> None:
    app = make_app(cls=HeldSandboxApp)
    assert isinstance(app, HeldSandboxApp)
    async with app.run_test(size=SIZE) as pilot, released(app):
        await held(pilot, app)
        await pilot.press("enter")
        assert loading(app) == WAITING_TEXT
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        app.release.set()
        await wait_until(pilot, lambda: app.connection is not None, "connected")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)  # nothing moved under the dialog
        await pilot.press("f1")
        await at_step(pilot, Step.KEY)
        assert app.state.region == "ap-northeast-1"


async def test_a_sandbox_that_cannot_start_takes_the_regions_away(make_app: MakeApp) -> None:
    app = make_app(cls=HeldSandboxApp, fail=True)
    assert isinstance(app, HeldSandboxApp)
    async with app.run_test(size=SIZE) as pilot, released(app):
        await held(pilot, app)
        await pilot.press("enter")  # waits for the sandbox
        app.release.set()
        await wait_until(pilot, lambda: "Not connected" in screen_text(app), "the failure")
        screen = region_step(app)
        assert "port taken" in screen_text(app)
        assert not screen.query_one("#regions", ChoiceList).display
        assert loading(app) is None
        assert not screen.can_go_next()
        assert screen.query_one("#sandbox", Button).display  # the way to try again


@pytest.mark.parametrize(
    ("scenario", "region"),
    [("demo", None), ("central", None), ("broken", "eu-south-1"), ("empty", "us-west-2")],
)
def test_preview_is_what_the_sandbox_answers(
    make_app: MakeApp, scenario: str, region: str | None
) -> None:
    """What the region step shows before the sandbox starts is what it then answers (over
    HTTP: GetCallerIdentity, DescribeRegions, the central scenario's AssumeRole); the
    connection takes the regions from the preview and asks nothing more."""
    app = make_app(LaunchOptions(demo=True, scenario=scenario, region=region))
    preview = app.preview()
    assert preview is not None
    connection = app.open_connection(True)
    assert preview.identity == connection.identity
    assert list(preview.regions) == connection.flow.regions() == list(connection.regions)
    assert preview.label == connection.label
    assert preview.default_region == connection.default_region
    assert connection.sandbox and preview.sandbox
