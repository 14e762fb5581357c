"""The rollback judge: what to do with one journal step, given what the account holds now.

Pure: ``wizard.aws.apply`` reads the account, asks a function here, and carries out the
decision (one I/O loop). A decision is either a ``Verdict`` (write nothing; report this
outcome) or ``PutBack`` (the target is exactly as the apply left it: write its "before" back,
or remove what the apply created, then judge the result by reading again). A target is put
back only when it holds exactly what the apply wrote: a statement is the wizard's own by its
content, never by its Sid, so a document that differs in any way (a foreign statement reusing
a wizard Sid too) is someone else's change and is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeAlias

from wizard.core.actions import resolve
from wizard.core.change import Action
from wizard.core.outcomes import Outcome, StepStatus

# What an apply creates (rather than changes in place): removed last, and only when unused.
CREATES = (Action.CREATE_KEY, Action.CREATE_ALIAS, Action.CREATE_BUCKET)

# A later journal's step still holds its change when it was (or may have been) written and was
# not put back since.
_HOLDS = (
    StepStatus.APPLIED,
    StepStatus.IN_FLIGHT,
    StepStatus.ROLLING_BACK,
    StepStatus.NOT_ROLLED_BACK,
)


class Manual(str, Enum):
    """How a person finishes a step by hand (the aws layer turns it into commands)."""

    NONE = "none"
    RESTORE = "restore"  # write the step's "before" back (drops any later change)
    UNDO_LATER = "undo later"  # undo the later apply first (``Verdict.later``)
    DELETE_BUCKET = "delete bucket"
    EMPTY_AND_DELETE_BUCKET = "empty and delete bucket"  # it holds, or may hold, objects
    DELETE_ALIAS = "delete alias"
    DELETE_KEY = "delete key"
    FIND_AND_DELETE_KEY = "find and delete key"  # the key could not be looked for


@dataclass(frozen=True)
class Later:
    """A later apply of the same folder whose change to the same target (or use of it) holds."""

    path: str
    name: str  # its journal's file name
    time: str


@dataclass(frozen=True)
class Unreadable:
    """The account could not be read (or written): why, in words."""

    error: str


@dataclass(frozen=True)
class Verdict:
    """Write nothing (more): report this outcome."""

    outcome: Outcome
    message: str
    manual: Manual = Manual.NONE
    later: Later | None = None  # the apply to undo first, with Manual.UNDO_LATER


@dataclass(frozen=True)
class PutBack:
    """The target is as the apply left it: put it back, then judge what the account holds."""


Decision: TypeAlias = Verdict | PutBack
# A document as the account holds it now (None: there is none), or why it could not be read.
Live: TypeAlias = str | Unreadable | None


class KeyFacts(Protocol):
    """The key an apply created, as found in the account."""

    @property
    def key_id(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def state(self) -> str: ...


@dataclass(frozen=True)
class BucketFacts:
    exists: bool
    objects: int = 0


class Record(Protocol):
    """A journal step as the judge reads it (``wizard.aws.journal.JournalStep``)."""

    @property
    def action(self) -> Action: ...

    @property
    def target(self) -> str: ...

    @property
    def params(self) -> Mapping[str, str]: ...

    @property
    def after(self) -> str | None: ...


def target_identity(step: Record, key_arn: str | None = None) -> tuple[str, str]:
    """What a step writes, comparable across journals: (action, bucket or key or alias).
    ``key_arn``: the key its journal created, for the new key's placeholder."""
    params = step.params
    name = (
        params.get("bucket")
        or resolve(params.get("key_id"), key_arn)
        or params.get("alias")
        or step.target
    )
    return step.action.value, name


def builds_on(step: Record, *, bucket: str | None = None, key: Sequence[str] = ()) -> bool:
    """A later journal's step (whose change holds) builds on what this apply created: it is to
    ``bucket``, or names the key (by id, ARN or alias) in its parameters or its document."""
    if bucket is not None and step.params.get("bucket") == bucket:
        return True
    needles = [k for k in key if k]
    texts = [*step.params.values(), step.after or ""]
    return bool(needles) and any(n in text for n in needles for text in texts)


def holds(status: StepStatus, uncertain: bool) -> bool:
    """A step of a later journal still holds its change (it may have been written)."""
    return status in _HOLDS or (status is StepStatus.FAILED and uncertain)


def status_after(outcome: Outcome) -> StepStatus:
    """What the journal records for a step judged so."""
    stays = outcome.remains or outcome is Outcome.STAYS_WITH_PARENT
    return StepStatus.NOT_ROLLED_BACK if stays else StepStatus.ROLLED_BACK


# --- a document of an existing resource (policy, encryption, rotation, ...) -----------------


