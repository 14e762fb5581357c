"""Step 5: an explicit confirmation, then each change with live progress and the journal."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Label, ProgressBar, Static

from wizard.core import wording
from wizard.core.change import Change, Plan
from wizard.core.errors import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ApplyError,
    DriftError,
    WizardError,
)
from wizard.core.outcomes import Outcome, RollbackReport, StepStatus
from wizard.core.text import count, visible, visible_lines
from wizard.flow import CONFIRM_WORD, Step, confirmed, undo_command
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.confirm import ConfirmScreen
from wizard.tui.styles import MUTED
from wizard.tui.widgets.facts import Facts
from wizard.views import Line

if TYPE_CHECKING:
    from wizard.aws.apply import ApplyResult, StepResult

PENDING, RUNNING, NOT_STARTED = "pending", "running", "not started"
_STATUS = {
    PENDING: ("○", MUTED),
    RUNNING: ("◐", "bold $text-accent"),
    StepStatus.APPLIED.value: ("✓", "bold $text-success"),
    StepStatus.UNCHANGED.value: ("=", "$text-success"),
    StepStatus.FAILED.value: ("✗", "bold $text-error"),
    StepStatus.ROLLED_BACK.value: ("↺", "bold $text-warning"),
    StepStatus.NOT_ROLLED_BACK.value: ("!", "bold $text-error"),
    NOT_STARTED: ("-", MUTED),
}


class StepApplied(Message, bubble=False):
    """Posted from the apply thread after each change (and each rollback)."""

    def __init__(self, result: StepResult) -> None:
        super().__init__()
        self.result = result


class ApplyFinished(Message, bubble=False):
    def __init__(self, result: ApplyResult) -> None:
        super().__init__()
        self.result = result


class UndoFinished(Message, bubble=False):
    def __init__(self, report: RollbackReport) -> None:
        super().__init__()
        self.report = report


def report_content(report: RollbackReport) -> Content:
    """What a rollback found and did, step by step, and what remains (with the commands)."""
    lines: list[Content] = []
    for step in report.steps:
        icon, style = ("!", "bold $text-error") if step.outcome.remains else ("↺", "")
        lines.append(Content.assemble((f"{icon} ", style), visible_lines(step.message)))
        lines.extend(Content.styled(f"    {visible(command)}", MUTED) for command in step.manual)
    from wizard import render

    said = render.report_verdict(report)  # the words of every face
    verdict = Content.styled(
        said.text, "bold $text-success" if report.complete else "bold $text-error"
    )
    return Content("\n").join([*lines, verdict])


class ApplyScreen(StepScreen):
    STEP = Step.APPLY
    CSS_PATH = Path(__file__).with_name("apply.tcss")  # absolute: subclasses work too
    SCROLL_BODY = False
    NEXT_LABEL = "Next: test export"
    HELP = """\
This step **changes your AWS account** (or the sandbox), in the order shown on Review.

- Against real AWS, type **apply** and press Enter (or press the Apply button). Enter
  alone never applies.
- In the sandbox, Enter on the focused Apply button is enough.

Before each write the wizard re-reads the target: if someone changed it since the Review,
nothing is overwritten (drift). If a change fails, the changes made so far are **rolled
back**: each one is read again, put back if it is as the wizard left it, and named if
someone changed it since. Every step is recorded in a **journal** file;
`cwl-export-wizard undo JOURNAL` restores what it changed.

Once changes are made there is no going back to the earlier steps (they would show an
account that no longer exists): **n** starts over from the region.

