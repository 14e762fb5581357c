"""The plain face: the same wizard, line by line, for terminals where a full-screen app is not.

Serial consoles, screen readers, CI logs, narrow panes and pasted transcripts get the same
steps, checks, previews and safety as the TUI: questionary prompts (select lists, validated
text, an explicit confirmation) and plain text output that reads top to bottom. Colour is
used only on a terminal that supports it, and never carries meaning on its own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import textwrap
import threading
from collections.abc import Callable
from enum import Enum
from typing import Any, TextIO, TypeVar

import questionary

from wizard import launch
from wizard.aws import apply as aws_apply
from wizard.aws import export as aws_export
from wizard.core import doctor
from wizard.core.cli_equivalent import export_command
from wizard.core.outcomes import RollbackReport, StepStatus
from wizard.core.plan import Change, Plan
from wizard.core.presets import DEFAULT_SAMPLE_LINES
from wizard.core.state import KEY_MANAGER_AWS, ExportTaskInfo
from wizard.core.text import count
from wizard.core.validate import (
    alias_problem,
    bucket_name_problem,
    normalize_alias,
    parse_duration_ms,
    prefix_problem,
)
from wizard.errors import (
    ApplyCancelled,
    ApplyError,
    Cancelled,
    DriftError,
    ExportBusy,
    WizardError,
)
from wizard.flow import PROPAGATION_WAIT, Flow, Review, Step, WizardState
from wizard.terminal import COMMANDS_HINT as COMMANDS_HINT  # re-exported for callers
from wizard.terminal import _isatty, supports_color
from wizard.terminal import tui_unavailable_reason as tui_unavailable_reason

EXIT_CANCELLED = 130  # the shell's code for a program ended by Ctrl+C (128 + SIGINT)
CANCELLED_NOTHING_CHANGED = "Cancelled; nothing was changed."
CANCELLED_NO_INPUT = "Input ended; nothing was changed."

_CREATE = "\0create"  # the select value of "create a new ..." (no key ARN or bucket looks like it)
_T = TypeVar("_T")


# Terminal checks live in wizard.terminal so the TUI can start without questionary.


_STYLES = {
    "header": "1",
    "error": "31",
    "warning": "33",
    "ok": "32",
    "dim": "2",
    "add": "32",
    "remove": "31",
    "hunk": "36",
}


class Printer:
    """Plain lines on stdout (resolved at each write, so redirection and capture work)."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None) -> None:
        self._stream = stream
        self._color = color
        self._lock = threading.Lock()  # the apply worker prints progress too

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    @property
    def color(self) -> bool:
        if self._color is None:
            self._color = supports_color(self.stream, os.environ)
        return self._color

    def styled(self, text: str, style: str | None) -> str:
        if not style or not self.color or not text:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    def write(self, text: str, style: str | None = None) -> None:
        with self._lock:
            self.stream.write(self.styled(text, style))
            self.stream.flush()

    @property
    def width(self) -> int | None:
        """The terminal's width, to wrap prose at word boundaries; None: a log, never wrapped."""
        if not _isatty(self.stream):
            return None
        return shutil.get_terminal_size().columns

    def line(self, text: str = "", style: str | None = None, *, wrap: bool = True) -> None:
        width = self.width if wrap else None
        if width and len(text) >= width:
            indent = text[: len(text) - len(text.lstrip())]
            text = textwrap.fill(
                text.strip(),
                width=width - 1,
                initial_indent=indent,
                subsequent_indent=indent + "  ",
                break_long_words=False,  # ARNs, URIs and names stay whole
                break_on_hyphens=False,
            )
        self.write(text, style)
        self.write("\n")

    def header(self, step: Step) -> None:
        self.line()
        self.line(step.indicator, "header")
        self.line("-" * len(step.indicator))

    def diff(self, text: str, indent: str = "    ") -> None:
        for raw in text.splitlines():
            style = None
            if raw.startswith(("+++", "---")):
                style = "dim"
            elif raw.startswith("+"):
                style = "add"
            elif raw.startswith("-"):
                style = "remove"
            elif raw.startswith("@@"):
                style = "hunk"
            self.line(indent + raw, style, wrap=False)

    def error(self, error: WizardError) -> None:
        # One line and the fix: an expected failure never shows a traceback.
        stream = sys.stderr if self._stream is None else self._stream
        text = f"Error: {error.message}"
        if error.fix:
            text += f"\nFix: {error.fix}"
        with self._lock:
            stream.write(self.styled(text, "error") + "\n")
            stream.flush()


