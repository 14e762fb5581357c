"""Test export: start, busy handling, polling, objects, encryption, streamed sample lines."""

from __future__ import annotations

import gzip
import io
import random
import re
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_GROUP, DEMO_KEY, allow_exports, session_for
from tests.conftest import REGION, CliRunner, StartSandbox, hold_export_time
from wizard.aws import export
from wizard.aws.export import ExportRequest, gunzip_lines
from wizard.core.errors import AwsError, Cancelled, ExportBusy, WizardError
from wizard.core.state import ExportTaskInfo, ExportTaskStatus
from wizard.sandbox.server import Sandbox

BUCKET = "demo-sse-s3"  # SSE-S3: only the bucket policy matters


def last_hours(hours: int = 24) -> tuple[int, int]:
    now = int(time.time() * 1000)
    return now - hours * 3_600_000, now


def request(group: str = DEMO_GROUP, prefix: str = "exportedlogs", **kw: Any) -> ExportRequest:
    from_ms, to_ms = last_hours()
    return ExportRequest(REGION, group, BUCKET, prefix, from_ms, to_ms, **kw)


@pytest.fixture
def ready(demo: Sandbox) -> Sandbox:
    allow_exports(demo, BUCKET)
    return demo


# --- gunzip_lines / read_sample -----------------------------------------------------------


def counting(data: bytes, size: int, seen: list[int]) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        seen.append(start)
        yield data[start : start + size]


def test_gunzip_stops_as_soon_as_the_lines_are_complete() -> None:
    body = "".join(f"2026-01-01T00:00:00.000Z line {i} {'x' * 50}\n" for i in range(200_000))
    data = gzip.compress(body.encode())
    seen: list[int] = []
    lines = gunzip_lines(counting(data, 1024, seen), 5)
    assert lines == [f"2026-01-01T00:00:00.000Z line {i} {'x' * 50}" for i in range(5)]
    assert len(seen) <= 2  # a few KB read of a multi-MB object


def test_gunzip_reads_concatenated_members_and_a_last_line_without_newline() -> None:
    data = gzip.compress(b"a\nb\n") + gzip.compress(b"c\nd")
    assert gunzip_lines(counting(data, 3, []), 10) == ["a", "b", "c", "d"]
    assert gunzip_lines(iter([data]), 3) == ["a", "b", "c"]
    assert gunzip_lines(iter([data]), 0) == []


def test_gunzip_cuts_an_overlong_line() -> None:
    long = b"y" * (export.MAX_LINE_BYTES * 3)
    data = gzip.compress(long + b"\nnext\n")
    lines = gunzip_lines(counting(data, 4096, []), 2)
    assert lines[0].endswith(" [...]") and len(lines[0]) < export.MAX_LINE_BYTES + 10
    assert lines[1] == "next"


def test_gunzip_rejects_data_that_is_not_gzip() -> None:
    with pytest.raises(WizardError, match="not valid gzip"):
        gunzip_lines(iter([b"this is not gzip at all"]), 1)


class FakeBody:
    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)
        self.chunks = 0
        self.closed = False

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        while chunk := self.stream.read(size):
            self.chunks += 1
            yield chunk

    def close(self) -> None:
        self.closed = True


class FakeSession:
    def __init__(self, body: FakeBody) -> None:
        self.body = body

    def client(self, service: str, region: str | None = None) -> Any:
        body = self.body

        class S3:
            def get_object(self, **_: Any) -> dict[str, Any]:
                return {"Body": body}

        return S3()


def test_read_sample_streams_and_closes() -> None:
    compressor = zlib.compressobj(wbits=31)
    noise = random.Random(7).randbytes(2_000_000)  # incompressible: a 2 MB object
    data = compressor.compress(b"first\nsecond\n" + noise) + compressor.flush()
    body = FakeBody(data)
    lines = export.read_sample(FakeSession(body), "b", "k", 2)  # type: ignore[arg-type]
    assert lines == ["first", "second"]
    assert body.closed
    assert body.chunks * export.CHUNK_BYTES < len(data) / 10


