"""The one renderer: a view's lines (wizard.views) as ANSI text for plain mode and the
commands (``paint``) and as Textual ``Content`` for the TUI (``content``), and the views of
the doctor, the plan, the apply, the result and the survey.

A role looks the same in every face (ANSI colour on a terminal that wants it, nothing in a
log; the TUI's theme colour of the same meaning); the words are the same everywhere. Untrusted
text is made visible here, in both outputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from wizard.core.change import Plan
from wizard.core.findings import Finding, Severity
from wizard.core.outcomes import Outcome, RollbackReport, StepReport, StepStatus
from wizard.core.text import count, visible_lines
from wizard.core.verify import VerdictText
from wizard.views import Line

if TYPE_CHECKING:
    from textual.content import Content

    from wizard.aws.apply import StepResult
    from wizard.core import survey as core_survey
    from wizard.core.survey import SurveyResult
    from wizard.flow import ResultView


_ANSI = {
    "bold": "1",
    "error": "31",
    "warning": "33",
    "ok": "32",
    "info": "36",
    "dim": "2",
    "add": "32",
    "remove": "31",
    "hunk": "36",
}


def paint(line: Line, colour: bool) -> str:
    """The line as terminal text: ANSI colour only when ``colour``. Untrusted text inside it
    (AWS names, log lines, error messages) cannot reach the terminal as a control: every
    control, bidi and separator character but the line break is shown as an escape
    (wizard.core.text.visible); the only escape sequences written are the colour's own."""
    text = visible_lines(line.text)
    if not colour or line.style is None or not text:
        return text
    return f"\033[{_ANSI[line.style]}m{text}\033[0m"


# The TUI's styles of the same roles (its theme's variables, so they follow the theme).
_TEXTUAL = {
    "bold": "bold",
    "error": "$text-error",
    "warning": "$text-warning",
    "ok": "$text-success",
    "info": "$text-accent",
    "dim": "$foreground-muted",  # the TUI's MUTED
    "add": "$text-success",
    "remove": "$text-error",
    "hunk": "$text-accent",
}


def content(lines: Iterable[Line]) -> Content:
    """The lines as Textual ``Content``, one per row, with the same visible escaping as
    ``paint``: the TUI shows the very words plain mode and the commands print."""
    from textual.content import Content

    painted = [
        Content.styled(visible_lines(line.text), _TEXTUAL[line.style])
        if line.style
        else Content(visible_lines(line.text))
        for line in lines
    ]
    return Content("\n").join(painted)


# --- the doctor ------------------------------------------------------------------------------

_LABEL = {
    Severity.ERROR: ("ERROR", "error"),
    Severity.WARNING: ("WARN", "warning"),
    Severity.INFO: ("INFO", "info"),
}


def findings(found: Iterable[Finding]) -> list[Line]:
    lines: list[Line] = []
    for finding in found:
        label, style = _LABEL[finding.severity]
        lines.append(Line(f"{label:<5}  {finding.code}  {finding.message}", style))
        for statement in finding.statements:
            lines.append(Line(f"       involves: {statement}", verbatim=True))
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
    return Line(
        f"{count(errors, 'error')}, {count(warnings, 'warning')}: healthy: an export "
        "should succeed.",
        "ok",
    )


# --- the plan --------------------------------------------------------------------------------


def diff(text: str, indent: str = "") -> list[Line]:
    """A unified diff's lines: added, removed, hunk headers, and context dimmed (the TUI's
    diff view paints these very lines)."""
    lines = []
    for raw in text.rstrip("\n").splitlines():
        style = "dim"
        if raw.startswith(("+++", "---")):
            style = "bold"
        elif raw.startswith("+"):
            style = "add"
        elif raw.startswith("-"):
            style = "remove"
        elif raw.startswith("@@"):
            style = "hunk"
        lines.append(Line(indent + raw, style, verbatim=True))
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


