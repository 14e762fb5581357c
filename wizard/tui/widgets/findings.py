"""The doctor's findings in plain words: what is wrong, the AWS error it causes, the fix."""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from wizard.core.findings import Finding, Severity
from wizard.core.text import visible, visible_lines
from wizard.tui.styles import MUTED

_ICON = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}
_STYLE = {
    Severity.ERROR: "bold $text-error",
    Severity.WARNING: "bold $text-warning",
    Severity.INFO: "bold $text-primary",
}


def finding_content(finding: Finding) -> Content:
    """The finding's text, without its icon (the icon has its own column)."""
    lines = [Content.styled(visible_lines(finding.message), "bold")]
    if finding.statements:
        involved = visible(", ".join(finding.statements))
        lines.append(Content.assemble(("Involved: ", MUTED), involved))
    if finding.aws_error:
        cause = (visible_lines(finding.aws_error), "italic")
        lines.append(Content.assemble(("AWS error it causes: ", MUTED), cause))
    lines.append(Content.assemble(("Fix: ", MUTED), visible_lines(finding.fix)))
    return Content("\n").join(lines)


class FindingsList(Vertical):
    """All findings in the doctor's order (errors first); an empty list says so."""

    DEFAULT_CSS = """
    FindingsList {
        height: auto;
        padding: 0 1;
        & > .finding { height: auto; margin-bottom: 1; }
        & .icon { width: 2; }
        & .text { width: 1fr; height: auto; }
    }
    """

    def __init__(self, findings: Sequence[Finding] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.findings: tuple[Finding, ...] = tuple(findings or ())
        self._given = findings is not None

    def on_mount(self) -> None:
        if self._given:  # else empty until the doctor's answer arrives
            self.show_findings(self.findings)

    def show_findings(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        self.remove_children()
        if not findings:
            self.mount(Static(Content.styled("✓ No problems found.", "$text-success")))
            return
        self.mount_all(
            Horizontal(
                Static(Content.styled(_ICON[f.severity], _STYLE[f.severity]), classes="icon"),
                Static(finding_content(f), classes="text"),
                classes=f"finding -{f.severity.value}",
            )
            for f in findings
        )
