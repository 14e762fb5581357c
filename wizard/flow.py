"""The wizard itself: its steps and their order, its defaults, validators and policies, and
its result, shared by every face (the TUI, plain mode and the commands).

A face only asks and shows. It asks the flow what comes next (``next_step`` /
``previous_step``, pure), what to offer (defaults), whether an answer will do (the
``*_problem`` validators), and for data (``Flow`` methods, which may block on AWS: call
them from a worker thread); it hands the answers back in a ``WizardState``. The flow holds
no UI code and no policy logic of its own: it joins the AWS layer (what is there) with the
core (what it means and what to change).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core import doctor, iac, iam_policy, outcomes, wording
from wizard.core import plan as core_plan
from wizard.core import proof as core_proof
from wizard.core import requirements as req
from wizard.core import verify as core_verify
from wizard.core.change import Plan
from wizard.core.errors import Cancelled, ExportBusy, ExportRefused, UsageError
from wizard.core.findings import Finding, Severity, is_healthy, sort_findings
from wizard.core.formats import PlanFormat
from wizard.core.key_in_use import alias_conflict
from wizard.core.outcomes import RollbackReport, StepReport, StepStatus
from wizard.core.presets import (
    DEFAULT_KEY_ALIAS,
    DEFAULT_PREFIX,
    DEFAULT_WINDOW,
    suggested_bucket_name,
)
from wizard.core.state import (
    KEY_MANAGER_CUSTOMER,
    SSE_KMS,
    Choices,
    ExportTaskInfo,
    Identity,
    KeyState,
    Snapshot,
)
from wizard.core.text import count, shell_command, visible, visible_lines
from wizard.core.validate import alias_problem, normalize_alias, parse_duration_ms

if TYPE_CHECKING:
    # The AWS layer (boto3) loads on first use, so that a face can draw its first screen
    # before boto3 is imported (the TUI shows its first screen within a second).
    from wizard.aws import apply as aws_apply
    from wizard.aws import export as aws_export
    from wizard.aws import inventory
    from wizard.aws.lock import DestinationLock
    from wizard.aws.session import AwsSession


class Step(Enum):
    REGION = 1
    KEY = 2
    BUCKET = 3
    REVIEW = 4
    APPLY = 5
    EXPORT = 6
    RESULT = 7

    @property
    def title(self) -> str:
        return _STEP_TITLES[self]

    @property
    def indicator(self) -> str:
        return f"Step {self.value} of {len(Step)} - {self.title}"


_STEP_TITLES = {
    Step.REGION: "Region",
    Step.KEY: "KMS key",
    Step.BUCKET: "Bucket",
    Step.REVIEW: "Review",
    Step.APPLY: "Apply",
    Step.EXPORT: "Test export",
    Step.RESULT: "Result",
}


@dataclass(frozen=True)
class BucketOption:
    name: str
    region: str | None
    usable: bool
    reason: str | None = None


@dataclass(frozen=True)
class BucketHealth:
    """What the bucket step shows beside a bucket: its encryption and the doctor's verdict."""

    encryption: str
    healthy: bool
    summary: str
    problems: tuple[str, ...] = ()  # the doctor's ERROR findings, in plain words
    blockers: int = 0  # of them, the ones the wizard will not fix (the plan's blockers)

    @property
    def verdict(self) -> str:
        """A badge's few words: "ready", "2 problems to fix", "1 blocker", "1 blocker, 2 to
        fix" (a blocker is for you to resolve: the wizard will not change it)."""
        if self.healthy:
            return "ready"
        fixable = max(0, len(self.problems) - self.blockers)
        if not self.blockers:
            return f"{count(fixable, 'problem')} to fix" if fixable else self.summary
        blocked = count(self.blockers, "blocker")
        return f"{blocked}, {fixable} to fix" if fixable else blocked


@dataclass(frozen=True)
class Review:
    snapshot: Snapshot
    findings: tuple[Finding, ...]
    plan: Plan

    @property
    def healthy(self) -> bool:
        return is_healthy(self.findings)


# The word that confirms an apply on a real account (any case, spaces around ignored).
CONFIRM_WORD = "apply"


def confirmed(text: str) -> bool:
    return text.strip().lower() == CONFIRM_WORD


class BusyChoice(Enum):
    """What to do when another export task is active (one per account and region)."""

    WAIT = "wait"  # wait for it to finish, then start ours
    CANCEL = "cancel"  # cancel it, wait until it has stopped, then start ours
    STOP = "stop"  # start nothing (fail, or skip the test export)


# The busy-export policy, one for every face: when another export task holds the account's
# one export slot in the region, wait for it or cancel it (the user says, or --if-busy), then
# start again; after BUSY_RETRIES such rounds something keeps starting exports: stop, say so.
BUSY_RETRIES = 3


class BusyRounds:
    """Counts the rounds of clearing the export slot for one test export."""

    def __init__(self) -> None:
        self.rounds = 0

    def next_round(self, busy: ExportBusy) -> None:
        """Another round is allowed (counted), or ExportBusy says the limit was reached."""
        if self.rounds >= BUSY_RETRIES:
            raise ExportBusy(busy.active, busy.region, rounds=self.rounds) from None
        self.rounds += 1


