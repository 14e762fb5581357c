"""The AWS CLI equivalent of a plan names every change, in order, with its documents."""

from __future__ import annotations

import json

from wizard.core import plan as core_plan
from wizard.core.cli_equivalent import aws_cli_commands, export_command, render
from wizard.core.state import BucketState, Choices, Identity, Snapshot


def fresh_plan(region: str) -> core_plan.Plan:
    choices = Choices(
        region=region, bucket="new-exports", create_bucket=True, create_key_alias="alias/exp"
    )
    snapshot = Snapshot(
        identity=Identity("123456789012", "arn:aws:iam::123456789012:user/me"),
        region=region,
        bucket=BucketState("new-exports", exists=False),
        key=None,
    )
    return core_plan.build(snapshot, choices)


def test_every_change_has_a_command_in_plan_order() -> None:
    plan = fresh_plan("ap-northeast-1")
    steps = aws_cli_commands(plan, "ap-northeast-1")
    assert [s.comment for s in steps] == [c.summary for c in plan.changes]
    verbs = [s.command.split()[2] for s in steps]
    assert verbs == [
        "create-key",
        "create-alias",
        "create-bucket",
        "put-public-access-block",
        "put-bucket-ownership-controls",
        "put-bucket-encryption",
        "put-bucket-policy",
    ]
    create_bucket = steps[2].command
    assert "LocationConstraint=ap-northeast-1" in create_bucket


def test_documents_are_the_plans_documents() -> None:
    plan = fresh_plan("ap-northeast-1")
    steps = aws_cli_commands(plan, "ap-northeast-1")
    policy_file = dict(steps[-1].files)["bucket-policy.json"]
    assert json.loads(policy_file) == json.loads(plan.changes[-1].after or "")
    encryption = dict(steps[5].files)["encryption.json"]
    assert core_plan.NEW_KEY_ARN not in encryption and "KEY_ARN" in encryption


def test_us_east_1_bucket_has_no_location_constraint() -> None:
    steps = aws_cli_commands(fresh_plan("us-east-1"), "us-east-1")
    assert "LocationConstraint" not in steps[2].command


def test_render_and_export_command_quote_shell_words() -> None:
    text = render(aws_cli_commands(fresh_plan("eu-west-1"), "eu-west-1"))
    assert text.count("cat > ") == 3 and text.endswith("\n")
    command = export_command("eu-west-1", "/aws/lambda/my fn", "b", "exportedlogs", 1, 2, "2026/")
    assert "'/aws/lambda/my fn'" in command and "--log-stream-name-prefix 2026/" in command
