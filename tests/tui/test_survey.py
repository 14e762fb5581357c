"""The survey view in the TUI (--demo --scenario fleet --survey): the table fills in, sorts
and filters; Enter on a broken row repairs that destination in its own account and region,
through Apply to a completed export."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable

from tests.conftest import EXPORT_DELAY
from tests.tui.pilot_helpers import at_step, error_text, screen_text, type_into, wait_until
from tests.tui.test_flows import apply_and_export
from wizard.flow import Step
from wizard.launch import LaunchOptions
from wizard.sandbox.fleet import expected_rows
from wizard.tui.app import WizardApp
from wizard.tui.screens.survey import SurveyScreen

pytestmark = pytest.mark.slow

SIZE = (140, 40)
REGION = "ap-northeast-1"
ORDERS = "222233334444"


def fleet_app(make_app: Any) -> WizardApp:
    app: WizardApp = make_app(
        LaunchOptions(demo=True, scenario="fleet", export_delay=EXPORT_DELAY, survey=True)
    )
    return app


async def surveyed(pilot: Any, app: WizardApp) -> SurveyScreen:
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, SurveyScreen) and app.screen.result is not None,
        "the survey to finish",
    )
    screen = app.screen
    assert isinstance(screen, SurveyScreen)
    assert not error_text(app), error_text(app)
    return screen


def table_buckets(screen: SurveyScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_from_the_survey_table_to_a_repaired_destination_and_a_completed_export(
    make_app: Any,
) -> None:
    app = fleet_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await surveyed(pilot, app)
        expected = expected_rows(REGION)
        assert len(screen.rows) == len(expected)
        assert [e.profile for e in screen.errors] == ["fleet-legacy"]
        table = screen.query_one(DataTable)
        assert table.row_count == len(expected) + 1  # the refusing account is a row too
        assert "15 destinations" in screen_text(app)

        # Broken first; "s" sorts by the next column (the bucket, then the prefix).
        verdicts = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert verdicts == sorted(verdicts, key=["broken", "healthy", "unreadable"].index)
        table.focus()
        await pilot.press("s")
        buckets = [str(table.get_row_at(i)[1]).lower() for i in range(len(expected))]
        assert buckets == sorted(buckets)
        await pilot.press("s", "s")
        findings = [str(table.get_row_at(i)[3]).lower() for i in range(len(expected))]
        assert findings == sorted(findings)

        await type_into(pilot, "#survey-filter", "orders-exp")
        await wait_until(pilot, lambda: table.row_count == 1, "the filter")
        assert table_buckets(screen) == ["fleet-orders-exports"]
        await pilot.press("enter")  # from the filter to the table
        await pilot.press("enter")  # repair the highlighted row

        await at_step(pilot, Step.REVIEW)
        assert app.state.repair and app.state.bucket == "fleet-orders-exports"
        assert app.connection is not None and app.connection.identity.account == ORDERS
        assert app.state.region == REGION and app.state.prefix == "exportedlogs"
        assert "KEY_POLICY_BLOCKS_LOGS" in screen_text(app) or "key policy" in screen_text(app)
        review = app.state.review
        assert review is not None and not review.healthy
        await apply_and_export(pilot, app)

        result = app.state.result
        assert result is not None and result.succeeded and result.sample
        assert result.objects[0].uri.startswith("s3://fleet-orders-exports/exportedlogs/")
        # Read again in its account: healthy now.
        flow = app.flow
        assert flow is not None
        again = flow.review(app.state.choices())
        assert again.healthy, [f.code for f in again.findings]


async def test_the_palette_opens_the_survey_and_a_healthy_row_is_not_repaired(
    make_app: Any,
) -> None:
    app = make_app(LaunchOptions(demo=True, scenario="fleet", export_delay=EXPORT_DELAY))
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, Step.REGION)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Survey every destination" in commands
        app.action_survey()
        screen = await surveyed(pilot, app)
        await type_into(pilot, "#survey-filter", "fleet-archive-main")
        table = screen.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, "the filter")
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, SurveyScreen)  # healthy: nothing to repair
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SurveyScreen), "back")
        await at_step(pilot, Step.REGION)


async def test_escape_and_back_return_to_the_table_and_a_repair_is_the_printed_commands_change(
    make_app: Any,
) -> None:
    """Found from outside: Escape in the filter box closed the survey (a blank screen when it
    was the first), and Escape on a repair's Review led into the wizard's steps instead of
    back to the table. Enter on an SSE-S3 bucket's row proposed a new KMS key (5 changes)
    where the row's printed command changes only the bucket policy (1); and a foreign Deny,
    which no command repairs, opened a repair all the same. (One test: each survey of the
    fleet's 85 account-regions costs seconds of CPU.)"""
    from wizard.core import survey as core

    app = fleet_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await surveyed(pilot, app)
        table = screen.query_one(DataTable)
        await type_into(pilot, "#survey-filter", "orders-exp")
        await wait_until(pilot, lambda: table.row_count == 1, "the filter")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and table.has_focus  # out of the filter, still surveying
        assert table.row_count == 1  # the filter holds
        await pilot.press("enter")  # repair the highlighted row
        await at_step(pilot, Step.REVIEW)
        assert app.state.bucket == "fleet-orders-exports"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the survey")
        assert table_buckets(screen) == ["fleet-orders-exports"]

        [row] = [r for r in screen.rows if r.bucket == "fleet-data-eu"]
        repair = core.repair_of(row)
        assert repair is not None and repair.create_key_alias is None
        await type_into(pilot, "#survey-filter", "fleet-data-eu")
        await wait_until(pilot, lambda: table.row_count == 1, "the filter")
        await pilot.press("enter", "enter")
        await at_step(pilot, Step.REVIEW)
        review = app.state.review
        assert review is not None
        assert app.state.key is None and app.state.create_key_alias is None
        assert [c.action.value for c in review.plan.changes] == ["PutBucketPolicy"]

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the survey")
        await type_into(pilot, "#survey-filter", "fleet-data-lake")
        await wait_until(pilot, lambda: table.row_count == 1, "the filter")
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert app.screen is screen  # a Deny: no repair opened, the reason said instead
        assert "never edits a statement it did not write" in screen_text(app)


async def test_at_120_columns_the_table_fits_and_at_80_by_24_verdict_bucket_and_finding_show(
    make_app: Any,
) -> None:
    """Found from outside: a refusing account's reason made the last column run off the
    screen at 120 columns; at 80x24 the verdict and first-finding columns were off-screen."""
    app = fleet_app(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await surveyed(pilot, app)
        table = screen.query_one(DataTable)
        await wait_until(
            pilot,
            lambda: 0 < table.virtual_size.width <= table.size.width,
            f"the table fits: {table.virtual_size} in {table.size}",
        )
        [error] = screen.errors
        table.focus()

        def detail_shows_the_reason() -> bool:
            if table.cursor_row != table.row_count - 1:  # a refill puts the cursor back on top
                table.move_cursor(row=table.row_count - 1)  # the refusing account: last
            detail = " ".join(str(screen.query_one("#survey-detail").render()).split())
            return error.message in detail

        await wait_until(pilot, detail_shows_the_reason, "the whole reason under the table")

        # The terminal made 80x24: what is broken, where and why stays on screen.
        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: table.size.width <= 80, "the resize")
        titles = [str(c.label) for c in table.ordered_columns]
        assert titles[:4] == ["Verdict", "Bucket", "Prefix", "First finding"]
        widths = [c.get_render_width(table) for c in table.ordered_columns[:4]]
        assert sum(widths) <= table.size.width, (widths, table.size)
        table.move_cursor(row=0)
        await pilot.pause()
        row = screen.selected_row()
        assert row is not None and not row.healthy
        detail = " ".join(str(screen.query_one("#survey-detail").render()).split())
        assert f"account {row.account}" in detail and row.region in detail
