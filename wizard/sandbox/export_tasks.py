"""CloudWatch Logs export tasks, emulated: the service's checks, life cycle and written objects."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from moto.logs.models import logs_backends
from moto.s3.models import FakeBucket, s3_backends

from wizard.core import pacing
from wizard.core.evaluate import Request, evaluate
from wizard.core.policy import PolicyDocument
from wizard.core.presets import DEFAULT_PREFIX
from wizard.core.requirements import (
    ERR_BUCKET_MISSING,
    ERR_LIMIT_EXCEEDED,
    ERR_PUT_OBJECT_KMS,
    STEP_PUT_DATA,
    STEP_PUT_TEST_OBJECT,
    TEST_OBJECT_NAME,
    ServiceRequest,
    caller_requests,
    data_object_key,
    service_requests,
    test_object_key,
)
from wizard.core.state import (
    ACTIVE_TASK_STATUSES,
    DSSE_KMS,
    OWNER_ENFORCED,
    SSE_KMS,
    SSE_S3,
    Destination,
    ExportTaskStatus,
)
from wizard.sandbox.moto_state import (
    PARTITION,
    BucketCrypto,
    find_bucket,
    key_unusable_by_s3,
)
from wizard.sandbox.preview import caller_arn
from wizard.sandbox.propagation import Propagation
from wizard.sandbox.wire import (
    ApiError,
)

# UNCONFIRMED: the text CreateExportTask gives for a bucket in another region than the log
# group is not documented (the documentation gives none). One constant, easy to correct.
ERR_BUCKET_OTHER_REGION = (
    "The given bucket is in a different region than the log group. Please make sure the "
    "bucket is in the same region as the log group."
)
ERR_LOG_GROUP_MISSING = "The specified log group does not exist."
ERR_TASK_MISSING = "The specified export task does not exist."
ERR_TASK_FINISHED = "The specified export task has already finished"
# How CreateExportTask reports a denied GetBucketAcl/PutObject (seen as this class and as
# AccessDeniedException; docs/service-facts.md: classify by text).
EXPORT_DENIED_CODE = "InvalidParameterException"
TEST_OBJECT_BODY = b"Permission Check Successful"
# UNCONFIRMED: where the test object goes when CreateExportTask has no destinationPrefix.
# docs/service-facts.md: "<prefix>/aws-logs-write-test" with the prefix defaulting to "exportedlogs"
# (what the sandbox does). moto's AWS-verified test (tests/test_logs/test_export_tasks.py,
# test_create_export_task_happy_path) finds it at the bucket root instead. True switches to that.
TEST_OBJECT_AT_ROOT_WITHOUT_PREFIX = False
# The share of export_delay a task spends PENDING before it turns RUNNING.
PENDING_SHARE = 0.5
STATUS_CODES = (
    ExportTaskStatus.CANCELLED,
    ExportTaskStatus.COMPLETED,
    ExportTaskStatus.FAILED,
    ExportTaskStatus.PENDING,
    ExportTaskStatus.PENDING_CANCEL,
    ExportTaskStatus.RUNNING,
)
MAX_DESCRIBE_LIMIT = 50


def export_line(timestamp_ms: int, message: str) -> str:
    """One exported event: ``2022-11-11T01:10:28.255Z START RequestId: ...`` (UTC, ms)."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{timestamp_ms % 1000:03d}Z {message}"


@dataclass
class ExportTask:
    task_id: str
    region: str
    account: str  # the account that runs it (the log group's)
    seq: int
    name: str | None
    log_group: str
    from_ms: int
    to_ms: int
    destination: str
    prefix: str
    stream_prefix: str | None
    started: float  # monotonic clock
    created_ms: int
    # Set once the task is settled: COMPLETED, CANCELLED, FAILED.
    code: ExportTaskStatus | None = None
    message: str | None = None
    completed_ms: int | None = None


