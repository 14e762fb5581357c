"""Help fits a small terminal and scrolls; F1 toggles it; the command palette offers the
wizard's actions; every key's tooltip is shown somewhere (in help)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.containers import VerticalScroll

from tests.tui.fakes import KEY_ARN, REGION, fake_app
from tests.tui.pilot_helpers import at_step, wait_until
from wizard.flow import Step, WizardState
from wizard.tui.screens.help import HelpScreen
from wizard.tui.screens.review import ReviewScreen

SMALL = (80, 24)


def chosen() -> WizardState:
    return WizardState(region=REGION, key=KEY_ARN, bucket="demo-broken-exports")


@pytest.mark.parametrize("step", [Step.KEY, Step.REVIEW])
async def test_help_fits_80x24_scrolls_to_its_end_and_f1_closes_it(step: Step) -> None:
    app = fake_app(step, chosen() if step is Step.REVIEW else WizardState(region=REGION))
    async with app.run_test(size=SMALL) as pilot:
        screen = await at_step(pilot, step)
        tooltips = [t for _, _, t in screen.key_help() if t]
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        help_screen = app.screen
        dialog = help_screen.query_one("#dialog")
        assert dialog.region.bottom <= SMALL[1] and dialog.region.right <= SMALL[0]
        text = help_screen.query_one("#help-text", VerticalScroll)
        assert text.max_scroll_y > 0  # longer than the screen: it scrolls
        await pilot.press("end")
        await wait_until(pilot, lambda: text.scroll_y == text.max_scroll_y, "the end")
        shown = str(help_screen.query_one("Markdown").source)  # type: ignore[attr-defined]
        for tooltip in tooltips:  # every key's tooltip is in the help
            assert tooltip in shown, tooltip
        await pilot.press("f1")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "closed")
        assert app.screen is screen


async def test_the_palette_offers_the_steps_actions(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    app = fake_app(Step.REVIEW, chosen())
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REVIEW)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in (
            "Show the AWS CLI script",
            "Copy the AWS CLI script",
            "Save the AWS CLI script",
            "Help",
            "Theme",
        ):
            assert any(t.startswith(title) for t in titles), (title, titles)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"save the aws")
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(tmp_path.glob("*.sh")), "the saved script")
        [script] = tmp_path.glob("*.sh")
        assert script.read_text().startswith("#!")


async def test_y_copies_the_cli_script_that_c_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    app = fake_app(Step.REVIEW, chosen())
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.REVIEW)
        assert isinstance(screen, ReviewScreen)
        await wait_until(pilot, lambda: screen.review is not None, "the review")
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(copied), "the clipboard")
        assert screen.review is not None
        assert copied == [screen.cli_script(screen.review.plan)]
        assert copied[0].startswith("#!/usr/bin/env bash\n")
        # No key is created here: the header names the chosen key, never a new key's ARN.
        header = copied[0].split("\nset ", 1)[0]
        assert KEY_ARN in header and "new key" not in header and "KEY_ARN" not in header


def notifications(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the app notifies, as text, recorded as it is said."""
    said: list[str] = []
    notify = app.notify

    def record(message: Any, *args: Any, **kwargs: Any) -> None:
        said.append(str(message))
        notify(message, *args, **kwargs)

    monkeypatch.setattr(app, "notify", record)
    return said


async def test_y_says_the_script_went_to_the_terminal_and_offers_to_save_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = fake_app(Step.REVIEW, chosen())
    monkeypatch.setattr(app, "copy_to_clipboard", lambda _text: None)
    said_all = notifications(app, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.REVIEW)
        await wait_until(pilot, lambda: getattr(screen, "review", None) is not None, "the review")
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(said_all), "the notification")
        (said,) = said_all
        assert "OSC 52" in said and "Press s to save it" in said
        assert "is on the clipboard" not in said


async def test_the_palettes_screenshot_is_saved_in_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/Downloads, as on many hosts
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    app = fake_app(Step.REVIEW, chosen())
    said = notifications(app, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await at_step(pilot, Step.REVIEW)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"screenshot")
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(tmp_path.glob("*.svg")), "the screenshot")
        await wait_until(
            pilot,
            lambda: any("Saved screenshot" in message for message in said),
            "the notification",
        )
        assert not any("Failed" in message for message in said)
        [svg] = tmp_path.glob("*.svg")
        assert svg.read_text().startswith("<svg")
