"""Repair mode's question: which existing bucket do exports to fail?"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, LoadingIndicator, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from wizard.core.validate import bucket_name_problem
from wizard.flow import BucketOption, Flow
from wizard.tui.styles import MUTED
from wizard.tui.widgets.error_panel import ErrorPanel
from wizard.tui.widgets.option_lists import BUCKET_PREFIX, ChoiceList
from wizard.tui.widgets.validators import ProblemValidator


class RepairScreen(ModalScreen[str | None]):
    """Pick a bucket from the account's list, or type its name."""

    CSS_PATH = Path(__file__).with_name("repair.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#repair-buckets"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="repair.cancel"),
    ]

    def __init__(self, region: str) -> None:
        super().__init__()
        self.aws_region = region

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Repair an existing bucket", id="title")
            yield Static(
                "The wizard reads the bucket, its key and its policies, explains what stops "
                "CloudWatch Logs exports and proposes the fix. Nothing is changed before Apply.",
                id="text",
            )
            yield LoadingIndicator(id="loading")
            yield ChoiceList(id="repair-buckets")
            with Horizontal(classes="field"):
                yield Label("Or type a name", classes="field-label")
                yield Input(id="repair-name", validators=[ProblemValidator(bucket_name_problem)])
            yield ErrorPanel(id="repair-error")
            yield Static("Enter: repair this bucket · Escape: cancel", id="close-hint")

    def on_mount(self) -> None:
        flow: Flow | None = getattr(self.app, "flow", None)
        if flow is not None:
            self.load(flow)

    @work(thread=True, exit_on_error=False, group="repair-buckets", exclusive=True)
    def load(self, flow: Flow) -> list[BucketOption]:
        return flow.buckets(self.aws_region)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.SUCCESS:
            self.show_buckets(event.worker.result or [])
        elif event.state is WorkerState.ERROR:
            self.query_one("#loading").display = False
            self.query_one(ErrorPanel).show_error(event.worker.error or RuntimeError("?"))

    def show_buckets(self, buckets: Iterable[BucketOption]) -> None:
        self.query_one("#loading").display = False
        listing = self.query_one("#repair-buckets", ChoiceList)
        listing.set_options(
            Option(
                Content.assemble((b.name.ljust(32), "bold"), (b.region or "?", MUTED)),
                id=BUCKET_PREFIX + b.name,
            )
            for b in buckets
        )
        if buckets:
            listing.highlighted = 0
            listing.focus()
        else:
            self.query_one("#repair-name", Input).focus()

    @on(OptionList.OptionSelected, "#repair-buckets")
    def bucket_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((event.option.id or "").removeprefix(BUCKET_PREFIX))

    @on(Input.Submitted, "#repair-name")
    def name_submitted(self, event: Input.Submitted) -> None:
        problem = bucket_name_problem(event.value.strip())
        if problem:
            self.query_one(ErrorPanel).show_error(problem)
            return
        self.dismiss(event.value.strip())

    def action_close(self) -> None:
        self.dismiss(None)
