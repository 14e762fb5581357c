"""Review's "Save as code": x (or the button, or the palette) writes the plan as Terraform,
CloudFormation, documents or a CLI script into a new folder, says where and what next, and
changes nothing (the flow's apply is never called)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.command import CommandPalette
from textual.widgets import Button, OptionList, Static

from tests.iac_files import terraform
from tests.tui.fakes import KEY_ARN, REGION, fake_app
from tests.tui.pilot_helpers import at_step, wait_until
from wizard.flow import Step, WizardState
from wizard.tui.screens.review import ReviewScreen
from wizard.tui.screens.save_code import SaveCodeScreen

BUCKET = "demo-broken-exports"


def chosen() -> WizardState:
    return WizardState(region=REGION, key=KEY_ARN, bucket=BUCKET)


def never_apply(app: Any) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("saving as code must not apply anything")

    app.flow.apply = refuse


async def test_x_asks_for_a_format_then_writes_terraform_and_says_what_next(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    app = fake_app(Step.REVIEW, chosen())
    never_apply(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.REVIEW)
        await wait_until(pilot, lambda: not screen.query_one("#save-code", Button).disabled, "on")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveCodeScreen), "the formats")
        formats = app.screen.query_one(OptionList)
        assert [formats.get_option_at_index(i).id for i in range(formats.option_count)] == [
            "terraform",
            "cloudformation",
            "documents",
            "cli",
        ]
        await pilot.press("enter")  # the first: Terraform
        folder = tmp_path / f"cwl-export-wizard-{BUCKET}-terraform"
        await wait_until(pilot, lambda: (folder / "main.tf").exists(), "main.tf")
        assert app.screen is screen
        parsed = terraform((folder / "main.tf").read_text())
        assert "aws_s3_bucket_policy.exports" in parsed["imports"]
        saved = screen.query_one("#saved", Static)
        assert saved.display
        text = str(saved.render())
        assert str(folder) in text and "terraform init" in text and "test-export" in text
        assert "Nothing in the account was changed" in text

        # Again: a new folder, never over the first.
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveCodeScreen), "the formats")
        await pilot.press("escape")  # cancelled: nothing written
        await wait_until(pilot, lambda: app.screen is screen, "closed")
        assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]
        await pilot.click("#save-code")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveCodeScreen), "the formats")
        await pilot.press("enter")
        second = tmp_path / f"{folder.name}-2"
        await wait_until(pilot, lambda: (second / "main.tf").exists(), "a second folder")


async def test_the_palette_saves_cloudformation_and_documents(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    app = fake_app(Step.REVIEW, chosen())
    never_apply(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.REVIEW)
        assert isinstance(screen, ReviewScreen)
        await wait_until(pilot, lambda: screen.review is not None, "the review")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Save as Terraform", "Save as CloudFormation", "Save as documents (JSON)"):
            assert title in titles, titles
        for typed, fmt, first_file in (
            ("save as cloudf", "cloudformation", "template.yaml"),
            ("save as docum", "documents", "plan.json"),
        ):
            await pilot.press("ctrl+p")
            await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
            await pilot.press(*typed)
            await pilot.pause()
            await pilot.press("enter")
            folder = tmp_path / f"cwl-export-wizard-{BUCKET}-{fmt}"
            await wait_until(pilot, lambda f=folder / first_file: f.exists(), fmt)  # type: ignore[misc]
        index = json.loads(
            (tmp_path / f"cwl-export-wizard-{BUCKET}-documents/plan.json").read_text()
        )
        assert index["bucket"] == BUCKET and index["steps"]


async def test_a_save_that_cannot_write_says_why_and_the_review_stays(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from wizard.core.errors import UsageError
    from wizard.tui.screens import review as review_module

    def refuse(*_: Any, **__: Any) -> Any:
        raise UsageError(f"Cannot write into {tmp_path}: Read-only file system.")

    monkeypatch.setattr(review_module, "save_code", refuse)
    app = fake_app(Step.REVIEW, chosen())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.REVIEW)
        assert isinstance(screen, ReviewScreen)
        said: list[str] = []
        monkeypatch.setattr(screen, "notify", lambda text, **_: said.append(str(text)))
        await wait_until(pilot, lambda: screen.can_save_code(), "ready to save")
        screen.action_save_code("terraform")
        await wait_until(pilot, lambda: bool(said), "the error")
        assert said == [f"Could not save: Cannot write into {tmp_path}: Read-only file system."]
        assert not screen.query_one("#saved", Static).display
        await wait_until(pilot, lambda: screen.can_save_code(), "ready again")
        assert screen.review is not None
        assert app.screen is screen
