"""A unified diff, coloured line by line with the theme's colours (no AGPL diff widget)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from wizard.core.text import visible
from wizard.tui.styles import MUTED


def diff_content(diff: str) -> Content:
    """``+`` lines green, ``-`` lines red, hunk headers in the accent colour."""
    lines: list[Content] = []
    for line in diff.rstrip("\n").splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "$text-success"
        elif line.startswith("-"):
            style = "$text-error"
        elif line.startswith("@@"):
            style = "$text-accent"
        else:
            style = MUTED
        lines.append(Content.styled(visible(line), style))
    return Content("\n").join(lines)


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
