"""The plain face: the same wizard, line by line, for terminals where a full-screen app is not.

Serial consoles, screen readers, CI logs, narrow panes and pasted transcripts get the same
steps, checks, previews and safety as the TUI. The flow (wizard.flow) decides everything: the
order of the steps, the defaults, what an answer may be, what to do when another export is
active, what the result says. This module only asks (wizard.asking: questionary prompts on a
terminal, numbered lines from piped input) and prints (wizard.render's lines, coloured only on
a terminal that wants it; colour never carries meaning on its own).
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TextIO, TypeVar

from wizard import launch, render
from wizard.asking import Asker, EndOfInput, LineAsker, Option, TerminalAsker
from wizard.core import wording
from wizard.core.change import Plan
from wizard.core.errors import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_NO_INPUT,
    EXIT_OK,
    ApplyCancelled,
    ApplyError,
    Cancelled,
    DriftError,
    ExportBusy,
    UsageError,
    WizardError,
)
from wizard.core.formats import PlanFormat
from wizard.core.outcomes import RollbackReport
from wizard.core.presets import DEFAULT_SAMPLE_LINES
from wizard.core.proof import markdown
from wizard.core.state import KEY_MANAGER_AWS, ExportTaskInfo
from wizard.core.text import count
from wizard.core.validate import (
    bucket_name_problem,
    normalize_alias,
    parse_source_accounts,
    prefix_problem,
    source_accounts_problem,
)
from wizard.core.verify import describe
from wizard.flow import (
    CODE_FORMATS,
    CODE_TITLES,
    CONFIRM_WORD,
    BusyChoice,
    BusyRounds,
    Flow,
    Review,
    Step,
    WizardState,
    before_after,
    confirmed,
    next_step,
    result_view,
    save_code,
    save_proof,
    undo_command,
    window_problem,
)
from wizard.terminal import COMMANDS_HINT as COMMANDS_HINT  # re-exported for callers
from wizard.terminal import STILL_FINISHING, _isatty, run_interruptible, supports_color
from wizard.terminal import tui_unavailable_reason as tui_unavailable_reason
from wizard.views import Line, busy_options, clearing_busy, export_busy, farewell, propagation

if TYPE_CHECKING:
    from wizard.aws.apply import ApplyResult, StepResult
    from wizard.aws.export import ExportRequest

EXIT_CANCELLED = EXIT_INTERRUPTED

_CREATE = "\0create"  # the select value of "create a new ..." (no key ARN or bucket looks like it)
_T = TypeVar("_T")


class Printer:
    """Plain lines on stdout (resolved at each write, so redirection and capture work)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        color: bool | None = None,
        terminal: TextIO | None = None,
    ) -> None:
        self._stream = stream
        self._color = color
        # Where the person is when stdout goes elsewhere (``--plain > log``): the terminal on
        # stderr. What they must see before answering, and the outcome, is written there too.
        self._terminal = terminal
        self._lock = threading.Lock()

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    @property
    def color(self) -> bool:
        if self._color is None:
            self._color = supports_color(self.stream, os.environ)
        return self._color

    def write(self, text: str, style: str | None = None, end: str = "") -> None:
        with self._lock:  # a whole line at once: the worker threads print progress too
            self.stream.write(render.paint(Line(text, style), self.color) + end)
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
        self.write(text, style, end="\n")

    def lines(self, lines: Iterable[Line], *, wrap: bool = True) -> None:
        for line in lines:
            self.line(line.text, line.style, wrap=wrap and not line.verbatim)

    def header(self, step: Step) -> None:
        self.line()
        self.line(step.indicator, "bold")
        self.line("-" * len(step.indicator))

    def to_person(self, lines: Iterable[Line]) -> None:
        """With stdout redirected, ``lines`` (already written to stdout) also on the person's
        terminal: what is about to change before the question, and the outcome at the end."""
        terminal = self._terminal
        if terminal is None:
            return
        colour = supports_color(terminal, os.environ)
        with self._lock:
            for line in lines:
                terminal.write(render.paint(line, colour) + "\n")
            terminal.flush()

    def error(self, error: WizardError) -> None:
        # One line and the fix: an expected failure never shows a traceback.
        stream = sys.stderr if self._stream is None else self._stream
        text = f"Error: {error.message}"
        if error.fix:
            text += f"\nFix: {error.fix}"
        with self._lock:
            stream.write(render.paint(Line(text, "error"), self.color) + "\n")
            stream.flush()


