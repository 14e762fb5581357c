"""The proof for a change ticket, as Markdown: the failure reproduced before the change, the
changes applied (from the journal), the export after it (object, SSE-KMS proof, decrypted
lines) and the commands that repeat it. Pure: every fact is handed in.

Text from AWS (error messages, object keys, log lines) is untrusted: control, format (bidi)
and separator characters are shown as escapes (``core.text.visible``, as in every face), and
code blocks are fenced with more backticks than the text holds, so a
log line cannot end its block or add Markdown of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.core.text import visible


def _inline(text: str) -> str:
    """Text inside `code`: visible, and fenced by enough backticks."""
    text = visible(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(lines: tuple[str, ...] | list[str], language: str = "") -> list[str]:
    shown = [visible(line) for line in lines]
    longest = max((len(run) for line in shown for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *shown, fence]


@dataclass(frozen=True)
class Before:
    """The failure reproduced before the change (doctor --verify, or the Review's probe)."""

    time: str
    predicted: str | None  # the error the doctor predicted
    aws_error: str  # AWS's answer, verbatim
    agrees: bool


@dataclass(frozen=True)
class AppliedStep:
    summary: str
    status: str


@dataclass(frozen=True)
class After:
    succeeded: bool
    verdict: str
    task_id: str
    objects: tuple[str, ...]  # s3:// URIs
    algorithm: str | None
    key_arn: str | None
    key_alias: str | None
    bucket_key: bool | None
    sample_title: str
    sample: tuple[str, ...]
    explanation: str | None


@dataclass(frozen=True)
class Proof:
    destination: str  # s3://bucket/prefix/
    account: str
    region: str
    log_group: str
    made: str  # when, ISO-8601 UTC
    before: Before | None
    journal: str | None
    steps: tuple[AppliedStep, ...]
    after: After
    commands: tuple[str, ...]  # shell-quoted already


# Inside a sentence (never at a line start), only these make markup: emphasis, code, links,
# images, HTML, entities, tables, strikethrough.
_MARKDOWN_SPECIAL = set("\\`*_[]<>!&|~")


def _prose(text: str) -> str:
    """Text from AWS in a Markdown sentence: shown visibly, with every character Markdown or
    HTML would act on escaped (a stream named ``<img ...>`` or ``[x](url)`` stays text)."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in visible(text))


def markdown(proof: Proof) -> str:
    """The proof as a Markdown document."""
    out: list[str] = [
        f"# Proof: CloudWatch Logs exports to {_inline(proof.destination)}",
        "",
        f"- Account: {_inline(proof.account)}, region {_inline(proof.region)}",
        f"- Log group: {_inline(proof.log_group)}",
        f"- Made: {proof.made} by cwl-export-wizard",
        "",
        "## Before: the failure, reproduced",
        "",
    ]
    before = proof.before
    if before is None:
        out.append(
            "No failure was reproduced before the change (run `cwl-export-wizard doctor "
            "--verify` before applying to record one)."
        )
    else:
        out.append(f"A probe export at {before.time} was refused by AWS with:")
        out.append("")
        out.extend(_block([before.aws_error]))
        out.append("")
        if before.predicted is not None:
            match = "matched" if before.agrees else "did NOT match"
            out.append(f"The doctor had predicted this error ({match}):")
            out.append("")
            out.extend(_block([before.predicted]))
    out += ["", "## The changes applied", ""]
    if proof.journal is None:
        out.append("No change was applied by the wizard on this machine.")
    else:
        out.append(f"Journal: {_inline(proof.journal)}")
        out.append("")
        out.extend(
            f"{number}. {_prose(step.summary)} ({step.status})"
            for number, step in enumerate(proof.steps, 1)
        )
    after = proof.after
    out += ["", "## After: the export", "", _prose(after.verdict), ""]
    out.append(f"- Export task: {_inline(after.task_id)}")
    for uri in after.objects:
        out.append(f"- Object: {_inline(uri)}")
    out.append(f"- Encryption: {_inline(after.algorithm or 'none')}")
    out.append(f"- KMS key ARN: {_inline(after.key_arn or '-')}")
    if after.key_alias:
        out.append(f"- Key alias: {_inline(after.key_alias)}")
    if after.bucket_key is not None:
        out.append(f"- S3 Bucket Key: {'enabled' if after.bucket_key else 'not enabled'}")
    if after.sample:
        out += ["", f"{_prose(after.sample_title)}:", ""]
        out.extend(_block(list(after.sample), "text"))
    if after.explanation:
        out += ["", _prose(after.explanation)]
    out += ["", "## Repeat it", ""]
    out.extend(_block(list(proof.commands), "bash"))
    return "\n".join(out) + "\n"
