"""Apply a core Plan safely, and put an apply back (rollback, undo).

Apply: one apply at a time per account and region (``wizard.aws.lock``); a journal written
ahead of every write (``wizard.aws.journal``); before each write the target is read again
and compared with the change's "before" (a document someone changed since the preview is
never overwritten); after the last write the destination is read again and planned again,
so that a grant another writer removed meanwhile is merged again (a few rounds at most) or
reported.

Rollback and undo share one loop, ``reconcile``: every step that may have been sent is
judged by reading its target now, and the pure judge (``wizard.core.rollback``) says what that
reading means. As the apply left it: put it back. As before: nothing to do. Anything else:
someone changed it since; it is left as it is, named, and counted as not restored. A report
says exactly what remains and how to finish it by hand; "restored" is never said while
anything differs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard import __version__
from wizard.aws import actions as moving
from wizard.aws.journal import (
    Journal,
    JournalStep,
    default_journal_dir,
    journals,
    load,
    new_journal_path,
    now_iso,
    order,
)
from wizard.aws.lock import DEFAULT_WAIT, DestinationLock, Holder, lock_path
from wizard.aws.session import AwsSession, translate
from wizard.aws.snapshot import read_bucket
from wizard.core import rollback as judge
from wizard.core.actions import NEW_KEY_ARN, spec
from wizard.core.change import Action, Change, Plan
from wizard.core.errors import (
    ApplyCancelled,
    ApplyError,
    AwsError,
    DriftError,
    UsageError,
    WizardError,
)
from wizard.core.outcomes import (
    JournalStatus,
    Outcome,
    RollbackReport,
    StepReport,
    StepStatus,
    undo_command,
)
from wizard.core.text import count, sentence

__all__ = [
    "ApplyResult",
    "StepResult",
    "acquire_lock",
    "default_journal_dir",
    "destination_lock",
    "reconcile",
    "run",
    "undo",
]

MAX_ROUNDS = 3  # an apply and at most two merges of what another writer removed meanwhile
# Error codes after which a write may still have happened (its answer was lost).
_UNCERTAIN = (
    "NetworkError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "KMSInternalException",
    "ServiceFailure",
    "Timeout",
)


@dataclass(frozen=True)
class StepResult:
    change: Change
    status: StepStatus
    message: str


@dataclass(frozen=True)
class ApplyResult:
    journal_path: Path
    steps: tuple[StepResult, ...]
    key_arn: str | None
    rounds: int = 1  # more than 1: another writer's change was merged again


Notify = Callable[[str], None]


def destination_lock(journal_dir: Path | None, account: str, region: str) -> DestinationLock:
    return DestinationLock(lock_path(journal_dir or default_journal_dir(), account, region))


def acquire_lock(
    lock: DestinationLock,
    *,
    wait: float = DEFAULT_WAIT,
    cancel: threading.Event | None = None,
    on_notice: Notify | None = None,
    undoing: Path | None = None,
) -> None:
    """Take ``lock``, waiting up to ``wait`` for another apply; ``on_notice`` hears that it
    waits, and about an earlier apply that ended without finishing (unless that apply is the
    one being undone, ``undoing``: the undo is already what the notice would ask for)."""

    def waiting(holder: Holder | None) -> None:
        if on_notice is not None:
            who = holder.describe() if holder else "another process"
            on_notice(f"Waiting for another apply on this account and region to finish: {who}.")

    lock.acquire(wait=wait, on_wait=waiting, cancel=cancel)
    previous = lock.previous
    if previous is not None and undoing is not None and _same_file(previous.journal, undoing):
        return
    if previous is not None and on_notice is not None:
        check = (
            f" Check it with: cwl-export-wizard undo {previous.journal}"
            if (previous.journal)
            else ""
        )
        on_notice(
            f"An earlier apply ({previous.describe()}) ended without finishing; some of its "
            f"changes may be in place.{check}"
        )


def _same_file(recorded: str | None, path: Path) -> bool:
    if not recorded:
        return False
    try:
        return Path(recorded).resolve() == path.resolve()
    except (OSError, RuntimeError):  # a path that cannot be resolved is not this one
        return False


# --- the journal of a plan ----------------------------------------------------------------


def _part_of(changes: Sequence[Change], index: int, offset: int) -> int | None:
    """The step that creates this change's target: a new bucket's settings, a new key's."""
    change = changes[index]
    for number, other in enumerate(changes[:index]):
        if (
            other.action is Action.CREATE_BUCKET
            and change.action not in judge.CREATES
            and change.params.get("bucket") == other.params.get("bucket")
        ):
            return offset + number
        if (
            other.action is Action.CREATE_KEY
            and change.action in (Action.ENABLE_KEY_ROTATION, Action.PUT_KEY_POLICY)
            and change.params.get("key_id") == NEW_KEY_ARN
        ):
            return offset + number
    return None