# --- polling ------------------------------------------------------------------------------


class RecordingEvent(threading.Event):
    """Records every wait instead of sleeping: the poll schedule without wall-clock time."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return False


@pytest.mark.wall_clock  # the real schedule of polls
def test_poll_schedule_backs_off_to_about_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    statuses = iter(
        [ExportTaskStatus.PENDING] * 3
        + [ExportTaskStatus.RUNNING] * 20
        + [ExportTaskStatus.COMPLETED]
    )
    calls: list[str] = []

    def describe(session: Any, region: str, task_id: str) -> ExportTaskInfo:
        calls.append(task_id)
        return ExportTaskInfo(task_id, "/g", next(statuses))

    monkeypatch.setattr(export, "describe_task", describe)
    event = RecordingEvent()
    seen: list[str] = []
    task = export.wait(
        None,  # type: ignore[arg-type]
        REGION,
        "t-1",
        cancel=event,
        on_status=lambda t, _: seen.append(t.status),
    )
    assert task.status == "COMPLETED" and len(calls) == 24 and seen[-1] == "COMPLETED"
    assert 0.25 <= event.waits[0] <= 0.5
    assert max(event.waits) <= 1.5  # a finished task is noticed within 1.5 s
    assert event.waits == sorted(event.waits)
    # Average at most one call per second over the whole wait.
    assert len(calls) <= sum(event.waits)


def test_wait_can_be_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        export, "describe_task", lambda *a: ExportTaskInfo("t", "/g", ExportTaskStatus.RUNNING)
    )
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="keeps running"):
        export.wait(None, REGION, "t", cancel=cancel)  # type: ignore[arg-type]


# --- over the sandbox ---------------------------------------------------------------------


def test_export_writes_encrypted_objects_and_sample_lines(ready: Sandbox) -> None:
    allow_exports(ready, BUCKET, "runs/one")
    session = session_for(ready)
    req = request(prefix="runs/one")
    task_id = export.start(session, req)
    statuses: list[str] = []
    task = export.wait(session, REGION, task_id, on_status=lambda t, _: statuses.append(t.status))
    assert task.status == "COMPLETED" and statuses[-1] == "COMPLETED"
    result = export.collect(session, req, task, lines=4)
    assert result.succeeded and result.explanation is None
    assert len(result.objects) == 3  # the demo group's three streams
    for obj in result.objects:
        assert obj.key.startswith(f"runs/one/{task_id}/") and obj.key.endswith("/000000.gz")
        assert obj.uri == f"s3://{BUCKET}/{obj.key}"
        assert obj.encryption is not None and obj.encryption.algorithm == "AES256"
    assert len(result.sample) == 4
    assert all(line[:4].isdigit() and "Z " in line for line in result.sample)


def test_busy_names_the_active_task_then_wait_and_cancel(
    start_sandbox: StartSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = start_sandbox(scenario="demo", export_delay=1.0)
    clock = hold_export_time(monkeypatch, sandbox)  # busy until the test says otherwise
    allow_exports(sandbox, BUCKET)
    session = session_for(sandbox)
    first = export.start(session, request("/ecs/web"))
    with pytest.raises(ExportBusy) as caught:
        export.start(session, request())
    busy = caught.value
    assert busy.active.task_id == first and busy.active.log_group == "/ecs/web"
    assert first in busy.message and "/ecs/web" in busy.message
    assert busy.active.status in busy.message
    # The flow's words name no flag of one face (plain mode and the TUI have none).
    assert (
        busy.fix
        == f"Wait for it to finish, or cancel it: aws logs cancel-export-task --task-id {first}."
    )
    clock.advance(1.0)
    export.wait_until_idle(session, REGION)
    second = export.start(session, request())
    export.cancel_task(session, REGION, second)
    task = export.wait(session, REGION, second)
    assert task.status == "CANCELLED"
    result = export.collect(session, request(), task)
    assert not result.succeeded and result.explanation and "CANCELLED" in result.explanation
    export.cancel_task(session, REGION, second)  # a finished task: nothing to do


def test_completed_without_data_is_explained(ready: Sandbox) -> None:
    session = session_for(ready)
    req = request(stream_prefix="no-such-stream")
    task = export.wait(session, REGION, export.start(session, req))
    result = export.collect(session, req, task)
    assert task.status == "COMPLETED" and not result.objects and not result.succeeded
    text = result.explanation or ""
    assert "12 hours" in text and "milliseconds" in text and "no-such-stream" in text


def test_failed_task_reports_the_status_message(
    start_sandbox: StartSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = start_sandbox(scenario="demo", export_delay=2.0)
    clock = hold_export_time(monkeypatch, sandbox)
    allow_exports(sandbox, BUCKET)
    session = session_for(sandbox)
    req = request()
    task_id = export.start(session, req)
    sandbox.client("s3").delete_bucket_policy(Bucket=BUCKET)  # the data can no longer land
    clock.advance(2.0)  # only now may the task settle
    task = export.wait(session, REGION, task_id)
    result = export.collect(session, req, task)
    assert task.status == "FAILED" and not result.succeeded
    assert result.explanation and "PutObject call on the given bucket failed" in result.explanation
    assert "doctor" in result.explanation


def test_refused_export_names_the_aws_text_and_the_doctor(demo: Sandbox) -> None:
    with pytest.raises(AwsError) as caught:
        export.start(session_for(demo), request())
    assert "GetBucketAcl call on the given bucket failed" in caught.value.message
    assert caught.value.fix and "doctor" in caught.value.fix


def test_missing_log_group(ready: Sandbox) -> None:
    with pytest.raises(AwsError, match="does not exist"):
        export.start(session_for(ready), request("/no/such/group"))


# --- the command --------------------------------------------------------------------------


def test_command_json_and_exit_codes(ready: Sandbox, cli: CliRunner) -> None:
    run = cli(
        "test-export", "--bucket", BUCKET, "--log-group", DEMO_GROUP, "--lines", "2", "--json"
    )
    assert run.code == 0, run.err
    data = run.json()
    assert set(data) == {"task_id", "status", "objects", "encryption", "sample", "explanation"}
    assert data["status"] == "COMPLETED" and len(data["objects"]) == 3
    assert data["encryption"] == {"algorithm": "AES256", "kms_key_id": None, "bucket_key": False}
    assert len(data["sample"]) == 2 and data["explanation"] is None
    empty = cli(
        "test-export",
        "--bucket",
        BUCKET,
        "--log-group",
        DEMO_GROUP,
        "--from",
        "2020-01-01T00:00:00Z",
        "--to",
        "2020-01-02T00:00:00Z",
    )
    assert empty.code == 1
    assert "12 hours" in empty.out


def test_command_if_busy(
    start_sandbox: StartSandbox, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = start_sandbox(scenario="demo", export_delay=4.0)
    clock = hold_export_time(monkeypatch, sandbox)  # the first task is running, surely
    allow_exports(sandbox, BUCKET)
    first = export.start(session_for(sandbox), request("/ecs/web"))
    busy = cli("test-export", "--bucket", BUCKET, "--log-group", DEMO_GROUP)
    assert busy.code == 2
    assert len(busy.error_lines) == 1 and first in busy.error_lines[0]
    assert "--if-busy wait" in busy.err
    # Found from outside: --json's fix left the way to wait or cancel out.
    as_json = cli("test-export", "--bucket", BUCKET, "--log-group", DEMO_GROUP, "--json")
    assert as_json.code == 2 and as_json.json()["error"]["type"] == "ExportBusy"
    assert "--if-busy wait (or --if-busy cancel)" in as_json.json()["error"]["fix"]
    clock.resume()  # the CLI waits for it on the wall clock
    waited = cli(
        "test-export", "--bucket", BUCKET, "--log-group", DEMO_GROUP, "--if-busy", "wait", "--json"
    )
    assert waited.code == 0, waited.err
    assert f"Waiting for export task {first}" in waited.err
    # Found from outside: then nothing was said until it ended. Its status is said as it goes.
    after_waiting = waited.err.split(f"Waiting for export task {first}", 1)[1]
    assert re.search(r"\n  (PENDING|RUNNING|COMPLETED) after \d+\.\d s", after_waiting), waited.err
    other = export.start(session_for(sandbox), request("/ecs/web"))
    cancelled = cli(
        "test-export",
        "--bucket",
        BUCKET,
        "--log-group",
        DEMO_GROUP,
        "--if-busy",
        "cancel",
        "--json",
    )
    assert cancelled.code == 0, cancelled.err
    assert f"Cancelling export task {other}" in cancelled.err
    assert export.describe_task(session_for(sandbox), REGION, other).status == "CANCELLED"


def test_command_no_wait(ready: Sandbox, cli: CliRunner) -> None:
    run = cli("test-export", "--bucket", BUCKET, "--log-group", DEMO_GROUP, "--no-wait", "--json")
    assert run.code == 0 and run.json()["status"] == "PENDING"
    export.wait_until_idle(session_for(ready), REGION)


# --- eventual consistency -----------------------------------------------------------------


def test_right_after_an_apply_the_export_waits_for_the_policies_to_propagate(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """The done-when of the propagation work: with a 5 s delay, apply then test-export at
    once end COMPLETED, exit 0, saying why it waited."""
    start_sandbox(scenario="demo", propagation_delay=5.0)
    applied = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes")
    assert applied.code == 0, applied.err
    run = cli("test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP, "--json")
    assert run.code == 0, run.err
    assert run.json()["status"] == "COMPLETED"
    assert "policy changes take seconds, sometimes minutes, to reach CloudWatch Logs" in run.err
    assert "Trying again in 2 s" in run.err


def test_a_refusal_the_doctor_explains_fails_at_once(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """The demo bucket is broken as the doctor reads it: waiting would not help."""
    start_sandbox(scenario="demo", propagation_delay=5.0)
    run = cli("test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP)
    assert run.code == 2
    assert "GetBucketAcl call on the given bucket failed" in run.err
    assert "Trying again" not in run.err


def test_a_change_made_outside_the_tool_is_waited_for_then_exported(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """Found from outside: after a change made by Terraform, the CLI script or another
    machine (here boto3: no journal on this machine), test-export failed at once with "still
    refused after 0 s of waiting" although the doctor read the policies as allowing it."""
    from tests.outside import make_healthy_by_hand

    sandbox = start_sandbox(scenario="demo", propagation_delay=5.0)
    make_healthy_by_hand(sandbox)
    run = cli("test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP, "--json")
    assert run.code == 0, run.err
    assert run.json()["status"] == "COMPLETED"
    assert "but the bucket and key policies allow it" in run.err
    assert "policy changes take seconds, sometimes minutes, to reach CloudWatch Logs" in run.err
    at_once = cli(
        "test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP, "--propagation-wait", "0"
    )
    assert at_once.code == 0, at_once.err  # propagated by now: 0 s of patience is enough


def test_a_broken_destination_is_not_waited_for(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """Refused while the doctor also finds it broken: explained at once, no waiting."""
    start_sandbox(scenario="demo")
    run = cli(
        "test-export",
        "--bucket",
        DEMO_BUCKET,
        "--log-group",
        DEMO_GROUP,
        "--propagation-wait",
        "60",
    )
    assert run.code == 2 and "Trying again" not in run.err
    assert "cwl-export-wizard doctor --bucket" in run.err


def test_the_wait_is_bounded_and_says_so(start_sandbox: StartSandbox, cli: CliRunner) -> None:
    start_sandbox(scenario="demo", propagation_delay=60.0)
    assert cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes").code == 0
    run = cli(
        "test-export", "--bucket", DEMO_BUCKET, "--log-group", DEMO_GROUP, "--propagation-wait", "3"
    )
    assert run.code == 2
    assert re.search(
        r"still refused after \d+ tries and \d+\.\d s of waiting for policy changes", run.err
    )  # how many and how long: the wall clock's (only the patience of 3 s is the test's)
