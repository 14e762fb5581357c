"""An expected failure, shown as a message and its fix: never a traceback."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from wizard.core.errors import WizardError
from wizard.core.text import visible_lines


def error_parts(error: BaseException) -> tuple[str, str | None]:
    """(message, fix) for any exception; unexpected ones are named, not traced."""
    if isinstance(error, WizardError):
        return error.message, error.fix
    text = str(error) or type(error).__name__
    return (
        f"Unexpected error: {type(error).__name__}: {text}",
        "This is a bug in the wizard; nothing was changed unless the Apply step said so.",
    )


class ErrorPanel(Static):
    """Hidden until an error is shown; ``clear()`` hides it again."""

    DEFAULT_CSS = """
    ErrorPanel {
        display: none;
        height: auto;
        max-height: 12;
        margin: 0 1;
        padding: 0 1;
        border: round $error;
        background: $error 10%;
    }
    ErrorPanel.-visible { display: block; }
    """

    def show_error(self, error: BaseException | str, fix: str | None = None) -> None:
        message, default_fix = (error, fix) if isinstance(error, str) else error_parts(error)
        fix = fix or default_fix
        lines = [Content.assemble(("✗ ", "bold $text-error"), (visible_lines(message), "bold"))]
        if fix:
            lines.append(Content.assemble(("Fix: ", "bold"), visible_lines(fix)))
        self.update(Content("\n").join(lines))
        self.add_class("-visible")

    def clear(self) -> None:
        self.update("")
        self.remove_class("-visible")

    @property
    def visible_error(self) -> bool:
        return self.has_class("-visible")