@dataclass
class WizardState:
    """The answers so far. Faces fill it step by step; Back keeps earlier answers."""

    region: str | None = None
    key: str | None = None  # existing key: its ARN
    create_key_alias: str | None = None
    bucket: str | None = None
    create_bucket: bool = False
    prefix: str = DEFAULT_PREFIX
    log_group: str | None = None
    window: str = DEFAULT_WINDOW
    stream_prefix: str | None = None
    # A central logging account: other accounts whose log groups export here too.
    source_accounts: tuple[str, ...] = ()
    review: Review | None = None
    applied: aws_apply.ApplyResult | None = None
    undone: RollbackReport | None = None  # this run's apply, undone from the Apply step
    result: aws_export.ExportResult | None = None
    repair: bool = False
    # The failure reproduced on the Review (a probe export), for the Result's before/after.
    reproduced: Verified | None = None

    @property
    def reproduced_here(self) -> Verified | None:
        """The reproduction of this very destination (not of a bucket chosen before)."""
        done = self.reproduced
        if done is None:
            return None
        same = done.review.snapshot.bucket.name == self.bucket and done.prefix == self.prefix
        return done if same else None

    def for_region(self, region: str) -> WizardState:
        """The state after choosing ``region``: keys and buckets are regional, so the answers
        after the region start again (the prefix and the window carry over)."""
        if region == self.region:
            return self
        return WizardState(
            region=region,
            prefix=self.prefix,
            window=self.window,
            source_accounts=self.source_accounts,
        )

    @property
    def made(self) -> int:
        """How many changes this run's apply made (whatever became of them since)."""
        if self.applied is None:
            return 0
        return sum(1 for step in self.applied.steps if step.status is StepStatus.APPLIED)

    @property
    def applied_changes(self) -> bool:
        """Changes of this run are in the account: the steps before the apply cannot be taken
        back (an undo that put everything back makes them possible again)."""
        return self.made > 0 and not (self.undone is not None and self.undone.complete)

    def choices(self) -> Choices:
        if not self.region or not self.bucket:
            raise ValueError("region and bucket must be chosen first")
        return Choices(
            region=self.region,
            bucket=self.bucket,
            create_bucket=self.create_bucket,
            key=None if self.create_key_alias else self.key,
            create_key_alias=self.create_key_alias,
            prefix=self.prefix,
            log_group=self.log_group,
            source_accounts=self.source_accounts,
        )


@dataclass(frozen=True)
class ResultView:
    """The proof a face shows at the end of a test export, in words every face uses. Text from
    AWS in it (object keys, stream names, log lines, messages) is shown visibly already
    (core.text.visible): every face prints it as it is."""

    succeeded: bool
    verdict: str
    objects: tuple[str, ...]  # "s3://bucket/key  (724 bytes)"
    more_objects: int  # beyond the first MAX_OBJECTS_SHOWN
    proof: tuple[tuple[str, str], ...]  # (what, value): algorithm, key, alias, bucket key
    sample_title: str
    sample: tuple[str, ...]
    explanation: str | None
    repeat: str  # the AWS CLI command that repeats this export
    journal: str | None
    undo: str | None  # None: nothing to undo, or the sandbox (it forgets everything)


MAX_OBJECTS_SHOWN = 8


def undo_command(journal: Path | str) -> str:
    return outcomes.undo_command(str(journal))


def result_view(
    state: WizardState,
    result: aws_export.ExportResult,
    *,
    sandbox: bool,
    key_alias: str | None = None,
    source_account: str | None = None,
    profile: str | None = None,
) -> ResultView:
    """``source_account``: the account the log group is in, when it is not the bucket's;
    ``profile``: the profile that ran the export (Flow.export_profile), for its command."""
    from wizard.core.cli_equivalent import export_command

    task = result.task
    encryption = result.encryption
    count_objects = len(result.objects)
    if result.succeeded:
        kms = encryption is not None and encryption.algorithm == SSE_KMS
        of = f" of account {source_account}" if source_account else ""
        verdict = (
            f"The export worked. CloudWatch Logs wrote {count(count_objects, 'object')} for "
            f"{task.log_group}{of} into s3://{state.bucket}/{state.prefix}"
            + (", encrypted with your key." if kms else ".")
        )
    else:
        verdict = f"The export task ended {task.status} without data."
    proof: list[tuple[str, str]] = []
    if encryption is None:
        proof.append(("Encryption", "not inspected"))
    else:
        proof.append(("Algorithm", encryption.algorithm or "none"))
        proof.append(("KMS key", encryption.kms_key_id or "-"))
        if key_alias:
            proof.append(("Key alias", key_alias))
        proof.append(("Bucket key", "enabled" if encryption.bucket_key else "not enabled"))
    first = result.objects[0].key.split("/")[-2] if result.objects else ""
    applied = state.applied
    journal = str(applied.journal_path) if applied is not None else None
    return ResultView(
        succeeded=result.succeeded,
        verdict=visible(verdict),
        objects=tuple(
            visible(f"{o.uri}  ({o.size} bytes)") for o in result.objects[:MAX_OBJECTS_SHOWN]
        ),
        more_objects=max(0, count_objects - MAX_OBJECTS_SHOWN),
        proof=tuple((what, visible(value)) for what, value in proof),
        sample_title=f"First decrypted lines of {visible(first)}"
        if first
        else "First decrypted lines",
        sample=tuple(visible(line) for line in result.sample),
        explanation=visible_lines(result.explanation) if result.explanation else None,
        repeat=export_command(
            state.region or "",
            task.log_group,
            state.bucket or "",
            state.prefix,
            task.from_ms or 0,
            task.to_ms or 0,
            state.stream_prefix,
            profile,
        ),
        journal=journal,
        undo=undo_command(journal) if journal and not sandbox and state.applied_changes else None,
    )


def proof_commands(state: WizardState, result: aws_export.ExportResult) -> tuple[str, ...]:
    """The commands that repeat a proof, shell-quoted: the verification, the wizard's test
    export of the same window, and the AWS CLI's own export."""
    from wizard.core.cli_equivalent import export_command

    task = result.task
    where = ["--region", state.region or "", "--bucket", state.bucket or "", "--prefix"]
    where += [state.prefix, "--log-group", task.log_group]
    window = ["--from", str(task.from_ms or 0), "--to", str(task.to_ms or 0)]
    stream = ["--stream-prefix", state.stream_prefix] if state.stream_prefix else []
    return (
        shell_command("cwl-export-wizard", "doctor", "--verify", *where),
        shell_command("cwl-export-wizard", "test-export", *where, *window, *stream),
        export_command(
            state.region or "",
            task.log_group,
            state.bucket or "",
            state.prefix,
            task.from_ms or 0,
            task.to_ms or 0,
            state.stream_prefix,
        ),
    )


