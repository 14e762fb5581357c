"""Every benchmark at a tiny scale: right answers and call counts, never wall-clock.

The real figures come from ``python -m tests.benchmarks.run``; this file keeps the
benchmarks working and pins the behaviour behind them: one DescribeKey per key, no call per
bucket, one filtered DescribeLogGroups, a sample read that does not grow with the object,
an export poll of at most one call a second, a ``--version`` that imports nothing heavy.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks import bench, ui
from tests.benchmarks.harness import (
    BenchResult,
    LocalSandbox,
    RemoteSandbox,
    Scale,
    per_bucket_calls,
    render_table,
)
from wizard.sandbox.scenarios import AWS_MANAGED_ALIASES, SCALE_WORDS
from wizard.sandbox.server import SandboxConfig

KEYS = 20
BUCKETS = 50
IN_REGION = 10
LOG_GROUPS = 200
LATENCY_MS = 5
EXPORT_DELAY = 1.0
DEMO_BUCKETS_IN_REGION = 2  # demo-broken-exports, demo-sse-s3
DEMO_KEYS = 3  # alias/demo-exports, alias/demo-disabled, alias/demo-signing


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def sandbox() -> Iterator[LocalSandbox]:
    config = SandboxConfig(scenario="demo", latency_ms=LATENCY_MS, export_delay=EXPORT_DELAY)
    with LocalSandbox(config, Scale(KEYS, BUCKETS, IN_REGION, LOG_GROUPS)) as running:
        yield running


def table(result: BenchResult) -> str:
    lines: list[str] = []
    render_table([result], lines.append)
    return "\n".join(lines)


def test_keys_one_describe_per_key_and_every_key_listed(sandbox: LocalSandbox) -> None:
    result = bench.bench_keys(sandbox, naive_sample=5)
    options, counts = result.facts["options"], result.facts["counts"]
    listed = result.facts["key_ids"]
    assert len(options) == len(listed) == KEYS + DEMO_KEYS + len(AWS_MANAGED_ALIASES)
    aliases = {a for o in options for a in o.key.aliases}
    assert set(sandbox.seeded.key_aliases) <= aliases
    assert all(o.key.state and o.key.arn for o in options), "a key without its metadata"
    managed = [o for o in options if o.key.manager == "AWS"]
    assert len(managed) == len(AWS_MANAGED_ALIASES)
    assert all(not o.usable and o.reason for o in managed)
    # One DescribeKey per key, pages as they came; rotation afterwards, where it applies.
    assert counts["DescribeKey"] == len(options)
    assert "GetKeyRotationStatus" not in counts
    usable = [o for o in options if o.usable]
    assert set(result.facts["rotations"]) == {o.key.key_id for o in usable}
    assert result.facts["rotation_counts"] == {"GetKeyRotationStatus": len(usable)}
    # Every key shown (a batch out before the aliases is sent again, named).
    assert result.facts["shown"] == {o.key.arn for o in options}
    assert result.facts["naive_counts"]["DescribeKey"] == 5
    assert "keys: first rows" in table(result)


def test_buckets_listed_without_a_call_per_bucket(sandbox: LocalSandbox) -> None:
    result = bench.bench_buckets(sandbox, naive_sample=8)
    options = result.facts["options"]
    here = {o.name for o in options if o.usable}
    assert set(sandbox.seeded.buckets_in(sandbox.region)) <= here
    assert len(here) == IN_REGION + DEMO_BUCKETS_IN_REGION
    assert all(o.reason for o in options if not o.usable)
    assert per_bucket_calls(result.facts["step_counts"]) == 0
    assert per_bucket_calls(result.facts["region_counts"]) == 0
    assert result.facts["region_counts"]["ListBuckets"] == 1
    assert {s.name for s in result.facts["summaries"]} == here
    # The naive way asks every bucket where it is.
    assert result.facts["naive_counts"]["GetBucketLocation"] == 8


def test_log_group_filter_is_one_server_side_call(sandbox: LocalSandbox) -> None:
    word = SCALE_WORDS[1]
    result = bench.bench_log_groups(sandbox, pattern=word, naive_pages=2)
    matches = [g.name for g in result.facts["matches"]]
    expected = sorted(n for n in sandbox.seeded.log_groups if word in n)
    assert matches == expected[:50]
    # AWS filters, one page: no page-by-page download, no call per group.
    assert result.facts["filter_counts"] == {"DescribeLogGroups": 1}
    # The first screen (no filter) reads at most each listed group's newest stream.
    first = result.facts["first_counts"]
    assert first["DescribeLogGroups"] == 1
    assert first.get("DescribeLogStreams", 0) <= len(result.facts["first"])
    assert len(result.facts["first"]) == 50
    assert not result.facts["naive_complete"]


def test_sample_streams_the_first_lines_only() -> None:
    # The sandbox runs in a child: tracemalloc must see the client's memory only.
    config = SandboxConfig(scenario="demo", latency_ms=LATENCY_MS)
    with RemoteSandbox(config) as remote:
        result = bench.bench_sample(remote, uncompressed_bytes=5 << 20, lines=20)
    sample = result.facts["sample"]
    assert len(sample) == 20 and sample == result.facts["naive_sample"]
    assert all(line[:4].isdigit() and line[10] == "T" for line in sample)  # export lines
    assert result.facts["counts"] == {"GetObject": 1}
    assert result.facts["read"] < result.facts["compressed"]
    # Memory: what the naive way holds grows with the object; the stream's does not.
    assert result.facts["peak"] < 30 * 2**20
    assert result.facts["peak"] < result.facts["naive_peak"] / 2


@pytest.mark.wall_clock  # the real schedule of polls
def test_export_poll_is_at_most_one_call_a_second(sandbox: LocalSandbox) -> None:
    result = bench.bench_export(sandbox, delay=EXPORT_DELAY, naive_fast=None, naive_slow=None)
    facts = result.facts
    assert facts["status"] == "COMPLETED"
    assert 1 <= facts["calls"] <= max(1, math.ceil(facts["waited"]))


def test_version_imports_nothing_heavy() -> None:
    command = [*ui.wizard_command(), "--version"]
    if Path(command[0]).name == "cwl-export-wizard":
        command = [sys.executable, "-X", "importtime", "-m", "wizard", "--version"]
    else:
        command = [sys.executable, "-X", "importtime", *command[1:]]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ui.ROOT, check=True)
    assert done.stdout.startswith("cwl-export-wizard ")
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert not imported & {"boto3", "botocore", "textual", "moto", "rich", "questionary"}


async def test_first_screen_does_not_wait_for_the_sandbox(tmp_path: Path) -> None:
    from wizard.launch import LaunchOptions
    from wizard.tui.app import WizardApp
    from wizard.tui.screens.base import StepScreen

    app = WizardApp(LaunchOptions(demo=True), journal_dir=tmp_path)
    try:
        async with app.run_test(size=ui.SIZE) as pilot:
            for _ in range(500):
                if isinstance(app.screen, StepScreen) and app.screen.is_mounted:
                    break
                await pilot.pause(0.01)
            # The first screen is up while the sandbox is still starting behind it.
            assert isinstance(app.screen, StepScreen) and app.connection is None
            await pilot.press("q")
    finally:
        app.stop_sandbox()


def test_pilot_drives_the_wizard_with_the_monitor_on(sandbox: LocalSandbox, tmp_path: Path) -> None:
    """The first steps only (the whole flow is tests/tui's, and the full run's)."""
    import textual.message_pump as message_pump

    before = (message_pump.MessagePump._dispatch_message, message_pump.SLOW_THRESHOLD)
    run = asyncio.run(ui.pilot_flow(sandbox, tmp_path, last="bucket"))
    monitor = run.monitor
    assert {"keys: first rows", "keys: all rows shown", "buckets: listed"} <= set(run.times)
    counts = run.calls["key and bucket steps"]
    assert counts["DescribeKey"] >= KEYS and counts["ListBuckets"] >= 1
    assert monitor.step_count > 100 and monitor.dispatches
    assert all(isinstance(w, str) for w in monitor.warnings)
    # The instrumentation is gone afterwards.
    assert (message_pump.MessagePump._dispatch_message, message_pump.SLOW_THRESHOLD) == before


def test_fleet_survey_makes_the_same_requests_either_way_within_a_linear_budget() -> None:
    from tests.benchmarks import fleet

    config = SandboxConfig(scenario="fleet", latency_ms=LATENCY_MS)
    with LocalSandbox(config) as running:
        result = fleet.bench_fleet(running, region_steps=(3,))
    facts = result.facts
    fast, slow = facts["fast"], facts["slow"]
    assert [r.key for r in fast.rows] == [r.key for r in slow.rows]
    assert len(fast.rows) == 15 and len(fast.errors) == 1
    assert facts["fast_counts"] == facts["slow_counts"]  # the same checks, only the order differs
    assert sum(facts["fast_counts"].values()) <= facts["budget"]
    # Beyond the regions with destinations, one request per account and region.
    assert result.rows[-1].measured == 1.0
    assert "fleet survey" in table(result)
