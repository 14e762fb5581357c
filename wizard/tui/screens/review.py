"""Step 4: what is wrong (the doctor), what the wizard will change (the plan, as diffs)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from wizard.core import wording
from wizard.core.change import Action, Change, Plan
from wizard.core.cli_equivalent import script
from wizard.core.formats import PlanFormat
from wizard.core.state import Choices
from wizard.core.text import count, visible, visible_lines
from wizard.core.verify import describe
from wizard.flow import (
    CODE_FORMATS,
    CODE_TITLES,
    Review,
    SavedCode,
    Step,
    Verified,
    cli_header,
    save_code,
    save_script,
)
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.save_code import CLI_SCRIPT, SaveCodeScreen
from wizard.tui.styles import MUTED
from wizard.tui.widgets import DiffView, FindingsList

SAVE_GROUP = "save-code"
PROBE_GROUP = "reproduce"
REPRODUCE_LABEL = "Reproduce the failure now"


class CodeSaved(Message, bubble=False):
    def __init__(self, fmt: PlanFormat, saved: SavedCode) -> None:
        super().__init__()
        self.fmt = fmt
        self.saved = saved


class Reproduced(Message, bubble=False):
    def __init__(self, verified: Verified) -> None:
        super().__init__()
        self.verified = verified


class ReviewRead(Message, bubble=False):
    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review


def choices_line(screen: StepScreen) -> Content:
    state = screen.state
    review = state.review
    known = review.snapshot.key if review is not None else None
    chosen = screen.flow.key_alias(state.region, state.key) if state.key else None
    key = wording.key_words(
        state.create_key_alias, known, chosen or state.key, read=review is not None
    )
    bucket = f"new bucket {state.bucket}" if state.create_bucket else f"s3://{state.bucket}"
    # Every name here may come from AWS or a survey row: escaped, as the renderer does.
    return Content.assemble(
        ("Region ", MUTED),
        (visible(state.region or "?"), "bold"),
        ("   Key ", MUTED),
        (visible(key), "bold"),
        ("\nBucket ", MUTED),
        (visible(bucket), "bold"),
        ("   Prefix ", MUTED),
        (visible(state.prefix), "bold"),
    )


def change_title(number: int, change: Change) -> Content:
    return Content.assemble(
        (f"{number}. ", "bold"),
        (change.action.value, "bold $text-accent"),
        "  ",
        (visible(change.target), "bold"),
        "\n   ",
        visible(change.summary),
    )


class ReviewScreen(StepScreen):
    STEP = Step.REVIEW
    CSS_PATH = Path(__file__).with_name("review.tcss")  # absolute: subclasses work too
    SCROLL_BODY = False
    AUTO_FOCUS = "#review"
    NEXT_LABEL = "Next: apply"
    HELP = """\
**Nothing has been changed yet.** This step reads the bucket, its policy and the key, and
shows:

1. **What the doctor found**: each problem in plain words, the AWS error it causes when an
   export runs (the exact text CloudWatch Logs returns), and what the wizard does about it.
2. **What the wizard will change**: every API call of the plan, in order, with the diff of
   the document it writes (bucket policy, key policy, encryption, ownership, public access).
   The wizard adds its own statements with fixed Sids and never edits or drops a statement
   it did not write.