def document(
    what: str, before: str | None, after: str | None, live: Live, later: Later | None
) -> Decision:
    """A step the journal says may have been written and not put back yet."""
    if isinstance(live, Unreadable):
        return Verdict(Outcome.FAILED, f"could not read {what}: {live.error}", Manual.RESTORE)
    if live == before:
        return Verdict(Outcome.AS_BEFORE, f"{what} is as it was before")
    if later is not None:
        # Whatever it holds, a later apply wrote it since: putting this apply's "before"
        # back would revert that apply (and may break a destination that works now).
        return Verdict(
            Outcome.LEFT_CHANGED,
            f"{what} was written again by a later apply ({later.name}, {later.time}); "
            "it was left as it is. Undo that apply first, then this one",
            Manual.UNDO_LATER,
            later,
        )
    if live != after or after is None:
        return Verdict(
            Outcome.LEFT_CHANGED,
            f"{what} was changed by someone else after the apply; it was left as it is "
            "(the command below puts back the version from before the apply and drops the "
            "later change)",
            Manual.RESTORE,
        )
    return PutBack()


def document_put_back(what: str, before: str | None, again: Live, done: str) -> Verdict:
    """After writing the "before" back: ``again`` is what the account holds now (or why the
    write or the reading failed); ``done`` says what was written, in words."""
    if isinstance(again, Unreadable):
        return Verdict(Outcome.FAILED, f"could not put back {what}: {again.error}", Manual.RESTORE)
    if again != before:
        return Verdict(
            Outcome.FAILED,
            f"{what} still differs from before after it was written back",
            Manual.RESTORE,
        )
    return Verdict(Outcome.RESTORED, done)


def already_put_back(
    what: str,
    *,
    creates: bool,
    before: str | None,
    after: str | None,
    live: Live,
    later: Later | None,
) -> Verdict:
    """The journal says this step was put back (by the rollback or an earlier undo): it is
    done, and never written again. ``live`` says what the account holds now (unreadable: the
    journal's word stands)."""
    if not creates and not isinstance(live, Unreadable):
        if live == before:
            return Verdict(Outcome.AS_BEFORE, f"{what} is as it was before")
        if live is not None and live == after and later is None:
            # The journal and the account disagree, and nothing explains it: trust neither
            # alone, write nothing, and say so.
            return Verdict(
                Outcome.LEFT_CHANGED,
                f"the journal says {what} was put back, but it holds what this apply "
                "wrote and no later apply of this folder wrote it; it was left as it is",
                Manual.RESTORE,
            )
    since = (
        f"; it was written again since by the later apply {later.name}, which is kept"
        if later is not None
        else "; it has changed since, and is left as it is"
        if not creates
        else ""
    )
    return Verdict(Outcome.ALREADY_PUT_BACK, f"{what} had already been put back{since}")


def damaged(reason: str, name: str) -> Verdict:
    """A journal entry that cannot be trusted to say what to put back."""
    return Verdict(
        Outcome.FAILED,
        f"{reason}: this entry of the journal was edited or damaged, so it "
        f"cannot say what to put back; {name} was left as it is",
    )


def part_of(what: str, parent: Outcome | None, parent_name: str) -> Verdict:
    """A setting of a bucket or key this apply created shares that resource's fate."""
    removed = parent is not None and not parent.remains
    return Verdict(
        Outcome.WITH_PARENT if removed else Outcome.STAYS_WITH_PARENT,
        f"{what} went with it" if removed else f"{what} stays with it ({parent_name} was kept)",
    )


# --- what this apply created ----------------------------------------------------------------


def kept_for(remaining: list[str]) -> str | None:
    """Why a created bucket or key stays: the changes left in place (named) may still use it."""
    if not remaining:
        return None
    return (
        "what this apply changed and was left in place may still use it ("
        + "; ".join(remaining)
        + ")"
    )


def alias_kept_for(key_keep: str | None) -> str | None:
    """An alias goes only with its key: a kept key keeps its name."""
    return f"it names the new key, which is kept ({key_keep})" if key_keep else None


def key_used_by_later(later: Later) -> str:
    """Why the key this apply created stays: a later apply builds on it."""
    return f"a later apply ({later.name}) uses it; undo that apply first"


def key_used_by_bucket(bucket: str, written: int | Unreadable) -> str | None:
    """Why the key this apply created stays: objects written to ``bucket`` since the apply
    (``written``: how many, or why they could not be counted) may be encrypted with it, and
    deleting the key would make them unreadable for ever. None: nothing keeps it here."""
    if isinstance(written, Unreadable):
        return f"s3://{bucket}, which may hold data it encrypts, could not be read: {written.error}"
    if written:
        return (
            f"objects written to s3://{bucket} since the apply (exported logs, say) may be "
            "encrypted with it, and would be unreadable without it"
        )
    return None


