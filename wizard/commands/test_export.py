"""``test-export``: its options and its run: an export task started (waiting out another
export and policy propagation), its objects, their encryption, sample lines, a proof."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.commands.options import connection, destination, sources
from wizard.core.errors import EXIT_FINDINGS, EXIT_OK, ExportBusy, UsageError
from wizard.core.presets import DEFAULT_WINDOW
from wizard.core.state import ExportTaskInfo, ExportTaskStatus

if TYPE_CHECKING:
    import threading

    from wizard.aws.export import ExportRequest, ExportResult
    from wizard.commands.options import Subparsers
    from wizard.flow import Flow, WizardState

NAME = "test-export"
MAX_SAMPLE_LINES = 1000


def add_parser(subparsers: Subparsers) -> None:
    export = subparsers.add_parser(
        NAME,
        help="run an export task and show the objects, their encryption and sample lines",
        description="Run a test export. Exit 0 when data arrived, 1 when the task failed or "
        "exported nothing, 2 on errors.",
    )
    destination(export, log_group_required=True)
    window = export.add_argument_group("time window (default: the last 24 hours)")
    window.add_argument("--since", help="a duration back from now: 30m, 1h, 24h, 2d, 1w")
    window.add_argument(
        "--from", dest="from_time", metavar="T", help="ISO-8601 time or epoch milliseconds"
    )
    window.add_argument("--to", dest="to_time", metavar="T", help="ISO-8601 time or epoch ms")
    export.add_argument("--stream-prefix", help="export only streams whose names start so")
    export.add_argument(
        "--lines", type=int, default=10, metavar="N", help="sample lines to show (default 10)"
    )
    export.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait for the task and inspect the result (default: wait)",
    )
    export.add_argument(
        "--propagation-wait",
        type=float,
        metavar="S",
        help="when AWS refuses the export although the policies allow it, try again for up "
        "to S seconds, as policy changes (by any tool) take a while to reach CloudWatch Logs "
        "(default: 120; 0: do not wait)",
    )
    export.add_argument(
        "--if-busy",
        choices=("fail", "wait", "cancel"),
        default="fail",
        help="when another export task is active: fail (default), wait for it, or cancel it",
    )
    export.add_argument(
        "--report",
        metavar="FILE",
        help="write a Markdown proof for a change ticket: the failure reproduced before the "
        "change (doctor --verify), the changes applied (journal), the objects, their SSE-KMS "
        "key ARN and alias, decrypted lines, and the commands that repeat it (never "
        "overwrites a file)",
    )
    sources(export, accounts=False)
    connection(export)


def export_window(args: argparse.Namespace, now_ms: int | None = None) -> tuple[int, int]:
    """(from_ms, to_ms) from --since or --from/--to; the last 24 hours by default."""
    import time

    from wizard.core.validate import parse_duration_ms, parse_time_ms

    now = now_ms if now_ms is not None else int(time.time() * 1000)
    try:
        if args.since is not None:
            if args.from_time is not None or args.to_time is not None:
                raise UsageError("Give either --since or --from/--to, not both.")
            return now - parse_duration_ms(args.since), now
        to_ms = parse_time_ms(args.to_time) if args.to_time is not None else now
        if args.from_time is not None:
            from_ms = parse_time_ms(args.from_time)
        else:
            from_ms = to_ms - parse_duration_ms(DEFAULT_WINDOW)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if from_ms >= to_ms:
        raise UsageError(
            f"--from ({_iso(from_ms)}) must be before --to ({_iso(to_ms)}).",
            fix="Swap them, or use --since 24h.",
        )
    return from_ms, to_ms


def _iso(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat().replace("+00:00", "Z")


def export_json(result: ExportResult) -> dict[str, Any]:
    encryption = result.encryption
    return {
        "task_id": result.task.task_id,
        "status": result.task.status,
        "objects": [o.uri for o in result.objects],
        "encryption": None
        if encryption is None
        else {
            "algorithm": encryption.algorithm,
            "kms_key_id": encryption.kms_key_id,
            "bucket_key": encryption.bucket_key,
        },
        "sample": list(result.sample),
        "explanation": result.explanation,
    }


def _start_export(
    flow: Flow,
    request: ExportRequest,
    if_busy: str,
    propagation: float | None,
    cancel: threading.Event,
) -> str:
    from wizard import views
    from wizard.commands.common import show_err
    from wizard.flow import BusyChoice, BusyRounds, PropagationWait

    def waiting(wait: PropagationWait) -> None:
        show_err(views.propagation(wait))

    choice = {"fail": BusyChoice.STOP, "wait": BusyChoice.WAIT, "cancel": BusyChoice.CANCEL}[
        if_busy
    ]
    rounds = BusyRounds()
    while True:
        try:
            return flow.start_export(
                request, wait_for_propagation=propagation, on_wait=waiting, cancel=cancel
            )
        except ExportBusy as busy:
            rounds.next_round(busy)  # the flow's limit, as in every face
            active = busy.active
            if choice is not BusyChoice.STOP:
                show_err(
                    [
                        *views.export_busy(request.region, active),
                        views.clearing_busy(choice, active),
                    ]
                )
            status = _status_lines()
            flow.clear_busy(request.region, active, choice, on_status=status, cancel=cancel)


def _status_lines() -> Callable[[ExportTaskInfo, float], None]:
    """A task's status each time it changes, with the seconds waited (an export may run for
    minutes: the wait is never silent)."""
    from wizard.commands.common import err

    last: list[ExportTaskStatus] = []

    def status(task: ExportTaskInfo, elapsed: float) -> None:
        if not last or last[-1] != task.status:
            last.append(task.status)
            err(f"  {task.status} after {elapsed:.1f} s")

    return status


def propagation_wait(args: argparse.Namespace) -> float | None:
    """--propagation-wait; None: the flow's one rule (wait while the policies allow it)."""
    from wizard.commands.common import _check
    from wizard.core.validate import seconds_problem

    if args.propagation_wait is not None:
        _check(seconds_problem(args.propagation_wait, 3_600), "--propagation-wait")
        return float(args.propagation_wait)
    return None


