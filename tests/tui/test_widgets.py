"""The TUI's pure helpers and small widgets, without AWS."""

from __future__ import annotations

import subprocess
import sys

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Static

from tests.tui.fakes import BUCKETS, GROUPS, KEY_OPTIONS, NOW_MS, REGION, key
from wizard.aws.inventory import KeyOption
from wizard.core.errors import AwsError, ExportBusy
from wizard.core.state import ExportTaskInfo, ExportTaskStatus
from wizard.flow import BucketHealth, BucketOption, Step, WizardState, window_problem
from wizard.tui.widgets.diff_view import diff_content
from wizard.tui.widgets.error_panel import ErrorPanel, error_parts
from wizard.tui.widgets.option_lists import (
    KEY_PREFIX,
    OTHERS_ID,
    BucketList,
    KeyList,
    Row,
    ago,
    group_age,
    health_badge,
    human_size,
    key_prompt,
)
from wizard.tui.widgets.step_indicator import StepIndicator

DIFF = """\
--- bucket policy (current)
+++ bucket policy (after the wizard)
@@ -1,3 +1,4 @@
 {
-  "Statement": []
+  "Statement": [1]
 }
"""


def test_diff_lines_are_coloured_by_kind() -> None:
    content = diff_content(DIFF)
    assert content.plain == DIFF.rstrip("\n")
    styles = {content.plain[s.start : s.end]: str(s.style) for s in content.spans}
    assert styles['+  "Statement": [1]'] == "$text-success"
    assert styles['-  "Statement": []'] == "$text-error"
    assert styles["@@ -1,3 +1,4 @@"] == "$text-accent"
    assert styles["--- bucket policy (current)"] == "bold"


def test_unusable_key_shows_its_reason_and_usable_key_its_state() -> None:
    usable, _, aws_managed, disabled, _ = KEY_OPTIONS
    assert "not usable: AWS managed key" in key_prompt(aws_managed, 20).plain
    assert "not usable: disabled" in key_prompt(disabled, 20).plain
    line = key_prompt(usable, 20).plain
    assert line.startswith("alias/demo-exports") and "Enabled" in line
    assert "rotation off" in line


def test_health_badge() -> None:
    assert "checking" in health_badge(None).plain
    assert "✓ ready" in health_badge(BucketHealth("SSE-S3", True, "ready")).plain
    sick = BucketHealth("SSE-S3", False, "2 problem(s): X", ("a", "b"))
    assert "✗ 2 problems to fix" in health_badge(sick).plain
    # A Deny the wizard will not touch is not a problem it fixes.
    blocked = BucketHealth("SSE-KMS (k)", False, "1 problem(s): X", ("deny",), blockers=1)
    assert "✗ 1 blocker" in health_badge(blocked).plain
    assert "to fix" not in health_badge(blocked).plain
    both = BucketHealth("SSE-KMS (k)", False, "3 problem(s): X", ("deny", "a", "b"), blockers=1)
    assert "✗ 1 blocker, 2 to fix" in health_badge(both).plain


def test_ages_and_sizes() -> None:
    assert ago(NOW_MS - 30_000, NOW_MS) == "just now"
    assert ago(NOW_MS - 5 * 60_000, NOW_MS) == "5 min ago"
    assert ago(NOW_MS - 3 * 3_600_000, NOW_MS) == "3 h ago"
    assert ago(NOW_MS - 3 * 86_400_000, NOW_MS) == "3 days ago"
    assert group_age(GROUPS[0], NOW_MS) == "last event 4 min ago"
    assert group_age(GROUPS[2], NOW_MS) == "created 40 days ago"  # no last event known
    assert human_size(512) == "512 B"
    assert human_size(6_350) == "6.2 KB"
    assert human_size(1_320_000) == "1.3 MB"


def test_window_validation() -> None:
    assert window_problem("24h") is None
    assert window_problem("30m") is None
    problem = window_problem("yesterday")
    assert problem is not None and "30m, 1h, 24h" in problem