def _steps(changes: Sequence[Change], offset: int) -> list[JournalStep]:
    return [
        JournalStep(
            index=offset + i,
            action=change.action,
            target=change.target,
            summary=change.summary,
            params=dict(change.params),
            before=change.before,
            after=change.after,
            part_of=_part_of(changes, i, offset),
            before_text=change.before_text,
            after_text=change.after_text,
        )
        for i, change in enumerate(changes)
    ]


def _new_journal(directory: Path, session: AwsSession, plan: Plan, region: str) -> Journal:
    identity = session.identity()
    path, journal_id = new_journal_path(directory)
    return Journal(
        path=path,
        journal_id=journal_id,
        account=identity.account,
        identity=identity.arn,
        partition=identity.partition,
        region=region,
        endpoint=session.endpoint_url,
        time=now_iso(),
        started_ns=time.time_ns(),
        profile=session.profile,
        version=__version__,
        status=JournalStatus.STARTED,
        steps=_steps(plan.changes, 0),
        created={},
    )


# --- apply --------------------------------------------------------------------------------


def _uncertain(error: WizardError) -> bool:
    code = error.code if isinstance(error, AwsError) else None
    return code is None or code in _UNCERTAIN or code.startswith("5")


def _drift_check(ctx: moving.WriteContext, step: JournalStep) -> bool:
    """Raise DriftError when the target is not as previewed; True: already as planned."""
    session = moving.regional(ctx.session, step)
    action = step.action
    if step.part_of is not None or action is Action.CREATE_ALIAS:
        return False  # created by this run: no one else's change can be lost
    if action is Action.CREATE_KEY:
        alias = step.params.get("alias")
        if alias and moving.alias_target(session, alias) is not None:
            raise DriftError(
                f"The alias {alias} was created since the preview; no key was created.",
                fix="Run plan again.",
            )
        return False
    if action is Action.CREATE_BUCKET:
        state = read_bucket(session, step.params["bucket"])
        if state.exists:
            raise DriftError(
                f"s3://{step.params['bucket']} was created since the preview; nothing was "
                "overwritten.",
                fix="Run plan again.",
            )
        return False
    now = moving.current(session, step, ctx.key_arn)
    if now == step.before:
        return False
    if now is not None and now == step.after:
        return True
    what = spec(action).target_name(step.params, step.target)
    raise DriftError(
        f"{sentence(what)} changed since the preview; nothing was overwritten.",
        fix="Run plan again: it starts from what is there now.",
    )


def _apply_steps(
    ctx: moving.WriteContext,
    changes: Sequence[Change],
    first: int,
    on_step: Callable[[StepResult], None] | None,
    cancel: threading.Event | None,
    results: list[StepResult],
) -> None:
    journal = ctx.journal
    total = len(journal.steps)
    for offset, change in enumerate(changes):
        index = first + offset
        step = journal.steps[index]
        if cancel is not None and cancel.is_set():
            report = reconcile(ctx.session, journal, on_report=ctx.on_rollback)
            _finish(journal, report)
            raise ApplyCancelled(
                f"Stopped after {count(index, 'step')} of {total}. {_summary(report)}",
                report=report,
                journal_path=str(journal.path),
            )
        # The new key's ARN is known once CreateKey answered: resolve, then journal it.
        step.params = {k: moving.resolve(v, ctx.key_arn) or "" for k, v in step.params.items()}
        step.after = moving.resolve(step.after, ctx.key_arn)
        step.after_text = moving.resolve(step.after_text, ctx.key_arn)
        try:
            if _drift_check(ctx, step):
                journal.mark(index, StepStatus.UNCHANGED, "already as planned")
                _tell(results, on_step, change, StepStatus.UNCHANGED, "already as planned")
                continue
        except DriftError as error:
            report = reconcile(ctx.session, journal, on_report=ctx.on_rollback)
            _finish(journal, report)
            if report.touched:
                error.message = f"{error.message} {_summary(report)}"
                error.args = (error.message,)
            error.report, error.journal_path = report, str(journal.path)
            raise
        except WizardError as error:
            _tell(results, on_step, change, StepStatus.FAILED, error.message)
            raise _failed(ctx, index, change, error, " while reading the current state") from error
        journal.mark(index, StepStatus.IN_FLIGHT, "sent; no answer recorded yet")
        try:
            message = moving.write(ctx, step)
        except Exception as error:  # a botocore surprise too: still roll back
            wrapped = translate(error, change.action.value)
            step.uncertain = not isinstance(error, WizardError) or _uncertain(wrapped)
            _tell(results, on_step, change, StepStatus.FAILED, wrapped.message)
            raise _failed(ctx, index, change, wrapped, "") from error
        if change.action is Action.CREATE_KEY and ctx.key_arn and ctx.key_id:
            journal.created.update({"key_arn": ctx.key_arn, "key_id": ctx.key_id})
        elif change.action is Action.CREATE_BUCKET:
            journal.created["bucket"] = step.params["bucket"]
        elif change.action is Action.CREATE_ALIAS:
            journal.created["alias"] = step.params.get("alias", "")
        journal.mark(index, StepStatus.APPLIED, message)
        _tell(results, on_step, change, StepStatus.APPLIED, message)


