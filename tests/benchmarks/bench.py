"""The benchmarks: each measures the wizard's way and the naive way in the same run.

Every function takes a running sandbox (``harness.BenchSandbox``) and its scale, and returns
a ``BenchResult``: rows for the table and ``facts`` (results, call counts, memory) that the
smoke tests assert on. Nothing here asserts on time: the table judges time, the tests judge
behaviour.
"""

from __future__ import annotations

import gzip
import io
import math
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from tests.benchmarks.harness import (
    BenchResult,
    BenchSandbox,
    Row,
    log,
    per_bucket_calls,
    session_for,
)

MB = 1024 * 1024
LOG_STREAMS_TPS = 25.0  # DescribeLogStreams' per-account quota (botocore's API docs)


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = call()
    return time.perf_counter() - began, value


def _peak_allocated(call: Callable[[], Any]) -> tuple[float, Any]:
    """Bytes of Python memory ``call`` added at its peak (tracemalloc), and its value."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        value = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return float(peak - before), value


# --------------------------------------------------------------------------- keys


def bench_keys(sandbox: BenchSandbox, *, naive_sample: int = 100) -> BenchResult:
    """inventory.list_keys (pages shown as they arrive) vs a describe-per-key loop."""
    from wizard.aws import inventory

    result = BenchResult("keys")
    session = session_for(sandbox)
    sandbox.reset_request_counts()
    pages: list[tuple[float, int]] = []
    began = time.perf_counter()
    # The key step's client is new (its creation counts); hooks time each call's end.
    client_time, kms = _timed(lambda: session.client("kms", sandbox.region))
    ended: dict[str, list[float]] = {}
    kms.meta.events.register(
        "after-call",
        lambda model, **_: ended.setdefault(model.name, []).append(time.perf_counter() - began),
    )

    shown: set[str] = set()

    def on_page(options: list[Any]) -> None:
        pages.append((time.perf_counter() - began, len(options)))
        shown.update(o.key.arn for o in options)

    options = inventory.list_keys(session, sandbox.region, on_page=on_page)
    total = time.perf_counter() - began
    counts = sandbox.request_counts()
    # The rotation column, read after the list (the step can be left before it is full).
    sandbox.reset_request_counts()
    rotation_began = time.perf_counter()
    rotations = inventory.key_rotations(session, sandbox.region, [o.key for o in options])
    rotation_time = time.perf_counter() - rotation_began
    rotation_counts = sandbox.request_counts()
    described = pages[-1][0] if pages else total
    first_size = pages[0][1] if pages else 0
    describes = sorted(ended.get("DescribeKey", []))
    where = (
        f"first rows: kms client created at {client_time:.2f} s, the {counts.get('ListAliases', 0)}"
        f" alias pages read by {max(ended.get('ListAliases', [0.0])):.2f} s, the first "
        f"{first_size} keys described by "
        f"{describes[first_size - 1] if len(describes) >= first_size > 0 else 0.0:.2f} s"
    )

    # The naive way: list everything, then one DescribeKey after another.
    kms = session_for(sandbox).client("kms", sandbox.region)
    sandbox.reset_request_counts()
    began = time.perf_counter()
    for _page in kms.get_paginator("list_aliases").paginate():
        pass
    first_list_page: list[str] | None = None
    key_ids: list[str] = []
    for page in kms.get_paginator("list_keys").paginate():
        ids = [k["KeyId"] for k in page.get("Keys", [])]
        key_ids.extend(ids)
        if first_list_page is None:
            first_list_page = ids
            first_listed = time.perf_counter() - began
    listed = time.perf_counter() - began
    sample = key_ids[: max(1, min(naive_sample, len(key_ids)))]
    began = time.perf_counter()
    for key_id in sample:
        kms.describe_key(KeyId=key_id)
    per_key = (time.perf_counter() - began) / len(sample)
    naive_total = listed + per_key * len(key_ids)
    # A naive step shows its first page once that page's keys are described.
    naive_first = first_listed + per_key * len(first_list_page or [])
    naive_counts = sandbox.request_counts()

    n = len(options)
    extrapolated = len(sample) < len(key_ids)
    how = (
        f"naive: ListAliases + ListKeys ({listed:.2f} s), then DescribeKey per key, "
        f"{per_key * 1000:.0f} ms a key, measured on "
        f"{len(sample)} keys" + (f" and extrapolated to {len(key_ids)}" if extrapolated else "")
    )
    result.rows.append(
        Row(
            f"keys: first rows ({pages[0][1] if pages else 0} keys)",
            "s",
            pages[0][0] if pages else total,
            naive_first,
            1.0,
            [how, where],
        )
    )
    result.rows.append(
        Row(f"keys: all {n} described (last page)", "s", described, naive_total, 5.0)
    )
    result.rows.append(
        Row(
            "keys: list_keys returned (sorted, named)",
            "s",
            total,
            naive_total,
            None,
            [
                "calls by list_keys: "
                + ", ".join(f"{op} {c}" for op, c in sorted(counts.items()))
                + f"; batches shown at {', '.join(f'{t:.2f}' for t, _ in pages[:12])} s"
            ],
        )
    )
    result.rows.append(
        Row(
            f"keys: rotation column, {len(rotations)} keys (after the list, "
            f"{inventory.ROTATION_WORKERS} at a time)",
            "s",
            rotation_time,
            None,
            None,
            [
                "key_rotations: "
                + ", ".join(f"{op} {c}" for op, c in sorted(rotation_counts.items()))
                + "; the step does not wait for it"
            ],
        )
    )
    result.facts.update(
        options=options,
        pages=pages,
        shown=shown,
        counts=counts,
        rotations=rotations,
        rotation_counts=rotation_counts,
        naive_counts=naive_counts,
        total=total,
        key_ids=key_ids,
    )
    return result


# --------------------------------------------------------------------------- buckets


def bench_buckets(sandbox: BenchSandbox, *, naive_sample: int = 200) -> BenchResult:
    """Flow.buckets (ListBuckets with BucketRegion) vs GetBucketLocation per bucket."""
    from wizard.aws import inventory
    from wizard.flow import Flow

    result = BenchResult("buckets")
    region = sandbox.region
    session = session_for(sandbox)
    session.client("s3")  # the bucket step's client exists by then (the flow made it)
    sandbox.reset_request_counts()
    step_time, options = _timed(lambda: Flow(session).buckets(region))
    step_counts = sandbox.request_counts()
    sandbox.reset_request_counts()
    region_time, summaries = _timed(lambda: inventory.list_buckets(session, region))
    region_counts = sandbox.request_counts()

    s3 = session_for(sandbox).client("s3")
    sandbox.reset_request_counts()
    began = time.perf_counter()
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    listed = time.perf_counter() - began
    sample = names[: max(1, min(naive_sample, len(names)))]
    naive_here: list[str] = []
    began = time.perf_counter()
    for name in sample:
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        if location == region:
            naive_here.append(name)
    per_bucket = (time.perf_counter() - began) / len(sample)
    naive_total = listed + per_bucket * len(names)
    naive_counts = sandbox.request_counts()
    extrapolated = len(sample) < len(names)

    usable = [o for o in options if o.usable]
    result.rows.append(
        Row(
            f"buckets: {len(usable)} of {len(options)} in region listed",
            "s",
            step_time,
            naive_total,
            2.0,
            [
                f"measured: Flow.buckets() as the bucket step calls it (ListBuckets pages: "
                f"{step_counts.get('ListBuckets', 0)}); inventory.list_buckets(region) alone: "
                f"{region_time:.2f} s, {region_counts.get('ListBuckets', 0)} call(s). naive: "
                f"ListBuckets then GetBucketLocation per bucket, {per_bucket * 1000:.0f} ms a "
                f"bucket, measured on {len(sample)}"
                + (f" and extrapolated to {len(names)}" if extrapolated else "")
            ],
        )
    )
    result.rows.append(
        Row(
            "buckets: per-bucket calls",
            "calls",
            float(per_bucket_calls(step_counts) + per_bucket_calls(region_counts)),
            float(len(names)),
            0.0,
        )
    )
    result.facts.update(
        options=options,
        summaries=summaries,
        step_counts=step_counts,
        region_counts=region_counts,
        naive_counts=naive_counts,
        naive_here=naive_here,
        sample=sample,
    )
    return result


# --------------------------------------------------------------------------- log groups


def bench_log_groups(
    sandbox: BenchSandbox, *, pattern: str = "payments", naive_pages: int | None = 40
) -> BenchResult:
    """list_log_groups(pattern) (server-side filter, one page) vs download all, then filter."""
    from wizard.aws import inventory

    result = BenchResult("log groups")
    region = sandbox.region
    session = session_for(sandbox)
    session.client("logs", region)
    sandbox.reset_request_counts()
    first_time, first = _timed(lambda: inventory.list_log_groups(session, region))
    first_counts = sandbox.request_counts()
    sandbox.reset_request_counts()
    filter_time, matches = _timed(
        lambda: inventory.list_log_groups(session, region, pattern=pattern)
    )
    filter_counts = sandbox.request_counts()

    logs = session_for(sandbox).client("logs", region)
    sandbox.reset_request_counts()
    began = time.perf_counter()
    names: list[str] = []
    pages = 0
    complete = True
    for page in logs.get_paginator("describe_log_groups").paginate():
        names.extend(g["logGroupName"] for g in page.get("logGroups", []))
        pages += 1
        if naive_pages is not None and pages >= naive_pages and page.get("nextToken"):
            complete = False
            break
    downloaded = time.perf_counter() - began
    total_groups = sandbox.log_group_count()
    total_pages = math.ceil(total_groups / 50) if not complete else pages
    naive_total = downloaded / pages * total_pages
    naive_matches = [n for n in names if pattern in n]

    result.rows.append(
        Row(
            f"log groups: filter '{pattern}' -> first {len(matches)} matches",
            "s",
            filter_time,
            naive_total,
            1.0,
            [
                "measured: list_log_groups(pattern): calls "
                + ", ".join(f"{op} {n}" for op, n in sorted(filter_counts.items()))
                + "; the TUI waits 0.3 s of "
                f"typing pause before it asks (see the TUI rows). First screen without a "
                f"filter: {first_time:.2f} s for {len(first)} groups, calls "
                + ", ".join(f"{op} {n}" for op, n in sorted(first_counts.items()))
                + " (newest stream of each: >= "
                f"{first_counts.get('DescribeLogStreams', 0) / LOG_STREAMS_TPS:.1f} s at "
                "AWS's 25/s quota). naive: every page of "
                f"DescribeLogGroups, then filter: "
                + (
                    f"{pages} pages measured ({downloaded:.2f} s), extrapolated to "
                    f"{total_pages} pages for {total_groups} groups"
                    if not complete
                    else f"{pages} pages"
                )
            ],
        )
    )
    # The sandbox has no request quotas; AWS allows DescribeLogStreams 25 calls a second
    # (botocore's API documentation), so calls made per listed group bound the time there.
    streams = filter_counts.get("DescribeLogStreams", 0)
    if streams:
        result.rows.append(
            Row(
                "log groups: same filter at DescribeLogStreams' 25/s quota",
                "s",
                max(filter_time, streams / LOG_STREAMS_TPS),
                naive_total,
                1.0,
                [
                    f"list_log_groups reads each listed group's newest stream ({streams} "
                    f"DescribeLogStreams per filter): at {LOG_STREAMS_TPS:.0f}/s they take "
                    f">= {streams / LOG_STREAMS_TPS:.1f} s on AWS (estimate; the sandbox does "
                    "not throttle)"
                ],
            )
        )
    result.facts.update(
        first=first,
        first_counts=first_counts,
        matches=matches,
        filter_counts=filter_counts,
        naive_matches=naive_matches,
        naive_complete=complete,
    )
    return result


# --------------------------------------------------------------------------- sample


def bench_sample(
    sandbox: BenchSandbox, *, uncompressed_bytes: int = 1 << 30, lines: int = 20
) -> BenchResult:
    """export.read_sample (stream, gunzip, stop) vs GetObject whole, then gunzip."""
    from wizard.aws import export

    result = BenchResult("sample")
    bucket, key = "demo-sse-s3", "exportedlogs/bench/large/000000.gz"
    compressed = sandbox.put_export_object(bucket, key, uncompressed_bytes)
    session = session_for(sandbox)
    s3 = session.client("s3")
    region = sandbox.region

    def smart() -> list[str]:
        return export.read_sample(session, bucket, key, lines, region)

    def naive() -> list[str]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
            return [unzipped.readline().decode().rstrip("\n") for _ in range(lines)]

    smart()  # warm: the client's first GetObject (model, connection) is not the point
    sandbox.reset_request_counts()
    smart_time, sample = _timed(smart)
    counts = sandbox.request_counts()
    read = _bytes_read(smart)
    smart_peak, _ = _peak_allocated(smart)
    naive_time, naive_sample = _timed(naive)
    naive_peak, _ = _peak_allocated(naive)

    size = f"{uncompressed_bytes / MB:.0f} MiB of lines, {compressed / MB:.0f} MiB gzip"
    link = 100e6 / 8  # bytes a second on a 100 Mbit/s link (the sandbox is on loopback)
    result.rows.append(
        Row(
            f"sample: first {lines} lines of a {size.split(' of')[0]} object",
            "s",
            smart_time,
            naive_time,
            0.5,
            [
                f"object: {size}; naive: GetObject, read the whole body, then gunzip {lines} "
                f"lines. read_sample read {read / 1024:.0f} KiB of the body; over a 100 Mbit/s "
                f"link the naive download alone would take {compressed / link:.1f} s (the "
                "sandbox serves it over loopback)"
            ],
        )
    )
    result.rows.append(
        Row(
            "sample: peak memory added (tracemalloc)",
            "MB",
            smart_peak / MB,
            naive_peak / MB,
            30.0,
        )
    )
    result.facts.update(
        sample=sample,
        naive_sample=naive_sample,
        peak=smart_peak,
        naive_peak=naive_peak,
        counts=counts,
        compressed=compressed,
        read=read,
    )
    return result


def _bytes_read(call: Callable[[], Any]) -> int:
    """Bytes of the object's body that export.read_sample handed to gunzip during ``call``."""
    from wizard.aws import export

    real = export.gunzip_lines
    read = 0

    def counting(chunks: Any, lines: int) -> list[str]:
        def tap() -> Any:
            nonlocal read
            for chunk in chunks:
                read += len(chunk)
                yield chunk

        return real(tap(), lines)

    export.gunzip_lines = counting
    try:
        call()
    finally:
        export.gunzip_lines = real
    return read


