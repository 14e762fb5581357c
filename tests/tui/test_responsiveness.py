"""The UI thread does no avoidable work between steps (issue 8: no handler over 100 ms).

Wall-clock limits would be flaky here; these count the expensive things instead: a
stylesheet re-parse (Textual re-reads all CSS and restyles the whole app when it meets a
screen stylesheet it has not read) and a footer rebuild (every key re-mounted).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from textual.css.stylesheet import Stylesheet

from tests.tui.fakes import KEY_ARN, KEY_ID, KEY_OPTIONS, REGION, FakeFlow, fake_app
from tests.tui.pilot_helpers import at_step, error_text, wait_until
from wizard.core.state import KeyState
from wizard.errors import Cancelled
from wizard.flow import Step, WizardState
from wizard.tui.app import (
    LEAVING_SCREEN_CALM,
    LEAVING_SCREEN_CHECK,
    WORKER_THREADS,
    WizardApp,
)
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


async def test_the_next_steps_clients_are_prepared_while_the_region_is_chosen() -> None:
    flow = FakeFlow()
    app = fake_app(Step.REGION, flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REGION)
        await wait_until(pilot, lambda: flow.prepared == [REGION], "clients prepared")


def test_prepare_clients_creates_each_service_client_of_the_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wizard.aws.session import AwsSession
    from wizard.flow import PREPARED_SERVICES, Flow

    created: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        AwsSession, "client", lambda self, service, region=None, **_: created.append(
            (service, region)
        )
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
        self, region: str, keys: Iterable[KeyState],
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
        assert app.rotation_cache.get(REGION, {}) == {}


async def test_the_rotation_column_fills_in_and_is_kept_for_a_return() -> None:
    flow = SlowRotationFlow()
    flow.release.set()
    app = fake_app(Step.KEY, WizardState(region=REGION), flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.KEY)
        archive = KEY_OPTIONS[1].key
        assert "rotation off" in row_text(screen.query_one(KeyList), KEY_ARN)
        assert "rotation on" in row_text(screen.query_one(KeyList), archive.arn or "")
        assert app.rotation_cache[REGION] == {KEY_ID: False, archive.key_id: True}
        assert flow.rotation_reads == 1
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await pilot.press("escape")
        screen = await at_step(pilot, Step.KEY)
        assert "rotation on" in row_text(screen.query_one(KeyList), archive.arn or "")
        assert flow.rotation_reads == 1  # known: not read again


def row_text(keys: KeyList, arn: str) -> str:
    return str(keys.get_option(KEY_PREFIX + arn).prompt.content)  # type: ignore[union-attr]


def worker_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("wizard-worker")}


async def test_the_app_starts_its_worker_threads_before_the_first_step() -> None:
    before = worker_threads()  # other apps' threads may still be ending
    app = fake_app(Step.REGION)
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REGION)
        started = worker_threads() - before
        assert len(started) == WORKER_THREADS
    for _ in range(500):  # and ends them when it exits (a bound on polls, not a timing)
        if not any(t.is_alive() for t in started):
            break
        time.sleep(0.01)
    assert not any(t.is_alive() for t in started)


async def test_the_app_keeps_the_garbage_collector_off_its_long_lived_objects() -> None:
    """A full collection walks every object and stops every thread: with the AWS models
    loaded it took up to 270 ms. The app freezes what lives as long as it does, and thaws it
    when it exits."""
    gc.unfreeze()
    flow = FakeFlow()
    app = fake_app(Step.REGION, flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REGION)
        await wait_until(pilot, lambda: flow.prepared == [REGION], "clients prepared")
        await app.workers.wait_for_complete()
        assert gc.get_freeze_count() > 0
        await pilot.press("enter")  # the key step's listing: what it loaded is frozen too
        await at_step(pilot, Step.KEY)
        listed = app.key_cache[REGION]
        walked = gc.get_objects()  # every object a collection walks (frozen ones are not)
        assert not any(listed is o for o in walked), "the key list is walked by collections"
    assert gc.get_freeze_count() == 0


async def test_a_left_screen_is_removed_after_the_next_one_is_up() -> None:
    """Removing a screen is a message through each of its widgets: done while the next
    screen is built and drawn, it took over 100 ms. The left screen waits a moment."""
    app = fake_app(Step.REGION)
    async with app.run_test(size=(120, 40)) as pilot:
        region = await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, KeyScreen), "the key step")
        assert region.is_attached  # suspended, not yet removed
        await wait_until(pilot, lambda: not region.is_attached, "the region screen removed")
        assert isinstance(app.screen, KeyScreen)


async def test_a_job_replaced_by_a_newer_one_reports_nothing() -> None:
    """The rotation read, started again, cancels the first: its "stopped" is not news."""
    flow = SlowRotationFlow()
    app = fake_app(Step.KEY, WizardState(region=REGION), flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, keys_listed(app), "the keys listed")
        screen = app.screen
        assert isinstance(screen, KeyScreen)
        told: list[str] = []
        screen.notify = lambda message, **_: told.append(message)  # type: ignore[method-assign,assignment]
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


async def test_a_left_screen_waits_while_the_next_step_loads() -> None:
    flow = HeldKeysFlow()
    app = fake_app(Step.REGION, flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        region = await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, KeyScreen), "the key step")
        await pilot.pause(LEAVING_SCREEN_CALM + 2 * LEAVING_SCREEN_CHECK)
        assert region.is_attached  # the key step is still loading
        flow.release.set()
        await wait_until(pilot, lambda: not region.is_attached, "the region screen removed")


async def test_a_left_screen_stops_its_jobs_and_timers_at_once() -> None:
    """It is kept a while (suspended): nothing it started may run meanwhile."""
    app = fake_app(Step.REGION)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.REGION)
        fired: list[str] = []
        screen.set_timer(0.05, lambda: fired.append("timer"))
        release = threading.Event()
        job = screen.run_worker(lambda: release.wait(10), thread=True, group="probe")
        screen.leave()
        await pilot.pause(0.3)  # the timer's time has come and gone
        release.set()
        assert fired == [] and job.is_cancelled
