"""Whole wizard runs in demo mode, driven by key presses, checked through boto3 on the sandbox."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import fast_clock
from tests.tui.pilot_helpers import (
    at_step,
    error_text,
    highlight,
    screen_text,
    settle,
    text_of,
    type_into,
    wait_until,
)
from wizard.core.requirements import SID_GET_BUCKET_ACL, SID_KEY_USE, SID_PUT_OBJECT
from wizard.flow import Step
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.confirm import ConfirmScreen
from wizard.tui.widgets import BusyLine
from wizard.tui.widgets.option_lists import BUCKET_PREFIX, CREATE_ID, KEY_PREFIX, BucketList

pytestmark = pytest.mark.slow

SIZE = (120, 40)
REGION = "ap-northeast-1"
NEW_BUCKET = "cwl-exports-123456789012-ap-northeast-1"
MakeApp = Callable[..., WizardApp]


# --- what the sandbox holds, read with boto3 -------------------------------------------------


def client(app: WizardApp, service: str) -> Any:
    assert app.sandbox is not None
    return app.sandbox.client(service)


def bucket_policy_sids(app: WizardApp, bucket: str) -> list[str]:
    policy = json.loads(client(app, "s3").get_bucket_policy(Bucket=bucket)["Policy"])
    return [s.get("Sid") for s in policy["Statement"]]


def key_arn_of(app: WizardApp, alias: str) -> str:
    return str(client(app, "kms").describe_key(KeyId=alias)["KeyMetadata"]["Arn"])


def key_policy_sids(app: WizardApp, alias: str) -> list[str]:
    kms = client(app, "kms")
    key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    return [s.get("Sid") for s in policy["Statement"]]


def default_encryption(app: WizardApp, bucket: str) -> dict[str, Any]:
    rules = client(app, "s3").get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    return dict(rules[0]["ApplyServerSideEncryptionByDefault"])


def sandbox_state(app: WizardApp) -> dict[str, Any]:
    """Everything the wizard could change: buckets and their settings, keys, aliases, tasks."""
    s3, kms, logs = client(app, "s3"), client(app, "kms"), client(app, "logs")

    def read(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    state: dict[str, Any] = {"buckets": buckets}
    for name in buckets:
        state[f"policy:{name}"] = read(
            partial(lambda n: s3.get_bucket_policy(Bucket=n)["Policy"], name)
        )
        state[f"encryption:{name}"] = read(
            partial(
                lambda n: s3.get_bucket_encryption(Bucket=n)["ServerSideEncryptionConfiguration"],
                name,
            )
        )
    keys = sorted(k["KeyId"] for k in kms.list_keys()["Keys"])
    state["keys"] = keys
    for key_id in keys:
        state[f"key-policy:{key_id}"] = read(
            partial(lambda k: kms.get_key_policy(KeyId=k, PolicyName="default")["Policy"], key_id)
        )
    state["aliases"] = sorted(a["AliasName"] for a in kms.list_aliases()["Aliases"])
    state["tasks"] = len(logs.describe_export_tasks()["exportTasks"])
    return state


def assert_export_proved(app: WizardApp, bucket: str, key_arn: str) -> None:
    """The Result screen shows the object and its lines, and S3 really holds it, encrypted."""
    result = app.state.result
    assert result is not None and result.succeeded
    obj = result.objects[0]
    assert obj.uri.startswith(f"s3://{bucket}/exportedlogs/{result.task.task_id}/")
    assert obj.uri.endswith("/000000.gz")
    assert result.sample, "no decrypted lines"
    shown = screen_text(app)
    assert obj.uri in shown
    assert result.sample[0] in shown
    assert "aws:kms" in shown and key_arn in shown
    head = client(app, "s3").head_object(Bucket=bucket, Key=obj.key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn


async def apply_and_export(
    pilot: Any, app: WizardApp, before_export: Callable[[], Any] | None = None
) -> None:
    """From Review: Next, Apply (Enter on the focused button), Next, export the first group."""
    await pilot.press("enter")
    screen = await at_step(pilot, Step.APPLY)
    assert isinstance(screen, ApplyScreen)
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.finished, "apply finished")
    assert not error_text(app), error_text(app)
    shown = screen_text(app)
    assert "Journal" in shown
    assert "cwl-export-wizard undo" not in shown  # the sandbox forgets everything: no undo
    assert not screen.can_go_back()  # the point of no return: start over instead
    await pilot.press("enter")
    await at_step(pilot, Step.EXPORT)
    if before_export is not None:
        await before_export()
    else:
        await pilot.press("enter")
    await at_step(pilot, Step.RESULT)


# --- complete flows ---------------------------------------------------------------------------


class RecordingApp(WizardApp):
    """Notes what the first screen showed when the connect job began (on its worker thread)."""

    at_connect: list[str]

    def open_connection(self, demo: bool) -> Any:
        self.at_connect = [self.screen.query_one(BusyLine).text, screen_text(self)]
        return super().open_connection(demo)


async def test_fresh_setup_creates_key_and_bucket(make_app: MakeApp) -> None:
    app = make_app(cls=RecordingApp)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        # The sandbox started in a worker, after the first screen showed its account and
        # regions (known before it answers), with nothing loading.
        assert isinstance(app, RecordingApp)
        busy, shown = app.at_connect
        assert busy == ""
        assert "Starting local AWS sandbox (demo)" in shown and "123456789012" in shown
        assert "Which region are the log groups in?" in shown
        assert "123456789012" in screen_text(app)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await highlight(pilot, "#keys", CREATE_ID)
        await pilot.press("enter")
        assert app.screen.focused is not None and app.screen.focused.id == "alias"
        await type_into(pilot, "#alias", "alias/tui-fresh")
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await pilot.press("enter")  # "Create a new bucket" is preselected
        assert app.screen.focused is not None and app.screen.focused.id == "bucket-name"
        await pilot.press("enter")
        await at_step(pilot, Step.REVIEW)
        review = app.state.review
        assert review is not None
        actions = [c.action.value for c in review.plan.changes]
        assert actions[:3] == ["CreateKey", "EnableKeyRotation", "CreateAlias"]
        assert "CreateBucket" in actions and "PutBucketPolicy" in actions
        assert "Nothing has been changed yet" in screen_text(app)
        await apply_and_export(pilot, app)

        key_arn = key_arn_of(app, "alias/tui-fresh")
        assert SID_KEY_USE in key_policy_sids(app, "alias/tui-fresh")
        assert {SID_GET_BUCKET_ACL, SID_PUT_OBJECT} <= set(bucket_policy_sids(app, NEW_BUCKET))
        assert default_encryption(app, NEW_BUCKET)["KMSMasterKeyID"] == key_arn
        assert_export_proved(app, NEW_BUCKET, key_arn)


async def test_existing_key_and_existing_bucket(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        key_arn = key_arn_of(app, "alias/demo-exports")
        assert app.screen.query_one("#keys").highlighted_id == KEY_PREFIX + key_arn  # type: ignore[attr-defined]
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-sse-s3")
        await pilot.press("enter")
        await at_step(pilot, Step.REVIEW)
        assert app.state.bucket == "demo-sse-s3" and not app.state.create_bucket
        assert "AES256" in json.dumps(sandbox_state(app)["encryption:demo-sse-s3"])
        await apply_and_export(pilot, app)

        assert default_encryption(app, "demo-sse-s3") == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_arn,
        }
        assert {SID_GET_BUCKET_ACL, SID_PUT_OBJECT} <= set(bucket_policy_sids(app, "demo-sse-s3"))
        assert SID_KEY_USE in key_policy_sids(app, "alias/demo-exports")
        assert_export_proved(app, "demo-sse-s3", key_arn)

        # Back after an apply shows what was done (Apply is the point of no return, with
        # Apply still ticked); starting over reads the destination again: now healthy.
        await pilot.press("escape")
        export = await at_step(pilot, Step.EXPORT)
        assert "✓ Apply" in str(export.query_one("#indicator").render())
        await pilot.press("escape")
        screen = await at_step(pilot, Step.APPLY)
        assert "All 3 changes are made" in screen_text(app)
        assert not screen.can_go_back()
        await pilot.press("n")
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-sse-s3")
        badge = app.screen.query_one("#buckets", BucketList)
        await wait_until(pilot, lambda: badge.health_of("demo-sse-s3") is not None, "badge")
        health = badge.health_of("demo-sse-s3")
        assert health is not None and health.healthy
        await pilot.press("enter")
        await at_step(pilot, Step.REVIEW)
        review = app.state.review
        assert review is not None and review.plan.empty and review.healthy
        assert "already ready" in screen_text(app)
        await pilot.press("enter")
        await at_step(pilot, Step.EXPORT)  # straight to the test export: nothing to apply


async def test_repair_of_the_broken_bucket(make_app: MakeApp) -> None:
    """Also: another export task is active when the test export starts; the user cancels it."""
    app = make_app(LaunchOptions(demo=True, export_delay=2.0, repair="demo-broken-exports"))

    async def export_while_another_runs() -> None:
        now = int(time.time() * 1000)
        other = client(app, "logs").create_export_task(
            logGroupName="/ecs/web",
            fromTime=now - 3_600_000,
            to=now,
            destination="demo-broken-exports",
            destinationPrefix="other",
        )["taskId"]
        await pilot.press("enter")
        panel = app.screen.query_one("#other-task")
        await wait_until(pilot, lambda: panel.display, "the other task is shown")
        assert other in screen_text(app)
        assert not error_text(app)
        await pilot.click("#cancel-other")
        await wait_until(pilot, lambda: app.state.result is not None, "the export after cancel")
        task = client(app, "logs").describe_export_tasks(taskId=other)["exportTasks"][0]
        assert task["status"]["code"] in ("CANCELLED", "PENDING_CANCEL")

    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REVIEW)  # straight to Review, findings first
        assert app.state.repair and app.state.bucket == "demo-broken-exports"
        shown = screen_text(app)
        assert "GetBucketAcl" in shown
        assert "AWS error it causes" in shown
        review = app.state.review
        assert review is not None and not review.healthy
        await apply_and_export(pilot, app, export_while_another_runs)

        sids = bucket_policy_sids(app, "demo-broken-exports")
        assert "DenyInsecureTransport" in sids  # the foreign statement is kept
        assert SID_GET_BUCKET_ACL in sids
        key_arn = key_arn_of(app, "alias/demo-exports")
        assert default_encryption(app, "demo-broken-exports")["KMSMasterKeyID"] == key_arn
        assert_export_proved(app, "demo-broken-exports", key_arn)


ENTER_PRESSES = 8  # the README says so


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["120x40", "80x24"])
async def test_enter_alone_reaches_the_result_in_eight_presses(
    make_app: MakeApp, size: tuple[int, int]
) -> None:
    """The README's promise, at the README's sizes: Enter on each screen takes the defaults to
    the Result with decrypted lines; at 80x24 every step still shows its Next button whole."""
    app = make_app()
    presses = 0
    async with app.run_test(size=size) as pilot:
        await at_step(pilot, Step.REGION)
        while app.state.result is None or app.screen.STEP is not Step.RESULT:  # type: ignore[attr-defined]
            assert presses < 15, f"still on {app.screen} after {presses} presses"
            button = app.screen.query_one("#next")
            assert button.region.right <= size[0] and button.region.bottom <= size[1]
            assert button.region.width > 0, f"Next is not shown on {app.screen}"
            await pilot.press("enter")
            presses += 1
            await settle(pilot)
            await pilot.pause(0.1)  # a step may start the next job after a message hop
            await settle(pilot)
            assert not error_text(app), error_text(app)
        assert presses == ENTER_PRESSES
        assert app.state.result.succeeded
        assert app.state.result.sample


# --- validation, navigation, quitting ---------------------------------------------------------


async def test_bad_bucket_name_is_explained_and_next_refused(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await pilot.press("enter")
        await type_into(pilot, "#bucket-name", "My_Exports")
        assert "lowercase" in text_of(app, "#name-problem")
        await pilot.press("enter")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.STEP is Step.BUCKET  # type: ignore[attr-defined]
        assert app.state.bucket is None
        await type_into(pilot, "#bucket-name", "my-exports..x")
        assert "two adjacent periods" in text_of(app, "#name-problem")
        await type_into(pilot, "#bucket-name", "demo-sse-s3")  # valid, but already ours
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.STEP is Step.BUCKET  # type: ignore[attr-defined]
        assert "already own" in text_of(app, "#name-problem")


async def test_back_keeps_every_choice(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await highlight(pilot, "#keys", CREATE_ID)
        await pilot.press("enter")
        await type_into(pilot, "#alias", "alias/back-test")
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-sse-s3")
        await type_into(pilot, "#prefix", "team/logs")
        await pilot.press("enter")
        await at_step(pilot, Step.REVIEW)

        await pilot.press("escape")
        await at_step(pilot, Step.BUCKET)
        screen = app.screen
        assert screen.query_one("#buckets").highlighted_id == BUCKET_PREFIX + "demo-sse-s3"  # type: ignore[attr-defined]
        assert screen.query_one("#prefix").value == "team/logs"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await at_step(pilot, Step.KEY)
        assert app.screen.query_one("#keys").highlighted_id == CREATE_ID  # type: ignore[attr-defined]
        assert app.screen.query_one("#alias").value == "alias/back-test"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await at_step(pilot, Step.REGION)
        assert app.screen.query_one("#regions").highlighted_id == REGION  # type: ignore[attr-defined]

        await pilot.click("#next")  # the mouse works too
        await at_step(pilot, Step.KEY)
        await pilot.press("ctrl+n")
        await at_step(pilot, Step.BUCKET)
        await pilot.press("ctrl+n")
        await at_step(pilot, Step.REVIEW)
        assert app.state.create_key_alias == "alias/back-test"
        assert app.state.bucket == "demo-sse-s3" and app.state.prefix == "team/logs"


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_quitting_before_apply_changes_nothing(make_app: MakeApp, key: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        before = sandbox_state(app)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await highlight(pilot, "#keys", CREATE_ID)
        await pilot.press("enter", "enter")
        await at_step(pilot, Step.BUCKET)
        await pilot.press("enter", "enter")
        await at_step(pilot, Step.REVIEW)
        await pilot.press("enter")
        await at_step(pilot, Step.APPLY)
        await pilot.press(key)
        await wait_until(pilot, lambda: not app.is_running, "the app quit")
    assert app.return_value == (130 if key == "ctrl+c" else 0)  # as plain mode and the shell
    assert sandbox_state(app) == before
    assert [line.text for line in app.farewell_lines] == ["Nothing was changed."]


async def test_no_credentials_offers_the_sandbox(make_app: MakeApp, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)  # a region, but no credentials anywhere
    app = make_app(LaunchOptions(demo=False, export_delay=0.3))
    async with app.run_test(size=SIZE) as pilot:
        sandbox_button = app.screen.query_one("#sandbox")
        await wait_until(pilot, lambda: sandbox_button.display, "the credential error")
        shown = text_of(app, "#identity")
        assert "Not connected: No AWS credentials were found." in shown
        assert "Fix:" in shown
        # The focus moves to the way out once the button is shown (a message later).
        await wait_until(pilot, lambda: sandbox_button.has_focus, "the focus on the sandbox")
        assert app.exit_code == 2
        await pilot.press("enter")  # "Try the sandbox" has the focus
        await wait_until(pilot, lambda: app.connection is not None, "the sandbox")
        screen = await at_step(pilot, Step.REGION)
        assert app.is_sandbox
        assert not error_text(app)
        assert screen.query_one("#regions").highlighted_id == REGION  # type: ignore[attr-defined]


async def test_without_the_sandbox_extra_the_way_out_says_how_to_install_it(
    make_app: MakeApp, monkeypatch: Any
) -> None:
    from wizard.sandbox import available

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(available, "SANDBOX_MODULES", ("moto", "no_such_module_for_this_test"))
    app = make_app(LaunchOptions(demo=False, export_delay=0.3))
    async with app.run_test(size=SIZE) as pilot:
        sandbox_button = app.screen.query_one("#sandbox")
        await wait_until(pilot, lambda: sandbox_button.display, "the credential error")
        await wait_until(pilot, lambda: sandbox_button.has_focus, "the focus on the sandbox")
        await pilot.press("enter")  # "Try the sandbox"
        await wait_until(pilot, lambda: "cannot start" in text_of(app, "#identity"), "why")
        shown = text_of(app, "#identity")
        assert "no_such_module_for_this_test" in shown
        assert "pip install 'cwl-export-wizard[sandbox]'" in shown
        assert app.connection is None


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """Policies as JSON (a restored one may be sent compact); export tasks left out."""

    def parsed(value: Any) -> Any:
        try:
            return json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return value

    return {k: parsed(v) for k, v in state.items() if k != "tasks"}


async def test_undo_from_the_palette_puts_back_what_the_run_changed(make_app: MakeApp) -> None:
    """After the test export, Ctrl+P "Undo this run's changes": asked, then undone from the
    journal; the sandbox is as before and Back leads to Review again."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        before = sandbox_state(app)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-sse-s3")
        await pilot.press("enter")
        await at_step(pilot, Step.REVIEW)
        await apply_and_export(pilot, app)
        assert sandbox_state(app) != before
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Undo this run's changes" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"undo this run")
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("tab", "enter")  # "Undo them"
        screen = await at_step(pilot, Step.APPLY)
        assert isinstance(screen, ApplyScreen)
        await wait_until(pilot, lambda: app.state.undone is not None and screen.finished, "undone")
        await settle(pilot)
        assert "The account is as it was before the apply" in screen_text(app)
        assert not app.state.applied_changes
        assert comparable(sandbox_state(app)) == comparable(before)
        await pilot.press("escape")
        await at_step(pilot, Step.REVIEW)  # nothing changed any more: Review is reachable


