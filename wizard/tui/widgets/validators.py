"""Input validation from the shared ``*_problem`` functions (one validator per kind of input)."""

from __future__ import annotations

from collections.abc import Callable

from textual.validation import ValidationResult, Validator


class ProblemValidator(Validator):
    """Valid when ``problem(value)`` is None; else its message is the failure description."""

    def __init__(self, problem: Callable[[str], str | None]) -> None:
        super().__init__()
        self.problem = problem

    def validate(self, value: str) -> ValidationResult:
        message = self.problem(value)
        return self.success() if message is None else self.failure(message, value)
