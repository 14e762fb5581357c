"""Step 1: connect (the sandbox or the credential chain), show who we are, pick the region."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from wizard.core.text import visible, visible_lines
from wizard.flow import Step, WizardState
from wizard.tui.connection import Connection, settle_heap
from wizard.tui.screens.base import StepScreen
from wizard.tui.styles import MUTED
from wizard.tui.widgets import StepIndicator
from wizard.tui.widgets.error_panel import error_parts
from wizard.tui.widgets.option_lists import ChoiceList

SANDBOX_TEXT = "Starting the local AWS sandbox..."


class Connected(Message, bubble=False):
    """The connect worker's result: who and where the wizard works."""

    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection


class RepairRead(Message, bubble=False):
    """The repair worker's result: the choices that fix the bucket."""

    def __init__(self, state: WizardState) -> None:
        super().__init__()
        self.state = state


class RegionScreen(StepScreen):
    STEP = Step.REGION
    CSS_PATH = Path(__file__).with_name("region.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#regions"
    HELP = """\
The wizard makes an S3 bucket, encrypted with a **customer managed KMS key**, a working
destination for **CloudWatch Logs exports**, then proves it with a real test export.

**This step** shows which AWS account and identity the wizard uses, and asks for the
**region** of the log groups you want to export. The bucket and the key must be in the
same region: CloudWatch Logs cannot export across regions.

- **Enter** takes the highlighted region.
- **r** repairs an existing bucket whose exports fail: the wizard reads it, explains
  what is wrong and shows the fix.
- **s** (after a credential problem) starts the local AWS sandbox instead: a demo
  account on 127.0.0.1, nothing real is touched.

Nothing is changed in AWS before the Apply step (step 5).
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "r",
            "repair",
            "Repair a bucket",
            id="wizard.repair",
            tooltip="Diagnose and fix an existing bucket whose exports fail.",
        ),
        Binding(
            "s",
            "sandbox",
            "Try the sandbox",
            id="wizard.sandbox",
            tooltip="Use the local AWS sandbox (a demo account) instead of AWS.",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._connect_failed = False
        self._connecting = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="identity")
        yield Static(
            "Which region are the log groups in? The bucket and the key must be there too.",
            id="question",
        )
        yield ChoiceList(id="regions")
        with Horizontal(id="actions"):
            yield Button("Repair an existing bucket", id="repair", compact=True)
            yield Button("Try the sandbox", id="sandbox", compact=True, variant="warning")

    def hint(self) -> str:
        return "Enter: use the highlighted region"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#sandbox", Button).display = False
        self.set_connected_view(False)
        if self.wizard.connection is None:
            # Draw the screen first; the sandbox or the credential chain starts right after.
            demo = self.wizard.options.demo
            self.busy("connect", SANDBOX_TEXT if demo else "Connecting to AWS...")
            self._connecting = True
            self.call_after_refresh(self.connect, demo)
        else:
            self.show_connection(self.wizard.connection)

    # Connecting ----------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="connect", exclusive=True)
    def connect(self, demo: bool) -> None:
        self.post_result(Connected(self.wizard.open_connection(demo)))

    def set_connected_view(self, connected: bool) -> None:
        for selector in ("#identity", "#question", "#regions", "#repair"):
            self.query_one(selector).display = connected

    def show_connection(self, connection: Connection) -> None:
        self._connecting = False
        self.set_connected_view(True)
        self.query_one("#identity").remove_class("-error")
        self.set_hint(self.hint())
        identity = connection.identity
        where = Content.assemble(
            ("Account ", MUTED),
            (identity.account, "bold"),
            ("   Identity ", MUTED),
            visible(identity.arn),
            ("\nConnected to ", MUTED),
            (connection.label, "bold"),
        )
        if connection.sandbox:
            where = Content.assemble(
                where, (" - a demo account on 127.0.0.1: nothing real is changed.", MUTED)
            )
        self.query_one("#identity", Static).update(where)
        self.query_one("#sandbox", Button).display = False
        regions = self.query_one("#regions", ChoiceList)
        default = connection.flow.default_region
        chosen = self.state.region or default
        regions.set_options(
            Option(
                Content.assemble(
                    (region.ljust(18), "bold" if region == chosen else ""),
                    ("your session's region" if region == default else "", MUTED),
                ),
                id=region,
            )
            for region in connection.regions
        )
        regions.highlight_id(chosen)
        regions.focus()
        self.update_nav()
        repair = self.wizard.options.repair
        if repair and not self.wizard.repair_started:
            self.wizard.repair_started = True
            self.start_repair(repair)

    def can_go_next(self) -> bool:
        return self.wizard.connection is not None and not self.is_busy

    def on_connected(self, message: Connected) -> None:
        self.clear_error()
        self.wizard.connected(message.connection)
        self.show_connection(message.connection)
        self.call_after_refresh(self.settle_heap)  # once the regions are on the screen

    @work(thread=True, exit_on_error=False, group="settle")
    def settle_heap(self) -> None:
        settle_heap()

    def on_repair_read(self, message: RepairRead) -> None:
        self.wizard.begin_repair(message.state)

    def resume_work(self) -> None:
        if self.wizard.connection is None and not self._connect_failed:
            self.busy("connect", SANDBOX_TEXT if self.wizard.options.demo else "Connecting...")
            self.connect(self.wizard.options.demo)
        elif self.wizard.connection is not None:
            self.show_connection(self.wizard.connection)

    def job_failed(self, group: str, error: BaseException) -> None:
        if group != "connect":
            super().job_failed(group, error)
            return
        # Said where the user looks, right above the way out: the sandbox.
        self.wizard.record_error(error)
        self._connecting = False
        self._connect_failed = True
        message, fix = error_parts(error)
        identity = self.query_one("#identity", Static)
        identity.update(
            Content("\n").join(
                [
                    Content.assemble(
                        ("✗ Not connected: ", "bold $text-error"), (visible_lines(message), "bold")
                    ),
                    Content.assemble(
                        ("Fix: ", "bold"), visible_lines(fix or "Check your AWS configuration.")
                    ),
                    Content.styled(
                        "Or try the wizard on the local AWS sandbox: a demo account on "
                        "127.0.0.1, no credentials needed, nothing real is changed.",
                        MUTED,
                    ),
                ]
            )
        )
        identity.display = True
        identity.add_class("-error")
        self.query_one(StepIndicator).where = "not connected"
        self.set_hint("Enter: try the sandbox")
        sandbox = self.query_one("#sandbox", Button)
        sandbox.display = True
        sandbox.focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sandbox":
            return self._connect_failed and not self.is_busy
        if action == "repair":
            return True if self.wizard.connection is not None and not self.is_busy else None
        return super().check_action(action, parameters)

    def action_sandbox(self) -> None:
        if self.is_busy or self.wizard.is_sandbox:
            return
        self._connect_failed = False
        self.clear_error()
        self.query_one("#sandbox", Button).display = False
        self.busy("connect", SANDBOX_TEXT)
        self.connect(True)

    # Choosing ------------------------------------------------------------------------------
    def commit(self) -> bool:
        region = self.query_one("#regions", ChoiceList).highlighted_id
        if region is None:
            self.refuse("Choose a region first.")
            return False
        state = self.state
        if region != state.region:
            # Keys and buckets are regional: the later steps start again.
            self.wizard.state = state.for_region(region)
            self.wizard.reset_after(Step.REGION)
        return True

    @on(OptionList.OptionSelected, "#regions")
    def region_selected(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#repair")
    def repair_pressed(self) -> None:
        self.action_repair()

    @on(Button.Pressed, "#sandbox")
    def sandbox_pressed(self) -> None:
        self.action_sandbox()

    def action_repair(self) -> None:
        if self.wizard.connection is None or self.is_busy:
            return
        from wizard.tui.screens.repair import RepairScreen

        region = self.query_one("#regions", ChoiceList).highlighted_id
        self.app.push_screen(RepairScreen(region or self.flow.default_region), self._repair_chosen)

    def _repair_chosen(self, bucket: str | None) -> None:
        if bucket:
            self.start_repair(bucket)

    def start_repair(self, bucket: str) -> None:
        self.clear_error()
        self.busy("repair", f"Reading s3://{bucket}, its key and its policies...")
        self.read_repair(bucket)

    @work(thread=True, exit_on_error=False, group="repair", exclusive=True)
    def read_repair(self, bucket: str) -> None:
        self.post_result(RepairRead(self.flow.repair_state(bucket)))

    def commands(self) -> Iterable[SystemCommand]:
        if self.wizard.connection is not None:
            yield SystemCommand(
                "Repair a bucket",
                "Diagnose and fix an existing bucket whose exports fail",
                self.action_repair,
            )
