"""Step 6: a test export of one log group into the destination, with live progress."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, Static

from wizard import render
from wizard.core.errors import Cancelled, ExportBusy
from wizard.core.state import ExportTaskInfo, ExportTaskStatus
from wizard.core.text import visible, visible_lines
from wizard.flow import (
    BusyChoice,
    BusyRounds,
    Flow,
    PropagationWait,
    Step,
    window_problem,
)
from wizard.tui.screens.base import StepScreen
from wizard.tui.styles import MUTED
from wizard.tui.widgets.option_lists import GROUP_PREFIX, LogGroupList
from wizard.tui.widgets.validators import ProblemValidator
from wizard.views import busy_options, export_busy, propagation

if TYPE_CHECKING:
    from wizard.aws.export import ExportRequest, ExportResult
    from wizard.aws.inventory import LogGroupSummary

FILTER_DELAY = 0.3  # seconds of typing pause before asking CloudWatch Logs again
WINDOWS = ("1h", "24h", "7d")


class GroupsListed(Message, bubble=False):
    def __init__(self, groups: list[LogGroupSummary]) -> None:
        super().__init__()
        self.groups = groups


class ExportFinished(Message, bubble=False):
    def __init__(self, result: ExportResult) -> None:
        super().__init__()
        self.result = result


class OtherTaskCleared(Message, bubble=False):
    """The other export task has finished or stopped: ours can start."""


class PropagationProgress(Message):
    """Posted from the export thread while it waits for policy changes to propagate."""

    def __init__(self, wait: PropagationWait) -> None:
        super().__init__()
        self.wait = wait


class ExportProgress(Message):
    """Posted from the export thread on every status read."""

    def __init__(self, task: ExportTaskInfo, elapsed: float) -> None:
        super().__init__()
        self.task = task
        self.elapsed = elapsed


class ExportScreen(StepScreen):
    STEP = Step.EXPORT
    CSS_PATH = Path(__file__).with_name("export.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#groups"
    NEXT_LABEL = "Start export"
    HELP = """\
A **test export** proves the destination works: CloudWatch Logs checks the bucket
(GetBucketAcl), writes a test object, then the data, encrypted with your key.

- **Log group**: the most recently written first, where a test finds data. Type in the
  filter to search by name prefix (CloudWatch Logs does the search).
- **Window**: how far back to export (1h, 24h, 7d, or for example 30m, 2d). Log data can
  take up to 12 hours to become exportable.
- **Stream prefix**: optional, only streams whose name starts with it.