def _tell(
    results: list[StepResult],
    on_step: Callable[[StepResult], None] | None,
    change: Change,
    status: StepStatus,
    message: str,
) -> None:
    result = StepResult(change, status, message)
    results.append(result)
    if on_step is not None:
        on_step(result)


def _failed(
    ctx: moving.WriteContext, index: int, change: Change, error: WizardError, stage: str
) -> ApplyError:
    journal = ctx.journal
    journal.mark(index, StepStatus.FAILED, error.message)
    report = reconcile(ctx.session, journal, on_report=ctx.on_rollback)
    _finish(journal, report)
    message = (
        f"Step {index + 1} of {len(journal.steps)} ({change.action.value} on {change.target}) "
        f"failed{stage}: {error.message.rstrip('.')}. {_summary(report)}"
    )
    return ApplyError(
        message,
        fix=error.fix,
        details=error.details,
        report=report,
        journal_path=str(journal.path),
    )


def _summary(report: RollbackReport) -> str:
    """One sentence or two for an error message: what was put back, what remains."""
    if not report.touched:
        return "Nothing had been changed."
    restored = [s.message for s in report.steps if s.outcome is Outcome.RESTORED]
    parts = []
    if restored:
        parts.append("Rolled back: " + "; ".join(restored) + ".")
    if report.complete:
        parts.append("The account is as it was before.")
    else:
        parts.append("NOT rolled back: " + "; ".join(s.message for s in report.remaining) + ".")
    return " ".join(parts)


def _finish(journal: Journal, report: RollbackReport) -> None:
    journal.status = JournalStatus.ROLLED_BACK if report.complete else JournalStatus.NOT_ROLLED_BACK
    journal.finished = now_iso()
    journal.save()


def _follow_up(session: AwsSession, plan: Plan) -> Plan | None:
    """The plan again, from what the account holds now: empty when this apply's result holds."""
    from wizard.aws import snapshot
    from wizard.core import plan as core_plan

    if plan.choices is None:
        return None
    return core_plan.build(snapshot.read(session, plan.choices), plan.choices)


