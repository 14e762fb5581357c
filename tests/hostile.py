"""Hostile strings: what a log line, a stream name, a key description or an AWS error message
may hold to drive the terminal of whoever reads it (and what no face may let through raw)."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

ESC = "\x1b"
BEL = "\x07"

CORPUS: tuple[str, ...] = (
    f"wipe {ESC}[2J done",  # clear the screen
    f"title {ESC}]0;PWNED-TITLE{BEL} set",  # set the window title
    f"title {ESC}]2;PWNED-TITLE{ESC}\\ set",  # the same, ended by ST
    f"link {ESC}]8;;http://evil.example{ESC}\\click{ESC}]8;;{ESC}\\",  # OSC 8 hyperlink
    "carriage \rOVERWRITTEN",  # overwrite the line
    "line\nbreak",
    "tab\tstop",
    "backspace\x08\x08xx",
    "c1 \x9b2J csi and \x9d0;osc\x9c",  # 8-bit CSI / OSC / ST
    "del \x7f",
    "nul \x00 byte",
    "bidi \u202eevil\u202c override",
    "isolates \u2066\u2067\u2068\u2069 marks \u200e\u200f arabic \u061c",
    "embeddings \u202a\u202b\u202d",
    "separators \u2028 line \u2029 paragraph",
    "zero\u200bwidth and bom \ufeff",
    "[bold]markup[/bold] stays literal [link=http://x]y[/link]",
)


def unsafe(char: str) -> bool:
    """A raw character no face may print from untrusted text (a tab is kept: see
    wizard.core.text)."""
    return char != "\t" and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}


def raw_unsafe(text: str, allowed: str = "\n\t") -> set[str]:
    """The unsafe characters in ``text`` (a face's line breaks, and tabs, which every face
    keeps as they are, are ``allowed``)."""
    return {c for c in text if unsafe(c) and c not in allowed}


CONTROLS = st.sampled_from(
    [chr(c) for c in range(0x20)]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
    + ["\u200e", "\u200f", "\u061c", "\u2028", "\u2029"]
)

hostile_text = st.lists(
    st.one_of(CONTROLS, st.sampled_from(CORPUS), st.text(min_size=1, max_size=3)),
    min_size=1,
    max_size=8,
).map("".join)
