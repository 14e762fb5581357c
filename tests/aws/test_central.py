"""A central logging account, end to end against ``sandbox --scenario central``.

The destination (bucket and key) is in the sandbox's own account 123456789012; the log group is
in account 210987654321, reached through a profile that assumes its role ``app-exporter``, as
an application account's engineer would (STS AssumeRole against the sandbox).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REGION, CliRunner, StartSandbox
from wizard.core import requirements as req
from wizard.sandbox.preview import CENTRAL_SOURCE_ACCOUNT
from wizard.sandbox.scenarios import (
    CENTRAL_BUCKET,
    CENTRAL_KEY,
    CENTRAL_LOG_GROUP,
    CENTRAL_ROLE_ARN,
)
from wizard.sandbox.server import Sandbox

OTHER = "345678901234"
DEST = ("--bucket", CENTRAL_BUCKET)
SOURCE = ("--source-profile", "app")


@pytest.fixture
def central(
    start_sandbox: StartSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Sandbox:
    sandbox = start_sandbox(scenario="central")
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile sandbox]\n"
        "aws_access_key_id = testing\n"
        "aws_secret_access_key = testing\n"
        "[profile app]\n"
        f"role_arn = {CENTRAL_ROLE_ARN}\n"
        "source_profile = sandbox\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return sandbox


def bucket_policy(sandbox: Sandbox) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(
        sandbox.client("s3").get_bucket_policy(Bucket=CENTRAL_BUCKET)["Policy"]
    )
    return policy


def accounts(sandbox: Sandbox, sid: str) -> list[str]:
    statement = next(s for s in bucket_policy(sandbox)["Statement"] if s.get("Sid") == sid)
    found: list[str] = statement["Condition"]["StringEquals"]["aws:SourceAccount"]
    return found


def codes(run: object) -> set[str]:
    return {f["code"] for f in json.loads(run.out)["findings"]}  # type: ignore[attr-defined]


@pytest.mark.slow
def test_an_application_account_exports_into_the_central_archive(
    central: Sandbox, cli: CliRunner
) -> None:
    # Ready for its own account's log groups; not for the application account's.
    assert cli("doctor", *DEST).code == 0
    before = cli("doctor", *DEST, *SOURCE, "--json")
    assert before.code == 1
    assert {
        "SOURCE_ACCOUNT_NOT_ALLOWED",
        "SOURCE_CALLER_CANNOT_WRITE",
        "SOURCE_CALLER_CANNOT_USE_KEY",
    } <= codes(before), before.out
    refused = cli("test-export", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP)
    assert refused.code == 2 and req.ERR_CALLER_PUT_OBJECT in refused.err, refused.err

    applied = cli("apply", *DEST, *SOURCE, "--yes")
    assert applied.code == 0, applied.err
    assert accounts(central, req.SID_PUT_OBJECT) == ["123456789012", CENTRAL_SOURCE_ACCOUNT]
    assert cli("doctor", *DEST, *SOURCE).code == 0
    # The log group is looked for in the account that runs the export.
    assert cli("doctor", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP).code == 0
    missing = cli("doctor", *DEST, *SOURCE, "--log-group", "/aws/lambda/nope", "--json")
    assert "LOG_GROUP_NOT_FOUND" in codes(missing)

    export = cli("test-export", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP, "--json")
    assert export.code == 0, export.err
    result = json.loads(export.out)
    assert result["status"] == "COMPLETED" and result["objects"]
    assert result["objects"][0].startswith(f"s3://{CENTRAL_BUCKET}/exportedlogs/")
    key = central.client("kms").describe_key(KeyId=CENTRAL_KEY)["KeyMetadata"]["Arn"]
    assert result["encryption"] == {"algorithm": "aws:kms", "kms_key_id": key, "bucket_key": True}
    assert any("Fetched 7 orders for customer 1017" in line for line in result["sample"])

    # A second application account, named alone: the first one stays, and still exports.
    assert cli("apply", *DEST, "--source-account", OTHER, "--yes").code == 0
    for sid in (req.SID_GET_BUCKET_ACL, req.SID_PUT_OBJECT):
        assert accounts(central, sid) == ["123456789012", CENTRAL_SOURCE_ACCOUNT, OTHER]
    assert cli("doctor", *DEST, *SOURCE, "--source-account", OTHER).code == 0
    again = cli("test-export", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP)
    assert again.code == 0, again.err


@pytest.mark.slow
def test_without_the_source_account_the_doctor_names_it_and_aws_refuses(
    central: Sandbox, cli: CliRunner
) -> None:
    """The caller may write, but the statements for CloudWatch Logs leave the account out."""
    assert cli("apply", *DEST, *SOURCE, "--yes").code == 0
    policy = bucket_policy(central)
    for statement in policy["Statement"]:
        if statement.get("Sid") in (req.SID_GET_BUCKET_ACL, req.SID_PUT_OBJECT):
            statement["Condition"]["StringEquals"]["aws:SourceAccount"] = ["123456789012"]
            statement["Condition"]["ArnLike"]["aws:SourceArn"] = [
                "arn:aws:logs:ap-northeast-1:123456789012:log-group:*"
            ]
    central.client("s3").put_bucket_policy(Bucket=CENTRAL_BUCKET, Policy=json.dumps(policy))
    doctor = cli("doctor", *DEST, *SOURCE, "--json")
    assert doctor.code == 1
    [finding] = [
        f for f in json.loads(doctor.out)["findings"] if f["code"] == "SOURCE_ACCOUNT_NOT_ALLOWED"
    ]
    assert CENTRAL_SOURCE_ACCOUNT in finding["message"]
    assert finding["aws_error"] == req.ERR_GET_BUCKET_ACL
    export = cli("test-export", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP)
    assert export.code == 2 and req.ERR_GET_BUCKET_ACL in export.err, export.err
    # The plan puts the account back, keeping the caller's grant.
    assert cli("apply", *DEST, *SOURCE, "--yes").code == 0
    assert cli("test-export", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP).code == 0


def test_the_source_callers_policy(cli: CliRunner) -> None:
    key = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    run = cli(
        "iam-policy",
        "--source",
        "--region",
        "ap-northeast-1",
        "--source-account",
        CENTRAL_SOURCE_ACCOUNT,
        "--bucket",
        CENTRAL_BUCKET,
        "--prefix",
        "exportedlogs",
        "--key",
        key,
        "--log-group",
        CENTRAL_LOG_GROUP,
    )
    assert run.code == 0, run.err
    statements = {s["Sid"]: s for s in json.loads(run.out)["Statement"]}
    assert statements["WriteToTheDestination"]["Action"] == ["s3:PutObject"]
    assert statements["WriteToTheDestination"]["Resource"] == (
        f"arn:aws:s3:::{CENTRAL_BUCKET}/exportedlogs/*"
    )
    assert statements["UseTheKey"]["Resource"] == key
    assert statements["ExportTheLogGroups"]["Resource"][0] == (
        f"arn:aws:logs:ap-northeast-1:{CENTRAL_SOURCE_ACCOUNT}:log-group:{CENTRAL_LOG_GROUP}"
    )
    with_acls = cli("iam-policy", "--source", "--acls-enabled")
    assert "s3:PutObjectAcl" in with_acls.out
    for wrong, said in [
        (("--source", "--key", "alias/central-exports"), "give the destination key's ARN"),
        (("--source-account", CENTRAL_SOURCE_ACCOUNT), "add --source"),
        (("--source", "--source-account", "12345"), "--source-account"),
    ]:
        refused = cli("iam-policy", *wrong)
        assert refused.code == 2 and said in refused.err, refused.err


# --- the same plan in every face -------------------------------------------------------------


def _documents(changes: list[Any]) -> list[tuple[str, Any]]:
    """(action, after-document) of each change: what the faces' plans must agree on."""
    return [
        (
            c["action"] if isinstance(c, dict) else c.action.value,
            json.loads(c["after"] if isinstance(c, dict) else c.after),
        )
        for c in changes
    ]