def run(
    session: AwsSession,
    plan: Plan,
    *,
    journal_dir: Path | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    on_notice: Notify | None = None,
    cancel: threading.Event | None = None,
    lock: DestinationLock | None = None,
    lock_wait: float = DEFAULT_WAIT,
) -> ApplyResult:
    """Execute ``plan`` in order. Raises DriftError, ApplyError or ApplyCancelled after rolling
    back (their ``report`` says what remains). ``lock``: one already held by the caller."""
    if plan.blockers:
        raise UsageError(
            "The plan has blockers; nothing was applied: " + " ".join(plan.blockers),
            fix="Resolve the blockers, then run plan again.",
        )
    directory = journal_dir or default_journal_dir()
    region = plan.choices.region if plan.choices else session.region
    identity = session.identity()
    own_lock = lock is None
    held = lock or destination_lock(directory, identity.account, region)
    if own_lock:
        acquire_lock(held, wait=lock_wait, cancel=cancel, on_notice=on_notice)
    try:
        journal = _new_journal(directory, session, plan, region)
        journal.save()  # before the first write
        held.note_journal(str(journal.path))
        ctx = moving.WriteContext(session, journal)
        changes = list(plan.changes)  # every change in journal order (later rounds append)

        def rolled_back(report: StepReport) -> None:
            if on_step is not None:
                status = judge.status_after(report.outcome)
                on_step(StepResult(changes[report.index], status, report.message))

        ctx.on_rollback = rolled_back
        results: list[StepResult] = []
        _apply_steps(ctx, plan.changes, 0, on_step, cancel, results)
        rounds = 1
        while True:
            follow_up = _follow_up(session, plan)
            if follow_up is None or (follow_up.empty and not follow_up.blockers):
                break
            if follow_up.blockers or rounds >= MAX_ROUNDS:
                journal.status = JournalStatus.APPLIED
                journal.finished = now_iso()
                journal.save()
                missing = "; ".join(c.summary for c in follow_up.changes) or "; ".join(
                    follow_up.blockers
                )
                raise ApplyError(
                    "Every change was made, but the destination does not hold them now: "
                    f"another writer changed it meanwhile ({missing}).",
                    fix="Find who else changes this bucket or key, then run apply again.",
                    journal_path=str(journal.path),
                )
            # Someone removed part of what this apply wrote (their own read-merge-write raced
            # with ours): merge again from what is there now, in the same journal.
            rounds += 1
            first = len(journal.steps)
            journal.steps.extend(_steps(follow_up.changes, first))
            changes.extend(follow_up.changes)
            journal.save()
            _apply_steps(ctx, follow_up.changes, first, on_step, cancel, results)
        journal.status = JournalStatus.APPLIED
        journal.finished = now_iso()
        journal.save()
        return ApplyResult(journal.path, tuple(results), ctx.key_arn, rounds)
    finally:
        if own_lock:
            held.release()


# --- reconcile: rollback and undo ---------------------------------------------------------


def later_holding_steps(journal: Journal) -> list[tuple[Journal, JournalStep]]:
    """The steps of later journals of the same folder, account and endpoint whose change is
    (or may be) still in place. Journals that cannot be read are skipped: they cannot be
    trusted to say anything."""
    mine = order(journal)
    found: list[tuple[Journal, JournalStep]] = []
    for path in journals(journal.path.parent):
        if path.resolve() == journal.path.resolve():
            continue
        try:
            other = load(path)
        except WizardError:
            continue
        if other.account != journal.account or other.endpoint != journal.endpoint:
            continue
        if order(other) <= mine:
            continue
        for step in other.steps:
            if judge.holds(step.status, step.uncertain):
                found.append((other, step))
    return found


def _later(journal: Journal | None) -> judge.Later | None:
    return None if journal is None else _later_of(journal)


def _later_of(journal: Journal) -> judge.Later:
    return judge.Later(str(journal.path), journal.path.name, journal.time)