# --------------------------------------------------------------------------- export


def _export_destination(sandbox: BenchSandbox, bucket: str, prefix: str) -> None:
    """A bucket CloudWatch Logs may export to (its two documented statements)."""
    import json

    from wizard.core.requirements import POLICY_VERSION, bucket_statements
    from wizard.core.state import Destination

    s3 = session_for(sandbox).client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets(Prefix=bucket)["Buckets"]}:
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": sandbox.region}
        )
    destination = Destination(sandbox.region, sandbox.account, "aws", bucket, prefix)
    policy = {"Version": POLICY_VERSION, "Statement": bucket_statements(destination)}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _export_request(sandbox: BenchSandbox, bucket: str, prefix: str) -> Any:
    from wizard.aws.export import ExportRequest
    from wizard.sandbox.scenarios import DEMO_FN

    now = int(time.time() * 1000)
    return ExportRequest(sandbox.region, DEMO_FN, bucket, prefix, now - 86_400_000, now)


def _completion(sandbox: BenchSandbox, task_id: str, delay: float) -> float:
    """Wall-clock time the sandbox completes a task: its creation time plus the delay."""
    logs = session_for(sandbox).client("logs", sandbox.region)
    task = logs.describe_export_tasks(taskId=task_id)["exportTasks"][0]
    return float(task["executionInfo"]["creationTime"]) / 1000 + delay