def test_errors_are_message_and_fix_never_a_traceback() -> None:
    assert error_parts(AwsError("Access denied.", fix="Ask for s3:GetBucketPolicy.")) == (
        "Access denied.",
        "Ask for s3:GetBucketPolicy.",
    )
    busy = ExportBusy(ExportTaskInfo("t-1", "/ecs/web", ExportTaskStatus.RUNNING), "ap-northeast-1")
    message, fix = error_parts(busy)
    assert "t-1" in message and fix
    message, fix = error_parts(KeyError("boom"))
    assert message.startswith("Unexpected error: KeyError") and fix


class _Panel(App[None]):
    def compose(self) -> ComposeResult:
        yield StepIndicator(Step.KEY, "local AWS sandbox (demo) · account 123456789012")
        yield ErrorPanel()


async def test_step_indicator_and_error_panel() -> None:
    app = _Panel()
    async with app.run_test(size=(100, 10)) as pilot:
        indicator = app.query_one(StepIndicator)
        text = indicator.render().plain
        assert text.startswith("Step 2 of 7 - KMS key")
        assert "account 123456789012" in text
        assert "✓ Region  ● KMS key  ○ Bucket" in text
        panel = app.query_one(ErrorPanel)
        assert not panel.visible_error and not panel.display
        panel.show_error(AwsError("Access denied [s3:GetBucketPolicy].", fix="Ask [admin]."))
        await pilot.pause()
        assert panel.visible_error and panel.display
        shown = str(panel.content)
        assert "[s3:GetBucketPolicy]" in shown and "Fix: Ask [admin]." in shown  # not markup
        panel.clear()
        await pilot.pause()
        assert not panel.display