@dataclass
class _Reconciler:
    """One reconciliation of a journal against the account: reads it, asks
    ``wizard.core.rollback`` what each step's reading means, and carries that out."""

    session: AwsSession
    journal: Journal
    on_report: Callable[[StepReport], None] | None

    def __post_init__(self) -> None:
        self.reports: dict[int, StepReport] = {}
        self.key: moving.FoundKey | None = None
        self.key_looked_for = False
        self.later: list[tuple[Journal, JournalStep]] | None = None

    def later_steps(self) -> list[tuple[Journal, JournalStep]]:
        if self.later is None:
            self.later = later_holding_steps(self.journal)
        return self.later

    def later_writer(self, step: JournalStep) -> Journal | None:
        """The latest later journal of this folder whose change to the same target holds."""
        identity = judge.target_identity(step, self.key_arn)
        found = [
            journal
            for journal, other in self.later_steps()
            if judge.target_identity(other, journal.created.get("key_arn")) == identity
        ]
        return max(found, key=order) if found else None

    def later_user(self, *, bucket: str | None = None, key: Sequence[str] = ()) -> Journal | None:
        """A later journal whose change still in place is to ``bucket``, or names the key
        (by id, ARN or alias) in its parameters or its document: it builds on this apply."""
        for journal, step in self.later_steps():
            if judge.builds_on(step, bucket=bucket, key=key):
                return journal
        return None

    @property
    def key_arn(self) -> str | None:
        return self.journal.created.get("key_arn") or (self.key.arn if self.key else None)

    def region(self, step: JournalStep) -> str:
        return step.params.get("region") or self.journal.region

    def created_key(self) -> moving.FoundKey | None:
        if not self.key_looked_for:
            self.key_looked_for = True
            creates = [s for s in self.journal.steps if s.action is Action.CREATE_KEY]
            if any(s.status.started for s in creates):
                self.key = moving.find_created_key(self.session, self.journal)
        return self.key

    def live(self, step: JournalStep) -> judge.Live:
        """What the step's target holds now, or why it could not be read."""
        try:
            return moving.current(self.session, step, self.key_arn)
        except WizardError as error:
            return judge.Unreadable(error.message)

    def manual(self, step: JournalStep, verdict: judge.Verdict) -> tuple[str, ...]:
        """The commands that finish a step by hand, as the verdict names them."""
        region = self.region(step)
        kind = verdict.manual
        if kind is judge.Manual.RESTORE:
            return moving.manual_restore(self.journal, step, self.key_arn)
        if kind is judge.Manual.UNDO_LATER and verdict.later is not None:
            return (undo_command(verdict.later.path),)
        if kind is judge.Manual.DELETE_BUCKET:
            return moving.manual_bucket_deletion(region, step.params["bucket"], 0)
        if kind is judge.Manual.EMPTY_AND_DELETE_BUCKET:
            return moving.manual_bucket_deletion(region, step.params["bucket"], 1)
        if kind is judge.Manual.DELETE_ALIAS:
            return (moving.manual_alias_deletion(region, step.params.get("alias", "")),)
        if kind is judge.Manual.DELETE_KEY and self.key is not None:
            return (moving.manual_key_deletion(region, self.key.key_id),)
        if kind is judge.Manual.FIND_AND_DELETE_KEY:
            return (
                "# find the key tagged cwl-export-wizard:journal = "
                f"{self.journal.journal_id}, then:",
                moving.manual_key_deletion(region, "KEY_ID"),
            )
        return ()

    def report(self, step: JournalStep, verdict: judge.Verdict) -> StepReport:
        report = StepReport(
            step.index,
            step.action.value,
            step.target,
            verdict.outcome,
            verdict.message,
            self.manual(step, verdict),
        )
        self.reports[step.index] = report
        self.journal.mark(step.index, judge.status_after(verdict.outcome), verdict.message)
        if self.on_report is not None:
            self.on_report(report)
        return report

    def sending(self, step: JournalStep) -> None:
        self.journal.mark(step.index, StepStatus.ROLLING_BACK, "putting it back: call sent")

    # -- documents of existing resources

    def already_put_back(self, step: JournalStep) -> None:
        """The journal says this step was put back: the account is read to say what it holds
        now, and nothing is ever written."""
        creates = step.action in judge.CREATES
        later = _later(self.later_writer(step))
        live = None if creates else self.live(step)
        verdict = judge.already_put_back(
            self._name(step.index),
            creates=creates,
            before=step.before,
            after=step.after,
            live=live,
            later=later,
        )
        self.report(step, verdict)

    def document(self, step: JournalStep) -> None:
        what = self._name(step.index)
        later = _later(self.later_writer(step))
        decision = judge.document(what, step.before, step.after, self.live(step), later)
        if isinstance(decision, judge.Verdict):
            self.report(step, decision)
            return
        self.sending(step)
        try:
            done = moving.put_back(self.session, step, self.key_arn)
            again: judge.Live = moving.current(self.session, step, self.key_arn)
        except WizardError as error:
            done, again = "", judge.Unreadable(error.message)
        self.report(step, judge.document_put_back(what, step.before, again, done))

    # -- what this apply created

    def bucket(self, step: JournalStep, keep: str | None) -> None:
        bucket = step.params["bucket"]
        session = moving.regional(self.session, step)
        live: judge.BucketFacts | judge.Unreadable
        try:
            exists = moving.bucket_exists(session, bucket)
            objects = moving.bucket_object_count(session, bucket) if exists else 0
            live = judge.BucketFacts(exists, objects)
        except WizardError as error:
            live = judge.Unreadable(error.message)
        decision = judge.bucket(bucket, live, keep, _later(self.later_user(bucket=bucket)))
        if isinstance(decision, judge.Verdict):
            self.report(step, decision)
            return
        self.sending(step)
        gone: bool | judge.Unreadable
        try:
            moving.delete_bucket(session, bucket)
            gone = not moving.bucket_exists(session, bucket)
        except WizardError as error:
            gone = judge.Unreadable(error.message)
        self.report(step, judge.bucket_deleted(bucket, gone))

    def alias(self, step: JournalStep, keep: str | None) -> None:
        alias = step.params.get("alias", "")
        session = moving.regional(self.session, step)
        target: str | judge.Unreadable | None
        key_id: str | None = None
        try:
            target = moving.alias_target(session, alias)
            key = self.created_key()
            key_id = key.key_id if key is not None else None
        except WizardError as error:
            target = judge.Unreadable(error.message)
        decision = judge.alias(alias, target, key_id, keep)
        if isinstance(decision, judge.Verdict):
            self.report(step, decision)
            return
        self.sending(step)
        gone: bool | judge.Unreadable
        try:
            moving.delete_alias(session, alias)
            gone = moving.alias_target(session, alias) is None
        except WizardError as error:
            gone = judge.Unreadable(error.message)
        self.report(step, judge.alias_deleted(alias, gone))

    def new_key(self, step: JournalStep, keep: str | None) -> None:
        session = moving.regional(self.session, step)
        key: moving.FoundKey | judge.Unreadable | None
        try:
            key = self.created_key()
        except WizardError as error:
            key = judge.Unreadable(error.message)
        decision = judge.new_key(key, keep)
        if isinstance(decision, judge.Verdict):
            self.report(step, decision)
            return
        if not isinstance(key, moving.FoundKey):  # pragma: no cover: PutBack means one was found
            return
        self.sending(step)
        failed: judge.Unreadable | None = None
        try:
            moving.schedule_key_deletion(session, key.key_id)
        except WizardError as error:
            failed = judge.Unreadable(error.message)
        self.report(step, judge.key_scheduled(key, failed, moving.KEY_DELETION_WINDOW_DAYS))

    # -- the whole journal: the one loop

    def run(self) -> RollbackReport:
        done = [s for s in self.journal.steps if s.status is StepStatus.ROLLED_BACK]
        for step in reversed(done):
            if step.part_of is None:
                self.already_put_back(step)
        for step in self.journal.steps:
            if step.damaged and step.status.started and step.status is not StepStatus.ROLLED_BACK:
                self.report(step, judge.damaged(step.damaged, self._name(step.index)))
        started = [
            s
            for s in self.journal.steps
            if s.status.started
            and s.status is not StepStatus.ROLLED_BACK
            and s.index not in self.reports
        ]
        # First what this apply changed in place (newest first), then what it created: a
        # created key or bucket is removed only when nothing left changed may still use it.
        for step in reversed(started):
            if step.part_of is None and step.action not in judge.CREATES:
                self.document(step)
        keep = judge.kept_for(
            [self._name(r.index) for r in self.reports.values() if r.outcome.remains]
        )
        pending = [s for s in self.journal.steps if s.index not in self.reports]
        for step in reversed(pending):
            if step.action is Action.CREATE_BUCKET and self._reached(step):
                self.bucket(step, keep)
        bucket_kept = any(
            r.outcome.remains for s, r in self._by_step() if s.action is Action.CREATE_BUCKET
        )
        key_keep = (
            keep
            or ("the new bucket that uses it was kept" if bucket_kept else None)
            or self.key_still_needed()
        )
        alias_keep = judge.alias_kept_for(key_keep)
        for step in reversed(pending):
            if step.action is Action.CREATE_ALIAS and step.status.started:
                self.alias(step, alias_keep)
        for step in reversed(pending):
            if step.action is Action.CREATE_KEY and self._reached(step):
                self.new_key(step, key_keep)
        for step in reversed(self.journal.steps):  # settings of a created bucket or key
            if step.part_of is not None and step.status.started and step.index not in self.reports:
                parent = self.reports.get(step.part_of)
                self.report(
                    step,
                    judge.part_of(
                        self._name(step.index),
                        parent.outcome if parent is not None else None,
                        self._name(step.part_of),
                    ),
                )
        ordered = tuple(self.reports[i] for i in sorted(self.reports, reverse=True))
        return RollbackReport(str(self.journal.path), ordered)

    def key_still_needed(self) -> str | None:
        """Why the key this apply created must stay although its own changes are gone: a
        later apply builds on it, or objects written since may be encrypted with it (deleting
        the key would make them unreadable for ever)."""
        if not any(s.action is Action.CREATE_KEY and self._reached(s) for s in self.journal.steps):
            return None
        try:
            key = self.created_key()
        except WizardError:
            return None  # new_key() reports why it cannot look
        if key is None:
            return None
        alias = self.journal.created.get("alias") or next(
            (
                s.params.get("alias", "")
                for s in self.journal.steps
                if s.action is Action.CREATE_ALIAS
            ),
            "",
        )
        later = self.later_user(key=(key.key_id, key.arn, alias))
        if later is not None:
            return judge.key_used_by_later(_later_of(later))
        buckets = {
            s.params["bucket"]: s
            for s in self.journal.steps
            if s.status.started
            and "bucket" in s.params
            and s.action in (Action.PUT_BUCKET_ENCRYPTION, Action.CREATE_BUCKET)
        }
        for bucket, step in sorted(buckets.items()):
            session = moving.regional(self.session, step)
            written: int | judge.Unreadable
            try:
                if not moving.bucket_exists(session, bucket):
                    continue
                written = moving.objects_written_since(session, bucket, self.journal.time)
            except WizardError as error:
                written = judge.Unreadable(error.message)
            reason = judge.key_used_by_bucket(bucket, written)
            if reason is not None:
                return reason
        return None

    def _name(self, index: int) -> str:
        step = self.journal.steps[index]
        return spec(step.action).target_name(step.params, step.target)

    def _reached(self, step: JournalStep) -> bool:
        """A create whose own settings were sent counts as started too (a lost answer)."""
        return step.status.started or any(
            s.part_of == step.index and s.status.started for s in self.journal.steps
        )

    def _by_step(self) -> list[tuple[JournalStep, StepReport]]:
        return [(self.journal.steps[i], r) for i, r in self.reports.items()]


