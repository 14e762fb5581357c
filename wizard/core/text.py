"""Small wording helpers every face shares."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "change")`` -> "1 change"; ``count(6, "change")`` -> "6 changes"."""
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"


def sentence(text: str) -> str:
    """Upper-case the first letter only: names and actions keep their case
    (``str.capitalize`` would turn "DeleteBucket: s3:DeleteBucket" into "Deletebucket: ...")."""
    return text[:1].upper() + text[1:]
