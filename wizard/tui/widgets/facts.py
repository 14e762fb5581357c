"""Label/value rows with a hanging indent: long values (ARNs, paths) wrap under themselves."""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

Fact = tuple[str, "Content | str"]


class Facts(Vertical):
    DEFAULT_CSS = """
    Facts {
        height: auto;
        & > Horizontal { height: auto; }
        & .fact-label { width: auto; min-width: 12; color: $text-muted; padding-right: 1; }
        & .fact-value { width: 1fr; height: auto; }
    }
    """

    def __init__(self, facts: Sequence[Fact] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._facts = list(facts)

    def on_mount(self) -> None:
        self.show(self._facts)

    def show(self, facts: Sequence[Fact]) -> None:
        self._facts = list(facts)
        if not self.is_attached:
            return
        self.remove_children()
        width = max([len(label) for label, _ in facts] + [0])
        self.mount_all(
            Horizontal(
                Static(Content(label.ljust(width)), classes="fact-label"),
                Static(Content(value) if isinstance(value, str) else value, classes="fact-value"),
            )
            for label, value in facts
        )

    @property
    def text(self) -> str:
        return "\n".join(f"{label} {value}" for label, value in self._facts)
