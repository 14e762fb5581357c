"""The Markdown proof (wizard.core.proof): untrusted text cannot break out of it."""

from __future__ import annotations

from wizard.core.proof import After, AppliedStep, Before, Proof, markdown
from wizard.core.text import visible


def proof(sample: tuple[str, ...], error: str = "GetBucketAcl call failed.") -> Proof:
    return Proof(
        destination="s3://b/p/",
        account="123456789012",
        region="ap-northeast-1",
        log_group="/g",
        made="2026-12-06T00:00:00Z",
        before=Before("2026-12-05T23:59:00Z", error, error, True),
        journal="/j/apply-1.json",
        steps=(AppliedStep("Add 1 statement", "applied"),),
        after=After(
            succeeded=True,
            verdict="The export worked.",
            task_id="t-1",
            objects=("s3://b/p/t-1/s/000000.gz",),
            algorithm="aws:kms",
            key_arn="arn:aws:kms:ap-northeast-1:123456789012:key/k",
            key_alias="alias/k",
            bucket_key=True,
            sample_title="First decrypted lines of s",
            sample=sample,
            explanation=None,
        ),
        commands=("cwl-export-wizard doctor --verify --bucket b",),
    )


def test_a_log_line_cannot_close_its_code_block() -> None:
    text = markdown(proof(("ok", "```", "# injected heading", "````")))
    lines = text.splitlines()
    start = lines.index("`````text")
    assert lines[start + 1 : start + 6] == ["ok", "```", "# injected heading", "````", "`````"]


def test_control_and_bidi_characters_are_shown_as_escapes() -> None:
    assert visible("a\x1b[31mred\u202eb\tc") == "a\\x1b[31mred\\u202eb\tc"
    text = markdown(proof(("\x1b]0;title\x07",), error="bad\x1b[2J"))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;title\\x07" in text and "bad\\x1b[2J" in text


def test_every_part_is_there() -> None:
    text = markdown(proof(("2026-12-05T00:00:00.000Z hello",)))
    for part in (
        "## Before: the failure, reproduced",
        "## The changes applied",
        "1. Add 1 statement (applied)",
        "## After: the export",
        "- KMS key ARN: `arn:aws:kms:ap-northeast-1:123456789012:key/k`",
        "- Key alias: `alias/k`",
        "2026-12-05T00:00:00.000Z hello",
        "## Repeat it",
    ):
        assert part in text


def test_a_stream_name_in_a_sentence_is_text_not_markdown_or_html() -> None:
    """Found from outside: a stream named with HTML and Markdown became live in the proof."""
    import dataclasses

    hostile = "<img src=x onerror=alert(1)> ![t](https://evil.example/t.png) [click](x) <details>"
    base = proof(("line",))
    made = dataclasses.replace(
        base,
        after=dataclasses.replace(base.after, sample_title=f"First decrypted lines of {hostile}"),
    )
    text = markdown(made)
    [line] = [row for row in text.splitlines() if row.startswith("First decrypted lines of")]
    import re

    assert not re.search(r"(?<!\\)[<>\[\]!]", line), line  # each one escaped
    assert "\\<img src=x onerror=alert(1)\\>" in line
