"""What the current step does, in a few paragraphs, and the keys that work everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

COMMON_KEYS = """\
**Keys everywhere**: Enter takes the highlighted choice · Tab moves between fields · Escape
goes Back · Ctrl+N goes Next · Ctrl+P lists every action · F1 shows this help · q quits,
Ctrl+C too (exit code 130); before Apply nothing has been changed. The mouse works too:
click to highlight, double-click or Next to go on.
"""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_name("help.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#help-text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("f1", "close", "Close", show=False, id="help.close_f1"),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(
        self, title: str, text: str, keys: list[tuple[str, str, str]] | None = None
    ) -> None:
        super().__init__()
        self.help_title = title
        self.help_text = text
        self.keys = keys or []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.help_title, id="title")
            with VerticalScroll(id="help-text"):
                yield Markdown(self.help_text + "\n\n" + self.keys_text() + COMMON_KEYS)
            yield Static("↑↓ scroll · Escape or F1 closes this help.", id="close-hint")

    def keys_text(self) -> str:
        """This step's keys with what each does (the key line shows only their names)."""
        if not self.keys:
            return ""
        rows = [
            f"- `{key}` — {what}" + (f": {more}" if more and more != what else "")
            for key, what, more in self.keys
        ]
        return "**On this step**\n\n" + "\n".join(rows) + "\n\n"

    def action_close(self) -> None:
        self.dismiss(None)