# --- apply and rollback ----------------------------------------------------------------------


def apply_step(position: str, total: int, step: StepResult) -> Line:
    """``[2/6] applied: PutKeyPolicy alias/exports``, and why when it is not plainly done."""
    change = step.change
    style = "error" if step.status in (StepStatus.FAILED, StepStatus.NOT_ROLLED_BACK) else None
    why = f" - {step.message}" if step.message else ""
    return Line(
        f"[{position}/{total}] {step.status.value}: {change.action.value} {change.target}{why}",
        style,
    )


# --- rollback and undo -------------------------------------------------------------------------


def report_step(step: StepReport) -> list[Line]:
    style = (
        "error" if step.outcome.remains else ("ok" if step.outcome is Outcome.RESTORED else None)
    )
    lines = [Line(f"{step.outcome.value.upper()}: {step.message}", style)]
    lines.extend(Line(f"    {command}", verbatim=True) for command in step.manual)
    return lines


def report_verdict(report: RollbackReport) -> Line:
    if report.complete and any(s.outcome is Outcome.ALREADY_PUT_BACK for s in report.steps):
        return Line(
            "Nothing this apply changed remains in the account: what was not put back now had "
            "been put back before (what later runs wrote since is theirs, and kept).",
            "ok",
        )
    if report.complete:
        return Line("The account is as it was before the apply (every document compared).", "ok")
    left = len(report.remaining)
    return Line(
        f"{count(left, 'change')} of this apply {'remains' if left == 1 else 'remain'} in the "
        "account (above, "
        "with the commands that finish them by hand); run undo again once you have dealt with "
        "them.",
        "error",
    )


def remaining(report: RollbackReport | None) -> list[Line]:
    """Only what remains, for the end of a failed apply."""
    lines: list[Line] = []
    for step in report.remaining if report is not None else ():
        lines.append(Line(f"remains: {step.message}", "error"))
        lines.extend(Line(f"    {command}", verbatim=True) for command in step.manual)
    return lines


# --- the test export --------------------------------------------------------------------------


def result(view: ResultView) -> list[Line]:
    """The end of a test export: the verdict, the objects, the proof of encryption, the
    decrypted lines and what to do next (the same words as the TUI's Result step)."""
    lines = [Line(view.verdict, "ok" if view.succeeded else "error")]
    if view.objects:
        lines.append(Line("Objects:"))
        lines.extend(Line(f"  {uri}", verbatim=True) for uri in view.objects)
        if view.more_objects:
            lines.append(Line(f"  ... and {view.more_objects} more", "dim"))
    lines.append(Line("Encryption:"))
    width = max(len(what) for what, _ in view.proof)
    lines.extend(Line(f"  {what:<{width}}  {value}", verbatim=True) for what, value in view.proof)
    if view.sample:
        lines.append(Line(f"{view.sample_title}:"))
        lines.extend(Line(f"  {text}", verbatim=True) for text in view.sample)
    if view.explanation:
        lines.append(Line(view.explanation, "warning"))
    lines.append(Line("Repeat this export:"))
    lines.append(Line(f"  {view.repeat}", verbatim=True))
    if view.journal:
        lines.append(Line(f"Journal: {view.journal}", verbatim=True))
    if view.undo:
        lines.append(Line(f"Undo the changes: {view.undo}", verbatim=True))
    return lines


# --- the survey (doctor without --bucket) ------------------------------------------------------

SURVEY_COLUMNS = ("PROFILE", "ACCOUNT", "REGION", "BUCKET", "PREFIX", "VERDICT", "FIRST FINDING")
SURVEY_UNREADABLE = "unreadable"


def survey_cells(row: core_survey.Row) -> tuple[str, ...]:
    """A destination's cells, as the table here and the TUI's survey view show them (names
    come from AWS: one place to make them safe to show)."""
    from wizard.core import survey as core
    from wizard.core.text import visible

    first = row.first_finding
    cells = (
        core.profile_label(row.profile),
        row.account,
        row.region,
        row.bucket,
        row.prefix,
        row.verdict,
        first.code if first else "-",
    )
    return tuple(visible(cell) for cell in cells)


