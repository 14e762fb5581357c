"""What there is to choose from: regions, keys, buckets, log groups, export tasks.

Every listing is paginated. Keys are described concurrently (a bounded pool), never one
DescribeKey after another: an account with 1,000 keys lists in seconds. Rotation statuses
are a separate, slower read after the list (``key_rotations``), so a picker has every row
and can be chosen from before the rotation column fills in (``python -m
tests.benchmarks.run`` measures it).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from wizard.aws.session import AwsSession, aws_call, error_code, translate
from wizard.core import keys
from wizard.core.arn import parse_arn, partition_for_region
from wizard.core.errors import AwsError, Cancelled
from wizard.core.state import (
    ACTIVE_TASK_STATUSES,
    KEY_SPEC_SYMMETRIC,
    KEY_USAGE_ENCRYPT,
    ExportTaskInfo,
    ExportTaskStatus,
    KeyState,
)

# Calls in flight while keys are described: at 50 ms a call, 32 keep ~600 calls a second
# going (a 1,000-key account is described in ~2 s of round trips) and stay well inside KMS's
# per-account request quotas; adaptive retries absorb throttling.
DESCRIBE_WORKERS = 32
FIRST_KEYS = DESCRIBE_WORKERS  # the first ListKeys call: a screenful, described in one round
KEYS_PAGE = 1000  # then ListKeys' largest page (its default is 100): one round trip per 1,000
ROWS_BATCH = 100  # keys sent to ``on_page`` at a time after the first screenful
ALIASES_PAGE = 100  # ListAliases' largest page (its default is 50): half the round trips
# Rotation is read after the list, slowly on purpose: 4 calls in flight at 50 ms read ~70
# keys a second, and leave the interpreter to the screen (see ``key_rotations``).
ROTATION_WORKERS = 4
ROTATION_BATCH = 0.3  # seconds between rotation batches sent to the screen
CANCEL_CHECK = 0.2  # seconds between looks at the cancel event while waiting
MAX_BUCKETS = 10_000  # ListBuckets' largest page: one round trip for most accounts
LAST_EVENT_READS = 16  # DescribeLogStreams calls at a time (its quota: 25 a second)


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
    stored_bytes: int | None  # None: not said (DescribeLogGroups with a pattern omits it)
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
        creation_ms=_epoch_ms(meta.get("CreationDate")),
    )


def _epoch_ms(value: Any) -> int | None:
    """A boto3 timestamp (datetime) or an epoch number, as epoch milliseconds."""
    if value is None:
        return None
    timestamp = getattr(value, "timestamp", None)
    if callable(timestamp):
        return int(timestamp() * 1000)
    try:
        return int(float(value) * 1000)
    except (TypeError, ValueError):
        return None


def rotation_status(kms: Any, key_id: str) -> bool | None:
    """None where rotation does not apply or may not be read (asymmetric, disabled, denied)."""
    try:
        return bool(kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"))
    except Exception as exc:
        if error_code(exc) is None:
            raise translate(exc, "GetKeyRotationStatus") from exc
        return None


# A key listed but not described: its key policy does not let this caller read it (common
# for another team's keys), or it was deleted since ListKeys. Either way it cannot be used.
UNDESCRIBABLE = ("AccessDeniedException", "NotFoundException")


def _describe(kms: Any, entry: dict[str, str], stop: threading.Event) -> KeyState | None:
    """DescribeKey only: the metadata a row needs (None once the listing is cancelled).
    A key that may not be described is a row too, not a failed list: ``exists=False``."""
    if stop.is_set():
        return None
    key_id = entry["KeyId"]
    try:
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except (BotoCoreError, ClientError) as exc:
        if error_code(exc) not in UNDESCRIBABLE:
            raise translate(exc, "DescribeKey") from exc
        arn = entry.get("KeyArn")
        parsed = parse_arn(arn) if arn else None
        return KeyState(
            reference=arn or key_id,
            exists=False,
            key_id=key_id,
            arn=arn,
            region=parsed.region if parsed else None,
        )
    return key_state_from_metadata(meta.get("Arn") or key_id, meta)


def _option(state: KeyState, aliases: dict[str, list[str]], region: str) -> KeyOption:
    state = replace(state, aliases=tuple(sorted(aliases.get(state.key_id or "", ()))))
    reason = keys.unusable_reason(state, region)
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


def aliases_of(session: AwsSession, region: str, key: str) -> list[str]:
    """One key's aliases (ListAliases filtered by KeyId: one call); [] when not allowed."""
    kms = session.client("kms", region)
    try:
        with aws_call("ListAliases"):
            reply = kms.list_aliases(KeyId=key)
    except AwsError:  # a name is a nicety: the key ARN is the proof
        return []
    return sorted(str(a["AliasName"]) for a in reply.get("Aliases", []))