3. **c** shows the equivalent AWS CLI commands, to run by hand or keep in a runbook.
4. **r** (Reproduce the failure now) runs a probe export of the last minute and shows
   AWS's own answer beside the doctor's prediction: the same error, or a cause the account
   cannot show (an organization's policy, a change still propagating). It writes AWS's test
   object at most. In `--demo --scenario broken`, Enter does it first.
5. **x** (Save as code) writes the plan as Terraform, CloudFormation, the documents (JSON)
   or the AWS CLI script into a new folder, for teams whose pipeline owns the bucket and the
   key. Saving changes nothing in the account; the folder names the next commands.

A **blocker** is something the wizard will not decide for you (for example a Deny statement
it did not write); Next stays disabled until you change your choices (Back).
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "c",
            "toggle_cli",
            "CLI commands",
            id="wizard.cli",
            tooltip="Show or hide the same changes as an AWS CLI script.",
        ),
        Binding(
            "y",
            "copy_cli",
            "Copy script",
            show=False,
            id="wizard.copy_cli",
            tooltip="Copy the AWS CLI script to the clipboard.",
        ),
        Binding(
            "s",
            "save_cli",
            "Save script",
            show=False,
            id="wizard.save_cli",
            tooltip="Save the AWS CLI script to a file in the current folder.",
        ),
        Binding(
            "x",
            "save_code",
            "Save as code",
            id="wizard.save_code",
            tooltip="Save the plan as Terraform, CloudFormation, documents or a CLI script.",
        ),
        Binding(
            "r",
            "reproduce",
            "Reproduce",
            id="wizard.reproduce",
            tooltip="Reproduce the failure now: a probe export (the last minute), AWS's answer "
            "beside the prediction. Changes nothing but AWS's test object.",
        ),
        Binding("enter", "next", "Next", show=False, id="wizard.review_next"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.review: Review | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="review"):
            yield Static(id="saved")
            yield Static(id="banner")
            yield Static(id="reproduced")
            yield Static(id="blockers")
            yield Static("What the doctor found", id="findings-title", classes="section")
            yield FindingsList(id="findings")
            yield Static("What the wizard will change", id="changes-title", classes="section")
            yield Vertical(id="changes")
            yield Static(id="cli")

    def nav_buttons(self) -> ComposeResult:
        yield Button(REPRODUCE_LABEL, id="reproduce", compact=True, disabled=True)
        yield Button("Save as code", id="save-code", compact=True, disabled=True)

    def hint(self) -> str:
        return "↑↓ scroll · c: AWS CLI commands"

    def on_mount(self) -> None:
        super().on_mount()
        self.read()

    def resume_work(self) -> None:
        self.read()  # the choices may have changed since: always the account as it is now

    def read(self) -> None:
        self.review = None
        for widget_id in (
            "#saved",
            "#blockers",
            "#cli",
            "#findings-title",
            "#changes-title",
            "#reproduced",
        ):
            self.query_one(widget_id).display = False
        self.query_one("#changes", Vertical).remove_children()
        self.query_one(FindingsList).show_findings(())
        self.query_one("#banner", Static).update(choices_line(self))
        self.clear_error()
        self.busy("review", "Reading the bucket, its policy and the key...")
        self.load_review()

    @work(thread=True, exit_on_error=False, group="review", exclusive=True)
    def load_review(self) -> None:
        self.post_result(ReviewRead(self.flow.review(self.state.choices())))

    def on_review_read(self, message: ReviewRead) -> None:
        self.show_review(message.review)

    def job_failed(self, group: str, error: BaseException) -> None:
        if group == SAVE_GROUP:  # nothing was written (all or none): the review stands
            self.notify(f"Could not save: {error}", severity="error", markup=False)
            self.update_nav()
            return
        super().job_failed(group, error)
        self.update_nav()

    def show_review(self, review: Review) -> None:
        self.review = review
        self.state.review = review
        plan = review.plan
        then = (
            "The wizard cannot go on until the blocker below is resolved.\n"
            if plan.blockers
            else "Read what is wrong and what the wizard would change, then press Next.\n"
        )
        banner = Content.assemble(
            ("Nothing has been changed yet. ", "bold $text-success"), then, choices_line(self)
        )
        self.query_one("#banner", Static).update(banner)
        blockers = self.query_one("#blockers", Static)
        if plan.blockers:
            blockers.update(
                Content("\n").join(
                    [Content.styled("The wizard cannot go on: decide first", "bold $text-error")]
                    + [
                        Content.assemble(("✗ ", "bold $text-error"), visible(blocker))
                        for blocker in plan.blockers
                    ]
                )
            )
            blockers.display = True
        else:
            blockers.display = False
        self.query_one(FindingsList).show_findings(review.findings)
        for widget_id in ("#findings-title", "#changes-title"):
            self.query_one(widget_id).display = True
        self.query_one("#changes-title", Static).update(
            f"What the wizard will change ({len(plan.changes)})"
            if plan.changes
            else "What the wizard will change"
        )
        changes = self.query_one("#changes", Vertical)
        changes.remove_children()
        widgets: list[Widget] = []
        if plan.empty and not plan.blockers:
            widgets.append(
                Static(
                    Content.styled(
                        "✓ The destination is already ready: nothing to change. "
                        "Next runs the test export.",
                        "bold $text-success",
                    ),
                    classes="ready",
                )
            )
        for number, change in enumerate(plan.changes, 1):
            widgets.append(Static(change_title(number, change), classes="change-title"))
            widgets.extend(
                Static(Content.styled(visible(f"Note: {note}"), MUTED), classes="change-note")
                for note in change.notes
            )
            widgets.append(DiffView(change.diff))
        changes.mount_all(widgets)
        self.query_one("#cli", Static).update(self.cli_text(plan))
        here = self.state.reproduced_here
        if here is not None:
            self.show_reproduced(here)
        self.update_nav()

    def cli_text(self, plan: Plan) -> Content:
        if plan.empty:
            return Content.styled("No AWS CLI commands: nothing to change.", MUTED)
        text = self.cli_script(plan)
        creates_key = any(c.action is Action.CREATE_KEY for c in plan.changes)
        heading = "The same changes as an AWS CLI script"
        if creates_key:
            heading += " (KEY_ARN holds the new key's ARN)"
        heading += " · y: copy · s: save to a file\n\n"
        return Content.assemble((heading, "bold"), visible_lines(text.rstrip("\n")))

    def cli_script(self, plan: Plan) -> str:
        state = self.state
        account = self.review.snapshot.identity.account if self.review is not None else None
        return script(plan, state.region or "", cli_header(state, account))

    def action_toggle_cli(self) -> None:
        cli = self.query_one("#cli", Static)
        cli.display = not cli.display
        if cli.display:
            scroll = self.query_one("#review", VerticalScroll)
            # After the layout that gives the panel its place.
            self.call_after_refresh(scroll.scroll_to_widget, cli, top=True, animate=False)

    def action_copy_cli(self) -> None:
        if self.review is None or self.review.plan.empty:
            return
        self.app.copy_to_clipboard(self.cli_script(self.review.plan))
        # The copy is an OSC 52 sequence: whether the terminal put it on the clipboard (many do
        # not, or not through tmux or ssh) is not something the wizard can know.
        self.notify(
            "The AWS CLI script was sent to the terminal's clipboard (OSC 52); not every "
            "terminal accepts it. Press s to save it to a file instead.",
            timeout=8,
            markup=False,
        )

    def action_save_cli(self) -> None:
        if self.review is None or self.review.plan.empty:
            return
        try:
            path = save_script(self.cli_script(self.review.plan), self.state)
        except OSError as error:
            self.notify(f"Could not save the script: {error}", severity="error", markup=False)
            return
        self.notify(f"Saved: {path} (run it with: bash {path})", timeout=8, markup=False)

    # The failure reproduced ---------------------------------------------------------------
    def offers_reproduce(self) -> bool:
        """An existing bucket with findings: AWS can be asked what it says (a bucket still to
        be created has no answer to give)."""
        review = self.review
        return review is not None and not review.healthy and review.snapshot.bucket.exists

    def can_reproduce(self) -> bool:
        """Offered, and nothing else running."""
        return self.offers_reproduce() and not self.is_busy

    def reproduces_first(self) -> bool:
        """In a demo that tells the repair story (``--demo --scenario broken``), the broken
        bucket's Review offers the reproduction first: Enter shows the failure in AWS's own
        words, then goes on to the repair. (Elsewhere it is the user's choice: r, the button
        or the palette.)"""
        if not self.wizard.is_sandbox or self.state.reproduced_here is not None:
            return False
        from wizard.launch import story_bucket

        return self.can_reproduce() and self.state.bucket == story_bucket(
            self.wizard.options.scenario
        )

    def action_reproduce(self) -> None:
        if self.can_reproduce():
            self.start_probe()

    def start_probe(self) -> None:
        self.clear_error()
        self.busy(
            PROBE_GROUP,
            "Reproducing the failure: a probe export of the last minute (AWS's test object at "
            "most)...",
        )
        self.run_probe(self.state.choices(), self.review)

    @work(thread=True, exit_on_error=False, group=PROBE_GROUP, exclusive=True)
    def run_probe(self, choices: Choices, review: Review | None) -> None:
        self.post_result(Reproduced(self.flow.verify(choices, review=review)))

    def on_reproduced(self, message: Reproduced) -> None:
        self.state.reproduced = message.verified
        self.show_reproduced(message.verified)
        self.update_nav()

    def show_reproduced(self, verified: Verified) -> None:
        words = describe(verified.verification)
        style = "bold $text-success" if words.ok else "bold $text-warning"
        if verified.verification.agrees and not words.ok:
            style = "bold $text-error"
        panel = self.query_one("#reproduced", Static)
        panel.update(
            Content.assemble(
                (f"{visible(words.headline)}\n", style),
                *(f"{visible(line)}\n" for line in words.details),
                (f"(probe export of {visible(verified.log_group)}, {verified.time})", MUTED),
            )
        )
        panel.display = True

    def can_save_code(self) -> bool:
        return self.review is not None and not self.review.plan.empty and not self.is_busy

    def action_save_code(self, fmt: str | None = None) -> None:
        """Ask for a format (unless given), then write the files: nothing in the account."""
        if not self.can_save_code():
            return
        if fmt is None:
            self.app.push_screen(SaveCodeScreen(), self.save_as)
        else:
            self.save_as(fmt)

    def save_as(self, choice: str | None) -> None:
        if choice is None or self.review is None:
            return
        fmt = PlanFormat(choice)
        if fmt is CLI_SCRIPT:
            self.action_save_cli()
            return
        self.busy(SAVE_GROUP, f"Saving the plan as {CODE_TITLES[fmt]}...")
        self.write_code(fmt, self.review)

    @work(thread=True, exit_on_error=False, group=SAVE_GROUP)
    def write_code(self, fmt: PlanFormat, review: Review) -> None:
        """Files, not AWS, but a slow disk or a network home must not hold the screen."""
        self.post_result(CodeSaved(fmt, save_code(fmt, review)))

    def on_code_saved(self, message: CodeSaved) -> None:
        self.show_saved(message.fmt, message.saved)

    def show_saved(self, fmt: PlanFormat, saved: SavedCode) -> None:
        names = ", ".join(path.name for path in saved.paths)
        panel = self.query_one("#saved", Static)
        panel.update(
            Content.assemble(
                (f"Saved as {CODE_TITLES[fmt]}", "bold $text-success"),
                f" in {saved.folder}: {names}\n",
                ("Nothing in the account was changed. Next:", MUTED),
                *(f"\n  {step}" for step in saved.next_steps),
            )
        )
        panel.display = True
        scroll = self.query_one("#review", VerticalScroll)
        self.call_after_refresh(scroll.scroll_home, animate=False)
        self.notify(f"Saved {count(len(saved.paths), 'file')} in {saved.folder}", markup=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save-code":
            event.stop()
            self.action_save_code()
            return
        if event.button.id == "reproduce":
            event.stop()
            self.action_reproduce()
            return
        super().on_button_pressed(event)

    def update_nav(self) -> None:
        super().update_nav()
        if self.children:
            self.query_one("#save-code", Button).disabled = not self.can_save_code()
            reproduce = self.query_one("#reproduce", Button)
            reproduce.display = self.offers_reproduce()
            reproduce.disabled = not self.can_reproduce()
            if self.review is not None:
                next_button = self.query_one("#next", Button)
                next_button.label = (
                    f"Next: {REPRODUCE_LABEL.lower()}"
                    if self.reproduces_first()
                    else "Next: test export"
                    if self.review.plan.empty
                    else "Next: apply"
                )

    def commands(self) -> Iterable[SystemCommand]:
        if self.can_reproduce():
            yield SystemCommand(
                REPRODUCE_LABEL,
                "A probe export: AWS's own answer beside the doctor's prediction",
                self.action_reproduce,
            )
        if self.review is not None and not self.review.plan.empty:
            for fmt in CODE_FORMATS:
                yield SystemCommand(
                    f"Save as {CODE_TITLES[fmt]}",
                    "The plan as code in a new folder; nothing in the account changes",
                    partial(self.action_save_code, fmt),
                )
            yield SystemCommand(
                "Show the AWS CLI script",
                "The same changes as AWS CLI commands",
                self.action_toggle_cli,
            )
            yield SystemCommand("Copy the AWS CLI script", "To the clipboard", self.action_copy_cli)
            yield SystemCommand(
                "Save the AWS CLI script", "To a file in the current folder", self.action_save_cli
            )

    def can_go_next(self) -> bool:
        return self.review is not None and not self.review.plan.blockers and not self.is_busy

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_cli":
            return True if self.review is not None else None
        if action == "save_code":
            return True if self.can_save_code() else None
        if action == "reproduce":  # hidden where AWS has nothing to say, dim while busy
            return True if self.can_reproduce() else (None if self.offers_reproduce() else False)
        if action in ("copy_cli", "save_cli"):
            return True if self.review is not None and not self.review.plan.empty else None
        return super().check_action(action, parameters)

    def action_next(self) -> None:
        if self.review is not None and self.review.plan.blockers:
            self.refuse("Resolve the blockers first: go Back and change your choices.")
            return
        if self.reproduces_first():
            self.action_reproduce()
            return
        super().action_next()
