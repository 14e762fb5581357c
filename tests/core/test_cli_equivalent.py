"""The AWS CLI equivalent of a plan names every change, in order, with its documents, and is a
script a shell runs as it is."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard.core import plan as core_plan
from wizard.core.change import Plan
from wizard.core.cli_equivalent import aws_cli_commands, export_command, render, script
from wizard.core.state import BucketState, Choices, Identity, Snapshot


def fresh_plan(region: str) -> Plan:
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
    verbs = [s.argv[2] for s in steps]
    assert verbs == [
        "create-key",
        "enable-key-rotation",
        "create-alias",
        "create-bucket",
        "put-public-access-block",
        "put-bucket-ownership-controls",
        "put-bucket-encryption",
        "put-bucket-policy",
    ]
    assert "LocationConstraint=ap-northeast-1" in steps[3].command


def test_documents_are_the_plans_documents() -> None:
    plan = fresh_plan("ap-northeast-1")
    steps = aws_cli_commands(plan, "ap-northeast-1")
    policy_file = dict(steps[-1].files)["bucket-policy.json"]
    assert json.loads(policy_file) == json.loads(plan.changes[-1].after or "")
    encryption = steps[6].command
    assert core_plan.NEW_KEY_ARN not in encryption and '"$KEY_ARN"' in encryption


def test_us_east_1_bucket_has_no_location_constraint() -> None:
    steps = aws_cli_commands(fresh_plan("us-east-1"), "us-east-1")
    assert "LocationConstraint" not in steps[3].command


def test_render_and_export_command_quote_shell_words() -> None:
    text = render(aws_cli_commands(fresh_plan("eu-west-1"), "eu-west-1"))
    assert text.count("cat > ") == 2 and text.endswith("\n")
    command = export_command("eu-west-1", "/aws/lambda/my fn", "b", "exportedlogs", 1, 2, "2026/")
    assert "'/aws/lambda/my fn'" in command and "--log-stream-name-prefix 2026/" in command


def test_long_commands_continue_with_a_backslash_and_comments_stay_comments() -> None:
    text = render(aws_cli_commands(fresh_plan("eu-west-1"), "eu-west-1"))
    in_document = False
    for line in text.splitlines():
        if line.startswith("cat > "):
            in_document = True
        elif line == "JSON":
            in_document = False
        elif not in_document and len(shlex.split(line.rstrip(" \\"), comments=True)) > 1:
            assert len(line) <= 100, line  # only a single long value may be longer
    joined = text.replace("\\\n", "")
    create_key = next(line for line in joined.splitlines() if "create-key" in line)
    assert create_key.startswith("KEY_ARN=$(aws kms create-key ") and create_key.endswith(")")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_script_is_valid_shell_and_calls_aws_with_the_plans_words(tmp_path: Path) -> None:
    """bash runs the script with a fake ``aws`` that records its arguments."""
    plan = fresh_plan("eu-west-1")
    text = script(plan, "eu-west-1", ("for a test",))
    folder = str(tmp_path)
    fake = (
        "#!/usr/bin/env bash\n"
        "printf '%s\\037' \"$@\" >> calls.log; echo >> calls.log\n"
        'if [ "$2" = create-key ]; then echo arn:aws:kms:eu-west-1:123456789012:key/k-1; fi\n'
    )
    (tmp_path / "aws").write_text(fake)
    (tmp_path / "aws").chmod(0o755)
    done = subprocess.run(
        ["bash", "-c", text],
        cwd=folder,
        env={"PATH": f"{folder}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert len(calls) == len(plan.changes)
    words = [call.rstrip("\x1f").split("\x1f") for call in calls]
    assert words[1][:2] == ["kms", "enable-key-rotation"] and words[1][-1].endswith("key/k-1")
    assert words[2][-2:] == ["--target-key-id", "arn:aws:kms:eu-west-1:123456789012:key/k-1"]
    encryption = words[6]
    option = encryption.index("--server-side-encryption-configuration")
    document = json.loads(encryption[option + 1])
    rule = document["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule["KMSMasterKeyID"] == "arn:aws:kms:eu-west-1:123456789012:key/k-1"
    written = json.loads((tmp_path / "bucket-policy.json").read_text())
    assert written == json.loads(plan.changes[-1].after or "")