Quitting while changes are being applied asks first, then rolls back before it quits.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "n",
            "start_over",
            "Start over",
            id="wizard.start_over",
            tooltip="A new run from the region step (the changes made stay).",
        ),
        Binding(
            "u",
            "undo_run",
            "Undo",
            id="wizard.undo_run",
            tooltip="Put back what this run changed, from its journal (each target is read "
            "first: one changed by someone else since is left alone and named).",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event = threading.Event()
        # Cleared while the "Stop applying?" question is open: the apply waits between changes.
        self.go_on = threading.Event()
        self.go_on.set()
        self.stop_requested = False
        self.statuses: list[str] = []
        self.started = False
        self.finished = False
        self.result: ApplyResult | None = None
        self._plan: Plan | None = None  # the plan the rows show

    @property
    def plan(self) -> Plan:
        review = self.state.review
        assert review is not None
        return review.plan

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="apply"):
            yield Static(id="intro")
            yield Vertical(id="changes")
            yield ProgressBar(id="progress", show_eta=False)
            yield Static(id="outcome")
            yield Facts(id="journal")
        with Horizontal(id="confirm"):
            yield Label(id="confirm-label")
            yield Input(placeholder=f"type {CONFIRM_WORD}", id="confirm-word")
            yield Button("Apply", id="apply-button", variant="error", compact=True)

    def hint(self) -> str:
        return "Nothing is changed until you confirm"

    def on_mount(self) -> None:
        super().on_mount()
        self.show_plan()

    def resume_work(self) -> None:
        # Back on Review may have planned again: show the plan that will be applied.
        if not self.started and self._plan != self.plan:
            self.show_plan()

    def show_plan(self) -> None:
        plan = self.plan
        self._plan = plan
        self.statuses = [PENDING] * len(plan.changes)
        where = (
            "the local AWS sandbox"
            if self.wizard.is_sandbox
            else (
                f"AWS account {self.wizard.connection.identity.account}"
                if self.wizard.connection
                else "AWS"
            )
        )
        self.query_one("#intro", Static).update(
            Content.assemble(
                (f"About to make {count(len(plan.changes), 'change')} in {where}", "bold"),
                f", region {self.state.region}:",
            )
        )
        changes = self.query_one("#changes", Vertical)
        changes.remove_children()
        changes.mount_all(
            Horizontal(Static(classes="icon"), Static(classes="text"), classes="change")
            for _ in plan.changes
        )
        progress = self.query_one(ProgressBar)
        progress.total = max(1, len(plan.changes))
        progress.progress = 0
        progress.display = False
        self.query_one("#outcome").display = False
        self.call_after_refresh(self.render_changes)
        word = self.query_one("#confirm-word", Input)
        label = self.query_one("#confirm-label", Label)
        if self.wizard.is_sandbox:
            label.update("Sandbox: press Enter on Apply to make these changes.")
            word.display = False
            self.query_one("#apply-button", Button).focus()
        else:
            label.update(Content.assemble("Type ", (CONFIRM_WORD, "bold"), " and press Enter:"))
            word.focus()
        self.update_nav()

    @staticmethod
    def change_text(number: int, change: Change, status: str) -> Content:
        _, style = _STATUS.get(status, ("?", ""))
        return Content.assemble(
            (f"{number}. {change.action.value}", "bold"),
            f"  {visible(change.summary)}",
            ("" if status == PENDING else f"  ({status})", style),
        )

    def render_changes(self) -> None:
        """Each change's status: an icon, and the word once it has one."""
        rows = self.query("#changes > .change")
        changes = self._plan.changes if self._plan is not None else ()
        for number, (row, status) in enumerate(zip(rows, self.statuses, strict=False), 1):
            icon, style = _STATUS.get(status, ("?", ""))
            row.query_one(".icon", Static).update(Content.styled(icon, style))
            row.query_one(".text", Static).update(
                self.change_text(number, changes[number - 1], status)
            )

    # Confirmation ----------------------------------------------------------------------------
    @on(Input.Submitted, "#confirm-word")
    def word_submitted(self, event: Input.Submitted) -> None:
        if confirmed(event.value):
            self.start_apply()
        else:
            self.refuse(f"Type {CONFIRM_WORD} to make the changes, or press Escape to go back.")

    @on(Button.Pressed, "#apply-button")
    def apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.start_apply()

    def start_apply(self) -> None:
        if self.started:
            return
        self.started = True
        self.query_one("#confirm").display = False
        self.query_one(ProgressBar).display = True
        if self.statuses:
            self.statuses[0] = RUNNING
        self.render_changes()
        self.busy("apply", "Applying the changes...")
        self.query_one("#apply", VerticalScroll).focus()
        self.run_apply(self.plan)

    @work(thread=True, exit_on_error=False, group="apply", exclusive=True)
    def run_apply(self, plan: Plan) -> None:
        def report(result: StepResult) -> None:
            self.post_message(StepApplied(result))  # thread-safe
            self.go_on.wait()  # the user is being asked whether to stop

        self.post_message(
            ApplyFinished(self.flow.apply(plan, on_step=report, cancel=self.cancel_event))
        )

    @work(thread=True, exit_on_error=False, group="undo", exclusive=True)
    def run_undo(self, journal: Path) -> None:
        self.post_message(UndoFinished(self.flow.undo(journal)))

    def on_step_applied(self, message: StepApplied) -> None:
        result = message.result
        changes = self._plan.changes if self._plan is not None else ()
        index = next((i for i, c in enumerate(changes) if c is result.change), None)
        if index is None:
            index = next((i for i, c in enumerate(changes) if c == result.change), None)
        if index is None:
            return  # a change merged again after another writer's (not on the list)
        self.statuses[index] = result.status.value
        if result.status in (StepStatus.APPLIED, StepStatus.UNCHANGED):
            self.query_one(ProgressBar).progress = index + 1
            if index + 1 < len(self.statuses) and self.statuses[index + 1] == PENDING:
                self.statuses[index + 1] = RUNNING
        self.render_changes()

    def on_apply_finished(self, message: ApplyFinished) -> None:
        result = message.result
        self.state.applied = result
        if self.stop_requested:
            # Every change landed before the stop took effect: undo them from the journal.
            self.busy("undo", "Stopping: rolling back the changes made...")
            self.run_undo(result.journal_path)
            return
        self.finished = True
        self.result = result
        journal = str(result.journal_path)
        self.show_outcome(
            Content.assemble(
                (
                    f"✓ {_made(len(self.plan.changes))} ",
                    "bold $text-success",
                ),
                "Next runs a test export to prove the destination works.",
            )
        )
        facts = [("Journal", journal)]
        if not self.wizard.is_sandbox:  # the sandbox forgets everything when it stops
            facts.append(("Undo all", undo_command(journal)))
        self.query_one("#journal", Facts).show(facts)
        self.set_hint("Changes made · Enter: test export · n: start over · u: undo")
        self.refresh_indicator()
        self.query_one("#next", Button).focus()
        self.wizard.apply_finished()

    def on_undo_finished(self, message: UndoFinished) -> None:
        report = message.report
        self.finished = True
        for step in report.steps:
            if step.index < len(self.statuses):
                self.statuses[step.index] = (
                    StepStatus.NOT_ROLLED_BACK.value
                    if step.outcome.remains or step.outcome is Outcome.STAYS_WITH_PARENT
                    else StepStatus.ROLLED_BACK.value
                )
        self.render_changes()
        self.state.undone = report  # the farewell and every step read it from here
        if not report.complete:
            self.wizard.exit_code = EXIT_FINDINGS
        elif self.stop_requested:
            # A stop that landed after the last change: a stopped run all the same (130, as
            # a stop between changes that rolls back), not a finished one.
            self.wizard.exit_code = EXIT_INTERRUPTED
        else:
            self.wizard.exit_code = EXIT_OK
        self.show_outcome(report_content(report))
        if report.complete:
            self.set_hint("Undone · Escape: back to Review")
        else:
            self.set_hint("Some changes remain (above) · u: undo again")
        self.refresh_indicator()
        self.refresh_bindings()
        self.wizard.apply_finished()

    def refresh_indicator(self) -> None:
        from wizard.tui.widgets import StepIndicator

        self.query_one(StepIndicator).refresh_state(self.wizard)
        self.update_nav()

    def job_failed(self, group: str, error: BaseException) -> None:
        if group == "undo":
            self.finished = True
            super().job_failed(group, error)
            self.update_nav()
            self.wizard.apply_finished()
            return
        if group != "apply":
            super().job_failed(group, error)
            return
        self.finished = True
        self.show_error(error)
        for i, status in enumerate(self.statuses):
            if status in (RUNNING, PENDING):
                self.statuses[i] = NOT_STARTED
        self.render_changes()
        lines: list[Content] = []
        journal: str | None = None
        if isinstance(error, ApplyError):
            if error.report is not None and error.report.touched:
                lines.append(report_content(error.report))
                self.wizard.farewell_lines.extend(_report_lines(error.report))
            if not error.restored_everything:
                journal = error.journal_path  # something remains: undo can finish it
        if isinstance(error, DriftError):
            lines.append(Content("Go Back to Review: it reads the current state again."))
        if isinstance(error, WizardError) and not lines and not journal:
            lines.append(Content.styled(wording.NOTHING_CHANGED, MUTED))
        self.show_outcome(Content("\n").join(lines))
        if journal:
            facts = [("Journal", journal)]
            if not self.wizard.is_sandbox:
                facts.append(("Finish with", undo_command(journal)))
                self.wizard.farewell_lines.append(
                    Line(f"Finish with: {undo_command(journal)}", verbatim=True)
                )
            self.query_one("#journal", Facts).show(facts)
        self.set_hint("Escape: back to Review")
        self.update_nav()
        self.query_one("#back", Button).focus()
        self.wizard.apply_finished()

    def show_outcome(self, content: Content) -> None:
        outcome = self.query_one("#outcome", Static)
        outcome.update(content)
        outcome.display = bool(content.plain)

    # Navigation ------------------------------------------------------------------------------
    def locked(self) -> bool:
        return self.started and not self.finished

    def can_go_next(self) -> bool:
        return self.finished and self.result is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("start_over", "undo_run"):  # hidden until there is a change to act on
            return bool(self.state.applied_changes and self.finished)
        return super().check_action(action, parameters)

    def action_start_over(self) -> None:
        if self.state.applied_changes and self.finished:
            self.wizard.start_over()

    def action_undo_run(self) -> None:
        """Ask, then put back what this run changed (the journal's undo, in a worker)."""
        applied = self.state.applied
        if applied is None or not (self.state.applied_changes and self.finished):
            return
        made = sum(1 for s in applied.steps if s.status is StepStatus.APPLIED)
        question = ConfirmScreen(
            "Undo this run's changes?",
            f"The {count(made, 'change')} this run made are put back as they were, newest "
            "first. Each target is read first: one that someone changed since is left alone "
            "and named.",
            confirm="Undo them",
            cancel="Keep them",
        )

        def answered(undo: bool | None) -> None:
            if undo:
                self.finished = False
                self.busy("undo", "Putting back what this run changed...")
                self.update_nav()
                self.run_undo(applied.journal_path)

        self.app.push_screen(question, answered)

    def commands(self) -> Iterable[SystemCommand]:
        if self.state.applied_changes and self.finished:
            yield SystemCommand(
                "Start over", "A new run from the region step", self.action_start_over
            )

    def quit_needs_confirmation(self) -> bool:
        return self.locked()

    def hold(self) -> None:
        """The question is open: the apply waits after the change in progress."""
        self.go_on.clear()

    def resume(self) -> None:
        self.go_on.set()

    def request_stop(self) -> None:
        """Quit confirmed during the apply: stop after the current change and roll back."""
        self.stop_requested = True
        self.cancel_event.set()
        self.busy("apply", "Stopping: rolling back the changes made so far...")
        self.go_on.set()

    def release_threads(self) -> None:
        self.cancel_event.set()
        self.go_on.set()


def _made(changes: int) -> str:
    return "The change is made." if changes == 1 else f"All {changes} changes are made."


def _report_lines(report: RollbackReport) -> list[Line]:
    """A rollback's outcome for the terminal, once the screen is gone."""
    from wizard import render

    lines = [line for step in report.steps for line in render.report_step(step)]
    return [*lines, render.report_verdict(report)]
