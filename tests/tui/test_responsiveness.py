"""The UI thread does no avoidable work between steps (issue 8: no handler over 100 ms).

Wall-clock limits would be flaky here; these count the expensive things instead: a
stylesheet re-parse (Textual re-reads all CSS and restyles the whole app when it meets a
screen stylesheet it has not read) and a footer rebuild (every key re-mounted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from textual.css.stylesheet import Stylesheet

from tests.tui.fakes import KEY_ARN, KEY_OPTIONS, REGION, FakeFlow, fake_app
from tests.tui.pilot_helpers import at_step, error_text, wait_until
from wizard.core.errors import Cancelled
from wizard.core.state import KeyState
from wizard.flow import Step, WizardState
from wizard.tui.app import WizardApp
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.help import HelpScreen
from wizard.tui.screens.key import KeyScreen
from wizard.tui.widgets.option_lists import KEY_PREFIX, KeyList


async def test_walking_every_step_and_the_help_parses_no_css(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reparses: list[str] = []
    original = Stylesheet.reparse

    def counted(self: Stylesheet) -> None:
        reparses.append(type(self).__name__)
        original(self)

    app = fake_app(Step.REGION)
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REGION)
        monkeypatch.setattr(Stylesheet, "reparse", counted)
        for step in (Step.REGION, Step.KEY, Step.BUCKET, Step.REVIEW, Step.APPLY):
            await at_step(pilot, step)
            await pilot.press("enter")
            if step is Step.BUCKET:  # Enter on "Create a new bucket" goes to its name first
                await pilot.pause()
                await pilot.press("enter")
        await at_step(pilot, Step.APPLY)
        await pilot.press("enter")
        await at_step(pilot, Step.EXPORT)
        await pilot.press("enter")
        await at_step(pilot, Step.RESULT)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
    assert reparses == []


async def test_the_footer_is_refreshed_only_when_its_keys_change() -> None:
    app = fake_app(Step.KEY, WizardState(region="ap-northeast-1"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.KEY)
        assert isinstance(screen, StepScreen)
        refreshes: list[bool] = []
        original = screen.refresh_bindings

        def counted(*args: Any) -> None:
            refreshes.append(True)
            original(*args)

        screen.refresh_bindings = counted  # type: ignore[method-assign]
        for _ in range(5):
            screen.update_nav()  # nothing changed: the footer stays as it is
        assert refreshes == []
        screen.busy("probe", "Working...")  # Next is disabled while busy: one refresh
        screen.busy("other", "Still working...")  # still disabled: none
        assert len(refreshes) == 1
        screen.idle("probe")
        screen.idle("other")  # Next enabled again: one more
        assert len(refreshes) == 2


def test_prepare_clients_creates_each_service_client_of_the_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wizard.aws.session import AwsSession
    from wizard.flow import PREPARED_SERVICES, Flow

    created: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        AwsSession,
        "client",
        lambda self, service, region=None, **_: created.append((service, region)),
    )
    session = AwsSession.__new__(AwsSession)  # no credentials needed: client() is recorded
    Flow(session).prepare_clients("eu-west-1")
    assert created == [(service, "eu-west-1") for service in PREPARED_SERVICES]


def keys_listed(app: WizardApp) -> Callable[[], bool]:
    """The key step is up and Next may be pressed (the rotation column may still load)."""
    return lambda: isinstance(app.screen, KeyScreen) and app.screen.can_go_next()


class SlowRotationFlow(FakeFlow):
    """Rotation statuses that arrive only when the test says so; records a cancel."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.cancelled = threading.Event()
        self.rotation_reads = 0

    def key_rotations(
        self,
        region: str,
        keys: Iterable[KeyState],
        on_batch: Callable[[dict[str, bool | None]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, bool | None]:
        assert cancel is not None
        self.rotation_reads += 1
        while not self.release.wait(0.01):
            if cancel.is_set():
                self.cancelled.set()
                raise Cancelled("Stopped reading key rotation.")
        return super().key_rotations(region, keys, on_batch, cancel)


async def test_the_key_step_goes_on_without_waiting_for_the_rotation_column() -> None:
    """1,000 keys cost 1,000 GetKeyRotationStatus calls: Next does not wait for them, and
    leaving the step stops them."""
    flow = SlowRotationFlow()
    app = fake_app(Step.KEY, WizardState(region=REGION), flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        # Not at_step: its settle waits for every job, and the rotation read is held.
        await wait_until(pilot, keys_listed(app), "the keys listed")
        keys = app.screen.query_one(KeyList)
        assert "rotation …" in row_text(keys, KEY_ARN)
        await pilot.press("enter")
        await wait_until(pilot, flow.cancelled.is_set, "the rotation read stopped")
        await at_step(pilot, Step.BUCKET)
        flow.release.set()
        await pilot.press("escape")  # back: the read goes on where it stopped
        screen = await at_step(pilot, Step.KEY)
        assert flow.rotation_reads == 2
        assert "rotation on" in row_text(screen.query_one(KeyList), KEY_OPTIONS[1].key.arn or "")


async def test_the_rotation_column_fills_in_and_is_kept_for_a_return() -> None:
    flow = SlowRotationFlow()
    flow.release.set()
    app = fake_app(Step.KEY, WizardState(region=REGION), flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.KEY)
        archive = KEY_OPTIONS[1].key
        assert "rotation off" in row_text(screen.query_one(KeyList), KEY_ARN)
        assert "rotation on" in row_text(screen.query_one(KeyList), archive.arn or "")
        assert flow.rotation_reads == 1
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await pilot.press("escape")
        again = await at_step(pilot, Step.KEY)
        assert again is screen  # the same screen, with what it loaded
        assert "rotation on" in row_text(screen.query_one(KeyList), archive.arn or "")
        assert flow.rotation_reads == 1  # known: not read again
        assert flow.listings == 1  # nor the keys


def row_text(keys: KeyList, arn: str) -> str:
    return str(keys.get_option(KEY_PREFIX + arn).prompt.content)  # type: ignore[union-attr]


async def test_a_job_replaced_by_a_newer_one_reports_nothing() -> None:
    """The rotation read, started again, cancels the first: its "stopped" is not news."""
    flow = SlowRotationFlow()
    app = fake_app(Step.KEY, WizardState(region=REGION), flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, keys_listed(app), "the keys listed")
        screen = app.screen
        assert isinstance(screen, KeyScreen)
        told: list[str] = []
        screen.notify = lambda message, **_: told.append(message)  # type: ignore[method-assign]
        screen.load_rotation(REGION, [o.key for o in KEY_OPTIONS])  # replaces the first
        await wait_until(pilot, flow.cancelled.is_set, "the first read stopped")
        flow.release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert told == [] and not error_text(app)
        assert "rotation on" in row_text(screen.query_one(KeyList), KEY_OPTIONS[1].key.arn or "")


class HeldKeysFlow(FakeFlow):
    """The key listing returns only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def keys(self, region: str, on_page: Any = None, cancel: Any = None) -> Any:
        assert self.release.wait(30)
        return super().keys(region, on_page, cancel)


async def test_a_step_left_while_it_loads_picks_up_on_return() -> None:
    """Leaving the key step while its keys load stops the listing; coming back lists them."""
    flow = HeldKeysFlow()
    app = fake_app(Step.REGION, flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, KeyScreen), "the key step")
        key_screen = app.screen
        await pilot.press("escape")
        await at_step(pilot, Step.REGION)
        flow.release.set()
        await pilot.press("enter")
        screen = await at_step(pilot, Step.KEY)
        assert screen is key_screen and screen.can_go_next()


async def test_a_left_step_runs_no_timer_and_no_job() -> None:
    """A step kept for Back is paused: nothing it started runs while another is shown."""
    app = fake_app(Step.REGION)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.REGION)
        # Whenever it fires, the timer notes whether its step was on screen: a slow machine
        # may leave the step late (the timer then fires while it is shown, which is fine),
        # but a timer of a step that is not shown must never fire.
        fired_away: list[bool] = []
        screen.timer(0.3, lambda: fired_away.append(app.screen is not screen))
        release = threading.Event()
        job = screen.run_worker(lambda: release.wait(10), thread=True, group="probe")
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await pilot.pause(0.5)  # the timer's time has come and gone
        release.set()
        assert True not in fired_away and job.is_cancelled
        assert screen.is_attached  # kept for Back


async def test_a_new_region_forgets_the_later_steps() -> None:
    app = fake_app(Step.REGION)
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        key_screen = await at_step(pilot, Step.KEY)
        await pilot.press("escape")
        await at_step(pilot, Step.REGION)
        regions = app.screen.query_one("#regions")
        regions.focus()
        await pilot.press("down", "enter")  # another region
        screen = await at_step(pilot, Step.KEY)
        assert screen is not key_screen
        assert app.state.region != REGION