def reconcile(
    session: AwsSession,
    journal: Journal,
    *,
    on_report: Callable[[StepReport], None] | None = None,
) -> RollbackReport:
    """Judge every started step of ``journal`` by reading the account; put back what is as the
    apply left it. The report says what remains (and how to finish it by hand)."""
    return _Reconciler(session, journal, on_report).run()


# --- undo ---------------------------------------------------------------------------------


def check_journal_account(session: AwsSession, account: str) -> None:
    """Undo only with the credentials of the journal's account: a UsageError otherwise
    (before anything is asked or read)."""
    identity = session.identity()
    if identity.account != account:
        raise UsageError(
            f"The journal is for account {account}, but these credentials are for "
            f"account {identity.account}.",
            fix="Use the profile the apply ran with (--profile).",
        )


def undo(
    session: AwsSession,
    journal_path: Path,
    *,
    on_report: Callable[[StepReport], None] | None = None,
    on_notice: Notify | None = None,
    cancel: threading.Event | None = None,
    lock_wait: float = DEFAULT_WAIT,
) -> RollbackReport:
    """Put back what an apply changed; finishes an earlier failed rollback too. Every step is
    judged by reading the account, whatever the journal says about it."""
    journal = load(Path(journal_path))
    check_journal_account(session, journal.account)
    lock = destination_lock(journal.path.parent, journal.account, journal.region)
    acquire_lock(lock, wait=lock_wait, cancel=cancel, on_notice=on_notice, undoing=journal.path)
    try:
        report = reconcile(session, journal, on_report=on_report)
        settled = (JournalStatus.ROLLED_BACK, JournalStatus.UNDONE)
        if not (journal.status in settled and report.complete):  # else it says so already
            journal.status = JournalStatus.UNDONE if report.complete else JournalStatus.NOT_UNDONE
            journal.undone = now_iso()
        journal.save()
        return report
    finally:
        lock.release()


def journal_summary(path: Path) -> list[str]:
    """The steps of a journal that may have changed something, for a confirmation prompt."""
    journal = load(Path(path))
    return [
        f"{step.action.value} on {step.target}: {step.message or step.summary} "
        f"({step.status.value})"
        for step in journal.steps
        if step.status.started
    ]


def journal_region(path: Path) -> tuple[str, str]:
    """(account, region) a journal is for."""
    journal = load(Path(path))
    return journal.account, journal.region
