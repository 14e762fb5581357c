"""One exception family for every layer.

Each error carries a plain-language message and, where known, the fix. Faces print
``message`` (and ``fix``) and never a traceback for these; ``--debug`` adds ``details``.
"""

from __future__ import annotations

# Exit codes shared by every command (see DESIGN.md "Conventions").
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


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


class DriftError(WizardError):
    """A target changed between the preview and the write: nothing was overwritten."""


class ApplyError(WizardError):
    """A plan step failed; ``rolled_back`` says what was restored."""

    def __init__(
        self,
        message: str,
        fix: str | None = None,
        details: str | None = None,
        rolled_back: tuple[str, ...] = (),
        journal_path: str | None = None,
    ) -> None:
        super().__init__(message, fix, details)
        self.rolled_back = rolled_back
        self.journal_path = journal_path


class Cancelled(WizardError):
    """The user cancelled a long operation."""
