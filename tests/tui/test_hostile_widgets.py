"""Property: whatever AWS text holds, what every face makes of it for a person holds no raw
control, bidi or separator character (the TUI's Content, plain mode's and the commands' lines)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import hostile_text, raw_unsafe
from wizard import render
from wizard.aws.inventory import KeyOption
from wizard.core.findings import Finding, FindingCode, Severity
from wizard.core.outcomes import Outcome, RollbackReport, StepReport
from wizard.core.state import KeyState
from wizard.flow import BucketOption
from wizard.tui.screens.apply import report_content
from wizard.tui.widgets.diff_view import diff_content
from wizard.tui.widgets.findings import finding_content
from wizard.tui.widgets.option_lists import bucket_prompt, key_prompt


@settings(max_examples=60)
@given(
    message=hostile_text,
    aws_error=hostile_text,
    statement=hostile_text,
    fix=hostile_text,
)
def test_findings_in_every_face(message: str, aws_error: str, statement: str, fix: str) -> None:
    finding = Finding(
        FindingCode.EXPLICIT_DENY, Severity.ERROR, message, fix, aws_error, (statement,)
    )
    assert not raw_unsafe(str(finding_content(finding)))
    for colour in (False, True):
        for line in [*render.findings([finding]), render.verdict([finding])]:
            assert not raw_unsafe(render.paint(line, colour), allowed="\n\x1b")
            assert not raw_unsafe(render.paint(line, False))


@settings(max_examples=60)
@given(st.lists(hostile_text, min_size=1, max_size=5))
def test_diffs_in_every_face(lines: list[str]) -> None:
    diff = "\n".join(f"+{line}" for line in lines)
    assert not raw_unsafe(str(diff_content(diff)))
    for line in render.diff(diff):
        assert not raw_unsafe(render.paint(line, False))


@settings(max_examples=60)
@given(alias=hostile_text, reason=hostile_text, state=hostile_text, bucket=hostile_text)
def test_key_and_bucket_rows(alias: str, reason: str, state: str, bucket: str) -> None:
    key = KeyState(reference=alias, exists=True, key_id="k", aliases=(alias,), state=state)
    for usable in (True, False):
        option = KeyOption(key, usable, None if usable else reason)
        assert not raw_unsafe(str(key_prompt(option, 20)))
        row = bucket_prompt(BucketOption(bucket, "r", usable, reason), 20, None, 10)
        assert not raw_unsafe(str(row))


@settings(max_examples=60)
@given(message=hostile_text, command=hostile_text, outcome=st.sampled_from(list(Outcome)))
def test_undo_and_rollback_reports(message: str, command: str, outcome: Outcome) -> None:
    step = StepReport(1, "PutBucketPolicy", "s3://b", outcome, message, (command,))
    report = RollbackReport("journal.json", (step,))
    assert not raw_unsafe(str(report_content(report)))
    for line in [*render.report_step(step), *render.remaining(report)]:
        assert not raw_unsafe(render.paint(line, False))


@settings(max_examples=60)
@given(bucket=hostile_text, prefix=hostile_text, region=hostile_text, alias=hostile_text)
def test_the_review_header_of_a_repair_from_a_survey_row(
    bucket: str, prefix: str, region: str, alias: str
) -> None:
    """Found from outside: the Review's header printed a survey row's prefix (from a bucket
    policy) with its escape sequences as they were."""
    from types import SimpleNamespace

    from wizard.flow import WizardState
    from wizard.tui.screens.review import choices_line

    for create_bucket in (False, True):
        state = WizardState(
            region=region,
            bucket=bucket,
            prefix=prefix,
            create_bucket=create_bucket,
            create_key_alias=alias,
            repair=True,
        )
        screen = SimpleNamespace(state=state, flow=None)
        assert not raw_unsafe(str(choices_line(screen)))  # type: ignore[arg-type]
