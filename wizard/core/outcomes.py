"""What became of each change: the statuses an apply records and the outcomes a rollback or an
undo reports. Plain data: every face reads these, none parses a message back into a decision.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from enum import Enum


class StepStatus(str, Enum):
    """A step's state in the journal (also what a face shows while applying)."""

    PLANNED = "planned"  # not started: nothing was sent for it
    IN_FLIGHT = "in flight"  # its call was sent; the answer was not recorded
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # already as planned: nothing was written
    FAILED = "failed"  # its call failed (it may still have taken effect: see ``uncertain``)
    ROLLING_BACK = "rolling back"  # a call putting it back was sent
    ROLLED_BACK = "rolled back"  # as it was before (checked by reading)
    NOT_ROLLED_BACK = "not rolled back"  # left changed: see the message

    @property
    def started(self) -> bool:
        """Something may have been sent to AWS for this step."""
        return self not in (StepStatus.PLANNED, StepStatus.UNCHANGED)


class JournalStatus(str, Enum):
    STARTED = "started"  # apply is running, or died: undo must look
    APPLIED = "applied"
    ROLLED_BACK = "rolled back"
    NOT_ROLLED_BACK = "not rolled back"  # something could not be put back: undo finishes it
    UNDONE = "undone"
    NOT_UNDONE = "not undone"


class Outcome(str, Enum):
    """How one step was judged by a rollback or an undo, after reading the account."""

    RESTORED = "restored"  # it was as the apply left it; it is as before again
    AS_BEFORE = "as before"  # it was already as before: nothing to do
    # A setting of a bucket or key this apply created: it shares that resource's fate (the
    # resource's own line says whether it was removed or what remains).
    WITH_PARENT = "with its bucket or key"
    # A setting of a created bucket or key that was kept: it stays, and is counted with it.
    STAYS_WITH_PARENT = "stays with its bucket or key"
    LEFT_CHANGED = "left changed"  # someone changed it since: left as it is
    KEPT = "kept"  # not removed on purpose (it holds data, or something may still use it)
    FAILED = "failed"  # putting it back failed, or it could not be read
    # The journal says it was put back already (the apply's rollback, an earlier undo): done,
    # whatever the target holds now (a later run's change is that run's).
    ALREADY_PUT_BACK = "already put back"

    @property
    def remains(self) -> bool:
        """The account still differs from before the apply because of this step."""
        return self in (Outcome.LEFT_CHANGED, Outcome.KEPT, Outcome.FAILED)


@dataclass(frozen=True)
class StepReport:
    index: int
    action: str
    target: str
    outcome: Outcome
    message: str  # what was found and done, in words; names keep their case
    manual: tuple[str, ...] = ()  # commands or console steps that finish it by hand


@dataclass(frozen=True)
class RollbackReport:
    """A rollback's or an undo's result: exactly which changes remain in the account."""

    journal: str
    steps: tuple[StepReport, ...]

    @property
    def complete(self) -> bool:
        """The account is as it was before the apply (every document compared)."""
        return not any(s.outcome.remains for s in self.steps)

    @property
    def remaining(self) -> tuple[StepReport, ...]:
        return tuple(s for s in self.steps if s.outcome.remains)

    @property
    def restored(self) -> tuple[StepReport, ...]:
        return tuple(s for s in self.steps if s.outcome is Outcome.RESTORED)

    @property
    def touched(self) -> bool:
        """Anything had been changed (and was looked at)."""
        return bool(self.steps)


def undo_command(journal: str) -> str:
    """The command that undoes the apply of a journal, quoted for the shell."""
    return f"cwl-export-wizard undo {shlex.quote(str(journal))}"