class ExportTasks:
    """CloudWatch Logs export tasks of one sandbox account, per region.

    A task's state is computed from its age (no timers, no threads): PENDING for the first
    ``PENDING_SHARE`` of ``delay``, then RUNNING, then settled. Settling (writing the objects,
    or FAILED) happens on the first request after the deadline: ``advance`` runs before every
    request, so whatever the client asks next already sees the finished export.
    """

    def __init__(
        self,
        account: str,
        delay: float,
        rng: random.Random,
        monotonic: Callable[[], float] = pacing.monotonic,
        wall: Callable[[], float] = time.time,
        propagation: Propagation | None = None,
        guardrail: Callable[[Request], bool] | None = None,
    ) -> None:
        self.account = account
        self.delay = max(0.0, delay)
        # An organization's policy the account cannot see (sandbox --org-guardrail): True
        # when it explicitly denies a request.
        self.org_denies = guardrail or (lambda request: False)
        # What CloudWatch Logs sees of policies and encryption (changes propagate).
        self.seen = propagation or Propagation(0.0)
        self._rng = rng
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.RLock()
        self._tasks: dict[str, ExportTask] = {}
        self._seq = 0

    # -- state

    def _now_ms(self) -> int:
        return int(self._wall() * 1000)

    def _code(self, task: ExportTask, now: float) -> ExportTaskStatus:
        if task.code:
            return task.code
        if now - task.started < self.delay * PENDING_SHARE:
            return ExportTaskStatus.PENDING
        return ExportTaskStatus.RUNNING

    def advance(self) -> None:
        """Settle every task whose time has come."""
        with self._lock:
            now = self._monotonic()
            for task in self._tasks.values():
                if task.code is None and now - task.started >= self.delay:
                    self._settle(task)

    def _region_tasks(self, region: str, account: str | None = None) -> list[ExportTask]:
        """One account's tasks in a region (the sandbox's own account by default)."""
        account = account or self.account
        return sorted(
            (t for t in self._tasks.values() if t.region == region and t.account == account),
            key=lambda t: t.seq,
            reverse=True,  # newest first, as DescribeExportTasks lists them
        )

    # -- the service's checks

    def _destination(
        self,
        region: str,
        bucket: str,
        prefix: str,
        owner: str | None = None,
        source: str | None = None,
        caller: str | None = None,
    ) -> Destination:
        """The bucket's account's destination, as an export from ``source`` sees it."""
        owner = owner or self.account
        return Destination(
            region,
            owner,
            PARTITION,
            bucket,
            prefix,
            source_accounts=(source,) if source and source != owner else (),
            callers=(caller,) if caller and source and source != owner else (),
        )

    def _check_bucket_request(
        self, policy: PolicyDocument | None, step: ServiceRequest, resource: str | None = None
    ) -> None:
        request = step.request if resource is None else replace(step.request, resource=resource)
        # No bucket policy: the service principal is implicitly denied (it needs a grant).
        if not evaluate(policy, request).allowed or self.org_denies(request):
            raise ApiError(EXPORT_DENIED_CODE, step.aws_error)

    def _check_key(self, crypto: BucketCrypto, steps: Sequence[ServiceRequest], skip: str) -> None:
        """The KMS requests S3 makes for these objects; ``skip``: the steps that are not for
        them (the test object's at the data write, and the other way round)."""
        if crypto.algorithm not in (SSE_KMS, DSSE_KMS):
            return
        if key_unusable_by_s3(crypto):
            raise ApiError(EXPORT_DENIED_CODE, ERR_PUT_OBJECT_KMS)
        assert crypto.key is not None
        policy = self.seen.key_policy(crypto.key)
        for step in steps:
            if step.target != "key" or step.step.endswith(skip):
                continue
            if not evaluate(policy, step.request).allowed or self.org_denies(step.request):
                raise ApiError(EXPORT_DENIED_CODE, step.aws_error)

    def create(
        self, region: str, params: Mapping[str, Any], caller: tuple[str, str | None] = ("", None)
    ) -> dict[str, Any]:
        """CreateExportTask. ``caller``: (account, principal ARN) of the credentials; the
        task runs in that account (its log group) and may export to a bucket of another."""
        account = caller[0] or self.account
        caller_principal = caller[1] or caller_arn(account)
        log_group = params.get("logGroupName")
        destination = params.get("destination")
        from_ms, to_ms = params.get("from"), params.get("to")
        for name, value in (
            ("logGroupName", log_group),
            ("destination", destination),
            ("from", from_ms),
            ("to", to_ms),
        ):
            if value is None:
                raise ApiError(
                    "InvalidParameterException",
                    f"1 validation error detected: Value null at '{name}' failed to satisfy "
                    "constraint: Member must not be null",
                )
        if not isinstance(from_ms, int) or not isinstance(to_ms, int) or from_ms > to_ms:
            raise ApiError(
                "InvalidParameterException",
                "Specified time range is not valid: 'from' must be a time before 'to', both in "
                "milliseconds since the epoch.",
            )
        assert isinstance(log_group, str) and isinstance(destination, str)
        given_prefix = params.get("destinationPrefix") or None
        prefix = given_prefix or DEFAULT_PREFIX
        stream_prefix = params.get("logStreamNamePrefix") or None

        with self._lock:
            self.advance()
            found = find_bucket(destination)
            if found is None:
                raise ApiError("InvalidParameterException", ERR_BUCKET_MISSING)
            owner, bucket = found
            if bucket.region_name != region:
                raise ApiError("InvalidParameterException", ERR_BUCKET_OTHER_REGION)
            if log_group not in logs_backends[account][region].groups:
                raise ApiError("ResourceNotFoundException", ERR_LOG_GROUP_MISSING)
            now = self._monotonic()
            tasks = self._region_tasks(region, account)
            if any(self._code(t, now) in ACTIVE_TASK_STATUSES for t in tasks):
                raise ApiError("LimitExceededException", ERR_LIMIT_EXCEEDED)

            crypto = self.seen.bucket_crypto(owner, bucket)
            key_arn = crypto.key.arn if crypto.key is not None else None
            test_key = self._test_object_key(given_prefix)
            dest = self._destination(region, destination, prefix, owner, account, caller_principal)
            policy = self.seen.bucket_policy(bucket)
            if account != owner:
                # Another account's bucket: the caller itself must be let in first.
                self._check_caller(dest, caller_principal, crypto, bucket, policy)
            steps = service_requests(
                dest,
                log_group,
                key_arn,
                bucket_key=crypto.bucket_key,
                test_object=test_key,
                source_account=account,
            )
            for step in steps:
                if step.step == "GetBucketAcl" or step.step == STEP_PUT_TEST_OBJECT:
                    self._check_bucket_request(policy, step)
            self._check_key(crypto, steps, skip="(exported data)")

            self._seq += 1
            task = ExportTask(
                task_id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                region=region,
                account=account,
                seq=self._seq,
                name=params.get("taskName") or None,
                log_group=log_group,
                from_ms=from_ms,
                to_ms=to_ms,
                destination=destination,
                prefix=prefix,
                stream_prefix=stream_prefix,
                started=now,
                created_ms=self._now_ms(),
            )
            self._put(owner, bucket, crypto, test_key, TEST_OBJECT_BODY)
            self._tasks[task.task_id] = task
            if self.delay == 0:
                self._settle(task)
            return {"taskId": task.task_id}

    def record_finished(
        self,
        *,
        region: str,
        account: str,
        log_group: str,
        destination: str,
        prefix: str,
        code: ExportTaskStatus = ExportTaskStatus.COMPLETED,
        message: str | None = None,
        age_ms: int = 3_600_000,
    ) -> str:
        """An export task the account ran before the sandbox started (its history, for a
        scenario): settled, ``age_ms`` ago, nothing written. Returns its id."""
        with self._lock:
            self._seq += 1
            created = self._now_ms() - age_ms
            task = ExportTask(
                task_id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                region=region,
                account=account,
                seq=self._seq,
                name=None,
                log_group=log_group,
                from_ms=created - 86_400_000,
                to_ms=created,
                destination=destination,
                prefix=prefix,
                stream_prefix=None,
                started=self._monotonic() - age_ms / 1000,
                created_ms=created,
                code=code,
                message=message,
                completed_ms=created + 60_000,
            )
            self._tasks[task.task_id] = task
            return task.task_id

    @staticmethod
    def _test_object_key(given_prefix: str | None) -> str:
        if given_prefix is None and TEST_OBJECT_AT_ROOT_WITHOUT_PREFIX:
            return TEST_OBJECT_NAME
        return test_object_key(given_prefix or DEFAULT_PREFIX)

    def _check_caller(
        self,
        dest: Destination,
        caller: str,
        crypto: BucketCrypto,
        bucket: FakeBucket,
        policy: PolicyDocument | None,
    ) -> None:
        """CreateExportTask into another account's bucket: its caller needs what
        requirements.CROSS_ACCOUNT_CALLER_NEEDS lists, from the bucket's and the key's
        policies (the caller's own IAM policy is not judged here: see the README)."""
        kms = crypto.algorithm in (SSE_KMS, DSSE_KMS) and crypto.key is not None
        key_arn = crypto.key.arn if kms and crypto.key is not None else None
        # moto keeps the rule as it was given (a string, or the parsed XML of the API).
        acls = OWNER_ENFORCED not in json.dumps(getattr(bucket, "ownership_rule", None) or "")
        for step in caller_requests(dest, caller, key_arn, acls_enabled=acls):
            if step.target == "bucket":
                allowed = evaluate(policy, step.request).allowed
            else:
                assert crypto.key is not None
                allowed = evaluate(self.seen.key_policy(crypto.key), step.request).allowed
            if not allowed or self.org_denies(step.request):
                raise ApiError("AccessDeniedException", step.aws_error)

    def _put(
        self, owner: str, bucket: FakeBucket, crypto: BucketCrypto, key: str, data: bytes
    ) -> None:
        s3 = s3_backends[owner][PARTITION]
        kms = crypto.algorithm in (SSE_KMS, DSSE_KMS)
        s3.put_object(
            bucket.name,
            key,
            data,
            # S3 encrypts every new object; without a default rule it uses SSE-S3.
            encryption=crypto.algorithm or SSE_S3,
            kms_key_id=crypto.key.arn if kms and crypto.key is not None else None,
            bucket_key_enabled=("true" if crypto.bucket_key else "false") if kms else None,
            disable_notification=True,
        )

    def _settle(self, task: ExportTask) -> None:
        """The end of a task: write the data, or FAILED when it can no longer be written."""
        task.completed_ms = self._now_ms()
        try:
            self._write_data(task)
        except ApiError as error:
            task.code, task.message = ExportTaskStatus.FAILED, error.message
        else:
            task.code, task.message = ExportTaskStatus.COMPLETED, "Completed successfully"

    def _write_data(self, task: ExportTask) -> None:
        found = find_bucket(task.destination)
        if found is None:
            raise ApiError("InvalidParameterException", ERR_BUCKET_MISSING)
        owner, bucket = found
        group = logs_backends[task.account][task.region].groups.get(task.log_group)
        objects: list[tuple[str, bytes]] = []
        for name in sorted(group.streams if group else ()):
            if task.stream_prefix and not name.startswith(task.stream_prefix):
                continue
            lines = [
                export_line(event.timestamp, event.message)
                for event in group.streams[name].events  # type: ignore[union-attr]
                if task.from_ms <= event.timestamp <= task.to_ms
            ]
            if lines:
                data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
                objects.append((data_object_key(task.prefix, task.task_id, name), data))
        crypto = self.seen.bucket_crypto(owner, bucket)
        key_arn = crypto.key.arn if crypto.key is not None else None
        policy = self.seen.bucket_policy(bucket)
        dest = self._destination(task.region, task.destination, task.prefix, owner, task.account)
        # Each data object is judged with its real key (task id and stream folder): its ARN
        # is the encryption context when S3 Bucket Key is off.
        for key, _ in objects:
            steps = service_requests(
                dest,
                task.log_group,
                key_arn,
                bucket_key=crypto.bucket_key,
                data_object=key,
                source_account=task.account,
            )
            data_step = next(s for s in steps if s.step == STEP_PUT_DATA)
            self._check_bucket_request(policy, data_step)
            self._check_key(crypto, steps, skip="(test object)")
        for key, data in objects:
            self._put(owner, bucket, crypto, key, data)

    # -- the API

    def describe(
        self, region: str, params: Mapping[str, Any], account: str | None = None
    ) -> dict[str, Any]:
        limit = params.get("limit", MAX_DESCRIBE_LIMIT)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_DESCRIBE_LIMIT:
            raise ApiError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                f"constraint: Member must have value between 1 and {MAX_DESCRIBE_LIMIT}",
            )
        status = params.get("statusCode")
        if status is not None and status not in STATUS_CODES:
            raise ApiError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{status}' at 'statusCode' failed to "
                "satisfy constraint: Member must satisfy enum value set: "
                f"{[str(s) for s in STATUS_CODES]}",
            )
        offset = _decode_token(params.get("nextToken"))
        with self._lock:
            self.advance()
            now = self._monotonic()
            tasks = [
                t
                for t in self._region_tasks(region, account)
                if params.get("taskId") in (None, t.task_id)
                and status in (None, self._code(t, now))
            ]
            page = tasks[offset : offset + limit]
            result: dict[str, Any] = {"exportTasks": [self._json(t, now) for t in page]}
        if offset + limit < len(tasks):
            result["nextToken"] = _encode_token(offset + limit)
        return result

    def _json(self, task: ExportTask, now: float) -> dict[str, Any]:
        status: dict[str, str] = {"code": self._code(task, now)}
        if task.message:
            status["message"] = task.message
        info: dict[str, int] = {"creationTime": task.created_ms}
        if task.completed_ms is not None:
            info["completionTime"] = task.completed_ms
        data: dict[str, Any] = {
            "taskId": task.task_id,
            "logGroupName": task.log_group,
            "from": task.from_ms,
            "to": task.to_ms,
            "destination": task.destination,
            "destinationPrefix": task.prefix,
            "status": status,
            "executionInfo": info,
        }
        if task.name:
            data["taskName"] = task.name
        return data

    def cancel(
        self, region: str, params: Mapping[str, Any], account: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            self.advance()
            task = self._tasks.get(str(params.get("taskId")))
            if task is None or task.region != region or task.account != (account or self.account):
                raise ApiError("ResourceNotFoundException", ERR_TASK_MISSING)
            if self._code(task, self._monotonic()) not in ACTIVE_TASK_STATUSES:
                raise ApiError("InvalidOperationException", ERR_TASK_FINISHED)
            task.code, task.message = ExportTaskStatus.CANCELLED, "Cancelled by user"
            task.completed_ms = self._now_ms()
        return {}


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox-export-tasks:{offset}".encode()).decode()


def _decode_token(token: Any) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(token).encode()).decode()
        name, _, number = text.rpartition(":")
        if name == "sandbox-export-tasks" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError("InvalidParameterException", "The specified nextToken is invalid.")
