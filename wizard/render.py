"""Plain text for people: what plain mode prints and what the commands print, one renderer.

Every function returns ``Line`` values: a text and a style name (or None). A face decides how
a style looks (ANSI colour on a terminal that wants it, nothing in a log); the words are the
same everywhere. Styles: "bold", "error", "warning", "ok", "info", "dim", "add", "remove",
"hunk".
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from wizard.core.doctor import Finding, Severity
from wizard.core.outcomes import Outcome, RollbackReport, StepReport
from wizard.core.plan import Plan
from wizard.core.text import count

if TYPE_CHECKING:
    from wizard.aws.export import ExportResult


class Line(NamedTuple):
    text: str
    style: str | None = None


_ANSI = {
    "bold": "1", "error": "31", "warning": "33", "ok": "32", "info": "36", "dim": "2",
    "add": "32", "remove": "31", "hunk": "36",
}


def paint(line: Line, colour: bool) -> str:
    """The line as terminal text: ANSI colour only when ``colour``."""
    if not colour or line.style is None or not line.text:
        return line.text
    return f"\033[{_ANSI[line.style]}m{line.text}\033[0m"


# --- the doctor ------------------------------------------------------------------------------

_LABEL = {Severity.ERROR: ("ERROR", "error"), Severity.WARNING: ("WARN", "warning"),
          Severity.INFO: ("INFO", "info")}


def findings(found: Iterable[Finding]) -> list[Line]:
    lines: list[Line] = []
    for finding in found:
        label, style = _LABEL[finding.severity]
        lines.append(Line(f"{label:<5}  {finding.code}  {finding.message}", style))
        for statement in finding.statements:
            lines.append(Line(f"       involves: {statement}"))
        if finding.fix:
            lines.append(Line(f"       fix: {finding.fix}"))
        if finding.aws_error:
            lines.append(Line(f"       AWS would say: {finding.aws_error}"))
    return lines


def verdict(found: Iterable[Finding]) -> Line:
    listed = list(found)
    errors = sum(f.severity is Severity.ERROR for f in listed)
    warnings = sum(f.severity is Severity.WARNING for f in listed)
    if errors:
        return Line(
            f"{count(errors, 'error')}, {count(warnings, 'warning')}: not healthy: exports "
            "would fail.",
            "error",
        )
    return Line(f"{count(errors, 'error')}, {count(warnings, 'warning')}: healthy: an export "
                "should succeed.", "ok")


# --- the plan --------------------------------------------------------------------------------


def diff(text: str, indent: str = "") -> list[Line]:
    lines = []
    for raw in text.rstrip("\n").splitlines():
        style = None
        if raw.startswith(("+++", "---")):
            style = "bold"
        elif raw.startswith("+"):
            style = "add"
        elif raw.startswith("-"):
            style = "remove"
        elif raw.startswith("@@"):
            style = "hunk"
        lines.append(Line(indent + raw, style))
    return lines


def plan(planned: Plan) -> list[Line]:
    if planned.empty and not planned.blockers:
        return [Line("No changes: the destination already works as it is.", "ok")]
    lines: list[Line] = []
    if planned.changes:
        lines.append(Line(f"{count(len(planned.changes), 'change')}, in this order:"))
    for number, change in enumerate(planned.changes, 1):
        lines.append(Line(""))
        lines.append(Line(f"{number}. {change.action.value}  {change.target}", "bold"))
        lines.append(Line(f"   {change.summary}"))
        lines.extend(Line(f"   note: {note}", "dim") for note in change.notes)
        lines.extend(diff(change.diff, "   "))
    if planned.blockers:
        lines.append(Line(""))
        lines.append(Line("Blockers (the wizard will not apply this plan):", "error"))
        lines.extend(Line(f"  - {blocker}", "error") for blocker in planned.blockers)
    return lines


# --- rollback and undo -------------------------------------------------------------------------


def report_step(step: StepReport) -> list[Line]:
    style = "error" if step.outcome.remains else ("ok" if step.outcome is Outcome.RESTORED
                                                  else None)
    lines = [Line(f"{step.outcome.value.upper()}: {step.message}", style)]
    lines.extend(Line(f"    {command}") for command in step.manual)
    return lines


def report_verdict(report: RollbackReport) -> Line:
    if report.complete:
        return Line("The account is as it was before the apply (every document compared).", "ok")
    return Line(
        f"{count(len(report.remaining), 'change')} of this apply remain in the account (above, "
        "with the commands that finish them by hand); run undo again once you have dealt with "
        "them.",
        "error",
    )


def remaining(report: RollbackReport | None) -> list[Line]:
    """Only what remains, for the end of a failed apply."""
    lines: list[Line] = []
    for step in report.remaining if report is not None else ():
        lines.append(Line(f"remains: {step.message}", "error"))
        lines.extend(Line(f"    {command}") for command in step.manual)
    return lines


def undo_command(journal: object) -> str:
    return f"cwl-export-wizard undo {shlex.quote(str(journal))}"


# --- the test export --------------------------------------------------------------------------


def export_result(result: ExportResult, chosen_key: str | None = None) -> list[Line]:
    task = result.task
    lines = [Line(f"Export task {task.task_id}: {task.status}",
                  "ok" if result.succeeded else "error")]
    if result.objects:
        lines.append(Line(f"Objects ({len(result.objects)}):"))
        lines.extend(Line(f"  {obj.uri}  ({obj.size} bytes)") for obj in result.objects)
    encryption = result.encryption
    if encryption is not None:
        if encryption.algorithm == "aws:kms":
            bucket_key = "on" if encryption.bucket_key else "off"
            mine = " - the chosen key" if chosen_key and encryption.kms_key_id == chosen_key else ""
            lines.append(Line(f"Encryption: SSE-KMS with {encryption.kms_key_id}{mine} "
                              f"(S3 Bucket Key {bucket_key})"))
        else:
            lines.append(Line(f"Encryption: {encryption.algorithm or 'none'}"))
    if result.sample:
        lines.append(Line(f"First {count(len(result.sample), 'line')} of "
                          f"{result.objects[0].uri}:"))
        lines.extend(Line(f"  {text}") for text in result.sample)
    if result.explanation:
        lines.append(Line(result.explanation, "warning"))
    return lines