@dataclass(frozen=True)
class BeforeAfter:
    """The Result's before/after card: the failure reproduced, then the working export."""

    before: tuple[str, ...]
    after: tuple[str, ...]


def before_after(state: WizardState, view: ResultView) -> BeforeAfter | None:
    """The card's words, when this destination's failure was reproduced in this run."""
    here = state.reproduced_here
    if here is None or not here.refused:
        return None
    verification = here.verification
    answer = verification.observation
    predicted = verification.prediction.aws_error
    before = [
        "AWS's answer to a probe export, before the changes:",
        visible(answer.aws_error or "no message"),
        "as the doctor predicted"
        if verification.agrees
        else visible(f"the doctor predicted: {predicted or 'a working export'}"),
    ]
    if state.applied is not None:
        journal = visible(str(state.applied.journal_path))
        before.append(f"then the wizard applied the changes (journal {journal})")
    proof = dict(view.proof)
    key = proof.get("KMS key", "-")
    alias = proof.get("Key alias")
    after = [view.verdict]
    if view.objects:
        after.append(view.objects[0])
    after.append(
        f"{proof.get('Algorithm', 'not inspected')} with {alias} ({key})"
        if alias
        else f"{proof.get('Algorithm', 'not inspected')} with {key}"
    )
    if view.sample:
        after.append(view.sample[0])
    return BeforeAfter(tuple(before), tuple(after))


def cli_header(state: WizardState, account: str | None = None) -> tuple[str, ...]:
    """The comment at the top of the AWS CLI script of a plan."""
    from wizard import __version__

    key = wording.key_words(state.create_key_alias, None, state.key, read=False)
    where = f"account {account}, " if account else ""
    return (
        f"Made by cwl-export-wizard {__version__} for s3://{state.bucket}/{state.prefix}/ "
        f"with {key} ({where}{state.region}).",
        "Review it, run it (bash FILE), then prove the destination works with:",
        shell_command(
            "cwl-export-wizard",
            "test-export",
            "--region",
            state.region or "",
            "--bucket",
            state.bucket or "",
            "--prefix",
            state.prefix,
            "--log-group",
            "LOG_GROUP",
        ),
    )


def save_script(text: str, state: WizardState, folder: Path | None = None) -> Path:
    """Write a plan's AWS CLI script into ``folder`` (the current one), never over a file."""
    base = (folder or Path.cwd()) / script_name(state).removesuffix(".sh")
    path = base.with_suffix(".sh")
    number = 2
    while path.exists():
        path = base.with_name(f"{base.name}-{number}.sh")
        number += 1
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o700)
    return path


PROOF_SUFFIX = ".md"


