"""The Review's "Reproduce the failure now" and the Result's before/after card, in demo mode,
driven by key presses (a Pilot), checked through boto3 on the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXPORT_DELAY
from tests.tui.pilot_helpers import at_step, error_text, highlight, screen_text, settle, text_of
from wizard.core.requirements import ERR_GET_BUCKET_ACL
from wizard.flow import Step
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp
from wizard.tui.screens.review import ReviewScreen
from wizard.tui.widgets.option_lists import BUCKET_PREFIX

pytestmark = pytest.mark.slow

SIZE = (120, 40)
STORY_PRESSES = 8  # the README says so (the issue allows at most 10)


async def test_enter_through_the_demo_shows_the_failure_the_repair_and_the_lines(
    make_app: Callable[..., WizardApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(LaunchOptions(demo=True, scenario="broken", export_delay=EXPORT_DELAY))
    presses = 0
    failure_shown = False
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        while app.state.result is None or app.screen.STEP is not Step.RESULT:  # type: ignore[attr-defined]
            assert presses < 15, f"still on {app.screen} after {presses} presses"
            if isinstance(app.screen, ReviewScreen) and app.state.reproduced is not None:
                # The broken bucket's Review showed AWS's own answer before the repair.
                panel = text_of(app, "#reproduced")

                assert f"AWS said:  refused: {ERR_GET_BUCKET_ACL}" in panel
                assert f"Predicted: AWS refuses: {ERR_GET_BUCKET_ACL}" in panel
                assert "The diagnosis matched" in panel
                failure_shown = True
            await pilot.press("enter")
            presses += 1
            await settle(pilot)
            await pilot.pause(0.1)
            await settle(pilot)
            assert not error_text(app), error_text(app)
        assert failure_shown
        assert presses == STORY_PRESSES
        result = app.state.result
        assert result.succeeded and result.sample
        before, after = text_of(app, "#before"), text_of(app, "#after")
        assert ERR_GET_BUCKET_ACL in before and "as the doctor predicted" in before
        assert result.objects[0].uri in after and result.sample[0] in after
        assert "alias/demo-exports" in after
        # The proof, saved from the Result (p): a Markdown file in the current folder.
        monkeypatch.chdir(tmp_path)
        await pilot.press("p")
        await settle(pilot)
        [saved] = list(tmp_path.glob("cwl-export-proof-demo-broken-exports-*"))
        text = saved.read_text(encoding="utf-8")
        assert ERR_GET_BUCKET_ACL in text
        assert str(app.state.applied.journal_path) in text  # type: ignore[union-attr]
        assert result.objects[0].uri in text and result.sample[0] in text
        assert result.encryption is not None and f"`{result.encryption.kms_key_id}`" in text


async def test_reproduce_from_the_key_the_button_and_the_palette(
    make_app: Callable[..., WizardApp],
) -> None:
    """Each way in runs the probe, on any destination with findings (not only the story's);
    Enter there goes on to the apply, as it always did."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for step in (Step.REGION, Step.KEY):
            await at_step(pilot, step)
            await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-broken-exports")
        await pilot.press("enter")
        screen = await at_step(pilot, Step.REVIEW)
        assert isinstance(screen, ReviewScreen)
        assert app.state.reproduced is None  # the fresh-setup demo does not do it by itself
        await pilot.press("r")
        await settle(pilot)
        first = app.state.reproduced
        assert first is not None
        assert "The diagnosis matched" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert app.state.reproduced is not first  # the key ran it again
        second = app.state.reproduced
        await pilot.click("#reproduce")
        await settle(pilot)
        assert app.state.reproduced is not second  # the button too
        third = app.state.reproduced
        [command] = [c for c in screen.commands() if c.title == "Reproduce the failure now"]
        command.callback()
        await settle(pilot)
        assert app.state.reproduced is not third  # and the palette's command
        screen.query_one("#review").focus()  # off the button: Enter is Next again
        await pilot.press("enter")
        await at_step(pilot, Step.APPLY)


async def test_a_bucket_still_to_be_created_offers_no_probe(
    make_app: Callable[..., WizardApp],
) -> None:
    """The fresh-setup demo's Review (a new bucket): AWS has nothing to say about a bucket
    that does not exist yet, so neither the key, the button nor the palette offer it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for step in (Step.REGION, Step.KEY):
            await at_step(pilot, step)
            await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await pilot.press("enter", "enter")  # "Create a new bucket", its suggested name
        screen = await at_step(pilot, Step.REVIEW)
        assert isinstance(screen, ReviewScreen)
        assert app.state.create_bucket and not screen.query_one("#reproduce").display
        assert "Reproduce the failure now" not in [c.title for c in screen.commands()]
        await pilot.press("r")
        await settle(pilot)
        assert app.state.reproduced is None
