"""What the terminal can show: shared by the faces, cheap to import (no UI libraries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COMMANDS_HINT = (
    "cwl-export-wizard --plain (line-by-line prompts), or the commands: "
    "doctor, plan, apply, test-export"
)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or not a file at all
        return False


def tui_unavailable_reason(stdin: Any, stdout: Any, env: Mapping[str, str]) -> str | None:
    """Why the full-screen TUI cannot start here, with what to use instead; None: it can."""
    problems: list[str] = []
    if not _isatty(stdin):
        problems.append("standard input is not a terminal")
    if not _isatty(stdout):
        problems.append("standard output is not a terminal")
    if env.get("TERM", "") == "dumb":
        problems.append("TERM=dumb cannot draw a full-screen app")
    if not problems:
        return None
    if not _isatty(stdin):
        # Nobody types at prompts: the commands take everything as options, and plain mode
        # reads its answers (numbers, names or Enter for the default) line by line from stdin.
        instead = (
            "Use the commands, which take every choice as an option: "
            "cwl-export-wizard doctor | plan | apply | test-export (see --help); or "
            "cwl-export-wizard --plain, which reads one answer per line from standard input."
        )
    else:
        instead = f"Use {COMMANDS_HINT}."
    return f"The full-screen wizard cannot start: {'; '.join(problems)}. {instead}"


def supports_color(stream: Any, env: Mapping[str, str]) -> bool:
    """ANSI colour only on a terminal; NO_COLOR (https://no-color.org) and TERM=dumb turn it off."""
    if env.get("NO_COLOR"):
        return False
    if env.get("TERM", "") == "dumb":
        return False
    return _isatty(stream)