def save_proof(text: str, state: WizardState, folder: Path | None = None) -> Path:
    """Write a proof (Markdown) into ``folder`` (the current one), never over a file."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"cwl-export-proof-{state.bucket}-{stamp}"
    base = folder or Path.cwd()
    path = base / f"{name}{PROOF_SUFFIX}"
    number = 2
    while os.path.lexists(path):
        path = base / f"{name}-{number}{PROOF_SUFFIX}"
        number += 1
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path


# The infrastructure-as-code formats of a plan, and how the faces name them.
CODE_FORMATS = iac.FORMATS
CODE_TITLES = {
    PlanFormat.TERRAFORM: "Terraform",
    PlanFormat.CLOUDFORMATION: "CloudFormation",
    PlanFormat.DOCUMENTS: "documents (JSON)",
}


def code_context(review: Review) -> iac.Context:
    """What the code files say around the plan: the findings, and the bucket and the key as
    the snapshot saw them (what exists is imported, never created)."""
    from wizard import __version__

    return iac.Context(
        account=review.snapshot.identity.account,
        region=review.snapshot.region,
        diagnosed=tuple(dict.fromkeys(finding.code for finding in review.findings)),
        version=__version__,
        bucket=review.snapshot.bucket if review.snapshot.bucket.exists else None,
        key=review.snapshot.key if review.snapshot.key and review.snapshot.key.exists else None,
    )


def code_files(fmt: PlanFormat, review: Review) -> dict[str, str]:
    """The plan of ``review`` as ``fmt`` (terraform, cloudformation, documents): name -> text."""
    return iac.render(fmt, review.plan, code_context(review))


def code_next_steps(fmt: PlanFormat, review: Review, folder: Path) -> tuple[str, ...]:
    """What to do with the files once saved, in order: the pipeline, then the proof."""
    plan = review.plan
    prove = iac.proving_command(plan, review.snapshot.region)
    where = shlex.quote(str(folder))
    if fmt is PlanFormat.TERRAFORM:
        return (
            f"cd {where} && terraform init && terraform plan   # or add main.tf to your "
            "configuration",
            "terraform apply   # the import blocks adopt what exists; nothing else is touched",
            prove,
        )
    if fmt is PlanFormat.CLOUDFORMATION:
        return (f"cd {where}", *iac.cloudformation_steps(plan, code_context(review)), prove)
    return (
        f"Apply the files in {where} in the order plan.json gives (your pipeline, CDK, Pulumi)",
        prove,
    )


@dataclass(frozen=True)
class SavedCode:
    folder: Path
    paths: tuple[Path, ...]
    next_steps: tuple[str, ...]


def save_code(fmt: PlanFormat, review: Review, folder: Path | None = None) -> SavedCode:
    """Write the plan as ``fmt`` into a new folder ``cwl-export-wizard-BUCKET-FORMAT`` (``-2``,
    ``-3``... when taken) under ``folder`` (the current one). Changes nothing in the account
    and never writes over a file."""
    files = code_files(fmt, review)
    bucket = review.plan.choices.bucket if review.plan.choices else "plan"
    base = (folder or Path.cwd()).expanduser() / f"cwl-export-wizard-{bucket}-{fmt}"
    target, number = base, 2
    while target.exists():
        target = base.with_name(f"{base.name}-{number}")
        number += 1
    paths = write_new_files(target, files)
    return SavedCode(target, tuple(paths), code_next_steps(fmt, review, target))


def write_new_files(
    folder: Path, files: dict[str, str], *, executable: Iterable[str] = ()
) -> list[Path]:
    """Write ``files`` (name -> text) into ``folder`` (created if needed), all or none: a
    file that exists already (a dangling link too) is never overwritten (UsageError naming
    it, nothing written). The files are written in a private folder beside ``folder`` first,
    then renamed into place (a new folder) or linked in one by one, undone at a collision."""
    folder = folder.expanduser()
    if os.path.lexists(folder) and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder.", "Give a folder for --out.")
    paths = [folder / name for name in files]
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if existing:
        raise UsageError(
            f"{', '.join(existing)} exists already; nothing was written.",
            "Choose another folder, or move the file away first.",
        )
    staging: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
            (staging / name).chmod(0o755 if name in executable else 0o644)
        if not os.path.lexists(folder):
            umask = os.umask(0)
            os.umask(umask)
            staging.chmod(0o777 & ~umask)
            try:
                os.rename(staging, folder)  # atomic: all the files appear at once
                staging = None
                return paths
            except OSError:
                pass  # created meanwhile: link the files in, as into any existing folder
        _link_all(folder, staging, list(files))
    except OSError as error:
        raise UsageError(
            f"Cannot write into {folder}: {error.strerror or error}; nothing was written."
        ) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return paths


def _link_all(folder: Path, staging: Path | None, names: list[str]) -> None:
    """Link each staged file into ``folder``, never over a file; on a collision, remove the
    ones linked so far and name the file."""
    assert staging is not None
    linked: list[Path] = []
    for name in names:
        target = folder / name
        try:
            try:
                os.link(staging / name, target)
            except FileExistsError:
                raise
            except OSError:  # no hard links here: copy, still never over a file
                with target.open("xb") as handle:
                    handle.write((staging / name).read_bytes())
                target.chmod((staging / name).stat().st_mode & 0o777)
        except FileExistsError:
            for path in linked:
                path.unlink(missing_ok=True)
            raise UsageError(
                f"{target} appeared while writing; nothing was written.",
                "Choose another folder, or move the file away first.",
            ) from None
        linked.append(target)


def script_name(state: WizardState) -> str:
    return f"cwl-export-wizard-{state.bucket or 'plan'}.sh"


# --- the order of the steps (pure: the same in every face) ----------------------------------


def next_step(state: WizardState, current: Step) -> Step | None:
    """The step after ``current`` (None: the wizard is done). Nothing to apply: straight from
    Review to the test export."""
    if current is Step.RESULT:
        return None
    if current is Step.REVIEW and state.review is not None and state.review.plan.empty:
        return Step.EXPORT
    return Step(current.value + 1)


def previous_step(state: WizardState, current: Step) -> Step | None:
    """The step Back goes to (None: there is no way back). Once changes were applied, the
    steps before Apply would show a world that no longer exists: Apply is the point of no
    return (a face offers to start over instead)."""
    if current is Step.REGION:
        return None
    if current is Step.APPLY:
        return None if state.applied_changes else Step.REVIEW
    if current is Step.EXPORT:
        if state.applied_changes:
            return Step.APPLY
        return Step.REVIEW
    return Step(current.value - 1)


# --- journals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UndoPreview:
    """What ``undo JOURNAL`` is about to do, read from the journal (no AWS call)."""

    account: str
    region: str
    endpoint: str | None
    steps: tuple[str, ...]  # the steps that may have changed something, oldest first
    put_back: bool = False  # every started change was put back already: nothing to undo
    status: str = ""  # the journal's status, in words ("rolled back")
    profile: str | None = None  # the AWS profile the apply ran with


def undo_preview(path: Path) -> UndoPreview:
    """Read a journal for undo; a UsageError names the file and what is wrong with it."""
    from wizard.aws import apply as aws_apply
    from wizard.aws import journal as aws_journal

    journal = aws_journal.load(path)
    return UndoPreview(
        journal.account,
        journal.region,
        journal.endpoint,
        tuple(aws_apply.journal_summary(path)),
        journal.put_back,
        journal.status.value,
        journal.profile,
    )


# --- what an answer may be -----------------------------------------------------------------


def window_problem(text: str) -> str | None:
    """The test export's window: 30m, 1h, 24h, 2d, 1w..."""
    try:
        parse_duration_ms(text)
    except ValueError as error:
        return str(error)
    return None


def _elsewhere(bucket: inventory.BucketSummary, region: str) -> BucketOption:
    return BucketOption(
        bucket.name,
        bucket.region,
        False,
        f"in {bucket.region or 'an unknown region'}: exports need a bucket in {region}",
    )


# Policy changes reach CloudWatch Logs eventually ("typically less than a few seconds, in some
# cases several minutes", KMS developer guide): a test export right after an apply waits up to
# this long, trying again after 2, 4, 8, 16, 16... seconds.
# The one propagation rule, for every face: when AWS refuses an export although the
# policies the caller can read allow it, the change is still reaching CloudWatch Logs
# (whoever made it: this run, Terraform, another machine), so wait, bounded, and say why.
PROPAGATION_WAIT = 120.0
PROPAGATION_FIRST_RETRY = 2.0
PROPAGATION_MAX_RETRY = 16.0


@dataclass(frozen=True)
class PropagationWait:
    """A test export was refused although the policies allow it: waiting for them to reach
    CloudWatch Logs, then trying again."""

    refused: str  # AWS's text
    waited: float  # seconds so far
    limit: float  # seconds at most
    retry_in: float


PREPARED_SERVICES = ("kms", "s3", "logs")  # what steps 2-7 call, in the order they do


