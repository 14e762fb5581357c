"""Unified diffs of the documents a plan changes, for people to read before they approve."""

from __future__ import annotations

import difflib


def _lines(text: str | None) -> list[str]:
    return [] if text is None else text.splitlines()


def unified(before: str | None, after: str | None, label: str) -> str:
    """``before`` -> ``after`` as a unified diff; "" when nothing changes.

    A side that does not exist (None) is headed "(none)", so a new document reads as every
    line added. The result ends with a newline so diffs can be concatenated.
    """
    if before == after:
        return ""
    from_header = f"{label} (current)" if before is not None else f"{label} (none)"
    to_header = f"{label} (after the wizard)" if after is not None else f"{label} (none)"
    lines = difflib.unified_diff(
        _lines(before), _lines(after), fromfile=from_header, tofile=to_header, lineterm=""
    )
    text = "\n".join(lines)
    return f"{text}\n" if text else ""
