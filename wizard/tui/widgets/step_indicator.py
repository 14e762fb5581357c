"""Where am I? "Step 2 of 7 - KMS key", where the wizard works, and the track of steps."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from wizard.flow import Step
from wizard.tui.styles import MUTED


class StepIndicator(Widget):
    """Two lines: the step (``Step.indicator``) with the connection, then every step's state."""

    DEFAULT_CSS = """
    StepIndicator {
        height: 2;
        padding: 0 1;
        background: $boost;
        color: $foreground;
    }
    """

    where: reactive[str] = reactive("")
    # Steps done whatever the current one is (an apply that was made stays ticked on Back).
    done: reactive[frozenset[Step]] = reactive(frozenset())

    def __init__(self, step: Step, where: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.step = step
        self.set_reactive(StepIndicator.where, where)

    def refresh_state(self, wizard: object) -> None:
        """Follow the run: where the wizard works, and what has been done."""
        self.where = str(getattr(wizard, "subtitle", self.where))
        state = getattr(wizard, "state", None)
        applied = bool(state is not None and state.applied_changes)
        exported = bool(state is not None and state.result is not None)
        self.done = frozenset(
            [*([Step.APPLY] if applied else []), *([Step.EXPORT] if exported else [])]
        )

    def render(self) -> Content:
        title = Content.styled(self.step.indicator, "bold $text-accent")
        width = self.content_region.width or self.size.width
        gap = width - title.cell_length - len(self.where)
        if self.where and gap >= 2:
            first = Content.assemble(title, " " * gap, (self.where, MUTED))
        else:
            first = title
        parts: list[Content | str | tuple[str, str]] = []
        for step in Step:
            if parts:
                parts.append("  ")
            if step is not self.step and (step.value < self.step.value or step in self.done):
                parts.append((f"✓ {step.title}", "$text-success"))
            elif step is self.step:
                parts.append((f"● {step.title}", "bold $text-accent"))
            else:
                parts.append((f"○ {step.title}", MUTED))
        return Content("\n").join([first, Content.assemble(*parts)])
