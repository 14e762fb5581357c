"""The probe export: the smallest real export that makes AWS answer for a destination.

Its window is the last minute, so it writes at most AWS's ``aws-logs-write-test`` object and
the few lines a log group got in that minute, under the chosen prefix. It never starts while
another export task is active (one per account and region), unless the caller chose to wait
for that task; it never cancels anyone's task. Its answer is a ``core.verify.Observation``:
what AWS said, verbatim.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard.aws import export as aws_export
from wizard.aws import journal
from wizard.aws.inventory import list_active_tasks
from wizard.aws.session import AwsSession
from wizard.core.errors import ExportBusy, ExportRefused
from wizard.core.state import ExportTaskInfo, ExportTaskStatus
from wizard.core.verify import Observation, Outcome

PROBE_WINDOW_MS = 60_000  # about a minute: the test object and a few lines at most
TASK_OUTCOMES = {
    ExportTaskStatus.COMPLETED: Outcome.COMPLETED,
    ExportTaskStatus.FAILED: Outcome.FAILED,
    ExportTaskStatus.CANCELLED: Outcome.CANCELLED,
}


def probe_request(
    region: str, log_group: str, bucket: str, prefix: str, now_ms: int | None = None
) -> aws_export.ExportRequest:
    """The probe's request: the last minute of ``log_group`` into ``bucket``/``prefix``."""
    to_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    return aws_export.ExportRequest(
        region=region,
        log_group=log_group,
        bucket=bucket,
        prefix=prefix,
        from_ms=to_ms - PROBE_WINDOW_MS,
        to_ms=to_ms,
    )


def make_room(
    session: AwsSession,
    region: str,
    *,
    wait: bool,
    on_status: Callable[[ExportTaskInfo, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """No export task may be active when the probe starts: raise ExportBusy, or (``wait``)
    wait until the active one has finished. The other task is never cancelled."""
    active = list_active_tasks(session, region)
    if not active:
        return
    if not wait:
        raise ExportBusy(active[0], region)
    aws_export.wait_until_idle(session, region, on_status=on_status, cancel=cancel)


def run(
    session: AwsSession,
    request: aws_export.ExportRequest,
    start: Callable[[], str],
    *,
    wait_if_busy: bool = False,
    on_status: Callable[[ExportTaskInfo, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Observation:
    """Run the probe: ``start`` creates the task (it may retry while changes propagate) and
    returns its id; AWS's refusal or the task's end becomes the observation."""
    make_room(session, request.region, wait=wait_if_busy, on_status=on_status, cancel=cancel)
    try:
        task_id = start()
    except ExportRefused as refused:
        return Observation(Outcome.REFUSED, refused.aws_error)
    except ExportBusy:
        # Another task started between the look and the start (someone else's export).
        make_room(session, request.region, wait=wait_if_busy, on_status=on_status, cancel=cancel)
        try:
            task_id = start()
        except ExportRefused as refused:
            return Observation(Outcome.REFUSED, refused.aws_error)
    task = aws_export.wait(session, request.region, task_id, on_status=on_status, cancel=cancel)
    outcome = TASK_OUTCOMES.get(task.status, Outcome.FAILED)
    message = task.status_message if outcome is not Outcome.COMPLETED else None
    return Observation(outcome, message, task_id)


# --- what was reproduced, for the proof ----------------------------------------------------

RECORD_GLOB = "verify-*.json"


def save_record(directory: Path, record: Mapping[str, Any]) -> Path:
    """Keep a verification (privately, beside the apply journals): a later proof (test-export
    --report, the Result's before/after card) shows the error it reproduced."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = journal.private_dir(directory) / f"verify-{stamp}-{secrets.token_hex(3)}.json"
    journal.write_private(path, json.dumps(dict(record), indent=2) + "\n")
    return path


def latest_record(
    directory: Path, bucket: str, prefix: str, *, before: str | None = None
) -> dict[str, Any] | None:
    """The newest kept verification of ``bucket``/``prefix`` that reproduced a refusal;
    ``before``: made no later than this ISO-8601 UTC time (a change's)."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob(RECORD_GLOB), reverse=True):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        if before is not None and str(data.get("time", "")) > before:
            continue
        if data.get("bucket") == bucket and data.get("prefix") == prefix:
            observed = data.get("observed")
            if isinstance(observed, dict) and observed.get("aws_error"):
                return data
    return None
