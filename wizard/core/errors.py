"""One exception family for every layer.

Each error carries a plain-language message and, where known, the fix. Faces print
``message`` (and ``fix``) and never a traceback for these; ``--debug`` adds ``details``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wizard.core import wording
from wizard.core.text import shell_command

if TYPE_CHECKING:
    from wizard.core.outcomes import RollbackReport
    from wizard.core.state import ExportTaskInfo

# Exit codes shared by every command (the README's table of exit codes).
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_NO_INPUT = 3  # plain mode: the answers ran out (end of piped input)
EXIT_INTERRUPTED = 130  # Ctrl+C, in every face (128 + SIGINT, as a shell reports it)


class WizardError(Exception):
    """An expected failure, explained for a person."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, fix: str | None = None, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.details = details

    def __str__(self) -> str:
        return self.message if not self.fix else f"{self.message} Fix: {self.fix}"


class UsageError(WizardError):
    """Bad input from the user: refused before any AWS call."""


class NoRegion(UsageError):
    """No region was given and none is configured (a caller may fall back to one of its own)."""


class PolicyError(WizardError):
    """A policy document that cannot be parsed or is not a valid IAM policy."""


class AwsError(WizardError):
    """AWS refused or failed a call (credentials, AccessDenied, throttling, network...)."""

    def __init__(
        self,
        message: str,
        fix: str | None = None,
        details: str | None = None,
        code: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message, fix, details)
        self.code = code
        self.operation = operation


class Cancelled(WizardError):
    """The user cancelled a long operation (Ctrl+C, or "stop" in a face): exit 130 in every
    face, whatever was put back (the face says what)."""

    exit_code = EXIT_INTERRUPTED


class ApplyError(WizardError):
    """A plan step failed (or the apply was stopped); ``report`` says, step by step, what was
    put back and what remains, as read from the account."""

    def __init__(
        self,
        message: str,
        fix: str | None = None,
        details: str | None = None,
        report: RollbackReport | None = None,
        journal_path: str | None = None,
    ) -> None:
        super().__init__(message, fix, details)
        self.report = report
        self.journal_path = journal_path

    @property
    def restored_everything(self) -> bool:
        """The account is as it was before the apply (nothing remains)."""
        return self.report is None or self.report.complete


class DriftError(ApplyError):
    """A target changed between the preview and the write: nothing was overwritten."""


class ApplyCancelled(ApplyError, Cancelled):
    """The user stopped an apply: the current call finished, then the rest was rolled back."""


class ExportBusy(WizardError):
    """CloudWatch Logs runs one export task per account and region; another one is active."""

    def __init__(self, active: ExportTaskInfo, region: str, rounds: int = 0) -> None:
        """``rounds``: how many times the slot was cleared before (the policy's limit)."""
        super().__init__(
            wording.export_still_busy(region, active, rounds)
            if rounds
            else wording.export_busy(region, [active]),
            fix="Wait for it to finish, or cancel it: "
            + shell_command("aws", "logs", "cancel-export-task", "--task-id", active.task_id)
            + ".",
        )
        self.active = active
        self.region = region
        self.rounds = rounds


class ExportRefused(AwsError):
    """CreateExportTask refused with one of the documented permission texts (``aws_error``):
    the destination is broken, or a policy change has not reached CloudWatch Logs yet."""

    def __init__(self, message: str, aws_error: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix, code="ExportRefused", operation="CreateExportTask")
        self.aws_error = aws_error