def _naive_wait(sandbox: BenchSandbox, task_id: str, interval: float) -> str:
    logs = session_for(sandbox).client("logs", sandbox.region)
    while True:
        status = logs.describe_export_tasks(taskId=task_id)["exportTasks"][0]["status"]["code"]
        if status in ("COMPLETED", "FAILED", "CANCELLED"):
            return str(status)
        time.sleep(interval)


def bench_export(
    sandbox: BenchSandbox,
    *,
    delay: float,
    naive_fast: float | None = 0.1,
    naive_slow: float | None = 10.0,
) -> BenchResult:
    """export.wait (adaptive poll) vs fixed-interval polling, fast and slow."""
    from wizard.aws import export

    result = BenchResult("export")
    bucket, prefix = "bench-exports", "exportedlogs"
    _export_destination(sandbox, bucket, prefix)
    session = session_for(sandbox)

    def run(waiter: Callable[[str], str]) -> tuple[float, float, int, str]:
        """(lag after completion, seconds waited, DescribeExportTasks calls, final status)"""
        task_id = export.start(session, _export_request(sandbox, bucket, prefix))
        sandbox.reset_request_counts()
        began = time.time()
        status = waiter(task_id)
        noticed = time.time()
        calls = sandbox.request_counts().get("DescribeExportTasks", 0)
        lag = noticed - _completion(sandbox, task_id, delay)
        return lag, noticed - began, calls, status

    lag, waited, calls, status = run(
        lambda task_id: export.wait(session, sandbox.region, task_id).status
    )
    rows_lag: float | None = None
    rows_rate: float | None = None
    naive_notes: list[str] = []
    if naive_slow is not None:
        log(f"  export: naive poll every {naive_slow:g} s")
        n_lag, n_waited, n_calls, _ = run(lambda t: _naive_wait(sandbox, t, naive_slow))
        rows_lag = n_lag
        naive_notes.append(
            f"naive lag: fixed {naive_slow:g} s polling ({n_calls} calls in {n_waited:.1f} s)"
        )
    if naive_fast is not None:
        log(f"  export: naive poll every {naive_fast:g} s")
        f_lag, f_waited, f_calls, _ = run(lambda t: _naive_wait(sandbox, t, naive_fast))
        rows_rate = f_calls / f_waited
        naive_notes.append(
            f"naive rate: fixed {naive_fast:g} s polling ({f_calls} calls in {f_waited:.1f} s, "
            f"lag {f_lag:.2f} s)"
        )
    rate = calls / waited
    result.rows.append(
        Row(
            f"export: completion noticed after ({delay:g} s task)",
            "s",
            max(0.0, lag),
            rows_lag,
            1.5,
            [
                f"export.wait: {calls} DescribeExportTasks calls in {waited:.1f} s, task "
                f"{status}; " + "; ".join(naive_notes)
            ],
        )
    )
    result.rows.append(Row("export: DescribeExportTasks calls/s", "calls/s", rate, rows_rate, 1.0))
    result.facts.update(lag=lag, waited=waited, calls=calls, status=status, rate=rate)
    return result
