"""``undo``: its options and its run: what an apply changed, restored from its journal
(after a question), judged step by step against the account."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from wizard.commands.options import connection
from wizard.core.errors import EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from wizard.commands.options import Subparsers
    from wizard.core.outcomes import RollbackReport, StepReport

NAME = "undo"


def add_parser(subparsers: Subparsers) -> None:
    undo = subparsers.add_parser(
        NAME,
        help="restore what an apply changed, from its journal",
        description="Undo an apply. Exit 0 when everything was restored, 1 when some "
        "target had changed since and was left alone, 2 on errors.",
    )
    undo.add_argument("journal", help="the journal file apply printed")
    undo.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    connection(undo)


def report_json(report: RollbackReport) -> dict[str, Any]:
    return {
        "journal": report.journal,
        "complete": report.complete,
        "steps": [
            {
                "step": r.index + 1,
                "action": r.action,
                "target": r.target,
                "outcome": r.outcome.value,
                "message": r.message,
                "manual": list(r.manual),
            }
            for r in report.steps
        ],
    }


def run(args: argparse.Namespace) -> int:
    # The run's imports wait for the run: building the parser stays import-light.
    import os
    from pathlib import Path

    from wizard import render
    from wizard.commands.common import (
        confirm,
        err,
        in_worker,
        open_session,
        out,
        print_json,
        show,
        validate_connection,
    )
    from wizard.core import wording
    from wizard.core.text import count
    from wizard.flow import Flow, check_undo_account, undo_preview

    validate_connection(args)
    path = Path(args.journal).expanduser()
    journal = undo_preview(path)
    steps = journal.steps
    if journal.endpoint and not (args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        args.endpoint_url = journal.endpoint  # the apply went to an emulator: so does undo
    if journal.profile and not (args.profile or os.environ.get("AWS_PROFILE")):
        args.profile = journal.profile  # the apply's credentials: so the printed undo works
    session = open_session(args, region=args.region or journal.region)
    check_undo_account(session, journal)  # before the question
    if not steps:
        why = "no change of this journal was started"
        if args.json:
            print_json({"journal": str(path), "complete": True, "steps": [], "nothing": why})
        else:
            out(f"Nothing to undo: {why}. {wording.NOTHING_CHANGED}")
        return EXIT_OK
    if journal.put_back:
        # The journal says everything was put back: the account is still read (nothing is
        # written for a step already put back) before "nothing to undo" is said.
        flow = Flow(session, journal_dir=path.parent)
        found: list[StepReport] = []
        report = in_worker(lambda stop: flow.undo(path, found.append, on_notice=err, cancel=stop))
        if report.complete:
            why = f"every change of this journal was already put back ({journal.status})"
            if args.json:
                print_json({**report_json(report), "nothing": why})
            else:
                out(f"Nothing to undo: {why}. {wording.NOTHING_CHANGED}")
            return EXIT_OK
        if args.json:
            print_json(report_json(report))
        else:
            for step in found:
                show(render.report_step(step))
            show([render.report_verdict(report)])
        return EXIT_FINDINGS
    if not args.json:
        out(f"Undo {count(len(steps), 'step')} of {path}, newest first:")
        for line in reversed(steps):
            out(f"  - {line}")
    confirm(f"Undo these changes in account {journal.account}?", args.yes)
    flow = Flow(session, journal_dir=path.parent)

    def told(report: StepReport) -> None:
        if not args.json:
            show(render.report_step(report))

    report = in_worker(lambda stop: flow.undo(path, told, on_notice=err, cancel=stop))
    if args.json:
        print_json(report_json(report))
    else:
        show([render.report_verdict(report)])
    return EXIT_OK if report.complete else EXIT_FINDINGS
