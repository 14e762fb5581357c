"""``apply``: its options and its run: the plan applied under the account's lock, after a
question, with a journal, a drift check and rollback."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from wizard.commands.options import connection, destination, key_choice, sources
from wizard.core.errors import EXIT_FINDINGS, EXIT_OK
from wizard.core.findings import FindingCode

if TYPE_CHECKING:
    from wizard.aws.apply import StepResult
    from wizard.commands.options import Subparsers

NAME = "apply"


def add_parser(subparsers: Subparsers) -> None:
    apply = subparsers.add_parser(
        NAME,
        help="apply the plan (asks first; journal, drift check and rollback)",
        description="Apply the plan. Exit 0 on success, 1 when blocked, 2 on errors.",
    )
    destination(apply)
    key_choice(apply)
    sources(apply)
    apply.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    apply.add_argument(
        "--lock-wait",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds to wait for another apply on the same account and region (default 300)",
    )
    connection(apply)


def run(args: argparse.Namespace) -> int:
    # The run's imports wait for the run: building the parser stays import-light.
    import threading

    from wizard import render
    from wizard.commands.common import (
        CANCELLING_APPLY,
        _check,
        agreed,
        choices_from,
        err,
        in_worker,
        open_flow,
        open_session,
        out,
        print_json,
        show,
        validate_destination,
    )
    from wizard.commands.plan import plan_json
    from wizard.core.text import count
    from wizard.core.validate import seconds_problem
    from wizard.flow import undo_command

    validate_destination(args)
    _check(seconds_problem(args.lock_wait, 86_400), "--lock-wait")
    session = open_session(args)
    choices = choices_from(args, session)
    flow = open_flow(args, session)  # a missing source profile: refused before any AWS call
    identity = session.identity()
    cancel = threading.Event()
    # The lock is taken before the plan is read: a second apply waits for this one and then
    # plans from what this one wrote, so neither drops the other's grant.
    lock = flow.lock(choices.region, wait=args.lock_wait, on_notice=err, cancel=cancel)
    try:
        review = flow.review(choices)
        plan = review.plan
        if not args.json:
            show(render.plan(plan))
        for finding in review.findings:
            if finding.code in (FindingCode.CALLER_MAY_NOT, FindingCode.PERMISSION_CHECK_SKIPPED):
                err(f"{finding.severity.value}: {finding.message}")
        if plan.blockers:
            if args.json:
                print_json({**plan_json(plan), "applied": False})
            err("error: The plan has blockers; nothing was applied.")
            err("fix: Resolve the blockers above, then run apply again.")
            return EXIT_FINDINGS
        if plan.empty:
            if args.json:
                print_json({**plan_json(plan), "applied": False, "journal": None, "steps": []})
            return EXIT_OK
        number = len(plan.changes)
        if not agreed(
            f"Apply {count(number, 'change')} to account {identity.account} in {choices.region}?",
            args.yes,
        ):
            err("Not applied: nothing was changed.")  # the user's answer, not a failure
            return EXIT_OK
        position = {id(c): str(i) for i, c in enumerate(plan.changes, 1)}

        def progress(step: StepResult) -> None:
            err(render.apply_step(position.get(id(step.change), "+"), number, step).text)

        result = in_worker(
            lambda stop: flow.apply(plan, progress, stop, on_notice=err, lock=lock),
            cancel,
            cancelling=CANCELLING_APPLY,
        )
    finally:
        lock.release()
    if args.json:
        print_json(
            {
                **plan_json(plan),
                "applied": True,
                "journal": str(result.journal_path),
                "key_arn": result.key_arn,
                "rounds": result.rounds,
                "steps": [
                    {
                        "action": s.change.action.value,
                        "target": s.change.target,
                        "status": s.status.value,
                        "message": s.message,
                    }
                    for s in result.steps
                ],
            }
        )
    else:
        out("")
        out(f"Applied {count(number, 'change')}.")
        if result.rounds > 1:
            out(
                "Another writer changed the destination meanwhile; its change and this one "
                "were merged."
            )
        if result.key_arn:
            out(f"New key: {result.key_arn}")
        out(f"Journal: {result.journal_path}")
        out(f"Undo with: {undo_command(result.journal_path)}")
    return EXIT_OK
