"""The test export: start a task, wait for it, and show what arrived and how it is encrypted.

Polling: one quick look after 0.5 s, then every 1.25 s: a finished task is noticed within
1.25 s plus a round trip, and over a wait of a few seconds there is at most one
DescribeExportTasks call a second. After two minutes (a large export) the interval grows
towards 5 s, sparing the account's request quota. Sample lines are read by streaming the
object through zlib: memory does not grow with the object's size.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from wizard.aws.inventory import list_active_tasks, task_from_reply
from wizard.aws.session import AwsSession, aws_call, error_code, error_message, translate
from wizard.core import pacing
from wizard.core import requirements as req
from wizard.core.errors import AwsError, Cancelled, ExportBusy, ExportRefused, WizardError
from wizard.core.state import FINAL_TASK_STATUSES, ExportTaskInfo, ExportTaskStatus
from wizard.core.text import shell_command

__all__ = ["ExportBusy", "ExportRefused"]  # raised here; defined with the other errors

POLL_FIRST = 0.5
POLL_MAX = 1.25  # the longest a short export's completion goes unnoticed (plus a round trip)
POLL_PATIENT_AFTER = 120.0  # seconds; then the interval grows with the wait...
POLL_PATIENT_MAX = 5.0  # ...up to this
HEAD_LIMIT = 20  # HeadObject at most this many objects: enough to show the encryption
LIST_LIMIT = 1000
CHUNK_BYTES = 16 * 1024
MAX_LINE_BYTES = 256 * 1024  # a CloudWatch Logs event is at most 256 KB
_DECOMPRESS_STEP = 64 * 1024  # bound the output of one decompress call (no zip bombs)


@dataclass(frozen=True)
class ExportRequest:
    region: str
    log_group: str
    bucket: str
    prefix: str
    from_ms: int
    to_ms: int
    stream_prefix: str | None = None


@dataclass(frozen=True)
class ObjectEncryption:
    algorithm: str | None  # ServerSideEncryption: "aws:kms", "AES256", ...
    kms_key_id: str | None  # SSEKMSKeyId: the key ARN
    bucket_key: bool


@dataclass(frozen=True)
class ExportedObject:
    key: str
    uri: str
    size: int
    encryption: ObjectEncryption | None  # None: not inspected (beyond HEAD_LIMIT)


@dataclass(frozen=True)
class ExportResult:
    task: ExportTaskInfo
    objects: tuple[ExportedObject, ...]  # the data objects (the test object is left out)
    sample: tuple[str, ...]
    explanation: str | None  # why there is no data / why the task failed

    @property
    def succeeded(self) -> bool:
        return self.task.status is ExportTaskStatus.COMPLETED and bool(self.objects)

    @property
    def encryption(self) -> ObjectEncryption | None:
        return next((o.encryption for o in self.objects if o.encryption), None)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


_KNOWN_FAILURES = (
    req.ERR_GET_BUCKET_ACL,
    req.ERR_PUT_OBJECT,
    req.ERR_BUCKET_MISSING,
    req.ERR_CALLER_PUT_OBJECT,
)


def _doctor_hint(request: ExportRequest) -> str:
    return (
        f"Run 'cwl-export-wizard doctor --bucket {request.bucket} --prefix {request.prefix}' to "
        "see why, and 'cwl-export-wizard apply' to fix it."
    )


def start(session: AwsSession, request: ExportRequest) -> str:
    """CreateExportTask; the task id. Raises ExportBusy when another task is active."""
    # One attempt: botocore would retry LimitExceededException (as throttling) with backoff.
    logs = session.client("logs", request.region, max_attempts=1)
    kwargs: dict[str, Any] = {
        "taskName": f"cwl-export-wizard-{int(time.time())}",
        "logGroupName": request.log_group,
        "fromTime": request.from_ms,
        "to": request.to_ms,
        "destination": request.bucket,
        "destinationPrefix": request.prefix,
    }
    if request.stream_prefix:
        kwargs["logStreamNamePrefix"] = request.stream_prefix
    try:
        return str(logs.create_export_task(**kwargs)["taskId"])
    except ClientError as exc:
        code = error_code(exc)
        message = " ".join(error_message(exc).split())
        if code == "LimitExceededException":
            active = list_active_tasks(session, request.region)
            if active:
                raise ExportBusy(active[0], request.region) from exc
            raise AwsError(
                f"CreateExportTask: {message or req.ERR_LIMIT_EXCEEDED} Another export task was "
                "active a moment ago and has just finished.",
                fix="Run the test export again.",
                code=code,
                operation="CreateExportTask",
            ) from exc
        if code == "ResourceNotFoundException":
            raise AwsError(
                f"The log group {request.log_group} does not exist in {request.region}.",
                fix="Check the name (log groups are per region), or choose another log group.",
                details=message,
                code=code,
                operation="CreateExportTask",
            ) from exc
        if any(text.split(". ")[0] in message for text in _KNOWN_FAILURES):
            raise ExportRefused(
                f"CreateExportTask failed: {message}", message, fix=_doctor_hint(request)
            ) from exc
        raise translate(exc, "CreateExportTask") from exc
    except Exception as exc:
        raise translate(exc, "CreateExportTask") from exc


def describe_task(session: AwsSession, region: str, task_id: str) -> ExportTaskInfo:
    with aws_call("DescribeExportTasks"):
        reply = session.client("logs", region).describe_export_tasks(taskId=task_id)
    tasks = reply.get("exportTasks", [])
    if not tasks:
        raise AwsError(
            f"The export task {task_id} was not found in {region}.",
            code="ResourceNotFoundException",
            operation="DescribeExportTasks",
        )
    return task_from_reply(tasks[0])


def wait(
    session: AwsSession,
    region: str,
    task_id: str,
    *,
    on_status: Callable[[ExportTaskInfo, float], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
) -> ExportTaskInfo:
    """Poll DescribeExportTasks (see :func:`poll_interval`) until it is COMPLETED, FAILED or
    CANCELLED.

    ``on_status`` gets every status read and the seconds waited. ``cancel`` stops the
    waiting (the task itself keeps running in AWS) with :class:`Cancelled`.
    """
    started = pacing.monotonic()
    delay = POLL_FIRST
    stop = cancel or threading.Event()
    while True:
        if pacing.pause(stop, delay):
            raise Cancelled(
                f"Stopped waiting for export task {task_id}; it keeps running in AWS.",
                fix=f"Cancel it with: aws logs cancel-export-task --task-id {task_id}",
            )
        task = describe_task(session, region, task_id)
        elapsed = pacing.monotonic() - started
        if on_status is not None:
            on_status(task, elapsed)
        if task.status in FINAL_TASK_STATUSES:
            return task
        if timeout is not None and elapsed >= timeout:
            raise AwsError(
                f"The export task {task_id} is still {task.status} after {int(elapsed)} s.",
                fix="Large log groups take longer: check later with "
                + shell_command("aws", "logs", "describe-export-tasks", "--task-id", task_id),
                code="Timeout",
                operation="DescribeExportTasks",
            )
        delay = poll_interval(elapsed)


def poll_interval(elapsed: float) -> float:
    """Seconds to the next poll of a task still running after ``elapsed`` seconds.

    POLL_MAX for a test export's seconds (noticed within 1.25 s, under one call a second);
    for an export that runs for minutes, up to POLL_PATIENT_MAX (elapsed/96: 5 s at 8 min).
    """
    if elapsed < POLL_PATIENT_AFTER:
        return POLL_MAX
    return min(POLL_PATIENT_MAX, max(POLL_MAX, elapsed / 96))


def cancel_task(session: AwsSession, region: str, task_id: str) -> None:
    """CancelExportTask; a task that has already finished is left as it is."""
    try:
        session.client("logs", region).cancel_export_task(taskId=task_id)
    except ClientError as exc:
        if error_code(exc) == "InvalidOperationException":
            task = describe_task(session, region, task_id)
            if task.status in (*FINAL_TASK_STATUSES, ExportTaskStatus.PENDING_CANCEL):
                return
        raise translate(exc, "CancelExportTask") from exc
    except Exception as exc:
        raise translate(exc, "CancelExportTask") from exc


def wait_until_idle(
    session: AwsSession,
    region: str,
    *,
    on_status: Callable[[ExportTaskInfo, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Wait until no export task is PENDING or RUNNING (or PENDING_CANCEL) in the region."""
    while True:
        active = list_active_tasks(session, region)
        if not active:
            # A cancelled task passes PENDING_CANCEL before CANCELLED; it still blocks.
            with aws_call("DescribeExportTasks"):
                reply = session.client("logs", region).describe_export_tasks(
                    statusCode=ExportTaskStatus.PENDING_CANCEL, limit=1
                )
            cancelling = [task_from_reply(t) for t in reply.get("exportTasks", [])]
            if not cancelling:
                return
            active = cancelling
        task = active[0]
        if task.status is ExportTaskStatus.PENDING_CANCEL:
            stop = cancel or threading.Event()
            if pacing.pause(stop, POLL_MAX):
                raise Cancelled(f"Stopped waiting for export task {task.task_id}.")
            continue
        wait(session, region, task.task_id, on_status=on_status, cancel=cancel)