def run(args: argparse.Namespace) -> int:
    # The run's imports wait for the run: building the parser stays import-light.

    from wizard import render
    from wizard.commands.common import (
        _check,
        err,
        in_worker,
        open_flow,
        open_session,
        out,
        print_json,
        show,
        validate_destination,
    )
    from wizard.core.validate import stream_prefix_problem
    from wizard.flow import Flow, WizardState, result_view

    validate_destination(args)
    if args.stream_prefix is not None:
        _check(stream_prefix_problem(args.stream_prefix), "--stream-prefix")
    if not 0 <= args.lines <= MAX_SAMPLE_LINES:
        raise UsageError(f"--lines: give 0 to {MAX_SAMPLE_LINES} lines.")
    from_ms, to_ms = export_window(args)
    report = report_path(args)
    propagation = propagation_wait(args)
    session = open_session(args)
    flow = open_flow(args, session)
    request = Flow.make_export_request(
        session.region,
        args.log_group,
        args.bucket,
        args.prefix,
        from_ms,
        to_ms,
        args.stream_prefix,
    )
    session.identity()  # credentials first: a clearer error than CreateExportTask's

    def job(cancel: threading.Event) -> tuple[str, ExportResult | None]:
        task_id = _start_export(flow, request, args.if_busy, propagation, cancel)
        err(
            f"Started export task {task_id}: {request.log_group} -> "
            f"s3://{request.bucket}/{request.prefix}/{task_id}/ "
            f"({_iso(from_ms)} to {_iso(to_ms)})"
        )
        if not args.wait:
            return task_id, None
        task = flow.wait_export(request.region, task_id, on_status=_status_lines(), cancel=cancel)
        return task_id, flow.collect_export(request, task, lines=args.lines)

    task_id, result = in_worker(job)
    if result is None:
        if args.json:
            print_json(
                {
                    "task_id": task_id,
                    "status": ExportTaskStatus.PENDING,
                    "objects": [],
                    "encryption": None,
                    "sample": [],
                    "explanation": None,
                }
            )
        else:
            out(
                f"Export task {task_id} started; check it with: aws logs describe-export-tasks "
                f"--task-id {task_id}"
            )
        return EXIT_OK
    state = WizardState(
        region=request.region,
        bucket=request.bucket,
        prefix=request.prefix,
        stream_prefix=request.stream_prefix,
    )
    if report is not None:
        write_report(flow, state, result, report)
    if args.json:
        print_json(export_json(result))
    else:
        key = result.encryption.kms_key_id if result.encryption is not None else None
        alias = flow.key_alias(request.region, key, ask=True) if key else None
        view = result_view(
            state,
            result,
            sandbox=False,
            key_alias=alias,
            source_account=flow.source_account(),
            profile=flow.export_profile(),
        )
        show(render.result(view))
    return EXIT_OK if result.succeeded else EXIT_FINDINGS


def report_path(args: argparse.Namespace) -> Path | None:
    """--report FILE (Markdown), checked before the export: a new file in an existing folder."""
    import os

    if args.report is None:
        return None
    if not args.report.strip():
        raise UsageError("--report: give the path of a Markdown file to write.")
    if not args.wait:
        raise UsageError("--report needs the export's result: leave out --no-wait.")
    path = Path(args.report).expanduser()
    if os.path.lexists(path):
        raise UsageError(
            f"--report: {path} exists already; nothing was written.",
            fix="Choose another file name, or move the file away first.",
        )
    if not path.parent.is_dir():
        raise UsageError(f"--report: the folder {path.parent} does not exist.")
    return path


def write_report(flow: Flow, state: WizardState, result: ExportResult, path: Path) -> None:
    from wizard.commands.common import err
    from wizard.core.proof import markdown
    from wizard.flow import write_new_files

    key = result.encryption.kms_key_id if result.encryption is not None else None
    alias = flow.key_alias(state.region, key, ask=True) if key else None
    text = markdown(flow.proof(state, result, key_alias=alias))
    for written in write_new_files(path.parent, {path.name: text}):
        err(f"Wrote the proof to {written}")