@dataclass(frozen=True)
class Verified:
    """A verification: the review it predicted from, AWS's answer beside it, and the log
    group the probe exported."""

    review: Review
    verification: core_verify.Verification
    log_group: str
    prefix: str
    time: str  # ISO-8601 UTC

    @property
    def refused(self) -> bool:
        return self.verification.observation.outcome.refused


def _default_journal_dir() -> Path:
    from wizard.aws import journal as aws_journal

    return aws_journal.default_journal_dir()


class Flow:
    """One wizard run against one AWS session (real or the sandbox)."""

    def __init__(
        self,
        session: AwsSession,
        *,
        journal_dir: Path | None = None,
        source: AwsSession | None = None,
    ) -> None:
        self.session = session
        self.journal_dir = journal_dir
        # A central logging account: the session of the account whose log groups export to
        # this destination (its caller runs the test export); None: this account's own.
        self.source = source
        self._keys: dict[str, list[inventory.KeyOption]] = {}
        self._groups_seen: dict[tuple[str, str], inventory.LogGroupSummary] = {}

    # Step 1 ------------------------------------------------------------------------------
    def identity(self) -> Identity:
        return self.session.identity()

    def regions(self) -> list[str]:
        from wizard.aws import inventory

        regions = inventory.list_regions(self.session)
        if self.session.region not in regions:
            regions = sorted([*regions, self.session.region])
        return regions

    @property
    def default_region(self) -> str:
        return self.session.region

    def prepare_clients(self, region: str) -> None:
        """Create the KMS, S3 and CloudWatch Logs clients of ``region`` ahead of the steps
        that need them: the first client of a service loads its model (a quarter of a
        second for KMS on a busy machine), which otherwise delays the key step's first rows.
        The models are shared by every region's clients, so another region gains too."""
        self.session.prepare_clients(PREPARED_SERVICES, region)

    # Step 2 ------------------------------------------------------------------------------
    def keys(
        self,
        region: str,
        on_page: Callable[[list[inventory.KeyOption]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[inventory.KeyOption]:
        from wizard.aws import inventory

        options = inventory.list_keys(self.session, region, on_page=on_page, cancel=cancel)
        self._keys[region] = options
        return options

    def key_rotations(
        self,
        region: str,
        keys: Iterable[KeyState],
        on_batch: Callable[[dict[str, bool | None]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, bool | None]:
        """Whether rotation is on, by key id, read after the list and a few at a time."""
        from wizard.aws import inventory

        return inventory.key_rotations(self.session, region, keys, on_batch=on_batch, cancel=cancel)

    @staticmethod
    def default_key(options: list[inventory.KeyOption]) -> inventory.KeyOption | None:
        """The first usable customer managed key, else None (then: create one)."""
        return next((o for o in options if o.usable), None)

    def suggested_alias(self, region: str) -> str:
        taken = {a for o in self._keys.get(region, []) for a in o.key.aliases}
        alias, n = DEFAULT_KEY_ALIAS, 2
        while alias in taken:
            alias, n = f"{DEFAULT_KEY_ALIAS}-{n}", n + 1
        return alias

    def alias_taken(self, region: str, alias: str) -> bool:
        return any(alias in o.key.aliases for o in self._keys.get(region, []))

    def key_alias(self, region: str | None, key: str | None, *, ask: bool = False) -> str | None:
        """A key's first alias (people know keys by alias), from the keys listed so far;
        ``ask``: when they were not listed (a command), one ListAliases call."""
        if not region or not key:
            return None
        for option in self._keys.get(region, []):
            if key in (option.key.arn, option.key.key_id) and option.key.aliases:
                return option.key.aliases[0]
        if ask:
            from wizard.aws import inventory

            found = inventory.aliases_of(self.session, region, key)
            return found[0] if found else None
        return None

    def alias_problem(self, region: str, text: str) -> str | None:
        """The new key's alias: valid, and not the alias of a key already listed."""
        problem = alias_problem(text)
        if problem is None and self.alias_taken(region, normalize_alias(text)):
            return (
                f"{normalize_alias(text)} already exists in {region}: choose that key in the "
                "list, or give the new key another alias."
            )
        return problem

    # Step 3 ------------------------------------------------------------------------------
    def buckets(self, region: str) -> list[BucketOption]:
        """The region's buckets first, then the others, explained as unusable (one listing).

        For a face that shows everything at once (plain mode). The TUI lists the region's
        buckets first (``region_buckets``: fast) and the others after (``other_region_buckets``).
        """
        from wizard.aws import inventory

        summaries = inventory.list_buckets(self.session, None)
        here = [BucketOption(b.name, b.region, True) for b in summaries if b.region == region]
        elsewhere = [_elsewhere(b, region) for b in summaries if b.region != region]
        return here + elsewhere

    def region_buckets(self, region: str) -> list[BucketOption]:
        """The region's buckets (all usable), from a listing of that region alone."""
        from wizard.aws import inventory

        summaries = inventory.list_buckets(self.session, region)
        return [BucketOption(b.name, b.region or region, True) for b in summaries]

    def other_region_buckets(self, region: str) -> list[BucketOption]:
        """The other regions' buckets, explained as unusable (lists every bucket: slower)."""
        from wizard.aws import inventory

        summaries = inventory.list_buckets(self.session, None)
        return [_elsewhere(b, region) for b in summaries if b.region != region]

    def suggested_bucket(self, region: str) -> str:
        return suggested_bucket_name(self.identity().account, region)

    def bucket_availability(self, name: str) -> str | None:
        """None when the name can be created; else why not."""
        from wizard.aws import snapshot

        state = snapshot.read_bucket(self.session, name)
        if not state.exists:
            return None
        if not state.owned:
            return f"{name} is taken by another AWS account (bucket names are global)."
        return f"You already own {name}: select it in the list instead of creating it."

    def bucket_health(self, region: str, name: str, key_arn: str | None) -> BucketHealth:
        from wizard.aws import snapshot

        # As the Review will judge it: with the source account of a central logging account.
        choices = self.with_source(Choices(region=region, bucket=name, key=key_arn))
        snap = snapshot.read(self.session, choices)
        findings = doctor.diagnose(snap, choices)
        enc = snap.bucket.encryption
        if enc is None or enc.algorithm is None:
            encryption = "no default encryption"
        elif enc.algorithm == SSE_KMS:
            # snap.key is the chosen key; name the bucket's own key, which may be another one.
            key = snap.key
            own = enc.kms_key_id or "?"
            if not (key and key.exists and own in (key.arn, key.key_id, *key.aliases)):
                key = snapshot.read_key(self.session, own, region) if enc.kms_key_id else None
            named = key.display_name if key and key.exists else own
            encryption = f"SSE-KMS ({named})"
        else:
            encryption = "SSE-S3" if enc.algorithm == "AES256" else enc.algorithm
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if not errors:
            return BucketHealth(encryption, True, "ready")
        blockers = core_plan.build(snap, choices).blockers
        return BucketHealth(
            encryption,
            False,
            f"{count(len(errors), 'problem')}: {errors[0].code}",
            tuple(f.message for f in errors),
            blockers=min(len(blockers), len(errors)),
        )

    # Repair ------------------------------------------------------------------------------
    def repair_state(self, bucket: str) -> WizardState:
        """Choices that fix ``bucket``: its own key when usable, else the first usable key."""
        from wizard.aws import snapshot

        bucket_state = snapshot.read_bucket(self.session, bucket)
        region = bucket_state.region or self.session.region
        state = WizardState(region=region, bucket=bucket, repair=True)
        current: KeyState | None = None
        enc = bucket_state.encryption
        if enc and enc.algorithm == SSE_KMS and enc.kms_key_id:
            current = snapshot.read_key(self.session, enc.kms_key_id, region)
        options = self.keys(region)
        usable = {o.key.arn: o for o in options if o.usable}
        if current and current.arn in usable and current.manager == KEY_MANAGER_CUSTOMER:
            state.key = current.arn
        elif (first := self.default_key(options)) is not None:
            state.key = first.key.arn
        else:
            state.create_key_alias = self.suggested_alias(region)
        return state

    # Step 4 ------------------------------------------------------------------------------
    def with_source(self, choices: Choices) -> Choices:
        """``choices`` with the source session's account and caller added (a central
        logging account), as the statements must name them."""
        if self.source is None:
            return choices
        caller = self.source.identity()
        if caller.account == self.identity().account:
            return choices  # the same account: its own log groups need nothing more
        # The role, not the session: a session's name changes from one sign-in to the next.
        principal = req.caller_role_arn(caller.arn)
        return dataclasses.replace(
            choices,
            source_accounts=tuple(dict.fromkeys((*choices.source_accounts, caller.account))),
            source_callers=tuple(dict.fromkeys((*choices.source_callers, principal))),
        )

    def source_account(self) -> str | None:
        """The source session's account, when it is another one."""
        if self.source is None:
            return None
        account = self.source.identity().account
        return None if account == self.identity().account else account

    def review(self, choices: Choices) -> Review:
        """Read the destination, diagnose it and plan it. A key to create whose alias is
        already someone else's key is refused (UsageError): creating was asked for, not
        patching that key. With a source session, its caller's own policy is checked too."""
        from wizard.aws import permissions, snapshot

        choices = self.with_source(choices)
        snap = snapshot.read(self.session, choices, self.source)
        conflict = alias_conflict(snap, choices)
        if conflict is not None:
            raise UsageError(conflict[0], fix=conflict[1])
        plan = core_plan.build(snap, choices)
        # Before any write: may this caller do what the plan needs (IAM's simulator)?
        check = permissions.check(self.session, plan, snap.key) if plan.changes else None
        hint = iam_policy.command_for(choices, snap.identity.account)
        findings = [*doctor.diagnose(snap, choices), *doctor.permission_findings(check, hint)]
        if self.source is not None and choices.source_callers:
            scope = self.source_scope(choices, snap)
            source_check = permissions.simulate(self.source, iam_policy.source_needs(scope))
            findings += doctor.source_permission_findings(
                source_check, iam_policy.source_command_for(scope)
            )
        return Review(snap, tuple(sort_findings(findings)), plan)

    def source_scope(self, choices: Choices, snap: Snapshot) -> iam_policy.SourceScope:
        """What the source account's caller needs for this destination."""
        caller = self.source.identity() if self.source is not None else None
        key = snap.key.arn if snap.key is not None and snap.key.exists else None
        return iam_policy.SourceScope(
            region=choices.region,
            account=caller.account if caller is not None else None,
            bucket=choices.bucket,
            prefix=choices.prefix,
            key=key,
            acls_enabled=snap.bucket.acls_enabled,
            log_group=choices.log_group,
        )

    # Step 5 ------------------------------------------------------------------------------
    def apply(
        self,
        plan: Plan,
        on_step: Callable[[aws_apply.StepResult], None] | None = None,
        cancel: threading.Event | None = None,
        *,
        on_notice: Callable[[str], None] | None = None,
        lock: DestinationLock | None = None,
        lock_wait: float | None = None,
    ) -> aws_apply.ApplyResult:
        """Apply ``plan`` (journal, drift check, rollback); ``lock``: one the caller holds
        already (see ``lock``), else one is taken for the apply."""
        from wizard.aws import apply as aws_apply

        options = {} if lock_wait is None else {"lock_wait": lock_wait}
        return aws_apply.run(
            self.session,
            plan,
            journal_dir=self.journal_dir,
            on_step=on_step,
            on_notice=on_notice,
            cancel=cancel,
            lock=lock,
            **options,
        )

    def lock(
        self,
        region: str,
        *,
        wait: float,
        on_notice: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> DestinationLock:
        """Take the one-apply-at-a-time lock of the account and region now (the commands
        plan under it, so a second apply plans from the first one's result). Release it."""
        from wizard.aws import apply as aws_apply

        lock = aws_apply.destination_lock(self.journal_dir, self.identity().account, region)
        aws_apply.acquire_lock(lock, wait=wait, cancel=cancel, on_notice=on_notice)
        return lock

    def undo(
        self,
        journal_path: Path,
        on_report: Callable[[StepReport], None] | None = None,
        *,
        on_notice: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> RollbackReport:
        """Put back what an apply changed (its journal), judging each step by reading AWS."""
        from wizard.aws import apply as aws_apply

        return aws_apply.undo(
            self.session, journal_path, on_report=on_report, on_notice=on_notice, cancel=cancel
        )

    # Step 6 ------------------------------------------------------------------------------
    def log_groups(
        self, region: str, pattern: str | None = None
    ) -> list[inventory.LogGroupSummary]:
        from wizard.aws import inventory

        listed = inventory.list_log_groups(self.exporter, region, pattern=pattern)
        # A filtered listing says less (no size, no last event read): what an earlier listing
        # found about a group stays, so one group never shows two different stories.
        groups = []
        for group in listed:
            seen = self._groups_seen.get((region, group.name))
            if seen is not None:
                group = dataclasses.replace(
                    group,
                    stored_bytes=group.stored_bytes
                    if group.stored_bytes is not None
                    else seen.stored_bytes,
                    last_event_ms=group.last_event_ms or seen.last_event_ms,
                )
            self._groups_seen[(region, group.name)] = group
            groups.append(group)
        # Most recently written first: that is where a test export finds data.
        return sorted(groups, key=lambda g: g.last_event_ms or g.created_ms, reverse=True)

    @staticmethod
    def export_request(state: WizardState, now_ms: int | None = None) -> aws_export.ExportRequest:
        if not state.region or not state.bucket or not state.log_group:
            raise ValueError("region, bucket and log group must be chosen first")
        to_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        return Flow.make_export_request(
            state.region,
            state.log_group,
            state.bucket,
            state.prefix,
            to_ms - parse_duration_ms(state.window),
            to_ms,
            state.stream_prefix or None,
        )

    def start_export(
        self,
        request: aws_export.ExportRequest,
        *,
        wait_for_propagation: float | None = None,
        on_wait: Callable[[PropagationWait], None] | None = None,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> str:
        """The task id; raises ExportBusy when another task is active (offer wait / cancel).

        KMS and S3 policy changes reach CloudWatch Logs seconds (sometimes minutes) after they
        are written. When the export is refused with a documented permission text although
        the doctor finds the destination healthy, the change is still propagating: it is
        tried again, with backoff, for up to ``wait_for_propagation`` seconds (None:
        PROPAGATION_WAIT, whoever made the change), and ``on_wait`` hears why before each wait.
        """
        from wizard.aws import export as aws_export

        if wait_for_propagation is None:
            wait_for_propagation = PROPAGATION_WAIT
        started = clock()
        delay = PROPAGATION_FIRST_RETRY
        healthy: bool | None = None
        stop = cancel or threading.Event()
        tries = 0
        while True:
            try:
                tries += 1
                return aws_export.start(self.exporter, request)
            except ExportRefused as refused:
                waited = clock() - started
                if waited + delay > wait_for_propagation:
                    if tries > 1:  # it did wait: say how long, never "after 0 s"
                        refused.message += (
                            f" It was still refused after {tries} tries and {waited:.1f} s of "
                            "waiting for policy changes to reach CloudWatch Logs."
                        )
                        refused.args = (refused.message,)
                    raise
                if healthy is None:
                    healthy = self.destination_healthy(request)
                if not healthy:
                    raise  # the doctor explains what is wrong; waiting would not help
                if on_wait is not None:
                    on_wait(PropagationWait(refused.aws_error, waited, wait_for_propagation, delay))
                if stop.wait(delay):
                    raise Cancelled("Stopped waiting for the policies to propagate.") from None
                delay = min(delay * 2, PROPAGATION_MAX_RETRY)

    def destination_healthy(self, request: aws_export.ExportRequest) -> bool:
        """The doctor's verdict on the destination as it is (its own key)."""
        from wizard.aws import snapshot

        choices = Choices(
            region=request.region,
            bucket=request.bucket,
            prefix=request.prefix,
            log_group=request.log_group,
        )
        return is_healthy(doctor.diagnose(snapshot.read(self.session, choices), choices))

    def probe_log_group(self, region: str) -> str:
        """The log group a probe export uses when none was chosen: the one written last."""
        groups = self.log_groups(region)
        if not groups:
            raise UsageError(
                f"There is no log group in {region} to run a probe export with.",
                fix="Create one, or give --log-group.",
            )
        return groups[0].name

    def verify(
        self,
        choices: Choices,
        *,
        review: Review | None = None,
        wait_if_busy: bool = False,
        wait_for_propagation: float | None = None,
        on_wait: Callable[[PropagationWait], None] | None = None,
        on_status: Callable[[ExportTaskInfo, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Verified:
        """The doctor's prediction checked against AWS's answer to a probe export (a minute's
        window: the test object and a few lines at most). Without ``wait_for_propagation``,
        a refusal while the policies allow the export is retried for PROPAGATION_WAIT
        seconds, as every export is. The answer is kept for the proof (test-export --report)."""
        from wizard.aws import probe

        if not choices.log_group:
            choices = dataclasses.replace(choices, log_group=self.probe_log_group(choices.region))
        seen = review.snapshot.log_group if review is not None else None
        if review is None or seen is None or seen.name != choices.log_group:
            review = self.review(choices)  # predicted for the probe's own log group
        assert choices.log_group is not None
        patience = wait_for_propagation  # None: the one rule (start_export)
        request = probe.probe_request(
            choices.region, choices.log_group, choices.bucket, choices.prefix
        )
        waited = [0.0]

        def told(wait: PropagationWait) -> None:
            waited[0] = wait.waited + wait.retry_in
            if on_wait is not None:
                on_wait(wait)

        observation = probe.run(
            self.exporter,
            request,
            lambda: self.start_export(
                request, wait_for_propagation=patience, on_wait=told, cancel=cancel
            ),
            wait_if_busy=wait_if_busy,
            on_status=on_status,
            cancel=cancel,
        )
        observation = dataclasses.replace(observation, waited=waited[0])
        prediction = core_verify.predict(review.findings)
        account = review.snapshot.identity.account
        verification = core_verify.compare(
            prediction,
            observation,
            review.findings,
            account=account,
        )
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        probe.save_record(
            self.journal_dir or _default_journal_dir(),
            {
                "time": moment,
                "account": account,
                "region": choices.region,
                "bucket": choices.bucket,
                "prefix": choices.prefix,
                "log_group": choices.log_group,
                "task_id": observation.task_id,
                **verification.to_json(),
            },
        )
        return Verified(review, verification, choices.log_group, choices.prefix, moment)

    def proof(
        self,
        state: WizardState,
        result: aws_export.ExportResult,
        *,
        key_alias: str | None = None,
    ) -> core_proof.Proof:
        """The proof of a test export for a change ticket: the failure reproduced before the
        change (the newest kept verification of this destination that AWS refused, older
        than the change), the changes applied (this run's journal, else the newest journal
        of this bucket) and the export after them."""
        from wizard.aws import journal as aws_journal
        from wizard.aws import probe

        folder = self.journal_dir or aws_journal.default_journal_dir()
        bucket, prefix = state.bucket or "", state.prefix
        journal: aws_journal.Journal | None = None
        if state.applied is not None:
            journal = aws_journal.load(state.applied.journal_path)
        else:
            for path in aws_journal.journals(folder):
                try:
                    found = aws_journal.load(path)
                except UsageError:
                    continue
                if any(step.params.get("bucket") == bucket for step in found.steps):
                    journal = found
                    break
        record = probe.latest_record(
            folder, bucket, prefix, before=journal.time if journal else None
        )
        before = None
        here = state.reproduced_here
        if here is not None and here.refused:
            answer = here.verification.observation
            before = core_proof.Before(
                time=here.time,
                predicted=here.verification.prediction.aws_error,
                aws_error=answer.aws_error or answer.outcome.value,
                agrees=here.verification.agrees,
            )
        elif record is not None:
            predicted = record.get("predicted") or {}
            observed = record.get("observed") or {}
            before = core_proof.Before(
                time=str(record.get("time", "")),
                predicted=predicted.get("aws_error"),
                aws_error=str(observed.get("aws_error")),
                agrees=bool(record.get("agrees")),
            )
        view = result_view(state, result, sandbox=False, key_alias=key_alias)
        encryption = result.encryption
        return core_proof.Proof(
            destination=f"s3://{bucket}/{prefix}/",
            account=self.identity().account,
            region=state.region or "",
            log_group=result.task.log_group,
            made=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            before=before,
            journal=str(journal.path) if journal is not None else None,
            steps=tuple(
                core_proof.AppliedStep(step.summary, step.status.value)
                for step in (journal.steps if journal is not None else ())
            ),
            after=core_proof.After(
                succeeded=result.succeeded,
                verdict=view.verdict,
                task_id=result.task.task_id,
                objects=tuple(o.uri for o in result.objects),
                algorithm=encryption.algorithm if encryption else None,
                key_arn=encryption.kms_key_id if encryption else None,
                key_alias=key_alias,
                bucket_key=encryption.bucket_key if encryption else None,
                sample_title=view.sample_title,
                sample=result.sample,
                explanation=result.explanation,
            ),
            commands=proof_commands(state, result),
        )

    def wait_export(
        self,
        region: str,
        task_id: str,
        on_status: Callable[[ExportTaskInfo, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportTaskInfo:
        from wizard.aws import export as aws_export

        return aws_export.wait(self.exporter, region, task_id, on_status=on_status, cancel=cancel)

    def clear_busy(
        self,
        region: str,
        active: ExportTaskInfo,
        choice: BusyChoice,
        on_status: Callable[[ExportTaskInfo, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Make room for a test export while ``active`` runs: wait for it, or cancel it and
        wait until it has stopped (a cancelled task passes PENDING_CANCEL first)."""
        from wizard.aws import export as aws_export

        if choice is BusyChoice.STOP:
            raise ExportBusy(active, region)
        if choice is BusyChoice.CANCEL:
            aws_export.cancel_task(self.exporter, region, active.task_id)
        aws_export.wait_until_idle(self.exporter, region, on_status=on_status, cancel=cancel)

    @staticmethod
    def make_export_request(
        region: str,
        log_group: str,
        bucket: str,
        prefix: str,
        from_ms: int,
        to_ms: int,
        stream_prefix: str | None = None,
    ) -> aws_export.ExportRequest:
        from wizard.aws import export as aws_export

        return aws_export.ExportRequest(
            region=region,
            log_group=log_group,
            bucket=bucket,
            prefix=prefix,
            from_ms=from_ms,
            to_ms=to_ms,
            stream_prefix=stream_prefix,
        )

    @property
    def exporter(self) -> AwsSession:
        """The session that runs export tasks: the source account's, when there is one."""
        return self.source if self.source is not None else self.session

    def export_profile(self) -> str | None:
        """The profile of the session that runs exports (--source-profile's, else
        --profile's or AWS_PROFILE's): a command that repeats an export names it."""
        return self.exporter.profile

    def close(self) -> None:
        """The run is over: the AWS layer's threads take no more work."""
        self.session.close()
        if self.source is not None:
            self.source.close()

    def cancel_export(self, region: str, task_id: str) -> None:
        from wizard.aws import export as aws_export

        aws_export.cancel_task(self.exporter, region, task_id)

    def collect_export(
        self, request: aws_export.ExportRequest, task: ExportTaskInfo, lines: int = 10
    ) -> aws_export.ExportResult:
        from wizard.aws import export as aws_export

        return aws_export.collect(self.session, request, task, lines=lines)