async def _tui_plan_and_result(journal_dir: Path) -> tuple[list[Any], Any]:
    """The full-screen wizard on ``--demo --scenario central``: the central key and bucket
    chosen, the application account prefilled as a source, applied, exported."""
    from tests.tui.pilot_helpers import at_step, highlight, settle, wait_until
    from wizard.flow import Step
    from wizard.launch import LaunchOptions
    from wizard.tui.app import WizardApp
    from wizard.tui.widgets.option_lists import BUCKET_PREFIX, KEY_PREFIX

    app = WizardApp(
        LaunchOptions(demo=True, scenario="central", export_delay=0.3), journal_dir=journal_dir
    )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await at_step(pilot, Step.REGION)
            await pilot.press("enter")
            await at_step(pilot, Step.KEY)
            assert app.connection is not None
            [key] = [
                o.key for o in app.connection.flow.keys(REGION) if CENTRAL_KEY in o.key.aliases
            ]
            await highlight(pilot, "#keys", KEY_PREFIX + (key.arn or ""))
            await pilot.press("enter")
            await at_step(pilot, Step.BUCKET)
            await highlight(pilot, "#buckets", BUCKET_PREFIX + CENTRAL_BUCKET)
            sources = app.screen.query_one("#sources")
            assert sources.value == CENTRAL_SOURCE_ACCOUNT  # type: ignore[attr-defined]
            await pilot.press("enter")
            await at_step(pilot, Step.REVIEW)
            review = app.state.review
            assert review is not None and not review.plan.blockers
            await pilot.press("enter")
            await at_step(pilot, Step.APPLY)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.state.applied is not None, "applied")
            await settle(pilot)
            await pilot.press("enter")
            await at_step(pilot, Step.EXPORT)
            await pilot.press("enter")  # the source account's log group
            await at_step(pilot, Step.RESULT)
            return list(review.plan.changes), app.state.result
    finally:
        app.stop_sandbox()


