"""A yes/no question; the safe answer is focused, so Enter never does the risky thing."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = Path(__file__).with_name("confirm.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Keep going", id="confirm.cancel"),
    ]

    def __init__(self, title: str, text: str, *, confirm: str, cancel: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.confirm_label = confirm
        self.cancel_label = cancel

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="title")
            yield Static(self.text, id="text")
            with Horizontal(id="buttons"):
                yield Button(self.cancel_label, id="cancel", variant="primary", compact=True)
                yield Button(self.confirm_label, id="confirm", variant="error", compact=True)

    @on(Button.Pressed, "#confirm")
    def confirmed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
