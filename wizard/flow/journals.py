"""What ``undo JOURNAL`` is about to do, read from the journal before any AWS call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession


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


def check_undo_account(session: AwsSession, preview: UndoPreview) -> None:
    """The credentials are the journal's account's (the same check undo itself makes), so a
    wrong profile is refused before anything is asked."""
    from wizard.aws import apply as aws_apply

    aws_apply.check_journal_account(session, preview.account)
