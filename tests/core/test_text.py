"""core.text.visible: the one escaping rule for untrusted text."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import CORPUS, hostile_text, raw_unsafe, unsafe
from wizard.core.text import visible, visible_lines


def test_each_kind_of_hostile_character_is_shown_as_an_escape() -> None:
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x1b]0;T\x07") == "\\x1b]0;T\\x07"
    assert visible("cr\rlf\nvt\x0b") == "cr\\x0dlf\\x0avt\\x0b"
    assert visible("a tab\tstays") == "a tab\tstays"  # a field separator, obeys nothing
    assert visible("del\x7f c1\x9b") == "del\\x7f c1\\x9b"
    assert visible("rlo\u202e lri\u2066 lrm\u200e alm\u061c") == (
        "rlo\\u202e lri\\u2066 lrm\\u200e alm\\u061c"
    )
    assert visible("ls\u2028ps\u2029") == "ls\\u2028ps\\u2029"
    assert visible("tag\U000e0041") == "tag\\U000e0041"
    assert visible("lone \ud800") == "lone \\ud800"


def test_what_people_write_stays_as_it_is() -> None:
    for text in (
        "plain words",
        "[bold]markup[/bold]",
        r"C:\path\x1b typed",
        "日本語 café ✓ 🙂",
        "s3://bucket/exportedlogs/abc/stream/000000.gz",
        "",
    ):
        assert visible(text) == text


def test_visible_lines_keeps_the_line_breaks_only() -> None:
    assert visible_lines("one\x1b\ntwo\r") == "one\\x1b\ntwo\\x0d"


def test_the_corpus_is_escaped() -> None:
    for text in CORPUS:
        assert not raw_unsafe(visible(text), allowed=""), text


@given(hostile_text)
def test_visible_never_lets_an_unsafe_character_through_and_is_idempotent(text: str) -> None:
    shown = visible(text)
    assert not any(unsafe(c) for c in shown)
    assert visible(shown) == shown
    # Nothing is lost: every character that is safe is still there.
    kept = Counter(c for c in text if not unsafe(c))
    assert not kept - Counter(shown)


@given(st.text())
def test_visible_text_is_printable_on_one_line(text: str) -> None:
    shown = visible(text)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
    shown.encode("utf-8")  # no lone surrogate: it can always be written