class _Ended(Exception):
    """The run ends here with ``code`` (what to say was said already)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class PlainWizard:
    """One plain-mode run over a Flow: questions through an Asker, output through a Printer."""

    def __init__(
        self, flow: Flow, *, sandbox: bool, ask: Asker, out: Printer | None = None
    ) -> None:
        self.flow = flow
        self.sandbox = sandbox
        self.ask = ask
        self.out = out or Printer()
        self.state = WizardState()
        self._steps: dict[Step, Callable[[], Step | None]] = {
            Step.REGION: self.choose_region,
            Step.KEY: self.choose_key,
            Step.BUCKET: self.choose_bucket,
            Step.REVIEW: self.review,
            Step.APPLY: self.apply,
            Step.EXPORT: self.export,
            Step.RESULT: self.result,
        }

    # Entry ------------------------------------------------------------------------------
    def run(self, repair: str | None = None) -> int:
        try:
            step: Step | None = Step.REGION
            if repair:
                self.state = self.repair(repair)
                step = Step.REVIEW
            while step is not None:
                step = self._steps[step]()
            self.out.to_person(farewell(self.state, sandbox=self.sandbox))
            result = self.state.result
            return EXIT_OK if result is None or result.succeeded else EXIT_FINDINGS
        except _Ended as ended:
            return ended.code
        except KeyboardInterrupt:
            return self._end("Cancelled.", EXIT_INTERRUPTED)
        except (EndOfInput, EOFError):  # the end of piped input, or Ctrl+D at a prompt
            return self._end("The input ended before every question was answered.", EXIT_NO_INPUT)
        except WizardError as error:
            self.out.error(error)
            return self._end("", error.exit_code)

    def _end(self, first: str, code: int) -> int:
        """What was changed (journal, undo) whichever way the run ends."""
        if first:
            self.out.line()
            self.out.line(first)
        said = farewell(self.state, sandbox=self.sandbox)
        self.out.lines(said)
        self.out.to_person([Line(first)] if first else [])
        self.out.to_person(said)
        return code

    def _next(self, current: Step) -> Step | None:
        return next_step(self.state, current)

    def _say_rollback(self, report: RollbackReport | None) -> None:
        """What remains after a rollback, with the commands that finish it by hand."""
        self.out.lines(render.remaining(report))

    # Steps 1-3 ---------------------------------------------------------------------------
    def choose_region(self) -> Step | None:
        self.out.header(Step.REGION)
        self._say_identity()
        regions = self.flow.regions()
        state = self.state
        default = state.region if state.region in regions else self.flow.default_region
        region = self.ask.select(
            "Region of the log groups and the bucket:",
            [Option(r, r) for r in regions],
            default if default in regions else None,
        )
        self.state = state.for_region(region)
        return self._next(Step.REGION)

    def _say_identity(self) -> None:
        identity = self.flow.identity()
        where = "the sandbox (nothing real is touched)" if self.sandbox else "AWS"
        self.out.line(f"Signed in to {where} as {identity.arn} (account {identity.account}).")

    @property
    def region(self) -> str:
        return self.state.region or self.flow.default_region

    def choose_key(self) -> Step | None:
        self.out.header(Step.KEY)
        state, region = self.state, self.region
        listed = self.flow.keys(region)
        suggested = state.create_key_alias or self.flow.suggested_alias(region)
        options = [Option(f"Create a new customer managed key ({suggested})", _CREATE)]
        unusable: list[tuple[str, str]] = []
        for option in listed:
            key = option.key
            # Short titles: a select list cuts long lines at the terminal's width.
            title = key.display_name
            if option.usable:
                kind = "AWS managed" if key.manager == KEY_MANAGER_AWS else "customer managed"
                title = f"{title} ({kind})"
            reason = None if option.usable else (option.reason or "not usable for exports")
            if reason:
                unusable.append((key.display_name, reason))
            options.append(Option(title, key.arn or key.reference, disabled=reason))
        self._say_unusable("Keys that cannot encrypt exports", unusable)
        usable = {o.value for o in options if o.disabled is None}
        if state.create_key_alias:
            default = _CREATE
        elif state.key in usable:
            default = state.key
        else:
            first = self.flow.default_key(listed)
            default = first.key.arn if first is not None and first.key.arn else _CREATE
        answer = self.ask.select("KMS key that encrypts the exported logs:", options, default)
        if answer != _CREATE:
            state.key, state.create_key_alias = answer, None
            return self._next(Step.KEY)
        alias = self.ask.text(
            "Alias for the new key:",
            suggested,
            validate=lambda text: self.flow.alias_problem(region, text),
        )
        state.key, state.create_key_alias = None, normalize_alias(alias)
        return self._next(Step.KEY)

    def choose_bucket(self) -> Step | None:
        self.out.header(Step.BUCKET)
        state, region = self.state, self.region
        listed = self.flow.buckets(region)
        suggested = (
            state.bucket
            if state.create_bucket and state.bucket
            else self.flow.suggested_bucket(region)
        )
        options = [Option(f"Create a new bucket ({suggested})", _CREATE)]
        unusable = []
        for option in listed:
            reason = None if option.usable else (option.reason or "not usable")
            if reason:
                unusable.append((option.name, reason))
            options.append(Option(option.name, option.name, disabled=reason))
        self._say_unusable("Buckets that cannot receive these exports", unusable)
        usable = {o.value for o in options if o.disabled is None}
        default = state.bucket if not state.create_bucket and state.bucket in usable else _CREATE
        answer = self.ask.select("S3 bucket the logs are exported to:", options, default)
        if answer == _CREATE:
            state.bucket = self.ask.text(
                "Name of the new bucket:",
                suggested,
                validate=self._new_bucket_problem,
                # The availability check asks S3: only when the name is submitted.
                check_while_typing=False,
            )
            state.create_bucket = True
        else:
            state.bucket, state.create_bucket = answer, False
            self._say_health(answer)
        state.prefix = self.ask.text(
            "Prefix (folder) for the exported objects:", state.prefix, validate=prefix_problem
        )
        self._ask_source_accounts()
        return self._next(Step.BUCKET)

    def _ask_source_accounts(self) -> None:
        """A central logging account: the other accounts whose log groups export here."""
        state = self.state
        source = self.flow.source_account()
        if source is not None:
            self.out.line(
                f"The log groups of account {source} export here (its caller runs the test "
                "export): the statements will name it."
            )
        given = [a for a in (*state.source_accounts, source or "") if a]
        answer = self.ask.text(
            "Other accounts whose log groups export here too (12-digit ids; Enter: none):",
            ", ".join(dict.fromkeys(given)),
            validate=source_accounts_problem,
        )
        state.source_accounts = parse_source_accounts(answer)

    def _say_health(self, bucket: str) -> None:
        try:
            health = self.flow.bucket_health(self.region, bucket, self.state.key)
        except WizardError as error:  # the review reads the bucket again and explains
            self.out.line(f"Could not check {bucket} yet: {error.message}")
            return
        verdict = "ready" if health.healthy else f"{health.verdict} (see the review)"
        self.out.line(f"{bucket}: {health.encryption}; {verdict}.")

    def _say_unusable(self, heading: str, items: list[tuple[str, str]]) -> None:
        """Why some entries are greyed out, as whole lines: the list itself is cut at the
        terminal's width and disappears once answered, while these lines stay in the log."""
        if not items:
            return
        self.out.line(f"{heading} (shown, not selectable):")
        for name, reason in items:
            self.out.line(f"  {name}: {reason}", "dim")

    def _new_bucket_problem(self, name: str) -> str | None:
        problem = bucket_name_problem(name)
        if problem is None:
            try:
                problem = self.flow.bucket_availability(name)
            except WizardError as error:
                problem = error.message
        return problem

    # Repair ------------------------------------------------------------------------------
    def repair(self, bucket: str) -> WizardState:
        problem = bucket_name_problem(bucket)
        if problem is not None:
            raise UsageError(f"--repair {bucket}: {problem}", "Give the name of an S3 bucket.")
        self.out.line(f"Repairing s3://{bucket}: steps 1 to 3 are read from the bucket.")
        self._say_identity()
        state = self.flow.repair_state(bucket)
        key = (
            f"{wording.new_key(state.create_key_alias)} (no usable key in {state.region})"
            if state.create_key_alias
            else "the bucket's own key if it can be used, else the first usable key"
        )
        self.out.line(f"Region {state.region}, prefix {state.prefix}; key: {key}.")
        return state

    # Step 4 ------------------------------------------------------------------------------
    def review(self) -> Step | None:
        self.out.header(Step.REVIEW)
        state = self.state
        review = self.flow.review(state.choices())
        state.review = review
        snap = review.snapshot
        key = wording.key_words(state.create_key_alias, snap.key, state.key, read=True)
        where = wording.destination(
            state.bucket or "", state.prefix, key, new_bucket=state.create_bucket
        )
        destination = f"Destination: {where} ({state.region})."
        self.out.line(destination)
        self.out.line()
        if review.findings:
            self.out.lines(render.findings(review.findings))
        else:
            self.out.line("Checks: no problems found.", "ok")
        self.out.line()
        planned = render.plan(review.plan)
        self.out.lines(planned)
        if not review.plan.empty or review.plan.blockers:
            # Before any question about it: what would change, where the person is.
            self.out.to_person([Line(destination), *planned, Line("")])
        self.offer_reproduce(review)
        return self.decide(review)

    def offer_reproduce(self, review: Review) -> None:
        """A destination with findings: ask AWS itself (a probe export), and show its answer
        verbatim beside the prediction."""
        if review.healthy or not review.snapshot.bucket.exists:
            return
        if not self.ask.confirm(
            "Reproduce the failure now? (a probe export of the last minute: AWS's own answer "
            "beside the prediction; it writes AWS's test object at most)",
            default=False,
        ):
            return
        self.out.line("Probe export: asking AWS...")
        cancel = threading.Event()
        try:
            verified = self._in_worker(
                lambda: self.flow.verify(self.state.choices(), review=review, cancel=cancel),
                cancel,
                "Stopping the probe export (its task, if it started, keeps running in AWS)...",
            )
        except WizardError as error:  # busy, cancelled, refused access: said; the Review goes on
            self.out.error(error)
            return
        self.state.reproduced = verified
        self.out.lines(render.verification(describe(verified.verification)))
        self.out.line()

    def decide(self, review: Review) -> Step | None:
        """Apply (or, with nothing to apply, the test export), save the plan as code, change
        the choices, or quit."""
        plan = review.plan
        back = Option("Change my choices (each answer so far is the default)", "back")
        quit_ = Option("Quit without changes", "quit")
        save = [Option(f"Save the plan as {CODE_TITLES[fmt]} instead", fmt) for fmt in CODE_FORMATS]
        if plan.empty and review.healthy:
            return self._next(Step.REVIEW)
        if plan.empty:
            answer = self.ask.select(
                "The wizard has nothing it may change that fixes this. What now?",
                [back, Option("Run the test export anyway", "go"), quit_],
                "back",
            )
        elif plan.blockers:
            # apply refuses a plan with blockers: the choices (or the account) must change first.
            answer = self._save_until_chosen(
                review, "The plan is blocked. What now?", [back, quit_, *save]
            )
        elif self._approved(review):
            answer = "go"
        else:
            self.out.line("Not applied.")
            # Saving comes last: the first answers keep their numbers for piped input.
            answer = self._save_until_chosen(review, "What now?", [back, quit_, *save])
        if answer == "go":
            return self._next(Step.REVIEW)
        if answer == "back":
            return Step.REGION
        raise _Ended(self._end("Stopped.", EXIT_OK))

    def _save_until_chosen(self, review: Review, question: str, options: list[Option]) -> str:
        """Ask; each "save as" writes its files (nothing in the account changes) and asks
        again, until the answer is something else."""
        while True:
            answer = self.ask.select(question, options, "back")
            if answer not in CODE_FORMATS:
                return answer
            try:
                saved = save_code(PlanFormat(answer), review)
            except WizardError as error:
                self.out.error(error)
                continue
            self.out.line(
                f"Saved {count(len(saved.paths), 'file')} in {saved.folder} "
                "(nothing in the account was changed):",
                "ok",
            )
            for path in saved.paths:
                self.out.line(f"  {path.name}", wrap=False)
            self.out.line("Next:")
            for step in saved.next_steps:
                self.out.line(f"  {step}", wrap=False)

    def _approved(self, review: Review) -> bool:
        number = len(review.plan.changes)
        these = "this change" if number == 1 else f"these {number} changes"
        if self.sandbox:
            return self.ask.confirm(f"Apply {these} to the sandbox?", default=False)
        typed = self.ask.text(
            f"Type {CONFIRM_WORD} to make {these} in account {review.snapshot.identity.account}, "
            f"{review.snapshot.region} (anything else: don't):",
            "",
        )
        return confirmed(typed)

    # Step 5 ------------------------------------------------------------------------------
    def apply(self) -> Step | None:
        """Apply in a worker thread; Ctrl+C lets the current AWS call finish, then the apply
        layer rolls back what it did."""
        self.out.header(Step.APPLY)
        review = self.state.review
        assert review is not None
        plan = review.plan
        cancel = threading.Event()
        try:
            self.state.applied = self.apply_plan(plan, cancel)
        except DriftError as error:
            # Someone changed a target since the preview: nothing was overwritten and the
            # earlier steps were rolled back. Show the plan for what is there now.
            self.out.error(error)
            self._say_rollback(error.report)
            self.out.line("Reviewing again with the current state.")
            return Step.REVIEW
        except ApplyError as error:  # cancelled, or a step failed: rolled back
            if isinstance(error, ApplyCancelled):
                self.out.line(error.message)
            else:
                self.out.error(error)
            self._say_rollback(error.report)
            code = EXIT_INTERRUPTED if isinstance(error, ApplyCancelled) else error.exit_code
            if error.restored_everything:
                raise _Ended(
                    self._end("Rolled back: the destination is as it was before.", code)
                ) from None
            self.out.line("Some changes could not be rolled back (above).", "error")
            self.out.line(f"Journal of the changes: {error.journal_path}", wrap=False)
            if not self.sandbox:
                self.out.line(
                    f"After dealing with them: {undo_command(str(error.journal_path))}", wrap=False
                )
            raise _Ended(code) from None
        if cancel.is_set():
            raise _Ended(
                self._end("Every change had been made before Ctrl+C took effect.", EXIT_INTERRUPTED)
            )
        self.out.line("Applied.", "ok")
        return self._next(Step.APPLY)

    def apply_plan(self, plan: Plan, cancel: threading.Event | None = None) -> ApplyResult:
        """The apply's result; raises ApplyCancelled when ``cancel`` (or Ctrl+C) stopped it."""
        cancel = cancel or threading.Event()
        total = len(plan.changes)
        position = {id(c): str(i) for i, c in enumerate(plan.changes, 1)}

        def on_step(step: StepResult) -> None:
            self.out.lines(
                [render.apply_step(position.get(id(step.change), "+"), total, step)], wrap=False
            )

        self.out.line("Applying (Ctrl+C stops after the current AWS call and rolls back).")
        return self._in_worker(
            lambda: self.flow.apply(
                plan,
                on_step=on_step,
                cancel=cancel,
                on_notice=lambda text: self.out.line(text, "warning"),
            ),
            cancel,
            "Ctrl+C: finishing the current AWS call, then rolling back ...",
        )

    def _in_worker(self, work: Callable[[], _T], cancel: threading.Event, notice: str) -> _T:
        """Run ``work`` in a thread; Ctrl+C sets ``cancel``, says ``notice`` and waits on."""

        def cancelling(_: KeyboardInterrupt) -> None:
            self.out.line()
            self.out.line(notice)

        return run_interruptible(
            work,
            cancel,
            on_cancel=cancelling,
            on_again=lambda: self.out.line(STILL_FINISHING),
            name="plain-worker",
        )

    # Step 6 ------------------------------------------------------------------------------
    def export(self) -> Step | None:
        state = self.state
        self.out.header(Step.EXPORT)
        groups = self.flow.log_groups(self.region)
        if not groups:
            self.out.line(f"No log groups in {self.region}: there is nothing to export yet.")
            self.out.line("The destination is set up; run test-export once logs exist.")
            raise _Ended(self._end("", EXIT_OK))
        names = [g.name for g in groups]
        state.log_group = self.ask.select(
            "Log group for the test export (most recently written first):",
            [
                Option(
                    g.name if g.stored_bytes is None else f"{g.name}  ({_size(g.stored_bytes)})",
                    g.name,
                )
                for g in groups
            ],
            state.log_group if state.log_group in names else names[0],
        )
        state.window = self.ask.text(
            "Export the events of the last (30m, 1h, 24h, 2d, 1w):",
            state.window,
            validate=window_problem,
        )
        state.stream_prefix = (
            self.ask.text(
                "Only streams whose name starts with (Enter: every stream):",
                state.stream_prefix or "",
            ).strip()
            or None
        )
        request = Flow.export_request(state)
        task_id = self._start_export(request)
        task = self._wait_export(request.region, task_id)
        state.result = self.flow.collect_export(request, task, lines=DEFAULT_SAMPLE_LINES)
        return self._next(Step.EXPORT)

    def _start_export(self, request: ExportRequest) -> str:
        """The task id; when another task is active, ask whether to wait, cancel it or skip."""
        cancel = threading.Event()
        rounds = BusyRounds()
        while True:
            try:
                return self._in_worker(
                    lambda: self.flow.start_export(
                        request,
                        on_wait=lambda wait: self.out.lines(propagation(wait)),
                        cancel=cancel,
                    ),
                    cancel,
                    "Ctrl+C: stopping the wait ...",
                )
            except Cancelled:
                raise _Ended(self._end("Stopped waiting.", EXIT_INTERRUPTED)) from None
            except ExportBusy as busy:
                rounds.next_round(busy)  # the flow's limit: ExportBusy says so, the run ends
                self._clear_busy(request.region, busy.active)

    def _clear_busy(self, region: str, active: ExportTaskInfo) -> None:
        self.out.lines(export_busy(region, active))
        options = busy_options()
        answer = BusyChoice(
            self.ask.select(
                "What now?",
                [Option(label, choice.value) for label, choice in options],
                options[0][1].value,
            )
        )
        if answer is BusyChoice.STOP:
            raise _Ended(self._end("Skipped the test export.", EXIT_OK))
        cancel = threading.Event()
        self.out.lines([clearing_busy(answer, active)])
        try:
            self._in_worker(
                lambda: self.flow.clear_busy(
                    region,
                    active,
                    answer,
                    on_status=self._status_printer(active.task_id),
                    cancel=cancel,
                ),
                cancel,
                "Ctrl+C: stopping the wait ...",
            )
        except Cancelled:
            raise _Ended(self._end("Stopped waiting.", EXIT_INTERRUPTED)) from None
        finally:
            self.out.line()

    def _status_printer(self, task_id: str) -> Callable[[ExportTaskInfo, float], None]:
        """Progress on one line: "export task ID: PENDING 0.5s / RUNNING 1.0s / COMPLETED"."""
        seen: list[str] = []

        def on_status(info: ExportTaskInfo, elapsed: float) -> None:
            if seen and seen[-1] == info.status:
                return
            lead = f"export task {info.task_id or task_id}: " if not seen else " / "
            seen.append(info.status)
            self.out.write(f"{lead}{info.status} {elapsed:.1f}s")

        return on_status

    def _wait_export(self, region: str, task_id: str) -> ExportTaskInfo:
        cancel = threading.Event()
        try:
            task = self._in_worker(
                lambda: self.flow.wait_export(
                    region, task_id, on_status=self._status_printer(task_id), cancel=cancel
                ),
                cancel,
                "Ctrl+C: stopping the wait and cancelling the task ...",
            )
        except Cancelled:
            task = None
        finally:
            self.out.line()
        if task is not None and not cancel.is_set():
            return task
        try:
            self.flow.cancel_export(region, task_id)
            self.out.line(f"Cancelled the export task {task_id}.")
        except WizardError as error:  # it may have finished meanwhile
            self.out.line(f"The export task {task_id} could not be cancelled: {error.message}")
        raise _Ended(self._end("Stopped the test export.", EXIT_INTERRUPTED))

    # Step 7 ------------------------------------------------------------------------------
    def result(self) -> Step | None:
        self.out.header(Step.RESULT)
        state = self.state
        assert state.result is not None
        encryption = state.result.encryption
        key = encryption.kms_key_id if encryption is not None else None
        alias = state.create_key_alias or self.flow.key_alias(state.region, key)
        view = result_view(
            state,
            state.result,
            sandbox=self.sandbox,
            key_alias=alias,
            source_account=self.flow.source_account(),
            profile=self.flow.export_profile(),
        )
        lines = render.result(view)
        self.out.lines(lines)
        self.out.to_person(lines[:1])  # the verdict; the farewell follows
        card = before_after(state, view)
        if card is not None:  # the failure was reproduced in this run: before, after, proof
            self.out.line()
            self.out.line("Before:", "bold")
            self.out.lines([Line(f"  {text}", verbatim=True) for text in card.before])
            self.out.line("After:", "bold")
            self.out.lines([Line(f"  {text}", verbatim=True) for text in card.after])
            if self.ask.confirm("Save the proof (Markdown, in the current folder)?", default=False):
                proof = self.flow.proof(state, state.result, key_alias=alias)
                path = save_proof(markdown(proof), state)
                self.out.line(f"Saved the proof: {path}", "ok", wrap=False)
        return self._next(Step.RESULT)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# ------------------------------------------------------------------------------ entry


