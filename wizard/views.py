"""Views: what the faces say at a step, as lines with roles, built once for all of them.

A view is a list of ``Line`` values: a text, a role, and whether the text must stay whole.
The renderer (wizard.render) paints a view as ANSI text for plain mode and the commands, and
as Textual ``Content`` for the TUI: a face chooses where a view goes, never its words.

Roles: "bold" (a heading), "error", "warning", "ok", "info", "dim" (a hint), and for diffs
"add", "remove" and "hunk". Text in a view may come from AWS (names, messages, log lines):
the renderer shows its control, escape and bidi characters visibly, in every face.
"""

from __future__ import annotations

from typing import NamedTuple

from wizard.core import wording
from wizard.core.state import ExportTaskInfo
from wizard.core.text import count
from wizard.flow import BusyChoice, PropagationWait, WizardState, undo_command


class Line(NamedTuple):
    text: str
    style: str | None = None  # the role
    # Kept whole on a narrow terminal: a command, a URI, a JSON diff or a log line must
    # still work when copied; prose may wrap at word boundaries.
    verbatim: bool = False


# --- another export task holds the slot ---------------------------------------------------------


def export_busy(region: str, active: ExportTaskInfo) -> list[Line]:
    """Why the test export cannot start yet (the choices follow: ``busy_options``)."""
    return [Line(wording.export_busy(region, [active]), "warning")]


def busy_options() -> list[tuple[str, BusyChoice]]:
    """What the user may do about it, in the order offered (the first is the default)."""
    return [
        ("Wait for it to finish", BusyChoice.WAIT),
        ("Cancel it", BusyChoice.CANCEL),
        ("Skip the test export", BusyChoice.STOP),
    ]


def clearing_busy(choice: BusyChoice, active: ExportTaskInfo) -> Line:
    """While the slot is being cleared."""
    verb = "Cancelling" if choice is BusyChoice.CANCEL else "Waiting for"
    return Line(f"{verb} export task {active.task_id} ({active.log_group}, {active.status})...")


# --- a policy change on its way to CloudWatch Logs -----------------------------------------------

PROPAGATING = "Waiting for the policies to propagate."


def propagation(wait: PropagationWait) -> list[Line]:
    """AWS refused although the policies allow the export: why the wizard waits."""
    first_sentence = wait.refused.split(". ")[0]
    return [
        Line(PROPAGATING, "warning"),
        Line(
            f"AWS refused the export ({first_sentence}), but the bucket and key policies allow "
            "it: policy changes take seconds, sometimes minutes, to reach CloudWatch Logs. "
            f"Trying again in {wait.retry_in:.0f} s (waited {wait.waited:.0f} of at most "
            f"{wait.limit:.0f} s).",
            "dim",
        ),
    ]


# --- the end of a run ---------------------------------------------------------------------------


def farewell(state: WizardState, *, sandbox: bool, changed_before: bool = False) -> list[Line]:
    """What a face leaves on the terminal when the wizard ends (or starts over): what this run
    changed and what became of it (the journal, an undo's outcome), how to undo what is left
    (where that can work), and the export's first object. ``changed_before``: an earlier run
    of this session changed something (so "Nothing was changed" would not be true)."""
    lines: list[Line] = []
    applied = state.applied
    made = state.made
    where = "in the sandbox" if sandbox else "in AWS"
    undone = state.undone
    if applied is not None and made and undone is not None:
        journal = applied.journal_path
        if undone.complete:
            lines.append(
                Line(
                    f"{count(made, 'change')} made {where}, then undone: nothing of "
                    f"{'it' if made == 1 else 'them'} remains (journal: {journal}).",
                    "ok",
                )
            )
        else:
            left = len(undone.remaining)
            lines.append(
                Line(
                    f"{count(made, 'change')} made {where}; the undo left "
                    f"{count(left, 'change')} in place: "
                    f"{'; '.join(r.message for r in undone.remaining)} (journal: {journal}).",
                    "warning",
                )
            )
            if not sandbox:
                lines.append(Line(f"Finish with: {undo_command(journal)}", verbatim=True))
    elif applied is not None and made:
        lines.append(Line(f"{count(made, 'change')} made {where}; journal: {applied.journal_path}"))
        if not sandbox:
            lines.append(
                Line(f"Undo them with: {undo_command(applied.journal_path)}", verbatim=True)
            )
        else:
            lines.append(Line("The sandbox forgets everything when it stops: nothing to undo."))
    else:
        lines.append(
            Line(wording.NOTHING_CHANGED_THIS_RUN if changed_before else wording.NOTHING_CHANGED)
        )
    result = state.result
    if result is not None:
        if result.succeeded and result.objects:
            lines.append(
                Line(
                    f"Test export {result.task.task_id}: {result.task.status}; first "
                    f"object: {result.objects[0].uri}",
                    "ok",
                    verbatim=True,
                )
            )
        else:
            lines.append(Line(f"Test export {result.task.task_id}: {result.task.status}, no data."))
    return lines