The task goes PENDING, RUNNING, COMPLETED. **x** stops waiting for it. CloudWatch Logs
runs one export per account and region: if another one is active, wait for it or cancel it.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "x",
            "cancel_export",
            "Cancel export",
            id="wizard.cancel_export",
            tooltip="Stop the export task and stop waiting for it.",
        ),
        Binding(
            "w",
            "wait_other",
            "Wait for the other task",
            id="wizard.wait_other",
            show=False,
            tooltip="Wait until the other export task has finished.",
        ),
        Binding(
            "n",
            "start_over",
            "Start over",
            id="wizard.start_over_export",
            tooltip="A new run from the region step (the changes made stay).",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event = threading.Event()
        self._filter_timer: Timer | None = None
        self._groups_loaded = False
        self._exporting = False
        self._task_id: str | None = None
        self._busy_task: ExportTaskInfo | None = None
        self._busy_rounds = BusyRounds()  # this export's rounds of clearing the slot

    @property
    def aws_region(self) -> str:
        assert self.state.region is not None
        return self.state.region

    def compose_body(self) -> ComposeResult:
        yield Static(id="question")
        with Horizontal(classes="field"):
            yield Label("Filter", classes="field-label")
            yield Input(placeholder="any part of a name, for example lambda", id="filter")
        yield LogGroupList(id="groups")
        with Horizontal(id="window-row", classes="field"):
            yield Label("Window", classes="field-label")
            yield Input(id="window", validators=[ProblemValidator(window_problem)])
            for window in WINDOWS:
                yield Button(window, id=f"w{window}", classes="window-choice", compact=True)
            yield Static("back from now", id="window-note")
        yield Static(id="window-problem", classes="problem")
        with Horizontal(classes="field"):
            yield Label("Stream prefix", classes="field-label")
            yield Input(placeholder="(all streams)", id="stream")
        with Vertical(id="task"):
            yield Static(id="task-status")
        with Horizontal(id="other-task"):
            yield Static(id="other-text")
            labels = {choice: label for label, choice in busy_options()}
            yield Button(labels[BusyChoice.WAIT], id="wait-other", compact=True)
            yield Button(
                labels[BusyChoice.CANCEL], id="cancel-other", variant="warning", compact=True
            )

    def hint(self) -> str:
        return "Enter: export the highlighted log group"

    def on_mount(self) -> None:
        super().on_mount()
        state = self.state
        self.query_one("#question", Static).update(
            Content.assemble(
                "Which log group goes to ",
                (f"s3://{state.bucket}/{state.prefix}", "bold"),
                " for the test?",
            )
        )
        self.query_one("#window", Input).value = state.window
        self.query_one("#stream", Input).value = state.stream_prefix or ""
        self.query_one("#other-task").display = False
        self.query_one("#task").display = False
        self.busy("groups", f"Listing the log groups of {self.aws_region}...")
        self.load_groups(None)

    # Log groups ------------------------------------------------------------------------------
    def resume_work(self) -> None:
        if not self._groups_loaded:
            self.busy("groups", f"Listing the log groups of {self.aws_region}...")
            self.load_groups(self.query_one("#filter", Input).value.strip() or None)
        self._exporting = False  # leaving stopped the wait (the task runs on in AWS)
        self.update_nav()

    @work(thread=True, exit_on_error=False, group="groups", exclusive=True)
    def load_groups(self, pattern: str | None) -> None:
        self.post_result(GroupsListed(self.flow.log_groups(self.aws_region, pattern)))

    def on_groups_listed(self, message: GroupsListed) -> None:
        self.show_groups(message.groups)

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        pattern = event.value.strip() or None

        def query() -> None:
            self._filter_timer = None
            self.busy("groups", "Searching the log groups...")
            self.load_groups(pattern)

        self._filter_timer = self.timer(FILTER_DELAY, query)

    @on(Input.Submitted, "#filter")
    def filter_submitted(self) -> None:
        self.query_one(LogGroupList).focus()

    def show_groups(self, groups: list[LogGroupSummary]) -> None:
        self._groups_loaded = True
        listing = self.query_one(LogGroupList)
        listing.show_groups(groups, int(self.wizard.clock() * 1000))
        if self.state.log_group:
            listing.highlight_id(GROUP_PREFIX + self.state.log_group)
        if not groups:
            self.query_one("#task-status", Static).update(
                Content.styled("No log group matches.", "$text-warning")
            )
            self.query_one("#task").display = True
        elif not self._exporting:
            self.query_one("#task").display = False
        if not self.query_one("#filter", Input).has_focus:
            listing.focus()
        self.update_nav()

    @on(OptionList.OptionSelected, "#groups")
    def group_selected(self) -> None:
        self.action_next()

    # Window ----------------------------------------------------------------------------------
    @on(Button.Pressed, ".window-choice")
    def window_chosen(self, event: Button.Pressed) -> None:
        event.stop()
        self.query_one("#window", Input).value = str(event.button.label)

    @on(Input.Changed, "#window")
    def window_changed(self, event: Input.Changed) -> None:
        self.show_problem("#window-problem", window_problem(event.value))

    @on(Input.Submitted, "#window, #stream")
    def field_submitted(self) -> None:
        self.action_next()

    # Running the export ----------------------------------------------------------------------
    def can_go_next(self) -> bool:
        return self._groups_loaded and not self.is_busy and not self._exporting

    def commit(self) -> bool:
        group = self.query_one(LogGroupList).highlighted_id
        if group is None:
            return self.refuse("Choose a log group to export.")
        window = self.query_one("#window", Input)
        problem = window_problem(window.value)
        if problem:
            return self.refuse(problem, window)
        state = self.state
        state.log_group = group.removeprefix(GROUP_PREFIX)
        state.window = window.value.strip()
        state.stream_prefix = self.query_one("#stream", Input).value.strip() or None
        return True

    def action_next(self) -> None:
        # Next on this step starts the export; its success moves on to the Result.
        if not self.can_go_next():
            self.refuse("Wait for the log groups to load, or for the export to end.")
            return
        if self.commit():
            self._busy_rounds = BusyRounds()
            self.start_export()

    def start_export(self) -> None:
        self.clear_error()
        self.query_one("#other-task").display = False
        self.cancel_event = threading.Event()
        self._exporting = True
        self._task_id = None
        request = Flow.export_request(self.state, int(self.wizard.clock() * 1000))
        self.show_status("Starting the export task...")
        self.busy("export", f"Exporting {request.log_group}...")
        self.run_export(request)

    @work(thread=True, exit_on_error=False, group="export", exclusive=True)
    def run_export(self, request: ExportRequest) -> None:
        flow = self.flow
        task_id = flow.start_export(
            request,
            on_wait=self._waiting,
            cancel=self.cancel_event,
        )
        self.post_message(
            ExportProgress(
                ExportTaskInfo(task_id, request.log_group, ExportTaskStatus.PENDING), 0.0
            )
        )
        task = flow.wait_export(
            request.region,
            task_id,
            on_status=self._report,
            cancel=self.cancel_event,
        )
        self.post_result(ExportFinished(flow.collect_export(request, task)))

    def _waiting(self, wait: PropagationWait) -> None:
        self.post_message(PropagationProgress(wait))  # from the worker thread

    def on_propagation_progress(self, message: PropagationProgress) -> None:
        self.show_status(
            Content("\n").join(
                [render.content(propagation(message.wait)), Content.styled("x: cancel", MUTED)]
            )
        )

    def _report(self, task: ExportTaskInfo, elapsed: float) -> None:
        self.post_message(ExportProgress(task, elapsed))  # from the worker thread

    def on_export_progress(self, message: ExportProgress) -> None:
        task = message.task
        self._task_id = task.task_id
        self.show_status(
            Content.assemble(
                ("Task ", MUTED),
                visible(task.task_id),
                "  ",
                (visible(task.status), "bold $text-accent"),
                ("  elapsed ", MUTED),
                f"{message.elapsed:.1f} s",
                ("   x: cancel", MUTED),
            )
        )

    def show_status(self, text: str | Content) -> None:
        self.query_one("#task-status", Static).update(
            Content(visible_lines(text)) if isinstance(text, str) else text
        )
        self.query_one("#task").display = True

    def on_export_finished(self, message: ExportFinished) -> None:
        result = message.result
        self._exporting = False
        self.state.result = result
        if result.succeeded:
            # Nothing left to cancel: the line says how it ended (seen when coming Back).
            self.show_status(
                Content.assemble(
                    ("Task ", MUTED), result.task.task_id, "  ", (result.task.status, "bold")
                )
            )
            self.wizard.goto(Step.RESULT)
            return
        self.show_status(
            Content.assemble(
                ("Task ", MUTED),
                visible(result.task.task_id),
                "  ",
                (visible(result.task.status), "bold $text-warning"),
            )
        )
        self.show_error(
            result.explanation or "The export wrote no data.",
            "Widen the window or pick another log group, then Start export again.",
        )
        self.wizard.exit_code = 1
        self.update_nav()

    def on_other_task_cleared(self, message: OtherTaskCleared) -> None:
        self.start_export()

    def job_failed(self, group: str, error: BaseException) -> None:
        if group == "export":
            self._exporting = False
            if isinstance(error, ExportBusy):
                self.show_busy_task(error)
                return
            if isinstance(error, Cancelled):
                self.show_status(Content.styled("Export cancelled.", "$text-warning"))
                self.update_nav()
                return
            # The status line said "Starting..." or "x: cancel": the error below says what
            # happened instead.
            self.query_one("#task").display = False
        if group == "other":
            self.query_one("#other-task").display = True
        super().job_failed(group, error)
        self.update_nav()

    # Another task is active (LimitExceeded) --------------------------------------------------
    def show_busy_task(self, error: ExportBusy) -> None:
        try:
            self._busy_rounds.next_round(error)  # the flow's limit, as in every face
        except ExportBusy as still:
            self._busy_rounds = BusyRounds()  # Start again begins a new count
            super().job_failed("export", still)
            self.update_nav()
            return
        self._busy_task = error.active
        self.query_one("#task").display = False
        self.query_one("#other-text", Static).update(
            render.content(export_busy(error.region, error.active))
        )
        self.query_one("#other-task").display = True
        self.query_one("#wait-other", Button).focus()
        self.update_nav()

    @on(Button.Pressed, "#wait-other")
    def wait_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_wait_other()

    @on(Button.Pressed, "#cancel-other")
    def cancel_other_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.resolve_other(cancel=True)

    def action_wait_other(self) -> None:
        self.resolve_other(cancel=False)

    def resolve_other(self, *, cancel: bool) -> None:
        task = self._busy_task
        if task is None or self.is_busy:
            return
        self.query_one("#other-task").display = False
        self.cancel_event = threading.Event()
        verb = "Cancelling" if cancel else "Waiting for"
        self.show_status(f"{verb} export task {task.task_id}...")
        self.busy("other", f"{verb} the other export task...")
        self.handle_other(task, cancel)

    @work(thread=True, exit_on_error=False, group="other", exclusive=True)
    def handle_other(self, task: ExportTaskInfo, cancel: bool) -> None:
        choice = BusyChoice.CANCEL if cancel else BusyChoice.WAIT
        self.flow.clear_busy(
            self.aws_region, task, choice, on_status=self._report, cancel=self.cancel_event
        )
        self.post_result(OtherTaskCleared())

    def action_cancel_export(self) -> None:
        if not self._exporting and "other" not in self._jobs:
            return
        self.cancel_event.set()
        if self._task_id and self._exporting:
            self.busy("cancel", "Cancelling the export task...")
            self.cancel_task(self._task_id)

    @work(thread=True, exit_on_error=False, group="cancel")
    def cancel_task(self, task_id: str) -> None:
        self.flow.cancel_export(self.aws_region, task_id)

    def action_start_over(self) -> None:
        if self.state.applied_changes and not self._exporting:
            self.wizard.start_over()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start_over":
            return True if self.state.applied_changes and not self._exporting else None
        if action == "cancel_export":
            return True if self._exporting or "other" in self._jobs else None
        if action == "wait_other":
            return self._busy_task is not None and not self.is_busy
        return super().check_action(action, parameters)

    def locked(self) -> bool:
        return self._exporting

    def release_threads(self) -> None:
        self.cancel_event.set()