def _plain_plan_and_result(journal_dir: Path) -> tuple[list[Any], Any]:
    """Plain mode on the same scenario, answers piped in as a CI job would."""
    import io

    from wizard import launch
    from wizard.asking import LineAsker
    from wizard.flow import Flow
    from wizard.plain import PlainWizard, Printer

    options = launch.LaunchOptions(demo=True, scenario="central", export_delay=0.3)
    sandbox = launch.start_sandbox(options)
    try:
        flow = Flow(
            launch.sandbox_session(sandbox),
            journal_dir=journal_dir,
            source=launch.source_session(options, sandbox),
        )
        answers = "\n".join(
            # ... prefix, source accounts, no probe export ("n"), apply ("y"), ...
            ["", f"{CENTRAL_KEY} (customer managed)", CENTRAL_BUCKET, "", "", "n", "y", "", "", ""]
        )
        log = io.StringIO()
        wizard = PlainWizard(
            flow,
            sandbox=True,
            ask=LineAsker(io.StringIO(answers + "\n"), log),
            out=Printer(log, color=False),
        )
        assert wizard.run() == 0, log.getvalue()
        assert wizard.state.review is not None
        assert f"The log groups of account {CENTRAL_SOURCE_ACCOUNT} export here" in log.getvalue()
        return list(wizard.state.review.plan.changes), wizard.state.result
    finally:
        sandbox.stop()


@pytest.mark.slow
async def test_the_commands_the_tui_and_plain_mode_make_the_same_cross_account_plan(
    central: Sandbox, cli: CliRunner, tmp_path: Path
) -> None:
    planned = cli("plan", *DEST, "--key", CENTRAL_KEY, *SOURCE, "--json")
    assert planned.code == 1, planned.err
    expected = _documents(json.loads(planned.out)["changes"])
    assert [a for a, _ in expected] == ["PutKeyPolicy", "PutBucketPolicy"]
    central.stop()  # one sandbox per process: each face below starts its own (same seed)

    tui_changes, tui_result = await _tui_plan_and_result(tmp_path / "tui")
    assert _documents(tui_changes) == expected
    plain_changes, plain_result = _plain_plan_and_result(tmp_path / "plain")
    assert _documents(plain_changes) == expected
    for result in (tui_result, plain_result):
        assert result is not None and result.succeeded
        assert result.task.log_group == CENTRAL_LOG_GROUP
        assert result.encryption is not None and result.encryption.algorithm == "aws:kms"
        assert any("Fetched 7 orders" in line for line in result.sample)


@pytest.mark.slow
def test_an_account_named_alone_lets_any_of_its_callers_export(
    central: Sandbox, cli: CliRunner
) -> None:
    """The issue's done-when, word for word: ``apply --source-account`` (no caller named, so
    the account's own IAM decides who may run its exports: its root is granted), then
    ``test-export --source-profile``: COMPLETED, SSE-KMS under the destination's key, the
    lines decrypted."""
    applied = cli("apply", *DEST, "--source-account", CENTRAL_SOURCE_ACCOUNT, "--yes")
    assert applied.code == 0, applied.err
    export = cli("test-export", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP)
    assert export.code == 0, export.err
    assert (
        "The export worked." in export.out and f"of account {CENTRAL_SOURCE_ACCOUNT}" in export.out
    )
    again = cli("test-export", *DEST, *SOURCE, "--log-group", CENTRAL_LOG_GROUP, "--json")
    assert again.code == 0, again.err
    result = json.loads(again.out)
    assert result["status"] == "COMPLETED" and result["objects"]
    key = central.client("kms").describe_key(KeyId=CENTRAL_KEY)["KeyMetadata"]["Arn"]
    assert result["encryption"] == {"algorithm": "aws:kms", "kms_key_id": key, "bucket_key": True}
    assert any("Fetched 7 orders for customer 1017" in line for line in result["sample"])
    assert cli("doctor", *DEST, *SOURCE).code == 0  # the named role is covered as well
    assert cli("plan", *DEST, *SOURCE).code == 0  # nothing to narrow or add