def _sort_options(options: list[KeyOption]) -> list[KeyOption]:
    """Usable first, then by name: the list a person picks from."""
    return sorted(options, key=lambda o: (not o.usable, o.key.display_name))


def _cancelled(stop: threading.Event, what: str) -> None:
    if stop.is_set():
        raise Cancelled(f"Stopped {what}.")


def list_keys(
    session: AwsSession,
    region: str,
    on_page: Callable[[list[KeyOption]], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[KeyOption]:
    """Every key of the region with its aliases and metadata; unusable ones carry the reason.

    The order of work is the order a person sees it: ListKeys asks first for a screenful of
    keys (``FIRST_KEYS``), which are described at once beside the alias pages; only then is
    the rest listed (``KEYS_PAGE`` a call) and described, ``DESCRIBE_WORKERS`` at a time.
    Rotation is not read here: see :func:`key_rotations`.

    ``on_page`` gets the keys in ListKeys order, a batch at a time as they are described
    (the first screenful, then at least ``ROWS_BATCH`` keys), on the calling thread. A batch
    that is out before the aliases (ListAliases is one page after another: 11 round trips
    for 1,000 keys) has its rows named by key id, and is sent again once the aliases are in:
    a key sent twice replaces its row. The returned list (sorted: usable first) has
    everything. ``cancel`` stops the listing with :class:`Cancelled`.
    """
    kms = session.client("kms", region)
    stop = cancel or threading.Event()
    described: list[Future[KeyState | None]] = []  # every key, in ListKeys order
    first_page = 0  # how many keys the first ListKeys call gave
    ready = 0  # described[:ready] are all done
    emitted = 0  # described[:emitted] were sent
    unnamed: list[tuple[int, int]] = []  # batches sent before the aliases were in
    listed = False

    def send(first: int, end: int) -> None:
        named = aliases.done()  # read once: the aliases may arrive meanwhile
        by_key = aliases.result() if named else {}
        options = [_option(state, by_key, region) for state in _results(described[first:end])]
        if on_page is not None and options:
            on_page(options)
        if not named:
            unnamed.append((first, end))

    def emit_ready() -> None:
        nonlocal ready, emitted
        if aliases.done() and unnamed:
            waiting, unnamed[:] = list(unnamed), []
            for first, end in waiting:
                send(first, end)
        while ready < len(described) and described[ready].done():
            ready += 1
        if ready > emitted and (
            (emitted == 0 and ready >= first_page)
            or (emitted > 0 and ready - emitted >= ROWS_BATCH)
            or (listed and ready == len(described))
        ):
            send(emitted, ready)
            emitted = ready

    def wait_for_progress() -> None:
        """Until the next key is described, or the aliases arrive for rows sent without."""
        watched: list[Future[Any]] = described[ready : ready + 1]
        if unnamed:
            watched.append(aliases)
        wait(watched, timeout=CANCEL_CHECK, return_when=FIRST_COMPLETED)
        _cancelled(stop, "listing the KMS keys")

    pool = session.pool  # leaf calls only: these never wait on the pool themselves
    aliases = pool.submit(_aliases_by_key, kms)
    try:
        with aws_call("ListKeys"):
            for page in _key_pages(kms):
                described += [
                    pool.submit(_describe, kms, entry, stop) for entry in page.get("Keys", [])
                ]
                if not first_page:  # the rest of ListKeys would only slow the first rows
                    first_page = len(described)
                    while emitted < first_page:
                        wait_for_progress()
                        emit_ready()
        listed = True
        while emitted < len(described) or unnamed:
            wait_for_progress()
            emit_ready()
        by_key = aliases.result()
        result = [_option(state, by_key, region) for state in _results(described)]
    except BaseException:
        stop.set()  # calls not started yet return at once
        aliases.cancel()
        for future in described:
            future.cancel()
        raise
    return _sort_options(result)


def _key_pages(kms: Any) -> Iterator[dict[str, Any]]:
    """ListKeys: a first page of ``FIRST_KEYS``, then pages of ``KEYS_PAGE``."""
    reply = kms.list_keys(Limit=FIRST_KEYS)
    yield reply
    while reply.get("Truncated") and reply.get("NextMarker"):
        reply = kms.list_keys(Limit=KEYS_PAGE, Marker=reply["NextMarker"])
        yield reply


def _results(futures: Iterable[Future[KeyState | None]]) -> list[KeyState]:
    return [state for state in (f.result() for f in futures) if state is not None]


def key_rotations(
    session: AwsSession,
    region: str,
    keys: Iterable[KeyState],
    on_batch: Callable[[dict[str, bool | None]], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, bool | None]:
    """Whether automatic rotation is on, by key id, for the keys where it applies.

    A nicety beside the key list, so it is read after the list, in the order given (the
    rows a person sees first), and a few calls at a time (``ROTATION_WORKERS``): a
    1,000-key account costs 1,000 GetKeyRotationStatus calls, and at full speed their
    parsing would take the interpreter from the screen. ``on_batch`` gets what arrived,
    about every ``ROTATION_BATCH`` seconds. None: could not be read (denied).
    """
    kms = session.client("kms", region)
    stop = cancel or threading.Event()
    found: dict[str, bool | None] = {}
    todo = iter([key.key_id for key in keys if key.rotation_applies and key.key_id])
    todo_lock = threading.Lock()
    arrived: queue.Queue[tuple[str, bool | None]] = queue.Queue()

    def lane() -> None:
        """One of ROTATION_WORKERS readers: the next key, until none is left (or stopped)."""
        while not stop.is_set():
            with todo_lock:
                key_id = next(todo, None)
            if key_id is None:
                return
            arrived.put((key_id, rotation_status(kms, key_id)))

    lanes = [session.pool.submit(lane) for _ in range(ROTATION_WORKERS)]
    try:
        while True:
            batch: dict[str, bool | None] = {}
            deadline = time.monotonic() + ROTATION_BATCH
            while (left := deadline - time.monotonic()) > 0:
                try:
                    key_id, status = arrived.get(timeout=left)
                except queue.Empty:
                    break
                batch[key_id] = status
            _cancelled(stop, "reading key rotation")
            found.update(batch)
            if batch and on_batch is not None:
                on_batch(batch)
            if all(lane.done() for lane in lanes) and arrived.empty():
                for lane_done in lanes:
                    lane_done.result()  # a lane's error (not an AWS answer) surfaces here
                return found
    except BaseException:
        stop.set()
        raise


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
                        stored_bytes=(
                            int(group["storedBytes"]) if "storedBytes" in group else None
                        ),
                        created_ms=int(group.get("creationTime") or 0),
                    )
                )
            token = reply.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
    if newest_first is None:
        newest_first = not pattern
    return _with_last_event(session, logs, groups[:limit]) if newest_first else groups[:limit]


def _with_last_event(
    session: AwsSession, logs: Any, groups: list[LogGroupSummary]
) -> list[LogGroupSummary]:
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
    # At most LAST_EVENT_READS at a time: DescribeLogStreams allows 25 requests a second.
    found: list[LogGroupSummary] = []
    for start in range(0, len(groups), LAST_EVENT_READS):
        chunk = groups[start : start + LAST_EVENT_READS]
        found += session.pool.fan_out([partial(newest, group) for group in chunk])
    return found


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
        status=ExportTaskStatus.of(status.get("code")),
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
