"""Inventory over the sandbox: regions, keys (described concurrently), buckets, log groups."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.aws.conftest import DEMO_GROUP, allow_exports, session_for
from tests.conftest import REGION, StartSandbox
from wizard.aws import export, inventory
from wizard.aws.inventory import KeyOption
from wizard.core.errors import AwsError, Cancelled
from wizard.sandbox.server import Sandbox

KEYS = 20


class CallCounter:
    """Counts a client's calls per operation, and the most of each in flight at once."""

    def __init__(self, client: Any) -> None:
        self.calls: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)

    @property
    def max_in_flight(self) -> int:
        return self.most_in_flight.get("DescribeKey", 0)

    def _before(self, model: Any, **_: Any) -> None:
        with self._lock:
            name = model.name
            self.calls[name] = self.calls.get(name, 0) + 1
            self.in_flight[name] = self.in_flight.get(name, 0) + 1
            self.most_in_flight[name] = max(self.most_in_flight.get(name, 0), self.in_flight[name])

    def _after(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.in_flight[model.name] -= 1


def by_alias(options: list[KeyOption]) -> dict[str, KeyOption]:
    return {alias: o for o in options for alias in o.key.aliases}


def test_regions(demo: Sandbox) -> None:
    regions = inventory.list_regions(session_for(demo))
    assert REGION in regions and "us-east-1" in regions


def test_regions_fall_back_to_botocore_when_denied(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="empty", faults=("DescribeRegions:UnauthorizedOperation",))
    regions = inventory.list_regions(session_for(sandbox))
    assert REGION in regions and "eu-west-1" in regions
    assert not any(r.startswith("cn-") for r in regions)


def last_sent(pages: list[list[KeyOption]]) -> dict[str, KeyOption]:
    """Each key as ``on_page`` last sent it (a key sent again replaces its row)."""
    return {o.key.arn or o.key.reference: o for page in pages for o in page}


def test_keys_of_the_demo_with_reasons(demo: Sandbox) -> None:
    pages: list[list[KeyOption]] = []
    options = inventory.list_keys(session_for(demo), REGION, on_page=pages.append)
    rows = last_sent(pages)
    assert pages and len(rows) == len(options)
    assert {arn: o.key.aliases for arn, o in rows.items()} == {
        o.key.arn: o.key.aliases for o in options
    }
    keys = by_alias(options)
    good = keys["alias/demo-exports"]
    assert good.usable and good.reason is None
    assert good.key.manager == "CUSTOMER" and good.key.arn and good.key.key_id
    assert good.key.rotation_enabled is None  # read afterwards: key_rotations
    assert not keys["alias/demo-disabled"].usable
    assert "disabled" in (keys["alias/demo-disabled"].reason or "")
    assert not keys["alias/demo-signing"].usable
    assert "asymmetric" in (keys["alias/demo-signing"].reason or "")
    assert not keys["alias/aws/s3"].usable
    assert "AWS managed" in (keys["alias/aws/s3"].reason or "")
    assert options[0].usable  # usable keys first


def test_first_rows_do_not_wait_for_the_aliases(demo: Sandbox) -> None:
    """ListAliases is slow here (held until the first rows are out): the first page is sent
    named by key id, then sent again with the aliases; nothing else is sent twice."""
    session = session_for(demo)
    first_rows_out = threading.Event()

    def hold_aliases(**_: Any) -> None:
        # A bound for a hang (the rows waiting for the aliases), not a timing.
        assert first_rows_out.wait(120), "the first rows waited for ListAliases"

    session.client("kms", REGION).meta.events.register("before-call.kms.ListAliases", hold_aliases)
    pages: list[list[KeyOption]] = []

    def on_page(options: list[KeyOption]) -> None:
        pages.append(options)
        first_rows_out.set()

    options = inventory.list_keys(session, REGION, on_page=on_page)
    assert len(pages) == 2
    assert not any(o.key.aliases for o in pages[0])  # named by id: the aliases were late
    assert [o.key.arn for o in pages[1]] == [o.key.arn for o in pages[0]]
    assert last_sent(pages)[by_alias(options)["alias/demo-exports"].key.arn or ""].key.aliases
    assert {o.key.arn: o.key.aliases for o in pages[1]} == {
        o.key.arn: o.key.aliases for o in options
    }


def test_rotation_is_read_only_where_it_applies_a_few_at_a_time(demo: Sandbox) -> None:
    kms = demo.client("kms")
    unrotated = kms.create_key(KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    session = session_for(demo)
    options = inventory.list_keys(session, REGION)
    keys = by_alias(options)
    rotated = keys["alias/demo-exports"].key
    kms.enable_key_rotation(KeyId=rotated.key_id)
    counter = CallCounter(session.client("kms", REGION))
    batches: list[dict[str, bool | None]] = []
    found = inventory.key_rotations(
        session, REGION, [o.key for o in options], on_batch=batches.append
    )
    usable = {o.key.key_id for o in options if o.usable}
    assert set(found) == usable  # not the AWS managed, disabled or asymmetric ones
    assert found[rotated.key_id or ""] is True
    assert found[unrotated] is False
    assert {k: v for batch in batches for k, v in batch.items()} == found
    assert counter.calls == {"GetKeyRotationStatus": len(usable)}
    assert counter.most_in_flight["GetKeyRotationStatus"] <= inventory.ROTATION_WORKERS


def test_a_cancelled_listing_stops_describing(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="empty", latency_ms=20)
    sandbox.seed_scale(keys=300)
    session = session_for(sandbox)
    counter = CallCounter(session.client("kms", REGION))
    cancel = threading.Event()
    pages: list[list[KeyOption]] = []

    def on_page(options: list[KeyOption]) -> None:
        pages.append(options)
        cancel.set()  # the person left the step after the first rows

    with pytest.raises(Cancelled):
        inventory.list_keys(session, REGION, on_page=on_page, cancel=cancel)
    assert len(pages) == 1 and len(pages[0]) == inventory.FIRST_KEYS
    # What was in flight finishes; nothing new starts.
    assert counter.calls["DescribeKey"] <= inventory.FIRST_KEYS + 2 * inventory.DESCRIBE_WORKERS
    before = counter.calls.get("GetKeyRotationStatus", 0)
    with pytest.raises(Cancelled):
        inventory.key_rotations(session, REGION, [o.key for o in pages[0]], cancel=cancel)
    assert counter.calls.get("GetKeyRotationStatus", 0) == before


def test_a_key_that_may_not_be_described_is_a_greyed_row_not_a_failed_list(
    start_sandbox: StartSandbox,
) -> None:
    """Another team's key whose key policy does not let this caller read it."""
    sandbox = start_sandbox(scenario="demo", faults=("DescribeKey:AccessDeniedException:1",))
    options = inventory.list_keys(session_for(sandbox), REGION)
    hidden = [o for o in options if not o.key.exists]
    assert len(hidden) == 1
    (denied,) = hidden
    assert not denied.usable and "may not see it" in (denied.reason or "")
    assert denied.key.arn and denied.key.key_id and denied.key.arn.endswith(denied.key.key_id)
    again = inventory.list_keys(session_for(sandbox), REGION)  # the fault fired once
    assert {o.key.arn for o in again} == {o.key.arn for o in options}  # no key lost
    assert all(o.key.exists for o in again)


def test_other_describe_failures_still_fail_the_list(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="demo", faults=("DescribeKey:KMSInternalException",))
    with pytest.raises(AwsError, match="DescribeKey"):
        inventory.list_keys(session_for(sandbox), REGION)


def test_pending_deletion_key_is_listed_with_reason(empty: Sandbox) -> None:
    kms = empty.client("kms")
    key_id = kms.create_key(KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    options = inventory.list_keys(session_for(empty), REGION)
    (option,) = [o for o in options if o.key.key_id == key_id]
    assert not option.usable and option.reason == "pending deletion"


def test_keys_are_described_concurrently(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="empty", latency_ms=20)
    kms = sandbox.client("kms")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: kms.create_key(KeyUsage="ENCRYPT_DECRYPT"), range(KEYS)))
    session = session_for(sandbox)
    counter = CallCounter(session.client("kms", REGION))
    options = inventory.list_keys(session, REGION)
    customer = [o for o in options if o.key.manager == "CUSTOMER"]
    assert len(customer) == KEYS and all(o.usable for o in customer)
    assert counter.calls["DescribeKey"] == len(options)
    assert 1 < counter.max_in_flight <= inventory.DESCRIBE_WORKERS


def test_buckets_of_one_region_from_list_buckets_alone(demo: Sandbox) -> None:
    session = session_for(demo)
    counter = CallCounter(session.client("s3", REGION))
    buckets = inventory.list_buckets(session, REGION)
    names = [b.name for b in buckets]
    assert "demo-broken-exports" in names and "demo-sse-s3" in names
    assert "demo-other-region" not in names
    assert all(b.region == REGION and b.created for b in buckets)
    assert set(counter.calls) == {"ListBuckets"}


def test_log_groups_filtered_by_aws_and_limited(demo: Sandbox) -> None:
    session = session_for(demo)
    names = [g.name for g in inventory.list_log_groups(session, REGION, pattern="lambda")]
    assert sorted(names) == ["/aws/lambda/demo-fn", "/aws/lambda/orders-api"]
    everything = inventory.list_log_groups(session, REGION)
    assert {"/ecs/web", DEMO_GROUP} <= {g.name for g in everything}
    group = next(g for g in everything if g.name == DEMO_GROUP)
    assert group.arn.endswith(":log-group:/aws/lambda/demo-fn") and group.created_ms > 0
    assert len(inventory.list_log_groups(session, REGION, limit=1)) == 1


def test_log_streams(demo: Sandbox) -> None:
    streams = inventory.list_log_streams(session_for(demo), REGION, DEMO_GROUP)
    assert len(streams) == 3
    assert all(s.name.startswith("2026/") or "[$LATEST]" in s.name for s in streams)


def test_active_tasks(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="demo", export_delay=30)
    session = session_for(sandbox)
    assert inventory.list_active_tasks(session, REGION) == []
    now = int(time.time() * 1000)
    allow_exports(sandbox, "demo-sse-s3", "x")
    request = export.ExportRequest(REGION, "/ecs/web", "demo-sse-s3", "x", now - 3_600_000, now)
    task_id = export.start(session, request)
    (active,) = inventory.list_active_tasks(session, REGION)
    assert active.task_id == task_id and active.log_group == "/ecs/web"
    assert active.status in ("PENDING", "RUNNING")
    export.cancel_task(session, REGION, task_id)


def test_a_filtered_listing_tells_the_same_story_about_a_group(demo: Sandbox) -> None:
    """With a pattern AWS leaves out the size; the flow keeps what the full listing said."""
    from wizard.flow import Flow

    session = session_for(demo)
    filtered = inventory.list_log_groups(session, REGION, pattern="demo-fn")
    assert [g.stored_bytes for g in filtered] == [None]  # not said, rather than 0 B
    flow = Flow(session)
    first = {g.name: g for g in flow.log_groups(REGION)}["/aws/lambda/demo-fn"]
    assert first.stored_bytes and first.last_event_ms
    [again] = flow.log_groups(REGION, "demo-fn")
    assert (again.stored_bytes, again.last_event_ms) == (first.stored_bytes, first.last_event_ms)


def test_a_bucket_whose_deny_the_wizard_will_not_touch_counts_a_blocker(
    start_sandbox: StartSandbox,
) -> None:
    """The badge says "1 blocker" for the broken scenario's organisation-only Deny, not
    "problems to fix": the wizard will not change a Deny it did not write."""
    from wizard.flow import Flow

    sandbox = start_sandbox(scenario="broken")
    flow = Flow(session_for(sandbox))
    verdicts = {b.name: flow.bucket_health(REGION, b.name, None) for b in flow.buckets(REGION)}
    blocked = [name for name, health in verdicts.items() if health.blockers]
    assert blocked, {name: h.verdict for name, h in verdicts.items()}
    for name in blocked:
        assert "blocker" in verdicts[name].verdict
