"""``doctor --verify``: the doctor's prediction, then a probe export, and whether they agree.

Exit 0 only when the destination is healthy and AWS agrees; 1 when it is broken or when AWS's
answer differs from the prediction; 2 on errors (as every command).
"""

from __future__ import annotations

import argparse
import threading
from typing import TYPE_CHECKING

from wizard import render, views
from wizard.commands.common import (
    _check,
    choices_from,
    destination_words,
    err,
    finding_json,
    in_worker,
    open_flow,
    open_session,
    out,
    print_json,
    show,
    show_err,
    validate_destination,
)
from wizard.core.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from wizard.core.validate import seconds_problem
from wizard.core.verify import describe

if TYPE_CHECKING:
    from wizard.core.state import ExportTaskInfo
    from wizard.flow import PropagationWait


def check_options(args: argparse.Namespace) -> None:
    """--if-busy and --propagation-wait belong to --verify."""
    if getattr(args, "verify", False):
        if args.propagation_wait is not None:
            _check(seconds_problem(args.propagation_wait, 3_600), "--propagation-wait")
        return
    for option, value in (
        ("--if-busy", getattr(args, "if_busy", None)),
        ("--propagation-wait", getattr(args, "propagation_wait", None)),
    ):
        if value is not None:
            raise UsageError(f"{option} is for the probe export: add --verify.")


def run(args: argparse.Namespace) -> int:
    validate_destination(args)
    session = open_session(args)
    flow = open_flow(args, session)
    if args.log_group is None:  # the probe's log group: the prediction is for it too
        args.log_group = flow.probe_log_group(session.region)
    choices = flow.with_source(choices_from(args, session))
    review = flow.review(choices)
    snap = review.snapshot
    if not args.json:
        out(
            f"Destination {destination_words(snap, choices)} "
            f"(account {snap.identity.account}; {flow.session.describe()})"
        )
        show([*render.findings(review.findings), render.verdict(review.findings)])

    def waiting(wait: PropagationWait) -> None:
        show_err(views.propagation(wait))

    def status(task: ExportTaskInfo, elapsed: float) -> None:
        err(f"  probe export {task.task_id}: {task.status} after {elapsed:.1f} s")

    def job(cancel: threading.Event) -> object:
        err(
            f"Probe export: the last minute of {choices.log_group} into s3://{choices.bucket}/"
            f"{choices.prefix}/ (AWS's test object and a few lines at most)..."
        )
        return flow.verify(
            choices,
            review=review,
            wait_if_busy=args.if_busy == "wait",
            wait_for_propagation=args.propagation_wait,
            on_wait=waiting,
            on_status=status,
            cancel=cancel,
        )

    from wizard.flow import Verified

    verified = in_worker(job)
    assert isinstance(verified, Verified)
    verification = verified.verification
    if args.json:
        print_json(
            {
                "healthy": verified.review.healthy,
                "findings": [finding_json(f) for f in verified.review.findings],
                "verification": verification.to_json(),
            }
        )
    else:
        show(render.verification(describe(verification)))
    return EXIT_OK if verification.verified_healthy else EXIT_FINDINGS
