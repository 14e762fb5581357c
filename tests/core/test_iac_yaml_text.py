"""Any text (a foreign Sid, a condition value, a prefix in a header) survives the trip into the
CloudFormation YAML exactly, and never ends a comment early (found from outside: U+2028 in a
header comment injected top-level keys; a character outside the BMP became a surrogate pair)."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.core.iac import _yaml_quoted, _yaml_scalar, comment

HOSTILE = [
    "x\u2028Outputs: {Pwn: {Value: pwned}}\u2028#",
    "a\x85b",
    "a\u2029b",
    "a𠮷b",
    "emoji 🙂 here",
    "\x1b]0;PWNED\x07",
    "tab\there",
    'quote " and backslash \\',
    "\ufeffbom",
    "del\x7f",
    "c1\x9b",
    "line\nbreak\r\n",
    "!Ref x",
    "${aws:username}",
]


def test_hostile_text_loads_back_exactly_from_a_yaml_scalar() -> None:
    for text in HOSTILE:
        assert yaml.safe_load(f"k: {_yaml_scalar(text)}\n") == {"k": text}, text


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_any_text_loads_back_exactly(text: str) -> None:
    assert yaml.safe_load(f"k: {_yaml_quoted(text)}\n") == {"k": text}


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_a_comment_never_ends_early(text: str) -> None:
    lines = comment([f"prefix {text}"])
    document = "\n".join([*lines, "k: 1", ""])
    assert yaml.safe_load(document) == {"k": 1}
    assert not any(ch in "".join(lines) for ch in "\r\x85\u2028\u2029")


def test_the_injection_found_from_outside_stays_in_its_comment() -> None:
    lines = comment(["Export prefix: " + HOSTILE[0]])
    assert yaml.safe_load("\n".join([*lines, "Resources: {}", ""])) == {"Resources": {}}
