"""The validators against what people never mean: hostile prefixes, bucket names, key forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import CONTROLS, unsafe
from wizard.core.validate import MAX_PREFIX_BYTES, bucket_name_problem, prefix_problem

# --- the prefix ----------------------------------------------------------------------------

REFUSED_PREFIXES = {
    "a//b": "'//'",
    "./logs": "'.' folder",
    "logs/.": "'.' folder",
    "..": "'..' folder",
    "a/../b": "'..' folder",
    " logs": "space",
    "logs ": "space",
    "logs\t": "control characters",
    "lo\ngs": "control characters",
    "lo\rgs": "control characters",
    "lo\x1b[2Jgs": "control characters",
    "lo\x7fgs": "control characters",
    "lo\x9bgs": "control characters",
    "logs\u202egol": "U+202E",
    "lo\u2066gs": "U+2066",
    "lo\u200fgs": "U+200F",
    "lo\u061cgs": "U+061C",
    "lo\u2028gs": "separators",
    "lo\u2029gs": "separators",
    "": "Enter a prefix",
    "/logs": "start with '/'",
    "logs/": "end with '/'",
    "logs/*": "'*'",
    "x" * (MAX_PREFIX_BYTES + 1): "1,024-byte",
}

ACCEPTED_PREFIXES = (
    "exportedlogs",
    "logs/2026/app-1",
    "a.b/..c/c..",  # dots inside a name are names
    "it's a;touch /tmp/x",  # odd, but a valid S3 key: the printed commands quote it
    "with space/and (parens) & [brackets] = +,@!",
    "日本/ログ",
    '`backticks` and "quotes"',
    "x" * MAX_PREFIX_BYTES,
)


@pytest.mark.parametrize("prefix", sorted(REFUSED_PREFIXES))
def test_prefixes_nobody_means_are_refused_with_a_one_line_reason(prefix: str) -> None:
    problem = prefix_problem(prefix)
    assert problem is not None, prefix
    assert REFUSED_PREFIXES[prefix] in problem
    assert "\n" not in problem and not any(unsafe(c) for c in problem)


@pytest.mark.parametrize("prefix", ACCEPTED_PREFIXES)
def test_prefixes_users_mean_are_accepted(prefix: str) -> None:
    assert prefix_problem(prefix) is None


@given(st.text(min_size=1, max_size=40))
def test_an_accepted_prefix_is_plain_visible_folders(prefix: str) -> None:
    if prefix_problem(prefix) is not None:
        return
    assert not any(unsafe(c) for c in prefix)
    assert prefix == prefix.strip()
    assert all(segment not in ("", ".", "..") for segment in prefix.split("/"))
    assert len(prefix.encode()) <= MAX_PREFIX_BYTES


@given(st.text(max_size=10), CONTROLS, st.text(max_size=10))
def test_any_control_or_bidi_character_is_refused(before: str, control: str, after: str) -> None:
    assert prefix_problem(f"logs{before}{control}{after}x") is not None


# --- bucket names --------------------------------------------------------------------------


def test_a_capital_gets_the_same_precise_rule_as_any_other_wrong_character() -> None:
    upper, lower = bucket_name_problem("Bad_Name"), bucket_name_problem("bad_name")
    assert upper is not None and lower is not None
    assert upper.startswith("A bucket name may contain only lowercase a-z, 0-9, '.' and '-'")
    assert upper.endswith("not 'BN_'.") and lower.endswith("not '_'.")
    assert bucket_name_problem("café-logs") is not None
    assert "\\x1b" in (bucket_name_problem("ab\x1bc") or "")  # shown as an escape, not raw