def bucket(
    name: str, live: BucketFacts | Unreadable, keep: str | None, later: Later | None
) -> Decision:
    """The bucket this apply created; ``later``: a later apply that uses it."""
    if isinstance(live, Unreadable):
        return Verdict(
            Outcome.FAILED,
            f"could not look at s3://{name}: {live.error}",
            Manual.EMPTY_AND_DELETE_BUCKET,
        )
    if not live.exists:
        return Verdict(Outcome.AS_BEFORE, f"s3://{name} does not exist")
    if live.objects:
        return Verdict(
            Outcome.KEPT,
            f"kept the new bucket s3://{name}: it holds objects (exported logs, say), "
            "and nothing is ever deleted with data in it",
            Manual.EMPTY_AND_DELETE_BUCKET,
        )
    if keep:
        return Verdict(
            Outcome.KEPT, f"kept the new bucket s3://{name}: {keep}", Manual.DELETE_BUCKET
        )
    if later is not None:
        return Verdict(
            Outcome.KEPT,
            f"kept the new bucket s3://{name}: a later apply ({later.name}) changed "
            "it since and builds on it; undo that apply first, then this one",
            Manual.UNDO_LATER,
            later,
        )
    return PutBack()


def _deleted(what: str, shown: str, gone: bool | Unreadable, manual: Manual) -> Verdict:
    """After a delete of ``what`` (the new bucket or the alias), ``gone`` as read back."""
    if isinstance(gone, Unreadable):
        return Verdict(Outcome.FAILED, f"could not delete {what}: {gone.error}", manual)
    if not gone:
        return Verdict(Outcome.FAILED, f"{shown} still exists after it was deleted", manual)
    return Verdict(Outcome.RESTORED, f"deleted {what}")


def bucket_deleted(name: str, gone: bool | Unreadable) -> Verdict:
    return _deleted(f"the new bucket s3://{name}", f"s3://{name}", gone, Manual.DELETE_BUCKET)


def alias(
    name: str, target: str | Unreadable | None, key_id: str | None, keep: str | None
) -> Decision:
    """The alias this apply created: ``target`` is the key it names now, ``key_id`` the key
    this apply created (None: none found)."""
    if isinstance(target, Unreadable):
        return Verdict(
            Outcome.FAILED,
            f"could not look at the alias {name}: {target.error}",
            Manual.DELETE_ALIAS,
        )
    if target is None:
        return Verdict(Outcome.AS_BEFORE, f"the alias {name} does not exist")
    if key_id is None or target != key_id:
        return Verdict(
            Outcome.LEFT_CHANGED,
            f"the alias {name} now names another key ({target}), not the one this apply "
            "created; it was left as it is",
            Manual.DELETE_ALIAS,
        )
    if keep:
        return Verdict(Outcome.KEPT, f"kept the alias {name}: {keep}", Manual.DELETE_ALIAS)
    return PutBack()


def alias_deleted(name: str, gone: bool | Unreadable) -> Verdict:
    return _deleted(f"the alias {name}", f"the alias {name}", gone, Manual.DELETE_ALIAS)


def new_key(key: KeyFacts | Unreadable | None, keep: str | None) -> Decision:
    """The key this apply created (None: none was found)."""
    if isinstance(key, Unreadable):
        return Verdict(
            Outcome.FAILED,
            f"could not look for the key this apply created: {key.error}",
            Manual.FIND_AND_DELETE_KEY,
        )
    if key is None:
        return Verdict(Outcome.AS_BEFORE, "no key was created")
    if key.state == "PendingDeletion":
        return Verdict(
            Outcome.AS_BEFORE, f"the new key {key.key_id} is already scheduled for deletion"
        )
    if keep:
        return Verdict(
            Outcome.KEPT,
            f"kept the new key {key.arn} (it is live and billed): {keep}",
            Manual.DELETE_KEY,
        )
    return PutBack()


def key_scheduled(key: KeyFacts, failed: Unreadable | None, days: int) -> Verdict:
    """After scheduling the new key's deletion (``failed``: why it could not be)."""
    if failed is not None:
        return Verdict(
            Outcome.FAILED,
            f"could not schedule the new key {key.arn} for deletion (it is live and "
            f"billed): {failed.error}",
            Manual.DELETE_KEY,
        )
    return Verdict(
        Outcome.RESTORED,
        f"scheduled the new key {key.arn} for deletion in "
        f"{days} days (aws kms cancel-key-deletion --key-id "
        f"{key.key_id} keeps it)",
    )
