"""core.diff.unified: the diffs a person reads before approving a plan."""

from __future__ import annotations

from wizard.core.diff import unified

BEFORE = '{\n  "a": 1,\n  "b": 2\n}'
AFTER = '{\n  "a": 1,\n  "b": 3\n}'


def test_identical_documents_have_no_diff() -> None:
    assert unified(BEFORE, BEFORE, "PutBucketPolicy s3://b") == ""
    assert unified(None, None, "x") == ""


def test_headers_name_the_label_and_both_sides() -> None:
    text = unified(BEFORE, AFTER, "PutBucketPolicy s3://b")
    lines = text.splitlines()
    assert lines[0] == "--- PutBucketPolicy s3://b (current)"
    assert lines[1] == "+++ PutBucketPolicy s3://b (after the wizard)"
    assert lines[2].startswith("@@")
    assert '-  "b": 2' in lines
    assert '+  "b": 3' in lines
    assert '   "a": 1,' in lines  # context lines keep their leading space
    assert text.endswith("\n")


def test_absent_before_reads_as_every_line_added() -> None:
    text = unified(None, AFTER, "CreateBucket s3://b")
    lines = text.splitlines()
    assert lines[0] == "--- CreateBucket s3://b (none)"
    assert lines[1] == "+++ CreateBucket s3://b (after the wizard)"
    body = lines[3:]
    assert body == ["+" + line for line in AFTER.splitlines()]


def test_absent_after_reads_as_every_line_removed() -> None:
    text = unified(BEFORE, None, "x")
    lines = text.splitlines()
    assert lines[1] == "+++ x (none)"
    assert all(line.startswith("-") for line in lines[3:])


def test_missing_trailing_newline_makes_no_noise() -> None:
    assert unified(BEFORE, BEFORE + "\n", "x") == ""
