"""A unified diff, coloured line by line with the theme's colours (no AGPL diff widget)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from wizard import render
from wizard.tui.styles import MUTED


def diff_content(diff: str) -> Content:
    """The diff's lines as plain mode and the commands print them (wizard.render.diff),
    painted with the theme: added green, removed red, hunk headers accented, context muted."""
    return render.content(render.diff(diff))


class DiffView(Static):
    """One change's diff; an empty diff reads as "no document change"."""

    DEFAULT_CSS = """
    DiffView {
        height: auto;
        padding: 0 1;
        margin: 0 0 1 2;
        background: $surface;
        border-left: outer $primary 50%;
    }
    """

    def __init__(self, diff: str, *, id: str | None = None, classes: str | None = None) -> None:
        content = (
            diff_content(diff)
            if diff.strip()
            else Content.styled("(no document to compare)", MUTED)
        )
        super().__init__(content, id=id, classes=classes)
        self.diff = diff
