"""The answers so far and the order of the steps: Step, WizardState, Review, validators."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from wizard.core import verify as core_verify
from wizard.core.change import Plan
from wizard.core.findings import Finding, is_healthy
from wizard.core.outcomes import RollbackReport, StepStatus
from wizard.core.presets import DEFAULT_PREFIX, DEFAULT_WINDOW
from wizard.core.state import Choices, Snapshot
from wizard.core.text import count
from wizard.core.validate import parse_duration_ms

if TYPE_CHECKING:
    # The AWS layer (boto3) loads on first use, so that a face can draw its first screen
    # before boto3 is imported (the TUI shows its first screen within a second).
    from wizard.aws import apply as aws_apply
    from wizard.aws import export as aws_export


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


def window_problem(text: str) -> str | None:
    """The test export's window: 30m, 1h, 24h, 2d, 1w..."""
    try:
        parse_duration_ms(text)
    except ValueError as error:
        return str(error)
    return None