def survey_error_cells(error: core_survey.SurveyError) -> tuple[str, ...]:
    """A profile or region that could not be read, in the same columns (the reason last)."""
    from wizard.core import survey as core
    from wizard.core.text import visible

    where = error.region or "(all)"
    cells = (core.profile_label(error.profile), "", where, "", "", SURVEY_UNREADABLE, error.message)
    return tuple(visible(cell) for cell in cells)


def survey_detail(row: core_survey.Row) -> str:
    """A destination whole, on one line (the TUI's line under its table): where it is, its
    first finding, and why its prefix is the default one if the policy grants a pattern.
    Names come from AWS: escaped here."""
    from wizard.core import survey as core
    from wizard.core.text import visible

    text = (
        f"{core.profile_label(row.profile)} · account {row.account} · {row.region}"
        f" · s3://{row.bucket}/{row.prefix}"
    )
    if (first := row.first_finding) is not None:
        text += f" · {first.code}: {first.message}"
    if (note := core.pattern_note(row)) is not None:
        text += f" · note: {note}"
    return visible(text)


def survey_error_detail(error: core_survey.SurveyError) -> str:
    """A profile or region that could not be read, whole, on one line (escaped)."""
    from wizard.core import survey as core
    from wizard.core.text import visible

    where = " · ".join(filter(None, (core.profile_label(error.profile), error.region)))
    return visible(f"{where}: {error.message}")


def survey(result: SurveyResult) -> list[Line]:
    """One line per destination (broken first) with the command that repairs it, then what
    could not be read, then the count. Names and messages come from AWS: they are painted
    like any other text of these lines."""
    from wizard.core import survey as core

    rows = core.sort_rows(result.rows)
    cells = [survey_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in [SURVEY_COLUMNS, *cells]) for i in range(7)]

    def joined(values: tuple[str, ...]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    lines: list[Line] = []
    if rows:
        lines.append(Line(joined(SURVEY_COLUMNS), "bold"))
    for row, values in zip(rows, cells, strict=True):
        lines.append(Line(joined(values), None if row.healthy else "error", verbatim=True))
        if not row.healthy:
            lines.append(Line(f"    repair: {core.repair_text(row)}", "dim", verbatim=True))
        if (note := core.pattern_note(row)) is not None:
            lines.append(Line(f"    note: {note}", "dim", verbatim=True))
    if not rows and result.units_read and not result.interrupted:
        # (A stopped survey says what it read in its summary: "none found" would mislead.)
        lines.append(Line("No export destination found.", "warning"))
    errors = core.sort_errors(result.errors)
    if errors:
        if lines:  # a blank line between the destinations and what could not be read
            lines.append(Line(""))
        lines.append(Line("Could not be read:", "error"))
        for error in errors:
            where = core.profile_label(error.profile)
            if error.region:
                where += f" {error.region}"
            lines.append(Line(f"  {where}: {error.message}", "error"))
    for same in result.same_account:
        lines.append(Line(core.same_account_text(same), "dim"))
    verdict = core.outcome(result)
    style = {core.Outcome.HEALTHY: "ok", core.Outcome.STOPPED: "warning"}.get(verdict, "error")
    lines.append(Line(core.summary(result), style))
    return lines


# --- the diagnosis checked against AWS ---------------------------------------------------------


def verification(words: VerdictText) -> list[Line]:
    """The prediction beside AWS's answer (AWS's text verbatim, escaped like all text here)."""
    lines = [Line(words.headline, "ok" if words.ok else "error")]
    for text in words.details:
        lines.append(Line(f"  {text}", verbatim=text.startswith(("Predicted", "AWS said"))))
    return lines
