"""What a face shows after a test export: the result view and the before/after card."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core import outcomes
from wizard.core.state import SSE_KMS, ExportTaskInfo
from wizard.core.text import count, shell_command, visible, visible_lines
from wizard.flow.state import WizardState

if TYPE_CHECKING:
    # The AWS layer (boto3) loads on first use, so that a face can draw its first screen
    # before boto3 is imported (the TUI shows its first screen within a second).
    from wizard.aws import export as aws_export


@dataclass(frozen=True)
class ResultView:
    """The proof a face shows at the end of a test export, in words every face uses. Text from
    AWS in it (object keys, stream names, log lines, messages) is shown visibly already
    (core.text.visible): every face prints it as it is."""

    succeeded: bool
    verdict: str
    objects: tuple[str, ...]  # "s3://bucket/key  (724 bytes)"
    more_objects: int  # beyond the first MAX_OBJECTS_SHOWN
    proof: tuple[tuple[str, str], ...]  # (what, value): algorithm, key, alias, bucket key
    sample_title: str
    sample: tuple[str, ...]
    explanation: str | None
    repeat: str  # the AWS CLI command that repeats this export
    journal: str | None
    undo: str | None  # None: nothing to undo, or the sandbox (it forgets everything)


MAX_OBJECTS_SHOWN = 8


def undo_command(journal: Path | str) -> str:
    return outcomes.undo_command(str(journal))


def result_view(
    state: WizardState,
    result: aws_export.ExportResult,
    *,
    sandbox: bool,
    key_alias: str | None = None,
    source_account: str | None = None,
    profile: str | None = None,
) -> ResultView:
    """``source_account``: the account the log group is in, when it is not the bucket's;
    ``profile``: the profile that ran the export (Flow.export_profile), for its command."""
    task = result.task
    encryption = result.encryption
    count_objects = len(result.objects)
    if result.succeeded:
        kms = encryption is not None and encryption.algorithm == SSE_KMS
        of = f" of account {source_account}" if source_account else ""
        verdict = (
            f"The export worked. CloudWatch Logs wrote {count(count_objects, 'object')} for "
            f"{task.log_group}{of} into s3://{state.bucket}/{state.prefix}"
            + (", encrypted with your key." if kms else ".")
        )
    else:
        verdict = f"The export task ended {task.status} without data."
    proof: list[tuple[str, str]] = []
    if encryption is None:
        proof.append(("Encryption", "not inspected"))
    else:
        proof.append(("Algorithm", encryption.algorithm or "none"))
        proof.append(("KMS key", encryption.kms_key_id or "-"))
        if key_alias:
            proof.append(("Key alias", key_alias))
        proof.append(("Bucket key", "enabled" if encryption.bucket_key else "not enabled"))
    first = result.objects[0].key.split("/")[-2] if result.objects else ""
    applied = state.applied
    journal = str(applied.journal_path) if applied is not None else None
    return ResultView(
        succeeded=result.succeeded,
        verdict=visible(verdict),
        objects=tuple(
            visible(f"{o.uri}  ({o.size} bytes)") for o in result.objects[:MAX_OBJECTS_SHOWN]
        ),
        more_objects=max(0, count_objects - MAX_OBJECTS_SHOWN),
        proof=tuple((what, visible(value)) for what, value in proof),
        sample_title=f"First decrypted lines of {visible(first)}"
        if first
        else "First decrypted lines",
        sample=tuple(visible(line) for line in result.sample),
        explanation=visible_lines(result.explanation) if result.explanation else None,
        repeat=_repeat_export(state, task, profile),
        journal=journal,
        undo=undo_command(journal) if journal and not sandbox and state.applied_changes else None,
    )


def _repeat_export(state: WizardState, task: ExportTaskInfo, profile: str | None) -> str:
    """The AWS CLI's own export of the same log group, window and destination, run as
    ``profile`` (the account that owns the log group)."""
    from wizard.core.cli_equivalent import export_command

    return export_command(
        state.region or "",
        task.log_group,
        state.bucket or "",
        state.prefix,
        task.from_ms or 0,
        task.to_ms or 0,
        state.stream_prefix,
        profile,
    )


def proof_commands(
    state: WizardState, result: aws_export.ExportResult, profile: str | None = None
) -> tuple[str, ...]:
    """The commands that repeat a proof, shell-quoted: the verification, the wizard's test
    export of the same window, and the AWS CLI's own export (as ``profile``, the profile
    that ran the export, as the result's repeat command)."""
    task = result.task
    where = ["--region", state.region or "", "--bucket", state.bucket or "", "--prefix"]
    where += [state.prefix, "--log-group", task.log_group]
    window = ["--from", str(task.from_ms or 0), "--to", str(task.to_ms or 0)]
    stream = ["--stream-prefix", state.stream_prefix] if state.stream_prefix else []
    return (
        shell_command("cwl-export-wizard", "doctor", "--verify", *where),
        shell_command("cwl-export-wizard", "test-export", *where, *window, *stream),
        _repeat_export(state, task, profile),
    )


@dataclass(frozen=True)
class BeforeAfter:
    """The Result's before/after card: the failure reproduced, then the working export."""

    before: tuple[str, ...]
    after: tuple[str, ...]


def before_after(state: WizardState, view: ResultView) -> BeforeAfter | None:
    """The card's words, when this destination's failure was reproduced in this run."""
    here = state.reproduced_here
    if here is None or not here.refused:
        return None
    verification = here.verification
    answer = verification.observation
    predicted = verification.prediction.aws_error
    before = [
        "AWS's answer to a probe export, before the changes:",
        visible(answer.aws_error or "no message"),
        "as the doctor predicted"
        if verification.agrees
        else visible(f"the doctor predicted: {predicted or 'a working export'}"),
    ]
    if state.applied is not None:
        journal = visible(str(state.applied.journal_path))
        before.append(f"then the wizard applied the changes (journal {journal})")
    proof = dict(view.proof)
    key = proof.get("KMS key", "-")
    alias = proof.get("Key alias")
    after = [view.verdict]
    if view.objects:
        after.append(view.objects[0])
    after.append(
        f"{proof.get('Algorithm', 'not inspected')} with {alias} ({key})"
        if alias
        else f"{proof.get('Algorithm', 'not inspected')} with {key}"
    )
    if view.sample:
        after.append(view.sample[0])
    return BeforeAfter(tuple(before), tuple(after))