async def test_done_leaves_what_happened_on_the_terminal(make_app: MakeApp) -> None:
    """The screen goes when the wizard ends: what it changed, the journal and the exported
    object stay on the terminal (the sandbox forgets everything: no undo command)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(ENTER_PRESSES):
            await settle(pilot)
            await pilot.pause(0.1)
            await settle(pilot)
            await pilot.press("enter")
        await at_step(pilot, Step.RESULT)
        await pilot.press("enter")  # Done
        await wait_until(pilot, lambda: not app.is_running, "the end")
    said = "\n".join(line.text for line in app.farewell_lines)
    assert re.search(r"^\d+ changes made in the sandbox; journal: \S+\.json$", said, re.M), said
    assert "nothing to undo" in said and "cwl-export-wizard undo" not in said
    assert re.search(
        r"^Test export [\w-]+: COMPLETED; first object: s3://\S+/000000\.gz$", said, re.M
    ), said
    assert app.return_code in (None, 0)


async def test_after_undo_every_step_and_the_farewell_tell_one_story(make_app: MakeApp) -> None:
    """Enter to the Result, back to Apply, u: the steps, the summary, the Export step and the
    farewell all say what the journal and the account say, and the exit code agrees."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(ENTER_PRESSES):
            await settle(pilot)
            await pilot.pause(0.1)
            await settle(pilot)
            await pilot.press("enter")
        await at_step(pilot, Step.RESULT)
        made = app.state.made
        assert made > 0
        while not isinstance(app.screen, ApplyScreen):
            await pilot.press("escape")
            await settle(pilot)
        screen = app.screen
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("tab", "enter")  # "Undo them"
        await wait_until(pilot, lambda: app.state.undone is not None and screen.finished, "undo")
        await settle(pilot)
        report = app.state.undone
        assert report is not None
        shown = screen_text(app)
        assert "(see above)" not in shown
        assert " remain in" not in shown or len(report.remaining) != 1  # "1 change ... remains"
        if report.complete:
            assert "as it was before the apply" in shown
        # The Export step no longer offers to cancel an export that finished long ago.
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "the end")
    said = "\n".join(line.text for line in app.farewell_lines)
    assert "(see above)" not in said and "nothing to undo" not in said, said
    if report.complete:
        assert f"{made} changes made in the sandbox, then undone: nothing of them remains" in said
        assert app.return_value == 0
    else:
        assert "the undo left" in said
        assert app.return_value == 1, (said, report)


