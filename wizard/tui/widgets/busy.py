"""A one-line loading state: a spinner and what the wizard is waiting for."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, LoadingIndicator

from wizard.core.text import visible


class BusyLine(Horizontal):
    """Hidden while idle; ``show("Loading keys...")`` names the wait."""

    DEFAULT_CSS = """
    BusyLine {
        display: none;
        height: 1;
        margin: 0 1;
        &.-busy { display: block; }
        LoadingIndicator { width: 6; height: 1; min-height: 1; background: transparent; }
        Label { color: $text-muted; }
    }
    """

    def compose(self) -> ComposeResult:
        yield LoadingIndicator()
        yield Label(id="busy-text")

    def show(self, text: str) -> None:
        # Busy lines name things from AWS (a log group, a bucket): shown, never obeyed.
        self.query_one("#busy-text", Label).update(Content(visible(text)))
        self.add_class("-busy")

    def hide(self) -> None:
        self.remove_class("-busy")

    @property
    def text(self) -> str:
        return str(self.query_one("#busy-text", Label).content)
