"""Label/value rows with a hanging indent: long values (ARNs, paths) wrap under themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from wizard.core.text import visible

Fact = tuple[str, "Content | str"]

LABEL_MIN_WIDTH = 12  # the label column, padding included


class Facts(Widget):
    """One widget that draws every row itself (a widget per label and value made the
    Result screen mount dozens of widgets: a tenth of a second of the UI thread)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"facts--label"}
    DEFAULT_CSS = """
    Facts {
        height: auto;
        & > .facts--label { color: $text-muted; }
    }
    """

    def __init__(self, facts: Sequence[Fact] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._facts = list(facts)

    def show(self, facts: Sequence[Fact]) -> None:
        self._facts = list(facts)
        self.refresh(layout=True)

    def lines(self, width: int) -> list[Content]:
        """The rows at ``width`` cells: values wrapped, continuation lines indented."""
        if not self._facts:
            return []
        label_width = max([LABEL_MIN_WIDTH - 1] + [len(label) for label, _ in self._facts]) + 1
        value_width = max(10, width - label_width)
        label_style = self.get_visual_style("facts--label", partial=True)
        # Styled like the labels: a run of its own, so a value's continuation starts at a
        # fixed column in SVG screenshots too (some renderers narrow a run's leading spaces).
        indent = Content.styled(" " * label_width, label_style)
        rows: list[Content] = []
        for label, value in self._facts:
            text = Content(visible(value)) if isinstance(value, str) else value
            wrapped = text.wrap(value_width) or [Content("")]
            rows.append(Content.styled(label.ljust(label_width), label_style) + wrapped[0])
            rows.extend(indent + line for line in wrapped[1:])
        return rows

    def render(self) -> Content:
        return Content("\n").join(self.lines(self.content_size.width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    @property
    def text(self) -> str:
        return "\n".join(f"{label} {value}" for label, value in self._facts)