def test_importing_the_tui_loads_no_aws_sdk() -> None:
    """The first screen draws before boto3 and moto load (they load in the connect worker)."""
    code = (
        "import sys, wizard.tui.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore', 'moto'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


class _Lists(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyList(id="keys")
        yield BucketList(id="buckets")


async def test_key_pages_are_appended_and_rotation_shows_as_loading() -> None:
    paged = key("alias/paged", "0f0f0f0f-1c2d-4e3f-8a9b-0c1d2e3f4a5b", rotation=None)
    loading = KeyOption(paged, True, None)
    assert "rotation …" in key_prompt(loading, 20).plain
    app = _Lists()
    async with app.run_test(size=(100, 30)) as pilot:
        keys = app.query_one(KeyList)
        keys.add_keys(KEY_OPTIONS[:2])
        first = keys.get_option_at_index(1)
        keys.add_keys([*KEY_OPTIONS[1:], loading])  # a key seen before is not listed twice
        await pilot.pause()
        assert keys.option_count == 1 + len(KEY_OPTIONS) + 1
        assert keys.get_option_at_index(1) is first  # earlier rows stay as they were


async def test_a_key_sent_again_with_its_alias_is_renamed_in_place() -> None:
    from dataclasses import replace

    named = KEY_OPTIONS[0]
    by_id = KeyOption(replace(named.key, aliases=()), True, None)  # before ListAliases
    key_id = named.key.key_id or ""
    assert key_prompt(by_id, 40).plain.count(key_id) == 1  # the name is the id: not twice
    app = _Lists()
    async with app.run_test(size=(100, 30)) as pilot:
        keys = app.query_one(KeyList)
        keys.add_keys([by_id, KEY_OPTIONS[1]])
        keys.add_keys([named, KEY_OPTIONS[1]])
        await pilot.pause()
        assert keys.option_count == 3
        row = str(keys.get_option_at_index(1).prompt.content)  # type: ignore[union-attr]
        assert row.startswith(named.key.aliases[0]) and key_id[:8] in row


async def test_other_region_buckets_listed_when_few_else_one_line() -> None:
    here = [BucketOption("here", REGION, True)]
    app = _Lists()
    async with app.run_test(size=(100, 30)) as pilot:
        buckets = app.query_one(BucketList)
        buckets.show_buckets(here)
        buckets.show_others(BUCKETS[-1:], REGION)
        await pilot.pause()
        assert [o.id for o in buckets.options] == [
            "create",
            "bucket:here",
            "bucket:demo-other-region",
        ]
        many = [BucketOption(f"b{i}", "us-west-2", False, "elsewhere") for i in range(4001)]
        buckets.show_buckets(here)
        buckets.show_others(many, REGION)
        await pilot.pause()
        assert buckets.option_count == 3
        summary = buckets.get_option(OTHERS_ID)
        assert summary.disabled
        assert isinstance(summary.prompt, Row)
        assert summary.prompt.content.plain == (
            f"4,001 buckets in other regions (not usable: exports need a bucket in {REGION})"
        )


class _Muted(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(Content.assemble("normal ", health_badge(None)), id="line")


async def test_muted_text_is_dimmer_than_normal_text() -> None:
    """A "$text-muted" Content style rendered brighter than normal text (pure white: it
    needs a background to blend with); the widgets use "$foreground-muted"."""
    app = _Muted()
    async with app.run_test(size=(60, 3)) as pilot:
        await pilot.pause()
        colours = {
            segment.text.strip(): segment.style.color
            for segment in app.query_one("#line", Static).render_line(0)
            if segment.text.strip() and segment.style and segment.style.color
        }
        normal, muted = colours["normal"], colours["… checking"]
        assert sum(muted.triplet or (0, 0, 0)) < sum(normal.triplet or (0, 0, 0))


async def test_the_key_bar_shows_the_steps_keys_and_a_click_presses_one() -> None:
    from tests.tui.fakes import fake_app
    from tests.tui.pilot_helpers import at_step
    from wizard.tui.screens.help import HelpScreen
    from wizard.tui.widgets.key_bar import KeyBar

    app = fake_app(Step.KEY, WizardState(region=REGION))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.KEY)
        bar = screen.query_one(KeyBar)
        text = str(bar.content)
        assert text.split() == ["esc", "Back", "^n", "Next", "q", "Quit", "f1", "Help"]

        def dimmed(word: str) -> bool:
            start = text.index(word)
            return any(
                span.start <= start < span.end and span.style == "dim"
                for span in bar.content.spans  # type: ignore[union-attr]
            )

        assert not dimmed("Next")
        screen.busy("probe", "Working...")  # Next is off while a job runs
        await pilot.pause()
        text = str(bar.content)
        assert dimmed("Next") and not dimmed("Help")
        screen.idle("probe")
        await pilot.pause()
        await pilot.click(KeyBar, offset=(text.index("Help"), 0))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_the_sorted_key_list_keeps_the_rows_it_already_shows() -> None:
    """A 1,000-key listing comes in batches, then sorted: the sorted list reuses the rows."""
    from dataclasses import replace

    app = _Lists()
    async with app.run_test(size=(100, 30)) as pilot:
        keys = app.query_one(KeyList)
        keys.add_keys(list(reversed(KEY_OPTIONS)))
        before = {o.id: o for o in keys.options}
        changed = replace(KEY_OPTIONS[1], key=replace(KEY_OPTIONS[1].key, state="Disabled"))
        keys.show_keys([KEY_OPTIONS[0], changed, *KEY_OPTIONS[2:]])
        await pilot.pause()
        after = list(keys.options)
        assert [o.id for o in after[1:]] == [
            KEY_PREFIX + (o.key.arn or "") for o in KEY_OPTIONS
        ]  # in the order given
        assert after[1] is before[after[1].id]  # the same key: the same row
        assert after[2] is not before[after[2].id]  # changed: drawn again
        assert "Disabled" in str(after[2].prompt.content)  # type: ignore[union-attr]
