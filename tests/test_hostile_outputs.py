"""What an outside attack found after the hostile-text work (issue 22): a foreign policy's
text reached files and pipes raw through the IaC files and the CLI script, the busy line of
the TUI showed a log group's name raw, and a malformed endpoint was 'unexpected'."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.core.test_plan import bucket, choose, doc, healthy_key, snap
from tests.hostile import raw_unsafe
from wizard.core import iac
from wizard.core.cli_equivalent import script
from wizard.core.findings import FindingCode
from wizard.core.formats import CODE_FORMATS, PlanFormat
from wizard.core.plan import build
from wizard.core.text import escaped, json_escaped
from wizard.core.validate import endpoint_problem

HOSTILE = "A\x1b[2J\x1b]0;PWNED\x07\x9b31m\u202eevil\u2028\u2066x\u200b\x85y𠮷"


def hostile_plan() -> Any:
    foreign = {
        "Sid": "Keep" + HOSTILE.replace("\x07", ""),
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteObject",
        "Resource": "arn:aws:s3:::demo-exports-bucket/*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-1\rOutputs: {P: 1}\r#"}},
    }
    snapshot = snap(bucket(doc(foreign)), healthy_key())
    return snapshot, build(snapshot, choose())


def no_unsafe(text: str) -> bool:
    """No character a terminal or a YAML reader would act on (line breaks are the file's)."""
    return not any(escaped(c) for c in text.replace("\n", ""))


@pytest.mark.parametrize("fmt", list(CODE_FORMATS))
def test_iac_files_carry_no_raw_control_or_bidi_character(fmt: PlanFormat) -> None:
    snapshot, plan = hostile_plan()
    context = iac.Context(
        account=snapshot.identity.account,
        region=snapshot.region,
        diagnosed=(FindingCode.BUCKET_POLICY_BLOCKS_PUTOBJECT,),
        bucket=snapshot.bucket,
        key=snapshot.key,
    )
    files = iac.render(fmt, plan, context)
    for name, text in files.items():
        assert no_unsafe(text), (name, [c for c in text if c != "\n" and escaped(c)])
        if name.endswith(".json") and fmt == "documents":
            json.loads(text)
        if name.endswith(".yaml"):
            loaded = yaml.safe_load(text)
            assert "Outputs" not in loaded  # nothing injected through a comment or a scalar


def test_the_escaped_documents_are_the_same_documents() -> None:
    _, plan = hostile_plan()
    for change in plan.changes:
        assert change.after is not None
        assert json.loads(json_escaped(change.after)) == json.loads(change.after)


def test_the_cli_script_carries_no_raw_character_and_a_blocked_plan_runs_nothing() -> None:
    _, plan = hostile_plan()
    text = script(plan, "ap-northeast-1", ("header " + HOSTILE,))
    assert no_unsafe(text), [c for c in text if c != "\n" and escaped(c)]
    assert not raw_unsafe(text)
    blocked = type(plan)(plan.changes, ("a blocker " + HOSTILE,), plan.choices)
    text = script(blocked, "ap-northeast-1")
    assert "aws " not in text.replace("echo", "") and "exit 1" in text
    assert no_unsafe(text)


@pytest.mark.parametrize("url", ["http://[::1", "http://[zz]:80", "https://a:b:c"])
def test_a_malformed_endpoint_is_a_problem_not_a_crash(url: str) -> None:
    assert endpoint_problem(url) is not None
