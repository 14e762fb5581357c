"""Review's "Save as code": the plan as Terraform, CloudFormation, documents or a CLI script.

Saving writes files into a new folder and changes nothing in the account: for teams whose
buckets and keys belong to a pipeline, the change goes through review and merge instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from wizard.core.formats import PlanFormat
from wizard.flow import CODE_FORMATS, CODE_TITLES
from wizard.tui.styles import MUTED

CLI_SCRIPT = PlanFormat.CLI
WHAT = {
    PlanFormat.TERRAFORM: "main.tf: new resources in full, import blocks for what exists (1.5+)",
    PlanFormat.CLOUDFORMATION: "template.yaml, and a resource import (Retain) for what exists",
    PlanFormat.DOCUMENTS: "each document the plan writes, and plan.json: for CDK, Pulumi, a ticket",
    CLI_SCRIPT: "the same calls as AWS CLI commands, one runnable file",
}


class SaveCodeScreen(ModalScreen[str | None]):
    """Pick a format; the Review screen writes the files."""

    CSS_PATH = Path(__file__).with_name("save_code.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#formats"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="save_code.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Save the plan as code", id="title")
            yield Static(
                "For buckets and keys your Terraform or CloudFormation owns: the same change, "
                "to review and merge. Files go into a new folder here; nothing in the account "
                "changes.",
                id="text",
            )
            yield OptionList(
                *(
                    Option(
                        Content.assemble(
                            (title(fmt).ljust(TITLE_WIDTH), "bold"), (WHAT[fmt], MUTED)
                        ),
                        id=fmt,
                    )
                    for fmt in (*CODE_FORMATS, CLI_SCRIPT)
                ),
                id="formats",
            )
            yield Static("Enter: save · Escape: cancel", id="close-hint")

    @on(OptionList.OptionSelected, "#formats")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)


def title(fmt: PlanFormat) -> str:
    return "AWS CLI script" if fmt is CLI_SCRIPT else CODE_TITLES[fmt]


TITLE_WIDTH = max(len(title(fmt)) for fmt in WHAT) + 2
