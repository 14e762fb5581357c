"""The scriptable commands: doctor, plan, apply, test-export, undo.

Every command validates its input before the first AWS call, prints results (or ``--json``)
on stdout and diagnostics on stderr, and returns an exit code: 0 success / healthy, 1
findings, changes or a failed export, 2 usage, credential, network or AWS errors.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from wizard import launch, render, views
from wizard.commands.common import (
    CANCELLING_APPLY,
    CANCELLING_SURVEY,
    OutputFailed,
    _check,
    agreed,
    choices_from,
    confirm,
    err,
    finding_json,
    in_worker,
    key_words,
    open_flow,
    open_session,
    out,
    print_json,
    show,
    show_err,
    validate_connection,
    validate_destination,
    write_out,
)
from wizard.core import wording
from wizard.core.errors import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ApplyError,
    ExportBusy,
    UsageError,
    WizardError,
)
from wizard.core.findings import FindingCode
from wizard.core.formats import PlanFormat
from wizard.core.presets import DEFAULT_WINDOW
from wizard.core.state import Choices, ExportTaskInfo, ExportTaskStatus
from wizard.core.text import count, visible_lines
from wizard.core.validate import (
    account_problem,
    alias_problem,
    bucket_name_problem,
    key_reference_problem,
    log_group_problem,
    normalize_alias,
    parse_duration_ms,
    parse_time_ms,
    prefix_problem,
    seconds_problem,
    stream_prefix_problem,
)
from wizard.flow import (
    BusyChoice,
    BusyRounds,
    Flow,
    PropagationWait,
    Review,
    WizardState,
    cli_header,
    code_files,
    code_next_steps,
    result_view,
    script_name,
    undo_command,
    undo_preview,
    write_new_files,
)
from wizard.terminal import _isatty

MAX_SAMPLE_LINES = 1000
EXIT_BROKEN_PIPE = 141  # as a shell reports a program ended by SIGPIPE (128 + 13)

if TYPE_CHECKING:
    from wizard.aws.apply import StepResult
    from wizard.aws.export import ExportRequest, ExportResult
    from wizard.core.change import Change, Plan
    from wizard.core.outcomes import RollbackReport, StepReport


def _review(args: argparse.Namespace) -> tuple[Flow, Choices, Review]:
    """Validate, open the session and review the destination (the doctor, the plan and the
    caller's own permissions), as the Review step of the wizard does."""
    validate_destination(args)
    session = open_session(args)
    choices = choices_from(args, session)
    flow = open_flow(args, session)
    return flow, flow.with_source(choices), flow.review(choices)


def run_doctor(args: argparse.Namespace) -> int:
    from wizard.commands import verify as verify_command

    if args.bucket is None:
        if args.verify or args.if_busy is not None or args.propagation_wait is not None:
            raise UsageError(
                "--verify probes one destination: add --bucket (a survey of every destination "
                "reads policies only)."
            )
        return run_survey(args)
    for option, given in (
        ("--profiles", args.profiles is not None),
        ("--all-profiles", args.all_profiles),
        ("--regions", args.regions is not None),
    ):
        if given:
            raise UsageError(
                f"{option} is for a survey of every destination: leave out --bucket, or "
                f"leave out {option}."
            )
    if args.prefix is None:
        from wizard.core.presets import DEFAULT_PREFIX

        args.prefix = DEFAULT_PREFIX
    verify_command.check_options(args)
    if args.verify:
        return verify_command.run(args)
    flow, choices, review = _review(args)
    findings = list(review.findings)
    healthy = review.healthy
    snap = review.snapshot
    if args.json:
        print_json({"healthy": healthy, "findings": [finding_json(f) for f in findings]})
    else:
        out(
            f"Destination s3://{choices.bucket}/{choices.prefix}/ with {key_words(snap, choices)} "
            f"(account {snap.identity.account}; {flow.session.describe()})"
        )
        show([*render.findings(findings), render.verdict(findings)])
        if not healthy:
            err("fix: run 'cwl-export-wizard plan' with the same options to see the changes.")
    return EXIT_OK if healthy else EXIT_FINDINGS


_NOT_IN_A_SURVEY = (
    ("--prefix", "prefix"),
    ("--key", "key"),
    ("--create-key", "create_key"),
    ("--create-bucket", "create_bucket"),
    ("--log-group", "log_group"),
    ("--source-account", "source_account"),
    ("--source-profile", "source_profile"),
)


class SurveyProgress:
    """``[#####.....] 12/54 regions · 9 destinations · 1 error`` on stderr, redrawn in place
    as results arrive; only on a terminal (a log gets the table alone)."""

    WIDTH = 24

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._units = self._done = self._rows = self._errors = 0
        self._shown = False

    def __call__(self, event: object) -> None:
        from wizard.survey import ErrorFound, RowFound, UnitDone, UnitsPlanned

        with self._lock:
            if isinstance(event, UnitsPlanned):
                self._units += event.count
            elif isinstance(event, UnitDone):
                self._done += 1
            elif isinstance(event, RowFound):
                self._rows += 1
            elif isinstance(event, ErrorFound):
                self._errors += 1
            self._draw()

    def _draw(self) -> None:
        filled = self.WIDTH * self._done // self._units if self._units else 0
        bar = "#" * filled + "." * (self.WIDTH - filled)
        text = f"[{bar}] {self._done}/{self._units} regions · {count(self._rows, 'destination')}"
        if self._errors:
            text += f" · {count(self._errors, 'error')}"
        self._stream.write("\r" + text + "\033[K")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self._stream.write("\r\033[K")
                self._stream.flush()

    def end_line(self) -> None:
        """Keep the bar as it is and start a new line (for a notice under it)."""
        with self._lock:
            if self._shown:
                self._stream.write("\n")
                self._stream.flush()
                self._shown = False


def run_survey(args: argparse.Namespace) -> int:
    """doctor without --bucket: every destination of the profiles and regions asked for."""
    from wizard import survey
    from wizard.core import survey as core_survey

    for option, dest in _NOT_IN_A_SURVEY:
        if getattr(args, dest, None) not in (None, False, []):
            raise UsageError(
                f"{option} is for one destination: give --bucket too, or leave out {option}."
            )
    validate_connection(args)
    regions = survey.parse_regions(args.regions, args.region)
    profiles = survey.parse_profiles(args.profiles, args.all_profiles, args.profile)
    progress = SurveyProgress(sys.stderr) if sys.stderr.isatty() else None
    surveyor = survey.start(survey.user_factory(args.endpoint_url), on_event=progress)
    try:
        result = in_worker(
            lambda cancel: _survey(surveyor, cancel, profiles, regions),
            cancelling=CANCELLING_SURVEY,
            before_notice=progress.end_line if progress is not None else None,
            read_only=True,
        )
    finally:
        if progress is not None:
            progress.clear()
    if args.json:
        print_json(core_survey.result_json(result))
    else:
        show(render.survey(result))
    return {
        core_survey.Outcome.HEALTHY: EXIT_OK,
        core_survey.Outcome.FINDINGS: EXIT_FINDINGS,
        core_survey.Outcome.NOTHING_READ: EXIT_ERROR,
        core_survey.Outcome.STOPPED: EXIT_INTERRUPTED,
    }[core_survey.outcome(result)]


def _survey(surveyor: Any, cancel: threading.Event, profiles: Any, regions: Any) -> Any:
    threading.Thread(target=lambda: cancel.wait() and surveyor.cancel.set(), daemon=True).start()
    return surveyor.run(profiles, regions)


# --- plan ---------------------------------------------------------------------------------


def change_json(change: Change) -> dict[str, Any]:
    return {
        "action": change.action.value,
        "target": change.target,
        "summary": change.summary,
        "before": change.before,
        "after": change.after,
        "diff": change.diff,
        "notes": list(change.notes),
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "changes": [change_json(c) for c in plan.changes],
        "blockers": list(plan.blockers),
    }


def plan_format(args: argparse.Namespace) -> PlanFormat:
    """--format, or json for --json; refuses the combinations that say two things."""
    from wizard.commands.common import FILE_FORMATS

    chosen = PlanFormat(args.format or (PlanFormat.JSON if args.json else PlanFormat.TEXT))
    if args.json and chosen is not PlanFormat.JSON:
        raise UsageError(f"--json and --format {chosen} say two things: give one.")
    if args.out is not None and chosen not in FILE_FORMATS:
        raise UsageError(
            f"--out writes files: give it with --format {' or '.join(FILE_FORMATS)}.",
        )
    return chosen


def run_plan(args: argparse.Namespace) -> int:
    chosen = plan_format(args)
    _, choices, review = _review(args)
    plan = review.plan
    code = EXIT_OK if plan.empty and not plan.blockers else EXIT_FINDINGS
    if chosen is PlanFormat.JSON:
        print_json(plan_json(plan))
        return code
    if chosen is PlanFormat.TEXT:
        show(render.plan(plan))
        return code
    if chosen is PlanFormat.CLI and plan.blockers:
        # No commands for a plan the wizard will not apply: the blockers, as the other
        # formats show them, in a file that stops at once if it is run anyway.
        from wizard.core.cli_equivalent import blocked_script

        files = {script_name(state_of(choices)): blocked_script(plan)}
        executable: tuple[str, ...] = ()
    elif chosen is PlanFormat.CLI:
        state = state_of(choices)
        files = {script_name(state): plan_script(plan, state, review.snapshot.identity.account)}
        executable = tuple(files)
    else:
        files = code_files(chosen, review)
        executable = ()
    if args.out is None:
        print_files(files)
        return code
    folder = Path(args.out)
    for path in write_new_files(folder, files, executable=executable):
        out(f"Wrote {path}")
    if chosen is not PlanFormat.CLI:
        out("Next:")
        for step in code_next_steps(chosen, review, folder):
            out(f"  {step}")
    return code


def print_files(files: dict[str, str]) -> None:
    """One file as it is; several each under a ``# ==> name <==`` line (as ``tail`` does),
    so that a reader (or a split) sees where each begins. Exact into a file or a pipe; on a
    terminal, AWS text in them (a foreign statement's values) is shown visibly."""
    shown = visible_lines if _isatty(sys.stdout) else str
    if len(files) == 1:
        write_out(shown(next(iter(files.values()))))
        return
    for number, (name, text) in enumerate(files.items()):
        write_out(("\n" if number else "") + f"# ==> {name} <==\n{shown(text)}")


def state_of(choices: Choices) -> WizardState:
    """The answers a command was given, as the wizard's state (for the words faces share)."""
    return WizardState(
        region=choices.region,
        key=choices.key,
        create_key_alias=choices.create_key_alias,
        bucket=choices.bucket,
        create_bucket=choices.create_bucket,
        prefix=choices.prefix,
        log_group=choices.log_group,
    )


def plan_script(plan: Plan, state: WizardState, account: str) -> str:
    from wizard.core.cli_equivalent import script

    return script(plan, state.region or "", cli_header(state, account))


# --- apply --------------------------------------------------------------------------------


def run_apply(args: argparse.Namespace) -> int:
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


# --- test-export --------------------------------------------------------------------------


def export_window(args: argparse.Namespace, now_ms: int | None = None) -> tuple[int, int]:
    """(from_ms, to_ms) from --since or --from/--to; the last 24 hours by default."""
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
            flow.clear_busy(request.region, active, choice, cancel=cancel)


def propagation_wait(args: argparse.Namespace) -> float | None:
    """--propagation-wait; None: the flow's one rule (wait while the policies allow it)."""
    if args.propagation_wait is not None:
        _check(seconds_problem(args.propagation_wait, 3_600), "--propagation-wait")
        return float(args.propagation_wait)
    return None


def run_test_export(args: argparse.Namespace) -> int:
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
        last: list[ExportTaskStatus] = []

        def status(task: ExportTaskInfo, elapsed: float) -> None:
            if not last or last[-1] != task.status:
                last.append(task.status)
                err(f"  {task.status} after {elapsed:.1f} s")

        task = flow.wait_export(request.region, task_id, on_status=status, cancel=cancel)
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
    from wizard.core.proof import markdown

    key = result.encryption.kms_key_id if result.encryption is not None else None
    alias = flow.key_alias(state.region, key, ask=True) if key else None
    text = markdown(flow.proof(state, result, key_alias=alias))
    for written in write_new_files(path.parent, {path.name: text}):
        err(f"Wrote the proof to {written}")


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


def run_undo(args: argparse.Namespace) -> int:
    validate_connection(args)
    path = Path(args.journal).expanduser()
    journal = undo_preview(path)
    steps = journal.steps
    if journal.endpoint and not (args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        args.endpoint_url = journal.endpoint  # the apply went to an emulator: so does undo
    if journal.profile and not (args.profile or os.environ.get("AWS_PROFILE")):
        args.profile = journal.profile  # the apply's credentials: so the printed undo works
    session = open_session(args, region=args.region or journal.region)
    identity = session.identity()
    if identity.account != journal.account:
        raise UsageError(
            f"The journal is for account {journal.account}, but these credentials are for "
            f"account {identity.account}.",
            fix="Use the profile the apply ran with (--profile).",
        )
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
    confirm(f"Undo these changes in account {identity.account}?", args.yes)
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


# --- iam-policy ---------------------------------------------------------------------------


def _source_iam_policy(args: argparse.Namespace) -> int:
    """``iam-policy --source``: the policy of the caller in a source account."""
    from wizard.core.arn import parse_arn
    from wizard.core.iam_policy import SourceScope, source_policy

    if args.create_key or args.create_bucket:
        option = "--create-key" if args.create_key else "--create-bucket"
        raise UsageError(f"{option} is not for --source: the source caller creates nothing.")
    key = parse_arn(args.key) if args.key else None
    if args.key and (key is None or not key.resource.startswith("key/")):
        raise UsageError(
            f"--key {args.key}: with --source give the destination key's ARN "
            "(arn:aws:kms:REGION:ACCOUNT:key/ID): an alias means nothing in another account.",
        )
    if len(args.source_account) > 1:
        raise UsageError("--source-account: with --source give one account (one caller).")
    scope = SourceScope(
        region=args.region,
        account=args.source_account[0] if args.source_account else None,
        bucket=args.bucket,
        prefix=args.prefix,
        key=args.key,
        acls_enabled=args.acls_enabled,
        log_group=args.log_group,
    )
    print_json(source_policy(scope))
    return EXIT_OK


def run_iam_policy(args: argparse.Namespace) -> int:
    from wizard.core.iam_policy import PolicyScope, identity_policy

    validate_connection(args)
    if args.bucket is not None:
        _check(bucket_name_problem(args.bucket), "--bucket")
    if args.prefix is not None:
        _check(prefix_problem(args.prefix), "--prefix")
    if args.key is not None:
        _check(key_reference_problem(args.key), "--key")
    if args.create_key is not None:
        _check(alias_problem(args.create_key), "--create-key")
    if args.log_group is not None:
        _check(log_group_problem(args.log_group), "--log-group")
    if args.account is not None:
        _check(account_problem(args.account), "--account")
    if args.region is not None:
        _check(launch.region_known_problem(args.region), "--region")
    for account in args.source_account:
        _check(account_problem(account), "--source-account")
    if args.source:
        return _source_iam_policy(args)
    if args.source_account or args.acls_enabled:
        option = "--source-account" if args.source_account else "--acls-enabled"
        raise UsageError(f"{option} is for the source caller's policy: add --source.")
    scope = PolicyScope(
        region=args.region,
        account=args.account,
        bucket=args.bucket,
        prefix=args.prefix,
        key=args.key,
        create_key_alias=normalize_alias(args.create_key) if args.create_key else None,
        create_bucket=bool(args.create_bucket),
        log_group=args.log_group,
    )
    print_json(identity_policy(scope))
    return EXIT_OK


# --- dispatch -----------------------------------------------------------------------------


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "doctor": run_doctor,
    "plan": run_plan,
    "apply": run_apply,
    "test-export": run_test_export,
    "undo": run_undo,
    "iam-policy": run_iam_policy,
}


def report_error(error: WizardError, args: argparse.Namespace | None) -> int:
    """``error: MESSAGE`` and ``fix: ...`` on stderr; details and traceback with --debug."""
    err(f"error: {error.message}")
    if error.fix:
        err(f"fix: {error.fix}")
    if isinstance(error, ApplyError):
        if error.report is not None:
            for remaining in error.report.remaining:
                err(f"remains: {remaining.message}")
                for command in remaining.manual:
                    err(f"    {command}")
        if error.journal_path:
            err(f"journal: {error.journal_path}")
            if not error.restored_everything:
                err(f"then: cwl-export-wizard undo {shlex.quote(error.journal_path)}")
    if args is not None and getattr(args, "json", False):
        described: dict[str, Any] = {
            "type": type(error).__name__,
            "message": error.message,
            "fix": error.fix,
        }
        if isinstance(error, ApplyError) and error.journal_path:
            described["journal"] = error.journal_path  # so a script can undo it
        print_json({"error": described})
    if args is not None and getattr(args, "debug", False):
        import traceback

        if error.details:
            err(f"details: {error.details}")
        err("".join(traceback.format_exception(error)).rstrip())
    return error.exit_code


def dispatch(args: argparse.Namespace) -> int:
    handler = COMMANDS[args.command]
    try:
        code = handler(args)
        write_out("", flush=True)  # a stdout that cannot take it fails here, not at exit
        return code
    except WizardError as error:
        try:
            return report_error(error, args)
        except OutputFailed as failed:  # --json's error could not be written either
            return _output_failed(failed)
    except KeyboardInterrupt:
        err("error: interrupted.")
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): nothing is wrong, and nothing more can be said.
        # Python would complain again when it flushes stdout on exit: point it elsewhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OutputFailed as failed:
        return _output_failed(failed)
    except Exception as exc:  # a bug: still one line unless --debug
        return _unexpected(exc, args)


def _output_failed(failed: OutputFailed) -> int:
    # Python's own flush at exit must not fail again on what is still buffered.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    err(f"error: The output could not be written to stdout: {failed}.")
    err("fix: Send it where there is room (check the disk or the file stdout goes to).")
    return EXIT_ERROR


def _unexpected(exc: BaseException, args: argparse.Namespace) -> int:
    """A bug: one line, and exit 2 with or without --debug (which adds the traceback)."""
    err(f"error: unexpected {type(exc).__name__}: {exc}")
    if getattr(args, "debug", False):
        import traceback

        err("".join(traceback.format_exception(exc)).rstrip())
        err("fix: report this traceback.")
    else:
        err("fix: run again with --debug and report the traceback.")
    return EXIT_ERROR