async def test_start_over_then_quit_never_says_nothing_was_changed(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-sse-s3")
        await pilot.press("enter")
        await at_step(pilot, Step.REVIEW)
        await pilot.press("enter")
        screen = await at_step(pilot, Step.APPLY)
        assert isinstance(screen, ApplyScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.finished, "apply finished")
        made = app.state.made
        await pilot.press("n")  # start over
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-sse-s3")
        await pilot.press("enter")
        await at_step(pilot, Step.REVIEW)
        await settle(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "the end")
    said = "\n".join(line.text for line in app.farewell_lines)
    assert f"{made} changes made in the sandbox" in said
    assert "Nothing was changed." not in said, said
    assert "This run changed nothing." in said


async def test_a_change_made_outside_the_tool_is_waited_for_then_exported(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one propagation rule: the policies were put by boto3 (this run applied nothing),
    AWS still refuses for a while; the export step waits, says why, and completes."""
    from tests.outside import make_healthy_by_hand
    from wizard import launch
    from wizard.sandbox.server import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(export_delay=2.0, propagation_delay=5.0)).start()
    monkeypatch.setattr(launch, "start_sandbox", lambda options: sandbox)
    make_healthy_by_hand(sandbox)
    app = make_app(LaunchOptions(demo=True, export_delay=2.0, repair="demo-broken-exports"))
    # The waits take no time (fast_waits): the first one waits until its words are read.
    clock = fast_clock()
    clock.gate = threading.Event()
    seen: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REVIEW)
        review = app.state.review
        assert review is not None and review.healthy  # nothing for this run to change
        await pilot.press("enter")  # Next: an empty plan goes on to the export
        await at_step(pilot, Step.EXPORT)
        await pilot.press("enter")

        def waiting_shown() -> bool:
            text = screen_text(app)
            if "policies allow it" in text:
                seen.append(text)
            return bool(seen) or app.state.result is not None

        await wait_until(pilot, waiting_shown, "the wait for propagation is explained")
        clock.gate.set()
        await at_step(pilot, Step.RESULT)
        assert app.state.applied is None  # this run applied nothing
        assert seen and "reach CloudWatch Logs" in " ".join(seen[0].split())
        assert_export_proved(app, "demo-broken-exports", key_arn_of(app, "alias/demo-exports"))