# ------------------------------------------------------------------------------ prompts


class Phase(Enum):
    CHOOSING = "choosing"  # nothing has been changed yet
    APPLYING = "applying"
    APPLIED = "applied"  # changes are in place (or there were none to make)


def _bool_or_message(problem: str | None) -> bool | str:
    return True if problem is None else problem


def _duration_problem(text: str) -> str | None:
    try:
        parse_duration_ms(text)
    except ValueError as error:
        return str(error)
    return None


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class PlainWizard:
    """One plain-mode run over a Flow: prompts on the app session, output through a Printer."""

    def __init__(self, flow: Flow, *, sandbox: bool, out: Printer | None = None) -> None:
        self.flow = flow
        self.sandbox = sandbox
        self.out = out or Printer()
        self.phase = Phase.CHOOSING
        self.state = WizardState()

    # Entry ------------------------------------------------------------------------------
    def run(self, repair: str | None = None) -> int:
        try:
            return self._run(repair)
        except KeyboardInterrupt:
            return self._interrupted()
        except EOFError:  # Ctrl+D, or the end of piped input: nobody is left to answer
            return self._interrupted(CANCELLED_NO_INPUT)
        except WizardError as error:
            self.out.error(error)
            if isinstance(error, ApplyError):
                self._say_report(error.report)
                if not error.restored_everything:
                    self._say_journal(error.journal_path)
            return error.exit_code

    def _run(self, repair: str | None) -> int:
        if repair:
            self.state = self.repair(repair)
        else:
            self.state = self.choose(WizardState())
        while True:
            review = self.review(self.state)
            decision = self.decide(review)
            if decision == "quit":
                self.out.line("Stopped; nothing was changed.")
                return 0
            if decision == "back":
                self.state = self.choose(self.state)  # every answer so far is the default
                continue
            self.phase = Phase.APPLYING
            try:
                applied = self.apply(review.plan)
            except DriftError as error:
                # Someone changed a target since the preview: nothing was overwritten and the
                # earlier steps were rolled back. Show the plan for what is there now.
                self.out.error(error)
                self._say_report(error.report)
                if error.restored_everything:
                    self.phase = Phase.CHOOSING
                self.out.line("Reviewing again with the current state.")
                continue
            if not applied:
                return EXIT_CANCELLED
            break
        self.phase = Phase.APPLIED
        return self.export()

    def _interrupted(self, message: str = CANCELLED_NOTHING_CHANGED) -> int:
        self.out.line()
        if self.phase is Phase.CHOOSING:
            self.out.line(message)
        else:
            self.out.line("Cancelled. The changes already applied stay in place.")
            self._say_journal()
        return EXIT_CANCELLED

    def _say_report(self, report: RollbackReport | None) -> None:
        """What remains after a rollback, with the commands that finish it by hand."""
        for step in report.remaining if report is not None else ():
            self.out.line(f"Remains: {step.message}", "error")
            for command in step.manual:
                self.out.line(f"    {command}", wrap=False)

    def _say_journal(self, path: object | None = None) -> None:
        if path is None and self.state.applied is not None:
            path = self.state.applied.journal_path
        if path is None:
            return
        self.out.line(f"Journal of the changes: {path}", wrap=False)
        if not self.sandbox:  # the sandbox forgets everything when it stops
            undo = f"cwl-export-wizard undo {shlex.quote(str(path))}"
            self.out.line(f"To undo them: {undo}", wrap=False)

    # Steps 1-3 ---------------------------------------------------------------------------
    def choose(self, state: WizardState) -> WizardState:
        """Steps 1 to 3; the answers in ``state`` (if any) are the defaults."""
        self.out.header(Step.REGION)
        self._say_identity()
        regions = self.flow.regions()
        default_region = state.region if state.region in regions else self.flow.default_region
        region = questionary.select(
            "Region of the log groups and the bucket:",
            choices=regions,
            default=default_region if default_region in regions else None,
        ).unsafe_ask()
        if region != state.region:
            # Keys and buckets are per region: earlier picks no longer apply.
            state = WizardState(prefix=state.prefix, window=state.window)
        state.region = region
        self.choose_key(state)
        self.choose_bucket(state)
        return state

    def _say_identity(self) -> None:
        identity = self.flow.identity()
        where = "the sandbox (nothing real is touched)" if self.sandbox else "AWS"
        self.out.line(f"Signed in to {where} as {identity.arn} (account {identity.account}).")

    def choose_key(self, state: WizardState) -> None:
        self.out.header(Step.KEY)
        region = state.region or self.flow.default_region
        options = self.flow.keys(region)
        suggested = state.create_key_alias or self.flow.suggested_alias(region)
        choices = [questionary.Choice(f"Create a new customer managed key ({suggested})", _CREATE)]
        unusable: list[tuple[str, str]] = []
        for option in options:
            key = option.key
            # Short titles: a select list cuts long lines at the terminal's width.
            title = key.display_name
            if option.usable:
                kind = "AWS managed" if key.manager == KEY_MANAGER_AWS else "customer managed"
                title = f"{title} ({kind})"
            reason = None if option.usable else (option.reason or "not usable for exports")
            if reason:
                unusable.append((key.display_name, reason))
            choices.append(questionary.Choice(title, key.arn or key.reference, disabled=reason))
        self._say_unusable("Keys that cannot encrypt exports", unusable)
        usable = {c.value for c in choices if not c.disabled}
        default: str = _CREATE
        if state.create_key_alias:
            pass
        elif state.key is not None and state.key in usable:
            default = state.key
        else:
            first = self.flow.default_key(options)
            default = first.key.arn if first is not None and first.key.arn else _CREATE
        answer = questionary.select(
            "KMS key that encrypts the exported logs:", choices=choices, default=default
        ).unsafe_ask()
        if answer != _CREATE:
            state.key, state.create_key_alias = answer, None
            return

        def validate(text: str) -> bool | str:
            problem = alias_problem(text)
            if problem is None and self.flow.alias_taken(region, normalize_alias(text)):
                problem = (
                    f"{normalize_alias(text)} already exists in {region}: "
                    "select that key in the list, or choose another alias."
                )
            return _bool_or_message(problem)

        alias = questionary.text(
            "Alias for the new key:", default=suggested, validate=validate
        ).unsafe_ask()
        state.key, state.create_key_alias = None, normalize_alias(alias)

    def choose_bucket(self, state: WizardState) -> None:
        self.out.header(Step.BUCKET)
        region = state.region or self.flow.default_region
        options = self.flow.buckets(region)
        suggested = (
            state.bucket if state.create_bucket and state.bucket
            else self.flow.suggested_bucket(region)
        )
        choices = [questionary.Choice(f"Create a new bucket ({suggested})", _CREATE)]
        unusable = []
        for option in options:
            reason = None if option.usable else (option.reason or "not usable")
            if reason:
                unusable.append((option.name, reason))
            choices.append(questionary.Choice(option.name, option.name, disabled=reason))
        self._say_unusable("Buckets that cannot receive these exports", unusable)
        usable = {c.value for c in choices if not c.disabled}
        default = state.bucket if not state.create_bucket and state.bucket in usable else _CREATE
        answer = questionary.select(
            "S3 bucket the logs are exported to:", choices=choices, default=default
        ).unsafe_ask()
        if answer == _CREATE:
            state.bucket = questionary.text(
                "Name of the new bucket:",
                default=suggested,
                validate=self._validate_new_bucket,
                # The availability check asks S3: only when the name is submitted.
                validate_while_typing=False,
            ).unsafe_ask()
            state.create_bucket = True
        else:
            state.bucket, state.create_bucket = answer, False
            try:
                health = self.flow.bucket_health(region, answer, state.key)
            except WizardError as error:  # the review reads the bucket again and explains
                self.out.line(f"Could not check {answer} yet: {error.message}")
            else:
                verdict = "ready" if health.healthy else f"{health.summary} (see the review)"
                self.out.line(f"{answer}: {health.encryption}; {verdict}.")
        state.prefix = questionary.text(
            "Prefix (folder) for the exported objects:",
            default=state.prefix,
            validate=lambda text: _bool_or_message(prefix_problem(text)),
        ).unsafe_ask()

    def _say_unusable(self, heading: str, items: list[tuple[str, str]]) -> None:
        """Why some entries are greyed out, as whole lines: the list itself is cut at the
        terminal's width and disappears once answered, while these lines stay in the log."""
        if not items:
            return
        self.out.line(f"{heading} (shown, not selectable):")
        for name, reason in items:
            self.out.line(f"  {name}: {reason}", "dim")

    def _validate_new_bucket(self, name: str) -> bool | str:
        problem = bucket_name_problem(name)
        if problem is None:
            try:
                problem = self.flow.bucket_availability(name)
            except WizardError as error:
                problem = str(error)
        return _bool_or_message(problem)

    # Repair ------------------------------------------------------------------------------
    def repair(self, bucket: str) -> WizardState:
        problem = bucket_name_problem(bucket)
        if problem is not None:
            raise WizardError(f"--repair {bucket}: {problem}", "Give the name of an S3 bucket.")
        self.out.line(f"Repairing s3://{bucket}: steps 1 to 3 are read from the bucket.")
        self._say_identity()
        state = self.flow.repair_state(bucket)
        key = (
            f"a new key {state.create_key_alias} (no usable key in {state.region})"
            if state.create_key_alias
            else "the bucket's own key if it can be used, else the first usable key"
        )
        self.out.line(f"Region {state.region}, prefix {state.prefix}; key: {key}.")
        return state

    # Step 4 ------------------------------------------------------------------------------
    def review(self, state: WizardState) -> Review:
        self.out.header(Step.REVIEW)
        review = self.flow.review(state.choices())
        state.review = review
        snap = review.snapshot
        if state.create_key_alias:
            key = f"a new key {state.create_key_alias}"
        elif snap.key is not None and snap.key.exists:
            key = snap.key.display_name
        else:
            key = state.key or "the bucket's key"
        bucket = f"a new bucket {state.bucket}" if state.create_bucket else f"s3://{state.bucket}"
        self.out.line(f"Destination: {bucket}, prefix {state.prefix}/, key {key}, {state.region}.")
        self.show_findings(review.findings)
        self.show_plan(review.plan)
        return review

    def show_findings(self, findings: tuple[doctor.Finding, ...]) -> None:
        if not findings:
            self.out.line("Checks: no problems found.", "ok")
            return
        self.out.line(f"Checks: {count(len(findings), 'finding')}.")
        for finding in findings:
            label = finding.severity.value.capitalize()
            style = {"error": "error", "warning": "warning"}.get(finding.severity.value)
            self.out.line(f"  {label}: {finding.message} [{finding.code}]", style)
            if finding.aws_error:
                self.out.line(f"    AWS would say: {finding.aws_error}")
            for statement in finding.statements:
                self.out.line(f"    Involves: {statement}")
            self.out.line(f"    Fix: {finding.fix}")

    def show_plan(self, plan: Plan) -> None:
        if plan.empty:
            self.out.line("Plan: nothing to change.", "ok")
        else:
            self.out.line(f"Plan: {count(len(plan.changes), 'change')}, in this order.")
            for number, change in enumerate(plan.changes, 1):
                self.out.line(f"  {number}. {change.summary}")
                self.out.line(f"     {change.action.value} on {change.target}", "dim")
                if change.diff:
                    self.out.diff(change.diff, indent="     ")
        for blocker in plan.blockers:
            self.out.line(f"  Blocked: {blocker}", "error")
        if plan.blockers:
            self.out.line(
                "  The plan alone cannot make exports work: resolve the blocked items "
                "(or change your choices) first."
            )

    def decide(self, review: Review) -> str:
        """"apply" (also: nothing to apply), "back" or "quit"."""
        plan = review.plan
        if plan.empty:
            if review.healthy and not plan.blockers:
                return "apply"
            return questionary.select(
                "The wizard has nothing it may change that fixes this. What now?",
                choices=[
                    questionary.Choice("Change my choices", "back"),
                    questionary.Choice("Run the test export anyway", "apply"),
                    questionary.Choice("Quit", "quit"),
                ],
            ).unsafe_ask()
        if plan.blockers:
            # apply refuses a plan with blockers: the choices (or the account) must change first.
            return questionary.select(
                "The plan is blocked. What now?",
                choices=[
                    questionary.Choice("Change my choices", "back"),
                    questionary.Choice("Quit without changes", "quit"),
                ],
            ).unsafe_ask()
        number = len(plan.changes)
        these = "this change" if number == 1 else f"these {number} changes"
        if self.sandbox:
            approved = questionary.confirm(
                f"Apply {these} to the sandbox?", default=False
            ).unsafe_ask()
        else:
            identity = review.snapshot.identity
            typed = questionary.text(
                f"Type apply to make {these} in account {identity.account}, "
                f"{review.snapshot.region} (anything else: don't):"
            ).unsafe_ask()
            approved = typed.strip() == "apply"
        if approved:
            return "apply"
        self.out.line("Not applied; nothing was changed.")
        return questionary.select(
            "What now?",
            choices=[
                questionary.Choice("Change my choices", "back"),
                questionary.Choice("Quit without changes", "quit"),
            ],
        ).unsafe_ask()

    # Step 5 ------------------------------------------------------------------------------
    def apply(self, plan: Plan, cancel: threading.Event | None = None) -> bool:
        """Apply in a worker thread. True: the changes are in place (or none were needed).

        False: cancelled. Ctrl+C (or ``cancel`` set by another thread) lets the current AWS
        call finish, then the apply layer rolls back what it did.
        """
        self.out.header(Step.APPLY)
        if plan.empty:
            self.out.line("Nothing to apply: the destination is ready.")
            return True
        cancel = cancel or threading.Event()
        total = len(plan.changes)

        def on_step(step: aws_apply.StepResult) -> None:
            number = _index_of(plan.changes, step.change) + 1
            word = {
                StepStatus.APPLIED: "done",
                StepStatus.UNCHANGED: "already in place",
            }.get(step.status, step.status.value)
            shown = step.message and step.status is not StepStatus.APPLIED
            message = f" ({step.message})" if shown else ""
            style = (
                "error"
                if step.status in (StepStatus.FAILED, StepStatus.NOT_ROLLED_BACK)
                else None
            )
            self.out.line(
                f"[{number}/{total}] {step.change.action.value} on {step.change.target} ... "
                f"{word}{message}",
                style,
            )

        self.out.line("Applying (Ctrl+C stops after the current AWS call and rolls back).")
        try:
            result = self._in_worker(
                lambda: self.flow.apply(plan, on_step=on_step, cancel=cancel),
                cancel,
                "Ctrl+C: finishing the current AWS call, then rolling back ...",
            )
        except ApplyCancelled as error:
            self.out.line(error.message)
            self._say_report(error.report)
            if error.restored_everything:
                self.out.line("Rolled back; the destination is as it was before.")
            else:
                self.out.line("Some changes could not be rolled back (see above).", "error")
                self._say_journal(error.journal_path)
            return False
        self.state.applied = result
        if cancel.is_set():
            self.out.line("Every change had been made before Ctrl+C took effect; they stay.")
            self._say_journal()
            return False
        self.out.line("Applied.", "ok")
        self._say_journal()
        return True

    def _in_worker(self, work: Callable[[], _T], cancel: threading.Event, notice: str) -> _T:
        """Run ``work`` in a thread; Ctrl+C in this (main) thread sets ``cancel`` and waits on.

        The worker is never abandoned mid-call: AWS sees either a whole call or none.
        """
        box: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["value"] = work()
            except BaseException as error:  # handed to the main thread as it is
                box["error"] = error
            finally:
                done.set()

        threading.Thread(target=target, name="plain-worker", daemon=True).start()
        while True:
            try:
                # An Event, not Thread.join: on CPython 3.11 a join interrupted by Ctrl+C can
                # mark a still-running thread as ended (the bpo-45274 handling in
                # _wait_for_tstate_lock). The timeout lets Ctrl+C in on every platform.
                if done.wait(0.2):
                    break
            except KeyboardInterrupt:
                if cancel.is_set():
                    self.out.line("Still finishing; please wait (the journal records each step).")
                else:
                    cancel.set()
                    self.out.line()
                    self.out.line(notice)
        if "error" in box:
            raise box["error"]
        value: _T = box["value"]
        return value

    # Step 6 ------------------------------------------------------------------------------
    def export(self) -> int:
        state = self.state
        self.out.header(Step.EXPORT)
        region = state.region or self.flow.default_region
        groups = self.flow.log_groups(region)
        if not groups:
            self.out.line(f"No log groups in {region}: there is nothing to export yet.")
            self.out.header(Step.RESULT)
            self.out.line("The destination is set up; run the wizard again once logs exist.")
            self._say_journal()
            return 0
        names = [g.name for g in groups]
        choices = [
            questionary.Choice(f"{g.name}  ({_size(g.stored_bytes)} stored)", g.name)
            for g in groups
        ]
        state.log_group = questionary.select(
            "Log group for the test export:",
            choices=choices,
            default=state.log_group if state.log_group in names else names[0],
        ).unsafe_ask()
        state.window = questionary.text(
            "Export the events of the last (30m, 1h, 24h, 2d, 1w):",
            default=state.window,
            validate=lambda text: _bool_or_message(_duration_problem(text)),
        ).unsafe_ask()
        state.stream_prefix = questionary.text(
            "Only streams whose name starts with (Enter: every stream):",
            default=state.stream_prefix or "",
        ).unsafe_ask().strip() or None
        request = Flow.export_request(state)
        task_id = self._start_export(request)
        if task_id is None:
            return 0
        task = self._wait_export(request.region, task_id)
        if task is None:
            return EXIT_CANCELLED
        if task.status != "COMPLETED":
            self.out.header(Step.RESULT)
            self.out.line(aws_export.failure_explanation(task, request), "error")
            self._say_journal()
            self._say_repeat(request)
            return 1
        result = self.flow.collect_export(request, task, lines=DEFAULT_SAMPLE_LINES)
        state.result = result
        self.show_result(request, result)
        return 0

    def _start_export(self, request: aws_export.ExportRequest) -> str | None:
        """The task id; when another task is active, ask whether to wait, cancel it or stop."""
        cancel = threading.Event()
        patience = PROPAGATION_WAIT if self.state.applied is not None else 0.0
        while True:
            try:
                return self._in_worker(
                    lambda: self.flow.start_export(
                        request,
                        wait_for_propagation=patience,
                        on_wait=lambda wait: self.out.line(wait.describe(), "warning"),
                        cancel=cancel,
                    ),
                    cancel,
                    "Ctrl+C: stopping the wait ...",
                )
            except Cancelled:
                self.out.line("Stopped waiting; the destination changes stay in place.")
                self._say_journal()
                return None
            except ExportBusy as busy:
                other = busy.active
                self.out.line(
                    f"Another export task is active in {request.region}: {other.task_id} "
                    f"({other.log_group}, {other.status}). Only one may run at a time."
                )
                answer = questionary.select(
                    "What now?",
                    choices=[
                        questionary.Choice("Wait for it to finish", "wait"),
                        questionary.Choice(f"Cancel task {other.task_id}", "cancel"),
                        questionary.Choice("Skip the test export", "skip"),
                    ],
                ).unsafe_ask()
                if answer == "skip":
                    self.out.line("Skipped the test export; the destination is set up.")
                    self._say_journal()
                    return None
                if answer == "cancel":
                    self.flow.cancel_export(request.region, other.task_id)
                self._wait_export(request.region, other.task_id, theirs=True)

    def _wait_export(
        self, region: str, task_id: str, *, theirs: bool = False
    ) -> ExportTaskInfo | None:
        """Progress on one line: "export task ID: PENDING 0.5s / RUNNING 1.0s / COMPLETED 2.1s"."""
        cancel = threading.Event()
        seen: list[str] = []

        def on_status(info: ExportTaskInfo, elapsed: float) -> None:
            if seen and seen[-1] == info.status:
                return
            lead = f"export task {task_id}: " if not seen else " / "
            seen.append(info.status)
            self.out.write(f"{lead}{info.status} {elapsed:.1f}s")

        try:
            task = self._in_worker(
                lambda: self.flow.wait_export(region, task_id, on_status=on_status, cancel=cancel),
                cancel,
                "Ctrl+C: stopping the wait ...",
            )
        except Cancelled:
            task = None
        finally:
            if seen:
                self.out.line()
        if task is not None and not cancel.is_set():
            return task
        if theirs:
            raise KeyboardInterrupt  # the user gave up waiting for somebody else's task
        try:
            self.flow.cancel_export(region, task_id)
            self.out.line(f"Cancelled the export task {task_id}.")
        except WizardError as error:  # it may have finished meanwhile
            self.out.line(f"The export task {task_id} could not be cancelled: {error.message}")
        self.out.line("The destination changes stay in place.")
        self._say_journal()
        return None

    # Step 7 ------------------------------------------------------------------------------
    def show_result(
        self, request: aws_export.ExportRequest, result: aws_export.ExportResult
    ) -> None:
        self.out.header(Step.RESULT)
        task = result.task
        self.out.line(f"Export task {task.task_id}: {task.status}.", "ok")
        chosen = self._key_arn()
        if result.objects:
            self.out.line(f"Exported objects ({len(result.objects)}):")
        for obj in result.objects:
            self.out.line(f"  {obj.uri}  ({_size(obj.size)})", wrap=False)
            enc = obj.encryption
            if enc is None:
                continue  # not inspected: the first objects already show the encryption
            if enc.algorithm is None:
                proof = "not encrypted"
            elif enc.kms_key_id:
                mine = " - the chosen key" if chosen and enc.kms_key_id == chosen else ""
                proof = f"{enc.algorithm} with {enc.kms_key_id}{mine}"
            else:
                proof = enc.algorithm
            bucket_key = ", S3 Bucket Key on" if enc.bucket_key else ""
            self.out.line(f"    encrypted: {proof}{bucket_key}")
        if result.explanation:
            self.out.line(result.explanation, "warning")
        if result.sample:
            first = result.objects[0].key.rsplit("/", 1)[-1] if result.objects else "the object"
            self.out.line(f"Decrypted sample (the first {len(result.sample)} lines of {first}):")
            for text in result.sample:
                self.out.line(f"  {text}", wrap=False)
        self._say_journal()
        self._say_repeat(request)

    def _key_arn(self) -> str | None:
        applied = self.state.applied
        if applied is not None and applied.key_arn:
            return applied.key_arn
        review = self.state.review
        if review is not None and review.snapshot.key is not None:
            return review.snapshot.key.arn
        return self.state.key

    def _say_repeat(self, request: aws_export.ExportRequest) -> None:
        self.out.line("To repeat this export:")
        self.out.line(
            wrap=False,
            text="  "
            + export_command(
                request.region,
                request.log_group,
                request.bucket,
                request.prefix,
                request.from_ms,
                request.to_ms,
                request.stream_prefix,
            )
        )


def _index_of(changes: tuple[Change, ...], change: Change) -> int:
    for index, candidate in enumerate(changes):
        if candidate is change:
            return index
    for index, candidate in enumerate(changes):
        if candidate == change:
            return index
    return len(changes) - 1


# ------------------------------------------------------------------------------ entry


def run(options: launch.LaunchOptions) -> int:
    """``cwl-export-wizard --plain [--demo] [--repair BUCKET]``: the exit code."""
    out = Printer()
    sandbox = None
    try:
        if options.demo:
            out.line("Starting the sandbox (a local emulation of AWS; nothing real is touched) ...")
            sandbox = launch.start_sandbox(options)
            session = launch.sandbox_session(sandbox)
        else:
            session = launch.user_session(options)
        journal_dir = launch.sandbox_journal_dir() if options.demo else None
        wizard = PlainWizard(Flow(session, journal_dir=journal_dir), sandbox=options.demo, out=out)
        return wizard.run(repair=options.repair)
    except KeyboardInterrupt:
        out.line()
        out.line(CANCELLED_NOTHING_CHANGED)
        return EXIT_CANCELLED
    except WizardError as error:
        out.error(error)
        return error.exit_code
    finally:
        if sandbox is not None:
            sandbox.stop()
