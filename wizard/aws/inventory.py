"""What there is to choose from: regions, keys, buckets, log groups, export tasks.

Every listing is paginated. Keys are described concurrently (a bounded pool), never one
DescribeKey after another: an account with 1,000 keys lists in seconds. Every key's
metadata (DescribeKey) comes before any key's rotation status, so a picker fills its rows
first and the rotation column after (``python -m tests.benchmarks.run`` measures it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from wizard.aws.session import AwsSession, aws_call, error_code, translate
from wizard.core.arn import parse_arn, partition_for_region
from wizard.core.state import (
    ACTIVE_TASK_STATUSES,
    KEY_MANAGER_AWS,
    KEY_SPEC_SYMMETRIC,
    KEY_STATE_ENABLED,
    KEY_USAGE_ENCRYPT,
    ExportTaskInfo,
    KeyState,
)
from wizard.errors import AwsError

# Calls in flight while keys are described: at 50 ms a call, 32 keep ~600 calls a second
# going (a 1,000-key account: 1,000 DescribeKey + 1,000 GetKeyRotationStatus in ~4 s) and
# stay well inside KMS's per-account request quotas; adaptive retries absorb throttling.
DESCRIBE_WORKERS = 32
FIRST_PAGE_WORKERS = 12  # the first ListKeys page, while the aliases load
ALIASES_PAGE = 100  # ListAliases' largest page (its default is 50): half the round trips
MAX_BUCKETS = 10_000  # ListBuckets' largest page: one round trip for most accounts


@dataclass(frozen=True)
class KeyOption:
    key: KeyState
    usable: bool
    reason: str | None  # why it cannot encrypt CloudWatch Logs exports, when not usable


@dataclass(frozen=True)
class BucketSummary:
    name: str
    region: str | None
    created: str | None  # ISO-8601


@dataclass(frozen=True)
class LogGroupSummary:
    name: str
    arn: str
    stored_bytes: int
    created_ms: int
    last_event_ms: int | None = None


@dataclass(frozen=True)
class LogStreamSummary:
    name: str
    last_event_ms: int | None
    stored_bytes: int | None = None


# --- regions ------------------------------------------------------------------------------


def list_regions(session: AwsSession) -> list[str]:
    """The account's enabled regions; botocore's list for the partition when EC2 says no."""
    try:
        with aws_call("DescribeRegions"):
            reply = session.client("ec2").describe_regions(AllRegions=False)
    except AwsError as exc:  # the fallback is for "not allowed", nothing else
        if exc.code != "AccessDenied":
            raise
        return session.known_regions(partition_for_region(session.region).name)
    return sorted(
        r["RegionName"]
        for r in reply.get("Regions", [])
        if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
    )


# --- keys ---------------------------------------------------------------------------------


def key_unusable_reason(key: KeyState, region: str) -> str | None:
    """Why a key cannot encrypt this region's exports, or None when it can."""
    if not key.exists:
        return "the key does not exist (or you may not see it)"
    if key.manager == KEY_MANAGER_AWS:
        return "AWS managed key: its key policy cannot be changed to allow CloudWatch Logs"
    if key.state != KEY_STATE_ENABLED:
        if key.state == "PendingDeletion":
            return "pending deletion"
        return f"{(key.state or 'unknown state').lower()}: only Enabled keys can encrypt"
    if key.spec != KEY_SPEC_SYMMETRIC or key.usage != KEY_USAGE_ENCRYPT:
        return (
            f"asymmetric or not for encryption ({key.spec}, {key.usage}): exports need a "
            f"{KEY_SPEC_SYMMETRIC} {KEY_USAGE_ENCRYPT} key"
        )
    if key.region and key.region != region:
        return f"in {key.region}: the key must be in the bucket's region {region}"
    return None


