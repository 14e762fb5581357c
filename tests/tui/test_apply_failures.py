"""Apply going wrong: a failing change is rolled back and explained; quitting mid-apply asks first.

These runs use a sandbox the test starts itself (faults, latency), handed to the app as its
connection, so that the sandbox's state can be read after the app has quit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.pilot_helpers import at_step, error_text, screen_text, wait_until
from wizard.core.errors import EXIT_INTERRUPTED
from wizard.core.requirements import SID_KEY_USE
from wizard.flow import Flow, Step
from wizard.launch import LaunchOptions, sandbox_session
from wizard.sandbox.server import Fault, Sandbox, SandboxConfig
from wizard.tui.app import WizardApp
from wizard.tui.connection import Connection
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.slow

BUCKET = "demo-broken-exports"
SIZE = (120, 40)


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def start(**config: Any) -> Sandbox:
        sandbox = Sandbox(SandboxConfig(export_delay=0.3, **config)).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


def repair_app(sandbox: Sandbox, journal_dir: Path) -> WizardApp:
    flow = Flow(sandbox_session(sandbox), journal_dir=journal_dir)
    connection = Connection(
        flow, flow.identity(), tuple(flow.regions()), "local AWS sandbox (test)", sandbox=True
    )
    return WizardApp(
        LaunchOptions(demo=True, repair=BUCKET),
        connection=connection,
        journal_dir=journal_dir,
    )


def destination(sandbox: Sandbox) -> dict[str, Any]:
    s3, kms = sandbox.client("s3"), sandbox.client("kms")
    key_id = kms.describe_key(KeyId="alias/demo-exports")["KeyMetadata"]["KeyId"]
    # Documents compared as JSON: a restore writes the same document, maybe not the same bytes.
    return {
        "policy": json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]),
        "encryption": s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"],
        "key-policy": json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
    }


async def test_failed_change_is_rolled_back_with_undo_command(
    sandbox_factory: Callable[..., Sandbox], isolated_aws: Path
) -> None:
    sandbox = sandbox_factory(faults=(Fault("PutBucketPolicy", "AccessDenied", 1),))
    before = destination(sandbox)
    app = repair_app(sandbox, isolated_aws)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REVIEW)
        await pilot.press("enter")
        screen = await at_step(pilot, Step.APPLY)
        assert isinstance(screen, ApplyScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.finished, "apply ended")
        shown_error = error_text(app)
        assert "PutBucketPolicy" in shown_error and "failed" in shown_error
        assert "Traceback" not in screen_text(app)
        shown = screen_text(app)
        assert "The account is as it was before." in shown
        assert "cwl-export-wizard undo" not in shown  # nothing is left to undo
        assert "rolled back" in [s for s in screen.statuses]
        assert screen.query_one("#next").disabled
        await pilot.press("escape")  # Back to Review reads the (restored) state again
        await at_step(pilot, Step.REVIEW)
    after = destination(sandbox)
    assert after == before
    assert SID_KEY_USE not in json.dumps(after["key-policy"])
    assert app.exit_code == 2


async def quit_during_apply(sandbox: Sandbox, journal_dir: Path, *, held_change: int) -> WizardApp:
    """Run the repair's apply with its ``held_change``-th write held in flight, press q
    while it is, choose "Stop and roll back", let the write complete: the app once it quit."""
    app = repair_app(sandbox, journal_dir)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REVIEW)
        review = app.state.review
        assert review is not None and len(review.plan.changes) == 3
        # The write is held: the apply is mid-way when q is pressed, however fast or loaded
        # the machine.
        held = sandbox.gate(review.plan.changes[held_change].action.value)
        await pilot.press("enter")
        screen = await at_step(pilot, Step.APPLY)
        assert isinstance(screen, ApplyScreen)
        await pilot.press("enter")
        await wait_until(pilot, held.arrived.is_set, "the held write in flight")
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        await pilot.press("tab", "enter")  # "Stop and roll back"
        held.release()  # the call in flight completes; then the stop takes effect
        await wait_until(pilot, lambda: not app.is_running, "quit after the rollback")
    return app


async def test_quit_during_apply_asks_then_rolls_back(
    sandbox_factory: Callable[..., Sandbox], isolated_aws: Path
) -> None:
    sandbox = sandbox_factory()
    before = destination(sandbox)
    app = await quit_during_apply(sandbox, isolated_aws, held_change=1)
    assert destination(sandbox) == before
    # Left on the terminal: what was put back, and the code of a stopped run (as Ctrl+C).
    assert app.exit_code == EXIT_INTERRUPTED
    said = [line.text for line in app.farewell_lines]
    assert any(text.startswith("RESTORED: restored the key policy") for text in said)
    assert "The account is as it was before the apply (every document compared)." in said


async def test_a_stop_that_lands_after_the_last_change_undoes_all_and_exits_as_stopped(
    sandbox_factory: Callable[..., Sandbox], isolated_aws: Path
) -> None:
    """Found when the test held the last write: every change had landed when the stop took
    effect, so they were undone from the journal, and the run exited 0 as if it had
    finished, where a stop between changes exits 130."""
    sandbox = sandbox_factory()
    before = destination(sandbox)
    app = await quit_during_apply(sandbox, isolated_aws, held_change=2)
    assert destination(sandbox) == before
    assert app.exit_code == EXIT_INTERRUPTED
    said = " ".join(line.text for line in app.farewell_lines)
    assert "3 changes made in the sandbox, then undone: nothing of them remains" in said
