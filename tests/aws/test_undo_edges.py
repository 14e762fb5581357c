"""Undo and merge at the edges a real account reaches (issue 21), through the user's commands.

- undo of an apply that already rolled back changes nothing, after a later apply succeeded;
- undo of an old apply whose targets a later apply wrote leaves them, names the later journal;
- a foreign statement that reuses a wizard Sid (a Deny, an admin's kms:*) survives apply;
- a grant narrowed by hand keeps its conditions while a new prefix gets its own grant;
- undo keeps a key's alias whenever it keeps the key.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_GROUP, DEMO_KEY
from tests.conftest import REGION, CliRunner, StartSandbox
from wizard.core import requirements as req
from wizard.core.grants import same_meaning
from wizard.sandbox.server import Sandbox

APPLY = ("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes", "--json")


def healthy(cli: CliRunner, *extra: str) -> bool:
    run = cli("doctor", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, *extra, "--json")
    return run.code == 0 and run.json()["healthy"] is True


def bucket_policy(sandbox: Sandbox, bucket: str = DEMO_BUCKET) -> dict[str, Any]:
    text = sandbox.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
    return dict(json.loads(text))


def key_policy(sandbox: Sandbox, key: str = DEMO_KEY) -> dict[str, Any]:
    kms = sandbox.client("kms")
    key_id = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"]
    return dict(json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]))


def put_bucket_policy(sandbox: Sandbox, *statements: dict[str, Any]) -> None:
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    sandbox.client("s3").put_bucket_policy(Bucket=DEMO_BUCKET, Policy=json.dumps(policy))


def contains(policy: dict[str, Any], statement: dict[str, Any]) -> bool:
    body = policy["Statement"]
    return any(same_meaning(s, statement) and s.get("Sid") == statement.get("Sid") for s in body)


def test_undo_of_a_rolled_back_apply_changes_nothing_after_a_later_apply(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    start_sandbox(scenario="demo", faults=("PutBucketPolicy:AccessDenied:1",))
    failed = cli(*APPLY)
    assert failed.code == 2
    journal = json.loads(Path(failed.json()["error"]["journal"]).read_text())
    assert journal["status"] == "rolled back"
    assert cli(*APPLY).code == 0
    assert healthy(cli)

    undo = cli("undo", failed.json()["error"]["journal"], "--yes")
    assert undo.code == 0, undo.err
    assert "Nothing to undo" in undo.out and "RESTORED" not in undo.out
    assert healthy(cli)  # the later, successful apply still holds


def test_undo_of_an_old_apply_leaves_what_a_later_apply_wrote(
    demo: Sandbox, cli: CliRunner
) -> None:
    first = cli(*APPLY)
    assert first.code == 0
    # A later apply adds a source account: it writes the bucket policy and the key policy again.
    second = cli(*APPLY[:-2], "--source-account", "210987654321", "--yes", "--json")
    assert second.code == 0, second.err
    assert [s["action"] for s in second.json()["steps"]] == ["PutKeyPolicy", "PutBucketPolicy"]
    policies = bucket_policy(demo), key_policy(demo)

    undo = cli("undo", first.json()["journal"], "--yes", "--json")
    assert undo.code == 1  # not complete: two targets belong to the later apply now
    steps = {s["action"]: s for s in undo.json()["steps"]}
    later = Path(second.json()["journal"]).name
    for action in ("PutKeyPolicy", "PutBucketPolicy"):
        assert steps[action]["outcome"] == "left changed"
        assert later in steps[action]["message"]
        assert steps[action]["manual"] == [f"cwl-export-wizard undo {second.json()['journal']}"]
    assert steps["PutBucketEncryption"]["outcome"] == "restored"  # only the first wrote it
    assert (bucket_policy(demo), key_policy(demo)) == policies

    # Undone in order, newest first, both undo completely.
    assert cli("undo", second.json()["journal"], "--yes").code == 0
    assert cli("undo", first.json()["journal"], "--yes").code == 0
    assert not healthy(cli)


def test_a_foreign_deny_that_reuses_a_wizard_sid_survives_apply(
    demo: Sandbox, cli: CliRunner
) -> None:
    deny = {
        "Sid": req.SID_PUT_OBJECT,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{DEMO_BUCKET}/*",
    }
    put_bucket_policy(demo, deny)
    kms = demo.client("kms")
    key_id = kms.describe_key(KeyId=DEMO_KEY)["KeyMetadata"]["KeyId"]
    admin = {
        "Sid": req.SID_KEY_USE,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{demo.account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    kms.put_key_policy(
        KeyId=key_id,
        PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [admin]}),
    )
    plan = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--prefix", "new")
    assert "is not the wizard's" in plan.out

    run = cli(*APPLY[:-2], "--prefix", "new", "--yes")
    assert run.code == 0, run.err
    after = bucket_policy(demo)
    assert contains(after, deny)
    wizard_put = next(s for s in after["Statement"] if s["Sid"] == req.SID_PUT_OBJECT + "2")
    assert wizard_put["Resource"] == f"arn:aws:s3:::{DEMO_BUCKET}/new/*"
    assert contains(key_policy(demo), admin)
    assert healthy(cli, "--prefix", "new")


def test_a_narrowed_grant_keeps_its_conditions_and_a_new_prefix_exports(
    demo: Sandbox, cli: CliRunner
) -> None:
    assert cli(*APPLY).code == 0  # the key and encryption are right; then narrow by hand
    policy = bucket_policy(demo)
    narrowed = next(s for s in policy["Statement"] if s["Action"] == "s3:PutObject")
    narrowed["Resource"] = f"arn:aws:s3:::{DEMO_BUCKET}/old/*"
    narrowed["Condition"]["ArnLike"]["aws:SourceArn"] = [
        f"arn:aws:logs:{REGION}:{demo.account}:log-group:/app/payments"
    ]
    narrowed["Condition"]["StringEquals"]["aws:PrincipalTag/team"] = "payments"
    demo.client("s3").put_bucket_policy(Bucket=DEMO_BUCKET, Policy=json.dumps(policy))

    run = cli(*APPLY[:-2], "--prefix", "new", "--yes")
    assert run.code == 0, run.err
    assert contains(bucket_policy(demo), narrowed)
    export = cli(
        "test-export", "--bucket", DEMO_BUCKET, "--prefix", "new", "--log-group", DEMO_GROUP,
        "--json",
    )  # fmt: skip
    assert export.code == 0, export.err
    assert export.json()["objects"][0].startswith(f"s3://{DEMO_BUCKET}/new/")


def test_undo_keeps_the_alias_of_a_kept_key(empty: Sandbox, cli: CliRunner) -> None:
    bucket, alias = "new-exports-bucket", "alias/new-exports"
    logs = empty.client("logs")
    logs.create_log_group(logGroupName="/app/web")
    logs.create_log_stream(logGroupName="/app/web", logStreamName="web-1")
    logs.put_log_events(
        logGroupName="/app/web",
        logStreamName="web-1",
        logEvents=[{"timestamp": int(time.time() * 1000) - 60_000, "message": "hello"}],
    )
    applied = cli(
        "apply", "--bucket", bucket, "--create-bucket", "--create-key", alias, "--yes", "--json"
    )
    assert applied.code == 0, applied.err
    exported = cli("test-export", "--bucket", bucket, "--log-group", "/app/web", "--json")
    assert exported.code == 0, exported.err

    undo = cli("undo", applied.json()["journal"], "--yes", "--json")
    assert undo.code == 1  # the bucket holds exported logs: kept, and the key it uses
    outcomes = {s["action"]: s for s in undo.json()["steps"]}
    assert outcomes["CreateBucket"]["outcome"] == "kept"
    assert outcomes["CreateKey"]["outcome"] == "kept"
    assert outcomes["CreateAlias"]["outcome"] == "kept"
    assert "names the new key, which is kept" in outcomes["CreateAlias"]["message"]
    kms = empty.client("kms")
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "Enabled"


def test_foreign_statements_keep_their_shape_and_undo_restores_the_exact_text(
    demo: Sandbox, cli: CliRunner
) -> None:
    # Written by hand: pretty-printed, keys in a person's order, not sorted.
    text = (
        '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Sid": "Readers",\n'
        '      "Effect": "Allow",\n      "Principal": {"AWS": "arn:aws:iam::123456789012:root"},\n'
        '      "Action": "s3:GetObject",\n'
        f'      "Resource": "arn:aws:s3:::{DEMO_BUCKET}/reports/*"\n    }}\n  ]\n}}\n'
    )
    demo.client("s3").put_bucket_policy(Bucket=DEMO_BUCKET, Policy=text)
    applied = cli(*APPLY)
    assert applied.code == 0, applied.err
    written = demo.client("s3").get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"]
    first = json.loads(written)["Statement"][0]
    assert list(first) == ["Sid", "Effect", "Principal", "Action", "Resource"]  # order kept

    assert cli("undo", applied.json()["journal"], "--yes").code == 0
    assert demo.client("s3").get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"] == text


# --- what an attacker of the undo found (a key whose data stays; later applies) ----------


def seed_group(sandbox: Sandbox, group: str = "/app/web") -> str:
    logs = sandbox.client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="web-1")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="web-1",
        logEvents=[{"timestamp": int(time.time() * 1000) - 60_000, "message": "hello"}],
    )
    return group


def test_undo_keeps_a_new_key_that_encrypts_logs_exported_to_an_existing_bucket(
    demo: Sandbox, cli: CliRunner
) -> None:
    alias = "alias/new-for-sse-s3"
    applied = cli("apply", "--bucket", "demo-sse-s3", "--create-key", alias, "--yes", "--json")
    assert applied.code == 0, applied.err
    exported = cli("test-export", "--bucket", "demo-sse-s3", "--log-group", DEMO_GROUP, "--json")
    assert exported.code == 0, exported.err
    undo = cli("undo", applied.json()["journal"], "--yes", "--json")
    assert undo.code == 1
    steps = {s["action"]: s for s in undo.json()["steps"]}
    assert steps["CreateKey"]["outcome"] == "kept"
    assert "unreadable without it" in steps["CreateKey"]["message"]
    assert steps["CreateAlias"]["outcome"] == "kept"
    assert steps["PutBucketEncryption"]["outcome"] == "restored"  # the bucket's own setting
    kms = demo.client("kms")
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "Enabled"
    [uri] = exported.json()["objects"][:1]
    key = uri.removeprefix("s3://demo-sse-s3/")
    assert demo.client("s3").get_object(Bucket="demo-sse-s3", Key=key)["Body"].read()


def test_undo_of_an_old_apply_keeps_a_bucket_and_key_a_later_apply_builds_on(
    empty: Sandbox, cli: CliRunner
) -> None:
    first = cli(
        "apply", "--bucket", "first-bucket", "--create-bucket", "--create-key", "alias/first",
        "--prefix", "p1", "--yes", "--json",
    )  # fmt: skip
    assert first.code == 0, first.err
    # A later apply writes the first bucket's policy (a second prefix) ...
    second = cli(
        "apply", "--bucket", "first-bucket", "--key", "alias/first", "--prefix", "p2", "--yes",
        "--json",
    )  # fmt: skip
    assert second.code == 0, second.err
    # ... and another encrypts a new bucket with the first apply's key.
    third = cli(
        "apply", "--bucket", "third-bucket", "--create-bucket", "--key", "alias/first", "--yes",
        "--json",
    )  # fmt: skip
    assert third.code == 0, third.err
    policy = empty.client("s3").get_bucket_policy(Bucket="first-bucket")["Policy"]

    undo = cli("undo", first.json()["journal"], "--yes", "--json")
    assert undo.code == 1
    steps = {s["action"]: s for s in undo.json()["steps"]}
    assert steps["CreateBucket"]["outcome"] == "kept"
    assert Path(second.json()["journal"]).name in steps["CreateBucket"]["message"]
    assert steps["CreateKey"]["outcome"] == "kept"
    assert steps["CreateAlias"]["outcome"] == "kept"
    assert empty.client("s3").get_bucket_policy(Bucket="first-bucket")["Policy"] == policy
    assert cli("doctor", "--bucket", "third-bucket", "--json").code == 0


def test_a_journal_that_says_put_back_while_the_account_disagrees_is_not_believed(
    demo: Sandbox, cli: CliRunner
) -> None:
    applied = cli(*APPLY)
    assert applied.code == 0
    path = Path(applied.json()["journal"])
    journal = json.loads(path.read_text())
    journal["status"] = "rolled back"
    for change in journal["changes"]:
        change["status"] = "rolled back"
    path.write_text(json.dumps(journal))
    policy = bucket_policy(demo)
    undo = cli("undo", str(path), "--yes")
    assert undo.code == 1, undo.out
    assert "Nothing to undo" not in undo.out
    assert "no later apply of this folder wrote it" in undo.out
    assert bucket_policy(demo) == policy  # nothing was written


def test_the_printed_undo_command_works_with_the_applys_profile(
    demo: Sandbox, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The apply ran with --profile; "Undo with: cwl-export-wizard undo JOURNAL" as printed
    (no --profile) undoes it: the journal remembers the profile (an attack found it failing
    with "No AWS credentials were found")."""
    env = demo.env()
    config = tmp_path / "config"
    config.write_text(
        "[profile exports]\n"
        f"region = {demo.region}\n"
        f"endpoint_url = {env['AWS_ENDPOINT_URL']}\n"
        f"aws_access_key_id = {env['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {env['AWS_SECRET_ACCESS_KEY']}\n"
    )
    for name in env:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    applied = cli(*APPLY[:-1], "--profile", "exports")
    assert applied.code == 0, applied.err
    [printed] = [line for line in applied.out.splitlines() if line.startswith("Undo with: ")]
    command = shlex.split(printed.removeprefix("Undo with: "))
    assert command[:2] == ["cwl-export-wizard", "undo"] and "--profile" not in command
    undone = cli(*command[1:], "--yes")
    assert undone.code == 0, undone.err


def test_undo_with_another_accounts_credentials_is_refused_before_anything_is_asked(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """The one account check (the command's, before its question, and undo's own)."""
    sandbox = start_sandbox(scenario="demo")
    applied = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes", "--json")
    assert applied.code == 0, applied.err
    path = Path(applied.json()["journal"])
    journal = json.loads(path.read_text())
    journal["account"] = "210987654321"
    path.write_text(json.dumps(journal))
    before = bucket_policy(sandbox)
    run = cli("undo", str(path))  # no --yes: refused before the question
    assert run.code == 2, run.err
    assert run.error_lines == [
        "error: The journal is for account 210987654321, but these credentials are for "
        "account 123456789012."
    ], run.err
    assert "Undo these changes" not in run.err + run.out
    assert bucket_policy(sandbox) == before