def key_state_from_metadata(
    reference: str,
    meta: dict[str, Any],
    aliases: Iterable[str] = (),
    policy: str | None = None,
    rotation: bool | None = None,
) -> KeyState:
    arn = meta.get("Arn")
    parsed = parse_arn(arn) if arn else None
    spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec")
    usage = meta.get("KeyUsage")
    if usage is None and spec in (None, KEY_SPEC_SYMMETRIC):
        usage = KEY_USAGE_ENCRYPT  # CreateKey's default; some emulators leave it out
    return KeyState(
        reference=reference,
        exists=True,
        key_id=meta.get("KeyId"),
        arn=arn,
        region=parsed.region if parsed else None,
        manager=meta.get("KeyManager"),
        state=meta.get("KeyState"),
        spec=spec,
        usage=usage,
        multi_region=bool(meta.get("MultiRegion", False)),
        aliases=tuple(sorted(aliases)),
        policy=policy,
        rotation_enabled=rotation,
        description=meta.get("Description") or "",
    )


def rotation_status(kms: Any, key_id: str) -> bool | None:
    """None where rotation does not apply or may not be read (asymmetric, disabled, denied)."""
    try:
        return bool(kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"))
    except Exception as exc:
        if error_code(exc) is None:
            raise translate(exc, "GetKeyRotationStatus") from exc
        return None


def _describe(kms: Any, key_id: str, gate: threading.Event | None = None) -> KeyState:
    """DescribeKey only: the metadata a row needs. ``gate``: wait for it to open first."""
    if gate is not None:
        gate.wait()
    with aws_call("DescribeKey"):
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    return key_state_from_metadata(meta.get("Arn") or key_id, meta)


def _with_rotation(kms: Any, described: Future[KeyState]) -> KeyState:
    """The described key with its rotation status, where it can matter (usable keys)."""
    state = described.result()
    if (
        state.manager == KEY_MANAGER_AWS
        or state.spec != KEY_SPEC_SYMMETRIC
        or state.state != KEY_STATE_ENABLED
        or not state.key_id
    ):
        return state  # unusable: the row shows the reason, not the rotation
    return replace(state, rotation_enabled=rotation_status(kms, state.key_id))


def _option(state: KeyState, aliases: dict[str, list[str]], region: str) -> KeyOption:
    state = replace(state, aliases=tuple(sorted(aliases.get(state.key_id or "", ()))))
    reason = key_unusable_reason(state, region)
    return KeyOption(state, reason is None, reason)


def _aliases_by_key(kms: Any) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = {}
    with aws_call("ListAliases"):
        pages = kms.get_paginator("list_aliases").paginate(
            PaginationConfig={"PageSize": ALIASES_PAGE}
        )
        for page in pages:
            for alias in page.get("Aliases", []):
                target = alias.get("TargetKeyId")
                if target:
                    by_key.setdefault(target, []).append(alias["AliasName"])
    return by_key


def _sort_options(options: list[KeyOption]) -> list[KeyOption]:
    """Usable first, then by name: the list a person picks from."""
    return sorted(options, key=lambda o: (not o.usable, o.key.display_name))


def list_keys(
    session: AwsSession,
    region: str,
    on_page: Callable[[list[KeyOption]], None] | None = None,
) -> list[KeyOption]:
    """Every key of the region with its aliases and metadata; unusable ones carry the reason.

    The order of work is the order a person sees it: the first ListKeys page's DescribeKey
    calls and the alias pages first; the other pages' keys wait until the first page is
    out, then every key is described; only then is each usable key's rotation status read.

    ``on_page`` gets each ListKeys page's options (in ListKeys order) as soon as the page is
    described, on the calling thread, with ``rotation_enabled`` still None. A page that is
    out before the aliases (ListAliases is one page after another: 11 round trips for 1,000
    keys) has its rows named by key id, and is sent again once the aliases are in: a key
    sent twice replaces its row. The returned list (sorted: usable first) has everything.
    """
    kms = session.client("kms", region)
    pages: list[list[Future[KeyState]]] = []
    emitted = 0
    unnamed: list[int] = []  # pages sent before the aliases were in

    def send(index: int) -> None:
        named = aliases.done()  # read once: the aliases may arrive meanwhile
        by_key = aliases.result() if named else {}
        options = [_option(f.result(), by_key, region) for f in pages[index]]
        if on_page is not None and options:
            on_page(options)
        if not named:
            unnamed.append(index)

    def emit_ready() -> None:
        nonlocal emitted
        if aliases.done() and unnamed:
            waiting, unnamed[:] = list(unnamed), []
            for index in waiting:
                send(index)
        while emitted < len(pages) and all(f.done() for f in pages[emitted]):
            send(emitted)
            emitted += 1
            gate.set()  # the first rows are out: describe the rest

    def wait_for_progress() -> None:
        """Until the next page is described, or the aliases arrive for rows sent without."""
        watched: list[Future[Any]] = list(pages[emitted]) if emitted < len(pages) else []
        if unnamed:
            watched.append(aliases)
        wait(watched, return_when=FIRST_COMPLETED)

    # Until the first page is out, only its keys are described: the first rows are not
    # queued behind a thousand other keys, nor their threads.
    gate = threading.Event()
    rotated: list[Future[KeyState]] = []
    # The alias pages are read on a thread of their own, beside the first page's threads.
    with (
        ThreadPoolExecutor(1 + FIRST_PAGE_WORKERS, thread_name_prefix="kms-first") as first,
        ThreadPoolExecutor(max_workers=DESCRIBE_WORKERS, thread_name_prefix="kms") as pool,
    ):
        aliases = first.submit(_aliases_by_key, kms)
        try:
            with aws_call("ListKeys"):
                for page in kms.get_paginator("list_keys").paginate():
                    pages.append(
                        [
                            first.submit(_describe, kms, entry["KeyId"])
                            if not pages
                            else pool.submit(_describe, kms, entry["KeyId"], gate)
                            for entry in page.get("Keys", [])
                        ]
                    )
                    if len(pages) == 1:  # the rest of ListKeys would only slow the first rows
                        wait(pages[0])
                    emit_ready()
            # Queued behind every DescribeKey (the pool runs tasks in order).
            rotated = [pool.submit(_with_rotation, kms, f) for page in pages for f in page]
            while emitted < len(pages) or unnamed:
                wait_for_progress()
                emit_ready()
            by_key = aliases.result()
            result = [_option(f.result(), by_key, region) for f in rotated]
        except BaseException:
            gate.set()  # release the workers waiting for the first page
            aliases.cancel()
            for future in [*rotated, *(f for page in pages for f in page)]:
                future.cancel()
            raise
    return _sort_options(result)


# --- buckets ------------------------------------------------------------------------------


def list_buckets(session: AwsSession, region: str | None) -> list[BucketSummary]:
    """The account's buckets in ``region`` (all regions when None), from ListBuckets alone."""
    s3 = session.client("s3", region)
    buckets: list[BucketSummary] = []
    token: str | None = None
    with aws_call("ListBuckets"):
        while True:
            kwargs: dict[str, Any] = {"MaxBuckets": MAX_BUCKETS}
            if region:
                kwargs["BucketRegion"] = region
            if token:
                kwargs["ContinuationToken"] = token
            reply = s3.list_buckets(**kwargs)
            for bucket in reply.get("Buckets", []):
                created = bucket.get("CreationDate")
                buckets.append(
                    BucketSummary(
                        name=bucket["Name"],
                        region=bucket.get("BucketRegion") or region,
                        created=created.isoformat() if created is not None else None,
                    )
                )
            token = reply.get("ContinuationToken")
            if not token:
                break
    return sorted(buckets, key=lambda b: b.name)


# --- log groups ---------------------------------------------------------------------------


def list_log_groups(
    session: AwsSession,
    region: str,
    pattern: str | None = None,
    limit: int = 50,
    *,
    newest_first: bool | None = None,
) -> list[LogGroupSummary]:
    """Up to ``limit`` log groups, filtered by AWS (logGroupNamePattern: a substring).

    ``newest_first`` (default: only without a pattern) also reads each listed group's last
    event (see ``_with_last_event``): one DescribeLogStreams per listed group, an API with a
    quota of 25 calls a second per account. A typed filter skips it, so that its matches
    come back in one round trip rather than two seconds of quota per keystroke pause.
    """
    logs = session.client("logs", region)
    groups: list[LogGroupSummary] = []
    kwargs: dict[str, Any] = {"limit": max(1, min(50, limit))}
    if pattern:
        kwargs["logGroupNamePattern"] = pattern
    with aws_call("DescribeLogGroups"):
        while len(groups) < limit:
            reply = logs.describe_log_groups(**kwargs)
            for group in reply.get("logGroups", []):
                # AWS filters already; the check keeps emulators that ignore the pattern honest.
                if pattern and pattern.lower() not in group["logGroupName"].lower():
                    continue
                groups.append(
                    LogGroupSummary(
                        name=group["logGroupName"],
                        arn=_log_group_arn(group),
                        stored_bytes=int(group.get("storedBytes") or 0),
                        created_ms=int(group.get("creationTime") or 0),
                    )
                )
            token = reply.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
    if newest_first is None:
        newest_first = not pattern
    return _with_last_event(logs, groups[:limit]) if newest_first else groups[:limit]


def _with_last_event(logs: Any, groups: list[LogGroupSummary]) -> list[LogGroupSummary]:
    """Each group's newest event time (its newest stream's), so a picker can put the most
    recently written first: that is where a test export finds data. One call per listed
    group, concurrently; a group whose streams cannot be read keeps ``last_event_ms`` None."""

    def newest(group: LogGroupSummary) -> LogGroupSummary:
        try:
            reply = logs.describe_log_streams(
                logGroupName=group.name, orderBy="LastEventTime", descending=True, limit=1
            )
        except (BotoCoreError, ClientError):  # ordering is a nicety; the list itself stands
            return group
        streams = reply.get("logStreams", [])
        last = streams[0].get("lastEventTimestamp") if streams else None
        return replace(group, last_event_ms=int(last)) if last else group

    if not groups:
        return groups
    with ThreadPoolExecutor(min(16, len(groups)), thread_name_prefix="logs") as pool:
        return list(pool.map(newest, groups))


def _log_group_arn(group: dict[str, Any]) -> str:
    # DescribeLogGroups' "arn" ends with ":*"; logGroupArn (newer) does not.
    arn = str(group.get("logGroupArn") or group.get("arn") or "")
    return arn[:-2] if arn.endswith(":*") else arn


def list_log_streams(
    session: AwsSession, region: str, log_group: str, limit: int = 50
) -> list[LogStreamSummary]:
    """The most recently written streams first."""
    logs = session.client("logs", region)
    streams: list[LogStreamSummary] = []
    kwargs: dict[str, Any] = {
        "logGroupName": log_group,
        "orderBy": "LastEventTime",
        "descending": True,
        "limit": max(1, min(50, limit)),
    }
    with aws_call("DescribeLogStreams"):
        while len(streams) < limit:
            reply = logs.describe_log_streams(**kwargs)
            for stream in reply.get("logStreams", []):
                last = stream.get("lastEventTimestamp")
                streams.append(
                    LogStreamSummary(
                        name=stream["logStreamName"],
                        last_event_ms=int(last) if last is not None else None,
                        stored_bytes=stream.get("storedBytes"),
                    )
                )
            token = reply.get("nextToken")
            if not token or token == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = token
    return streams[:limit]


# --- export tasks -------------------------------------------------------------------------


def task_from_reply(task: dict[str, Any]) -> ExportTaskInfo:
    status = task.get("status") or {}
    return ExportTaskInfo(
        task_id=task["taskId"],
        log_group=task.get("logGroupName", ""),
        status=status.get("code", "UNKNOWN"),
        destination=task.get("destination", ""),
        prefix=task.get("destinationPrefix"),
        task_name=task.get("taskName"),
        status_message=status.get("message") or None,
        from_ms=task.get("from"),
        to_ms=task.get("to"),
    )


def list_active_tasks(session: AwsSession, region: str) -> list[ExportTaskInfo]:
    """PENDING and RUNNING export tasks (at most one per account and region, normally)."""
    logs = session.client("logs", region)
    tasks: list[ExportTaskInfo] = []
    with aws_call("DescribeExportTasks"):
        for status in ACTIVE_TASK_STATUSES:
            kwargs: dict[str, Any] = {"statusCode": status, "limit": 50}
            while True:
                reply = logs.describe_export_tasks(**kwargs)
                tasks.extend(task_from_reply(t) for t in reply.get("exportTasks", []))
                token = reply.get("nextToken")
                if not token:
                    break
                kwargs["nextToken"] = token
    return tasks
