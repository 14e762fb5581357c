"""SVG snapshots of every step, on hand-built data (tests/tui/fakes.py): fully deterministic.

Update the baselines after an intended change with
``python -m pytest tests/tui/test_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from tests.tui.fakes import BROKEN, KEY_ARN, ORG_ONLY, REGION, FakeFlow, export_result, fake_app
from wizard.flow import Step, WizardState
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp

SIZE = (100, 32)
Compare = Callable[..., bool]


async def settled(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def then(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Settle, press ``keys``, settle again."""

    async def run(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        if keys:
            await pilot.press(*keys)
        await settled(pilot)

    return run


def chosen(bucket: str = BROKEN, **changes: Any) -> WizardState:
    state = WizardState(region=REGION, key=KEY_ARN, bucket=bucket)
    for name, value in changes.items():
        setattr(state, name, value)
    return state


def test_step1_region(snap_compare: Compare) -> None:
    assert snap_compare(fake_app(Step.REGION), terminal_size=SIZE, run_before=then())


def test_step1_no_credentials(snap_compare: Compare, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)  # a region, but no credentials anywhere
    app = WizardApp(LaunchOptions())

    async def failed(pilot: Pilot[Any]) -> None:
        button = pilot.app.screen.query_one("#sandbox")
        for _ in range(400):
            if button.display:
                break
            await pilot.pause(0.05)
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=failed)


def test_step2_key(snap_compare: Compare) -> None:
    app = fake_app(Step.KEY, WizardState(region=REGION))
    assert snap_compare(app, terminal_size=SIZE, run_before=then())


def test_step2_key_create_new(snap_compare: Compare) -> None:
    app = fake_app(Step.KEY, WizardState(region=REGION))
    assert snap_compare(app, terminal_size=SIZE, run_before=then("home", "enter"))


def test_step3_bucket(snap_compare: Compare) -> None:
    app = fake_app(Step.BUCKET, WizardState(region=REGION, key=KEY_ARN))
    assert snap_compare(app, terminal_size=SIZE, run_before=then("down"))


def test_step3_bucket_bad_name(snap_compare: Compare) -> None:
    app = fake_app(Step.BUCKET, WizardState(region=REGION, key=KEY_ARN))
    keys = ("enter", "end", "ctrl+u", *"Exports_2026")
    assert snap_compare(app, terminal_size=SIZE, run_before=then(*keys))


def test_step4_review(snap_compare: Compare) -> None:
    assert snap_compare(fake_app(Step.REVIEW, chosen()), terminal_size=SIZE, run_before=then())


def test_step4_review_cli_commands(snap_compare: Compare) -> None:
    app = fake_app(Step.REVIEW, chosen())
    assert snap_compare(app, terminal_size=SIZE, run_before=then("c"))


def test_step4_review_blocked(snap_compare: Compare) -> None:
    app = fake_app(Step.REVIEW, chosen(ORG_ONLY))
    assert snap_compare(app, terminal_size=SIZE, run_before=then())


def reviewed(bucket: str = BROKEN) -> WizardState:
    """The Apply step applies the Review's plan: compute it as the Review step would."""
    state = chosen(bucket)
    state.review = FakeFlow().review(state.choices())
    return state


def test_step5_apply_confirm_sandbox(snap_compare: Compare) -> None:
    app = fake_app(Step.APPLY, reviewed())
    assert snap_compare(app, terminal_size=SIZE, run_before=then())


def test_step5_apply_confirm_real_aws(snap_compare: Compare) -> None:
    app = fake_app(Step.APPLY, reviewed(), sandbox=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=then(*"app"))


def test_step5_apply_done(snap_compare: Compare) -> None:
    app = fake_app(Step.APPLY, reviewed())
    assert snap_compare(app, terminal_size=SIZE, run_before=then("enter"))


def test_step6_export(snap_compare: Compare) -> None:
    app = fake_app(Step.EXPORT, chosen())
    assert snap_compare(app, terminal_size=SIZE, run_before=then())


def test_step6_export_other_task_active(snap_compare: Compare) -> None:
    flow = FakeFlow(busy_export=True)
    app = fake_app(Step.EXPORT, chosen(), flow=flow)
    assert snap_compare(app, terminal_size=SIZE, run_before=then("enter"))


def test_step7_result(snap_compare: Compare) -> None:
    state = chosen(log_group="/aws/lambda/demo-fn")
    state.result = export_result(BROKEN, state.prefix)
    assert snap_compare(fake_app(Step.RESULT, state), terminal_size=SIZE, run_before=then())


def test_help(snap_compare: Compare) -> None:
    app = fake_app(Step.KEY, WizardState(region=REGION))
    assert snap_compare(app, terminal_size=SIZE, run_before=then("f1"))