# --- results ------------------------------------------------------------------------------


def _list_objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with aws_call("ListObjectsV2"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.extend(page.get("Contents", []))
            if len(found) >= LIST_LIMIT:
                break
    return sorted(found[:LIST_LIMIT], key=lambda o: str(o["Key"]))


def _head(s3: Any, bucket: str, key: str) -> ObjectEncryption:
    with aws_call("HeadObject"):
        reply = s3.head_object(Bucket=bucket, Key=key)
    return ObjectEncryption(
        algorithm=reply.get("ServerSideEncryption"),
        kms_key_id=reply.get("SSEKMSKeyId"),
        bucket_key=bool(reply.get("BucketKeyEnabled", False)),
    )


def no_data_explanation(request: ExportRequest) -> str:
    stream = f" in streams starting with {request.stream_prefix!r}" if request.stream_prefix else ""
    return (
        f"The task completed but exported no log data: CloudWatch Logs found no exportable "
        f"events in {request.log_group}{stream} between {_utc(request.from_ms)} and "
        f"{_utc(request.to_ms)} (only the test object was written). Log data can take up to "
        "12 hours to become exportable, so recent events may not be there yet: widen the window "
        "(for example --since 48h) or pick a log group with older events. Check that the "
        "times are in milliseconds, not seconds"
        + (", and that the stream prefix matches a stream" if request.stream_prefix else "")
        + "."
    )


def failure_explanation(task: ExportTaskInfo, request: ExportRequest) -> str:
    message = task.status_message or "no status message"
    text = f"The export task {task.task_id} ended {task.status}: {message}"
    if task.status is ExportTaskStatus.FAILED:
        text += f" {_doctor_hint(request)}"
    return text


def collect(
    session: AwsSession, request: ExportRequest, task: ExportTaskInfo, lines: int = 10
) -> ExportResult:
    """The task's objects (ListObjectsV2 under prefix/taskId/), their encryption and a sample."""
    s3 = session.client("s3", request.region)
    listed = _list_objects(s3, request.bucket, f"{request.prefix}/{task.task_id}/")
    data = [o for o in listed if not str(o["Key"]).endswith(req.TEST_OBJECT_NAME)]
    objects: list[ExportedObject] = []
    for number, item in enumerate(data):
        key = str(item["Key"])
        encryption = _head(s3, request.bucket, key) if number < HEAD_LIMIT else None
        objects.append(
            ExportedObject(
                key=key,
                uri=f"s3://{request.bucket}/{key}",
                size=int(item.get("Size") or 0),
                encryption=encryption,
            )
        )
    sample: list[str] = []
    if objects and lines > 0:
        sample = read_sample(session, request.bucket, objects[0].key, lines, request.region)
    explanation: str | None = None
    if task.status in (ExportTaskStatus.FAILED, ExportTaskStatus.CANCELLED):
        explanation = failure_explanation(task, request)
    elif task.status is ExportTaskStatus.COMPLETED and not objects:
        explanation = no_data_explanation(request)
    return ExportResult(task, tuple(objects), tuple(sample), explanation)


def gunzip_lines(chunks: Iterable[bytes], lines: int) -> list[str]:
    """The first ``lines`` lines of gzip data (one or more members), reading no further.

    Each decompress call yields at most 64 KiB and a line longer than MAX_LINE_BYTES is cut,
    so memory stays bounded whatever the object holds.
    """
    out: list[str] = []
    if lines <= 0:
        return out
    pending = bytearray()
    skipping = False  # inside an over-long line: drop bytes until its newline
    decomp = zlib.decompressobj(wbits=31)

    def take(piece: bytes) -> bool:
        nonlocal skipping
        pending.extend(piece)
        while len(out) < lines:
            newline = pending.find(b"\n")
            if newline < 0:
                if len(pending) > MAX_LINE_BYTES:
                    if not skipping:
                        out.append(_decode(pending[:MAX_LINE_BYTES]) + " [...]")
                    skipping = True
                    pending.clear()
                break
            if not skipping:
                out.append(_decode(pending[:newline]))
            skipping = False
            del pending[: newline + 1]
        return len(out) >= lines

    try:
        for chunk in chunks:
            data = bytes(chunk)
            while data:
                piece = decomp.decompress(data, _DECOMPRESS_STEP)
                if take(piece):
                    return out
                if decomp.eof:  # the next gzip member, if any
                    data = decomp.unused_data
                    decomp = zlib.decompressobj(wbits=31)
                else:
                    data = decomp.unconsumed_tail
            # Output zlib still holds back for this input.
            while not decomp.eof:
                piece = decomp.decompress(b"", _DECOMPRESS_STEP)
                if not piece:
                    break
                if take(piece):
                    return out
    except zlib.error as exc:
        raise WizardError(f"The exported object is not valid gzip data: {exc}.") from exc
    if pending and not skipping and len(out) < lines:
        out.append(_decode(pending))
    return out


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", "replace").rstrip("\r")


def read_sample(
    session: AwsSession, bucket: str, key: str, lines: int, region: str | None = None
) -> list[str]:
    """Stream GetObject's body through gunzip and stop at ``lines`` lines; close the stream."""
    s3 = session.client("s3", region)
    with aws_call("GetObject"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return gunzip_lines(body.iter_chunks(CHUNK_BYTES), lines)
        finally:
            body.close()
