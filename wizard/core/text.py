"""Small wording helpers every face shares."""

from __future__ import annotations

import shlex
import unicodedata


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "change")`` -> "1 change"; ``count(6, "change")`` -> "6 changes"."""
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"


def shell_command(*words: str) -> str:
    """A command for a person to paste into a shell: every word quoted so that it arrives as
    one argument, whatever it holds (``it's a;touch /tmp/x``, ``$(id)``, spaces)."""
    return " ".join(shlex.quote(word) for word in words)


def sentence(text: str) -> str:
    """Upper-case the first letter only: names and actions keep their case
    (``str.capitalize`` would turn "DeleteBucket: s3:DeleteBucket" into "Deletebucket: ...")."""
    return text[:1].upper() + text[1:]


# --- untrusted text ------------------------------------------------------------------------
#
# Text from AWS (log lines, stream, group, bucket and key names, descriptions, tags, service
# error messages) is untrusted: a log line can hold ESC [2J or an OSC title sequence, and a
# terminal would obey it. Every face shows such text through ``visible``: a character a
# terminal could act on, or one that changes how the text around it reads, is shown as an
# escape instead (as Python writes it: \x1b, \x85, \u202e, \U000e0041).
#
# Shown as an escape: every Unicode "control" (Cc: C0 including CR and LF, DEL, C1) but TAB,
# every "format" character (Cf: the bidi embeddings, overrides, isolates and marks
# U+202A-202E, U+2066-2069, U+200E/200F, U+061C, zero-width and invisible characters, soft
# hyphen, tag characters), the line and paragraph separators (U+2028/2029) and lone surrogates
# (which no terminal encoding can carry).
# TAB stays a tab: it only moves the cursor forward to the next tab stop (nothing is hidden,
# overwritten or obeyed), and it is the field separator of Lambda's and many other services'
# log lines, which would otherwise read as "\x09" between every field.
# Kept as they are: every printable character, spaces, and the backslash (so a Windows path or
# a regular expression in a log line reads as written; "\x1b" typed into a log line and an
# escaped ESC look alike, which is harmless: neither reaches the terminal as ESC).
# Rich markup such as "[bold]" is plain text here; the faces never parse it (TUI Content and
# questionary titles take it literally).
# --json output never goes through this: it stays exact.

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def escaped(char: str) -> bool:
    """Whether ``visible`` shows ``char`` as an escape (a tab is kept)."""
    return char != "\t" and unicodedata.category(char) in _ESCAPED_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str) -> str:
    """``text`` with every control, format (bidi), separator and surrogate character shown as
    an escape (``"a\\x1b[2Jb"`` -> ``"a\\\\x1b[2Jb"``): safe to print on any terminal, on one
    line. Idempotent: what it returns passes through it unchanged."""
    if text.isprintable():  # the common case: nothing to do (a space is printable, too)
        return text
    return "".join(_escape(char) if escaped(char) else char for char in text)


def visible_lines(text: str) -> str:
    """``visible`` for text of several lines: the line breaks ("\\n") stay, everything else
    ``visible`` escapes is escaped (for a message the tool wrote with untrusted text in it)."""
    return "\n".join(visible(part) for part in text.split("\n"))


def json_escaped(text: str) -> str:
    """JSON text with every character ``visible`` escapes (but the line break) written as its
    JSON escape (``\\u202e``): the same document to a parser, and safe to show on a terminal
    or in a script. Only valid for JSON text, where such characters can only be in strings."""
    if text.replace("\n", "").isprintable():  # the common case
        return text
    # JSON text holds a tab only as "\\t" (json.dumps writes no raw one): escape it too.
    return "".join(_json_escape(c) if c == "\t" or (c != "\n" and escaped(c)) else c for c in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the BMP: a JSON escape is a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
