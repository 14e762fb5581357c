"""A Flow with hand-built answers: deterministic screens for the SVG snapshots.

The Review is built by the real core (doctor + planner) from a hand-built Snapshot, so the
snapshots show what the wizard really says about such a bucket.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.policies import deny_insecure_transport
from wizard.aws.apply import ApplyResult, StepResult
from wizard.aws.export import (
    ExportedObject,
    ExportRequest,
    ExportResult,
    ObjectEncryption,
)
from wizard.aws.inventory import KeyOption, LogGroupSummary
from wizard.core import doctor
from wizard.core import plan as core_plan
from wizard.core.arn import bucket_arn, object_arn
from wizard.core.change import Plan
from wizard.core.errors import ExportBusy
from wizard.core.outcomes import StepStatus
from wizard.core.presets import suggested_bucket_name
from wizard.core.state import (
    BucketEncryption,
    BucketState,
    Choices,
    ExportTaskInfo,
    ExportTaskStatus,
    Identity,
    KeyState,
    PublicAccessBlock,
    Snapshot,
)
from wizard.flow import BucketHealth, BucketOption, Flow, Review, WizardState
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp
from wizard.tui.connection import Connection

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
NOW_MS = 1_795_680_000_000  # 2026-11-26T07:20:00Z: every "ago" on screen is relative to it
IDENTITY = Identity(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
AWS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/9f8e7d6c-5b4a-3c2d-1e0f-a1b2c3d4e5f6"
BROKEN = "demo-broken-exports"
ORG_ONLY = "demo-org-only"
TASK_ID = "0f6b2c1e-8d4a-4b7e-9c3f-5a1d2e3f4a5b"
JOURNAL = Path("/home/alice/.local/state/cwl-export-wizard/apply-20261126T072000Z-4f2a9c.json")
ROOT_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
)


def key(
    alias: str,
    key_id: str,
    *,
    state: str = "Enabled",
    manager: str = "CUSTOMER",
    spec: str = "SYMMETRIC_DEFAULT",
    usage: str = "ENCRYPT_DECRYPT",
    rotation: bool | None = False,
) -> KeyState:
    return KeyState(
        reference=alias,
        exists=True,
        key_id=key_id,
        arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}",
        region=REGION,
        manager=manager,
        state=state,
        spec=spec,
        usage=usage,
        aliases=(alias,),
        policy=ROOT_POLICY,
        rotation_enabled=rotation,
    )


DEMO_KEY = key("alias/demo-exports", KEY_ID)
KEY_OPTIONS = [
    KeyOption(DEMO_KEY, True, None),
    KeyOption(
        key("alias/team-archive", "5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b", rotation=True), True, None
    ),
    KeyOption(
        key("alias/aws/s3", AWS_KEY_ARN.rsplit("/", 1)[1], manager="AWS"),
        False,
        "AWS managed key: its key policy cannot be changed to allow CloudWatch Logs",
    ),
    KeyOption(
        key("alias/demo-disabled", "7a7a7a7a-1111-2222-3333-444455556666", state="Disabled"),
        False,
        "disabled: only Enabled keys can encrypt",
    ),
    KeyOption(
        key(
            "alias/demo-signing",
            "8b8b8b8b-1111-2222-3333-444455556666",
            spec="RSA_2048",
            usage="SIGN_VERIFY",
        ),
        False,
        "asymmetric or not for encryption (RSA_2048, SIGN_VERIFY)",
    ),
]

BUCKETS = [
    BucketOption(BROKEN, REGION, True),
    BucketOption("demo-sse-s3", REGION, True),
    BucketOption(ORG_ONLY, REGION, True),
    BucketOption("team-exports", REGION, True),
    BucketOption(
        "demo-other-region", "us-west-2", False, f"in us-west-2: exports need a bucket in {REGION}"
    ),
]
HEALTH = {
    BROKEN: BucketHealth(
        "SSE-KMS (alias/aws/s3)",
        False,
        "2 problem(s)",
        (
            "The bucket policy does not let CloudWatch Logs read the bucket's ACL.",
            "The bucket is encrypted with the AWS managed key aws/s3.",
        ),
    ),
    "demo-sse-s3": BucketHealth(
        "SSE-S3",
        False,
        "1 problem(s)",
        ("The bucket policy does not let CloudWatch Logs read the bucket's ACL.",),
    ),
    ORG_ONLY: BucketHealth(
        "SSE-KMS (alias/demo-exports)",
        False,
        "1 problem(s)",
        ("The bucket policy's statement 'DenyOutsideOrganization' denies CloudWatch Logs.",),
        blockers=1,
    ),
    "team-exports": BucketHealth("SSE-KMS (alias/team-archive)", True, "ready"),
}


def group(name: str, stored: int, created_days: int, last_ago_ms: int | None) -> LogGroupSummary:
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
    last = None if last_ago_ms is None else NOW_MS - last_ago_ms
    return LogGroupSummary(name, arn, stored, NOW_MS - created_days * 86_400_000, last)


GROUPS = [
    group("/aws/lambda/demo-fn", 6_350, 3, 4 * 60_000),
    group("/aws/lambda/orders-api", 2_510, 9, 3 * 3_600_000),
    group("/ecs/web", 1_320_000, 40, None),
]

SAMPLE = (
    "2026-11-26T07:16:02.114Z START RequestId: 8f1c2d3e-4b5a-4c6d-9e8f-0a1b2c3d4e5f "
    "Version: $LATEST",
    "2026-11-26T07:16:02.131Z [INFO] order received: ord-7f3a (3 items, 129.50 EUR)",
    "2026-11-26T07:16:02.187Z [INFO] payment authorised for ord-7f3a",
    "2026-11-26T07:16:02.205Z END RequestId: 8f1c2d3e-4b5a-4c6d-9e8f-0a1b2c3d4e5f",
    "2026-11-26T07:16:02.205Z REPORT RequestId: 8f1c2d3e-4b5a-4c6d-9e8f-0a1b2c3d4e5f "
    "Duration: 91.20 ms Billed Duration: 92 ms Memory Size: 128 MB Max Memory Used: 61 MB",
)


def _logs_principal() -> dict[str, str]:
    return {"Service": f"logs.{REGION}.amazonaws.com"}


def bucket_state(name: str) -> BucketState:
    """The hand-built buckets: broken (aws/s3 key, no GetBucketAcl), org-only (a foreign Deny)."""
    source = {
        "StringEquals": {
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceAccount": [ACCOUNT],
        },
        "ArnLike": {"aws:SourceArn": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"]},
    }
    put_object = {
        "Sid": "AllowCloudWatchLogsPutObject",
        "Effect": "Allow",
        "Principal": _logs_principal(),
        "Action": "s3:PutObject",
        "Resource": object_arn(name, "*"),
        "Condition": source,
    }
    if name == ORG_ONLY:
        statements: list[dict[str, Any]] = [
            {
                "Sid": "DenyOutsideOrganization",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn(name), object_arn(name, "*")],
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
            },
            put_object,
        ]
        encryption = BucketEncryption("aws:kms", KEY_ARN, True)
    else:
        statements = [
            deny_insecure_transport(name),
            put_object,
        ]
        encryption = BucketEncryption("aws:kms", AWS_KEY_ARN, True)
    return BucketState(
        name=name,
        exists=True,
        region=REGION,
        encryption=encryption,
        policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        object_ownership="BucketOwnerEnforced",
        public_access_block=PublicAccessBlock(),
    )


class FakeFlow(Flow):
    """Flow's API over the hand-built data above; no AWS, no threads of its own."""

    def __init__(self, *, busy_export: bool = False) -> None:
        self.journal_dir = None
        self.source = None
        self._keys = {}
        self.busy_export = busy_export
        self.prepared: list[str] = []  # regions whose clients were prepared
        self.listings = 0  # key listings made

    def prepare_clients(self, region: str) -> None:
        self.prepared.append(region)

    @property
    def default_region(self) -> str:
        return REGION

    def identity(self) -> Identity:
        return IDENTITY

    def export_profile(self) -> str | None:
        return None  # no profile: the default credential chain

    def regions(self) -> list[str]:
        return [
            "ap-northeast-1",
            "ap-southeast-1",
            "eu-central-1",
            "eu-west-1",
            "us-east-1",
            "us-west-2",
        ]

    def keys(
        self,
        region: str,
        on_page: Callable[[list[KeyOption]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[KeyOption]:
        # As AWS lists them: rotation is read afterwards (key_rotations).
        self.listings += 1
        listed = [replace(o, key=replace(o.key, rotation_enabled=None)) for o in KEY_OPTIONS]
        self._keys[region] = listed
        return listed

    def key_rotations(
        self,
        region: str,
        keys: Iterable[KeyState],
        on_batch: Callable[[dict[str, bool | None]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, bool | None]:
        known = {o.key.key_id: o.key.rotation_enabled for o in KEY_OPTIONS}
        found = {k.key_id: known.get(k.key_id) for k in keys if k.rotation_applies and k.key_id}
        if on_batch is not None and found:
            on_batch(found)
        return found

    def buckets(self, region: str) -> list[BucketOption]:
        return list(BUCKETS)

    def region_buckets(self, region: str) -> list[BucketOption]:
        return [b for b in BUCKETS if b.usable]

    def other_region_buckets(self, region: str) -> list[BucketOption]:
        return [b for b in BUCKETS if not b.usable]

    def suggested_bucket(self, region: str) -> str:
        return suggested_bucket_name(ACCOUNT, region)

    def bucket_availability(self, name: str) -> str | None:
        if name in HEALTH:
            return f"You already own {name}: select it in the list instead of creating it."
        return None

    def bucket_health(self, region: str, name: str, key_arn: str | None) -> BucketHealth:
        return HEALTH[name]

    def repair_state(self, bucket: str) -> WizardState:
        return WizardState(region=REGION, bucket=bucket, key=KEY_ARN, repair=True)

    def snapshot(self, choices: Choices) -> Snapshot:
        if choices.create_bucket:
            bucket = BucketState(name=choices.bucket, exists=False)
        else:
            bucket = bucket_state(choices.bucket)
        chosen = None if choices.create_key_alias else DEMO_KEY
        return Snapshot(IDENTITY, REGION, bucket, chosen)

    def review(self, choices: Choices) -> Review:
        snap = self.snapshot(choices)
        findings = tuple(doctor.diagnose(snap, choices))
        return Review(snap, findings, core_plan.build(snap, choices))

    def apply(
        self,
        plan: Plan,
        on_step: Callable[[StepResult], None] | None = None,
        cancel: threading.Event | None = None,
        **_: Any,
    ) -> ApplyResult:
        steps = []
        for change in plan.changes:
            step = StepResult(change, StepStatus.APPLIED, "done")
            steps.append(step)
            if on_step is not None:
                on_step(step)
        return ApplyResult(JOURNAL, tuple(steps), KEY_ARN)

    def log_groups(self, region: str, pattern: str | None = None) -> list[LogGroupSummary]:
        return [g for g in GROUPS if not pattern or g.name.startswith(pattern)]

    def start_export(self, request: ExportRequest, **options: Any) -> str:
        if self.busy_export:
            raise ExportBusy(
                ExportTaskInfo(
                    "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
                    "/aws/lambda/orders-api",
                    ExportTaskStatus.RUNNING,
                ),
                request.region,
            )
        return TASK_ID

    def wait_export(
        self,
        region: str,
        task_id: str,
        on_status: Callable[[ExportTaskInfo, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportTaskInfo:
        return ExportTaskInfo(
            TASK_ID,
            "/aws/lambda/demo-fn",
            ExportTaskStatus.COMPLETED,
            from_ms=NOW_MS - 86_400_000,
            to_ms=NOW_MS,
        )

    def collect_export(
        self, request: ExportRequest, task: ExportTaskInfo, lines: int = 10
    ) -> ExportResult:
        return export_result(request.bucket, request.prefix)


def export_result(bucket: str, prefix: str) -> ExportResult:
    key = f"{prefix}/{TASK_ID}/2026-11-26-[$LATEST]3f1a9c0e5b7d4e2f8a6c1b0d9e8f7a6b/000000.gz"
    task = ExportTaskInfo(
        TASK_ID,
        "/aws/lambda/demo-fn",
        ExportTaskStatus.COMPLETED,
        destination=bucket,
        prefix=prefix,
        from_ms=NOW_MS - 86_400_000,
        to_ms=NOW_MS,
    )
    obj = ExportedObject(
        key, f"s3://{bucket}/{key}", 1_187, ObjectEncryption("aws:kms", KEY_ARN, True)
    )
    return ExportResult(task, (obj,), SAMPLE, None)


def fake_app(
    start: Any,
    state: WizardState | None = None,
    *,
    sandbox: bool = True,
    flow: FakeFlow | None = None,
) -> WizardApp:
    """An app on the fake flow, at ``start``, with a frozen clock and no cursor blink."""
    connection = Connection(
        flow or FakeFlow(),
        IDENTITY,
        tuple((flow or FakeFlow()).regions()),
        "local AWS sandbox (demo)" if sandbox else "AWS profile prod",
        sandbox=sandbox,
    )
    return WizardApp(
        LaunchOptions(demo=sandbox),
        connection=connection,
        state=state,
        start=start,
        clock=lambda: NOW_MS / 1000,
    )