def asker_for_this_terminal() -> Asker:
    """questionary when a person types at a terminal, numbered lines when answers are piped.

    With stdout redirected to a file (``--plain > log``) the prompts are drawn on stderr, so
    the log holds the wizard's lines and not the prompts' redraws.
    """
    if not _isatty(sys.stdin):
        return LineAsker()
    # TERM=dumb: no cursor movement and no reverse video, so no select lists: numbered lines.
    dumb = os.environ.get("TERM", "") == "dumb"
    if _isatty(sys.stdout):
        return LineAsker() if dumb else TerminalAsker()
    if _isatty(sys.stderr):
        if dumb:
            return LineAsker(output=sys.stderr)
        from prompt_toolkit.output import create_output

        return TerminalAsker(output=create_output(stdout=sys.stderr))
    return LineAsker()


def person_terminal() -> TextIO | None:
    """The terminal on stderr when stdout goes to a file or a pipe (``--plain > log``)."""
    if not _isatty(sys.stdout) and _isatty(sys.stderr):
        return sys.stderr
    return None


def run(options: launch.LaunchOptions, asker: Asker | None = None) -> int:
    """``cwl-export-wizard --plain [--demo] [--repair BUCKET]``: the exit code."""
    out = Printer(terminal=person_terminal())
    sandbox = None
    flow = None
    try:
        ask = asker if asker is not None else asker_for_this_terminal()
        if options.demo:
            out.line("Starting the sandbox (a local emulation of AWS; nothing real is touched) ...")
            sandbox = launch.start_sandbox(options)
            session = launch.sandbox_session(sandbox)
        else:
            session = launch.user_session(options)
        journal_dir = launch.sandbox_journal_dir() if options.demo else None
        source = launch.source_session(options, sandbox)
        flow = Flow(session, journal_dir=journal_dir, source=source)
        wizard = PlainWizard(flow, sandbox=options.demo, ask=ask, out=out)
        return wizard.run(repair=options.repair)
    except KeyboardInterrupt:
        out.line()
        out.line(f"Cancelled. {wording.NOTHING_CHANGED}")
        return EXIT_INTERRUPTED
    except WizardError as error:
        out.error(error)
        return error.exit_code
    finally:
        if flow is not None:
            flow.close()
        if sandbox is not None:
            sandbox.stop()
