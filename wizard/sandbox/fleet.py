"""``sandbox --scenario fleet``: six accounts, export destinations healthy and broken in every
documented way, across two or three regions, and an AWS config with a profile per account.

The sandbox's own account is the log archive; five more accounts are reached by assuming
their role ``fleet-surveyor`` through the sandbox's STS (as the central scenario's source
account is). One of them, ``fleet-legacy``, refuses that AssumeRole (AccessDenied), as an
account whose guardrails shut the survey out would. ``FLEET_DESTINATIONS`` is what a survey
must find, each with the finding the doctor gives it (None: healthy); the buckets of
``FLEET_DISTRACTIONS`` are no destination (no CloudWatch Logs grant, no export task).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.kms.models import kms_backends

from wizard.core.arn import account_root_arn, bucket_arn, key_arn, object_arn
from wizard.core.findings import FindingCode
from wizard.core.requirements import (
    POLICY_VERSION,
    bucket_statements,
    key_admin_statement,
    key_statements,
    new_key_policy,
    tls_only_statement,
)
from wizard.core.state import DSSE_KMS, SSE_KMS, SSE_S3, Destination, ExportTaskStatus

FLEET = "fleet"
FLEET_ROLE = "fleet-surveyor"
FLEET_ORG_ID = "o-fleet12345"
DENIED_MESSAGE = (
    "User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role} "
    "with an explicit deny in a service control policy"
)


@dataclass(frozen=True)
class FleetAccount:
    profile: str
    account: str
    denied: bool = False  # AssumeRole into its role is refused

    @property
    def role_arn(self) -> str | None:
        """The role a profile assumes; None for the sandbox's own account (its own keys)."""
        if self.account == DEFAULT_ACCOUNT_ID:
            return None
        return f"arn:aws:iam::{self.account}:role/{FLEET_ROLE}"


FLEET_ACCOUNTS = (
    FleetAccount("fleet-log-archive", DEFAULT_ACCOUNT_ID),
    FleetAccount("fleet-payments", "111122223333"),
    FleetAccount("fleet-orders", "222233334444"),
    FleetAccount("fleet-search", "333344445555"),
    FleetAccount("fleet-data", "444455556666"),
    FleetAccount("fleet-legacy", "555566667777", denied=True),
)
_BY_PROFILE = {a.profile: a for a in FLEET_ACCOUNTS}


def fleet_regions(region: str) -> tuple[str, ...]:
    """The sandbox's region first, then us-east-1 and eu-west-1 (two or three regions)."""
    return tuple(dict.fromkeys((region, "us-east-1", "eu-west-1")))


class Kind(str, Enum):
    """How a seeded destination is set up, and so what the doctor finds."""

    HEALTHY = "healthy"
    SSE_S3 = "SSE-S3, granted: works, not under a customer key"
    AWS_MANAGED = "encrypted with aws/s3"
    NO_GET_BUCKET_ACL = "no s3:GetBucketAcl for CloudWatch Logs"
    KEY_POLICY = "the key policy leaves CloudWatch Logs out"
    KEY_CONTEXT = "the key's logs statement is for log-group encryption"
    KEY_DISABLED = "the key is disabled"
    ORG_DENY = "a Deny on aws:PrincipalOrgID"
    DSSE = "DSSE-KMS"
    GONE = "an export task's bucket that no longer exists"
    NO_POLICY = "an export task's bucket without a policy"
    OTHER_PREFIX = "granted for one prefix, exported to another"


# The finding each kind gives (the one a survey row must carry); None: healthy.
EXPECTED: dict[Kind, FindingCode | None] = {
    Kind.HEALTHY: None,
    Kind.SSE_S3: None,  # healthy, with the BUCKET_NOT_KMS warning
    Kind.AWS_MANAGED: FindingCode.KEY_AWS_MANAGED,
    Kind.NO_GET_BUCKET_ACL: FindingCode.BUCKET_POLICY_BLOCKS_GETBUCKETACL,
    Kind.KEY_POLICY: FindingCode.KEY_POLICY_BLOCKS_LOGS,
    Kind.KEY_CONTEXT: FindingCode.KEY_CONTEXT_MISMATCH,
    Kind.KEY_DISABLED: FindingCode.KEY_NOT_ENABLED,
    Kind.ORG_DENY: FindingCode.EXPLICIT_DENY,
    Kind.DSSE: FindingCode.BUCKET_DSSE_UNSUPPORTED,
    Kind.GONE: FindingCode.BUCKET_NOT_FOUND,
    Kind.NO_POLICY: FindingCode.BUCKET_POLICY_BLOCKS_GETBUCKETACL,
    Kind.OTHER_PREFIX: None,  # healthy for its own prefix; the task's prefix: see below
}
OTHER_PREFIX_TASK_PREFIX = "exportedlogs"
OTHER_PREFIX_FINDING = FindingCode.BUCKET_POLICY_BLOCKS_PUTOBJECT


@dataclass(frozen=True)
class Seeded:
    """One seeded bucket: its account, region (index into ``fleet_regions``), name, prefix."""

    profile: str
    region_index: int
    bucket: str
    prefix: str
    kind: Kind
    task: bool = False  # the account also ran an export task to it


FLEET_SEEDS = (
    Seeded("fleet-log-archive", 0, "fleet-archive-main", "exportedlogs", Kind.HEALTHY, task=True),
    Seeded("fleet-log-archive", 2, "fleet-archive-eu", "cwl", Kind.HEALTHY),
    Seeded("fleet-log-archive", 1, "fleet-archive-sse-s3", "exportedlogs", Kind.SSE_S3),
    Seeded("fleet-payments", 0, "fleet-payments-exports", "exportedlogs", Kind.AWS_MANAGED, True),
    Seeded("fleet-payments", 1, "fleet-payments-us", "exportedlogs", Kind.NO_GET_BUCKET_ACL),
    Seeded("fleet-payments", 2, "fleet-payments-eu", "exportedlogs", Kind.HEALTHY),
    Seeded("fleet-orders", 0, "fleet-orders-exports", "exportedlogs", Kind.KEY_POLICY),
    Seeded("fleet-orders", 1, "fleet-orders-us", "exportedlogs", Kind.KEY_CONTEXT),
    Seeded("fleet-orders", 0, "fleet-orders-gone", "exportedlogs", Kind.GONE, task=True),
    Seeded("fleet-search", 0, "fleet-search-exports", "app-logs", Kind.OTHER_PREFIX, task=True),
    Seeded("fleet-search", 2, "fleet-search-eu", "exportedlogs", Kind.KEY_DISABLED),
    Seeded("fleet-data", 0, "fleet-data-lake", "exportedlogs", Kind.ORG_DENY),
    Seeded("fleet-data", 1, "fleet-data-us", "exportedlogs", Kind.DSSE),
    Seeded("fleet-data", 2, "fleet-data-eu", "exportedlogs", Kind.NO_POLICY, task=True),
    Seeded("fleet-legacy", 0, "fleet-legacy-exports", "exportedlogs", Kind.HEALTHY, task=True),
)


@dataclass(frozen=True)
class ExpectedRow:
    profile: str
    account: str
    region: str
    bucket: str
    prefix: str
    finding: FindingCode | None  # None: healthy


def expected_rows(region: str) -> list[ExpectedRow]:
    """What a survey of every profile in every region must find (the denied account's
    destinations cannot be read: none of them)."""
    regions = fleet_regions(region)
    rows: list[ExpectedRow] = []
    for seed in FLEET_SEEDS:
        account = _BY_PROFILE[seed.profile]
        if account.denied:
            continue
        where = regions[min(seed.region_index, len(regions) - 1)]
        rows.append(
            ExpectedRow(
                seed.profile, account.account, where, seed.bucket, seed.prefix, EXPECTED[seed.kind]
            )
        )
        if seed.kind is Kind.OTHER_PREFIX:
            rows.append(
                ExpectedRow(
                    seed.profile,
                    account.account,
                    where,
                    seed.bucket,
                    OTHER_PREFIX_TASK_PREFIX,
                    OTHER_PREFIX_FINDING,
                )
            )
    return rows


def log_group_name(profile: str) -> str:
    return f"/aws/lambda/{profile.removeprefix('fleet-')}-fn"


# --------------------------------------------------------------------------- seeding


def seed_fleet(seeder: Any) -> None:
    """Fill moto's backends (``seeder``: scenarios._Seeder of the sandbox's own account)."""
    from moto.iam.models import iam_backends

    from wizard.sandbox import scenarios

    regions = fleet_regions(seeder.region)
    for account in FLEET_ACCOUNTS:
        if account.role_arn:
            trust = {
                "Version": POLICY_VERSION,
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": account_root_arn(seeder.account)},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            iam_backends[account.account]["aws"].create_role(
                FLEET_ROLE,
                json.dumps(trust),
                "/",
                None,
                "reads export destinations for the platform team's survey",
                [],
                None,
                None,
            )
        lines = [
            f"Handled request {n} for {account.profile.removeprefix('fleet-')}" for n in (1, 2, 3)
        ]
        for number, region in enumerate(regions):
            place = scenarios._Seeder(account.account, region, seeder.now_ms, seeder.rng)
            # A log group in every region a destination lives in: a repair opened from any
            # row can run its test export there.
            place.log_group(
                log_group_name(account.profile),
                {
                    scenarios._lambda_stream(seeder.rng): scenarios._lambda_events(
                        seeder.rng, region, seeder.now_ms - 40 * 60_000, 4, lines
                    )
                },
            )
            _distractions(place, account.profile, number)
    for seed in FLEET_SEEDS:
        account = _BY_PROFILE[seed.profile]
        region = regions[min(seed.region_index, len(regions) - 1)]
        place = scenarios._Seeder(account.account, region, seeder.now_ms, seeder.rng)
        _SETUP[seed.kind](place, seed)


def seed_fleet_tasks(tasks: Any, region: str) -> None:
    """The export tasks the accounts ran before (``tasks``: the sandbox's ExportTasks)."""
    regions = fleet_regions(region)
    for seed in FLEET_SEEDS:
        if not seed.task:
            continue
        account = _BY_PROFILE[seed.profile]
        where = regions[min(seed.region_index, len(regions) - 1)]
        prefix = OTHER_PREFIX_TASK_PREFIX if seed.kind is Kind.OTHER_PREFIX else seed.prefix
        failed = EXPECTED[seed.kind] is not None or seed.kind is Kind.OTHER_PREFIX
        tasks.record_finished(
            region=where,
            account=account.account,
            log_group=log_group_name(seed.profile),
            destination=seed.bucket,
            prefix=prefix,
            code=ExportTaskStatus.FAILED if failed else ExportTaskStatus.COMPLETED,
            message="Export failed." if failed else "Completed successfully",
        )


def _distractions(place: Any, profile: str, number: int) -> None:
    """Buckets that are no export destination: a CloudFront origin, and one without policy."""
    name = f"{profile}-assets-{number}"
    place.bucket(
        name,
        place.region,
        encryption=(SSE_S3, None, False),
        policy={
            "Version": POLICY_VERSION,
            "Statement": [
                {
                    "Sid": "AllowCloudFront",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": object_arn(name, "*"),
                }
            ],
        },
    )
    place.bucket(f"{profile}-backups-{number}", place.region, encryption=(SSE_S3, None, False))


FLEET_DISTRACTIONS = ("assets", "backups")


def _dest(place: Any, seed: Seeded) -> Destination:
    return Destination(place.region, place.account, "aws", seed.bucket, seed.prefix)


def _key(place: Any, seed: Seeded, policy: dict[str, Any] | None) -> str:
    alias, description = f"alias/{seed.bucket}", f"export key of {seed.bucket}"
    key = place.key(alias, description, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT")
    kms = kms_backends[place.account][place.region]
    if policy is not None:
        kms.put_key_policy(key.id, json.dumps(policy, indent=2))
    kms.enable_key_rotation(key.id)
    return key_arn(place.region, place.account, key.id)


def _bucket(
    place: Any,
    seed: Seeded,
    encryption: tuple[str, str | None, bool] | None,
    statements: Iterable[dict[str, Any]],
) -> None:
    listed = list(statements)
    policy = {"Version": POLICY_VERSION, "Statement": listed} if listed else None
    place.bucket(seed.bucket, place.region, encryption=encryption, policy=policy)


def _healthy(place: Any, seed: Seeded) -> None:
    dest = _dest(place, seed)
    arn = _key(place, seed, new_key_policy(dest))
    _bucket(place, seed, (SSE_KMS, arn, True), [*bucket_statements(dest), tls_only_statement(dest)])


def _sse_s3(place: Any, seed: Seeded) -> None:
    _bucket(place, seed, (SSE_S3, None, False), bucket_statements(_dest(place, seed)))


def _aws_managed(place: Any, seed: Seeded) -> None:
    from wizard.sandbox.scenarios import ensure_aws_managed_key

    aws_key = ensure_aws_managed_key(place.account, place.region)
    arn = key_arn(place.region, place.account, aws_key.id)
    _bucket(place, seed, (SSE_KMS, arn, True), bucket_statements(_dest(place, seed)))


def _no_get_bucket_acl(place: Any, seed: Seeded) -> None:
    dest = _dest(place, seed)
    arn = _key(place, seed, new_key_policy(dest))
    put_only = [s for s in bucket_statements(dest) if s["Action"] == "s3:PutObject"]
    _bucket(place, seed, (SSE_KMS, arn, True), put_only)


def _key_policy(place: Any, seed: Seeded) -> None:
    dest = _dest(place, seed)
    policy = {"Version": POLICY_VERSION, "Statement": [key_admin_statement(place.account)]}
    arn = _key(place, seed, policy)
    _bucket(place, seed, (SSE_KMS, arn, True), bucket_statements(dest))


def _key_context(place: Any, seed: Seeded) -> None:
    dest = _dest(place, seed)
    logs = dict(key_statements(dest)[0])
    logs["Sid"] = "AllowCloudWatchLogsLogGroupEncryption"
    logs["Condition"] = {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": (
                f"arn:aws:logs:{place.region}:{place.account}:log-group:*"
            )
        }
    }
    policy = {"Version": POLICY_VERSION, "Statement": [key_admin_statement(place.account), logs]}
    arn = _key(place, seed, policy)
    _bucket(place, seed, (SSE_KMS, arn, True), bucket_statements(dest))


def _key_disabled(place: Any, seed: Seeded) -> None:
    dest = _dest(place, seed)
    arn = _key(place, seed, new_key_policy(dest))
    kms_backends[place.account][place.region].disable_key(arn.rsplit("/", 1)[-1])
    _bucket(place, seed, (SSE_KMS, arn, True), bucket_statements(dest))


def _org_deny(place: Any, seed: Seeded) -> None:
    dest = _dest(place, seed)
    arn = _key(place, seed, new_key_policy(dest))
    deny = {
        "Sid": "DenyOutsideOrganization",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn(seed.bucket), object_arn(seed.bucket, "*")],
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": FLEET_ORG_ID}},
    }
    _bucket(place, seed, (SSE_KMS, arn, True), [deny, *bucket_statements(dest)])


def _dsse(place: Any, seed: Seeded) -> None:
    dest = _dest(place, seed)
    arn = _key(place, seed, new_key_policy(dest))
    _bucket(place, seed, (DSSE_KMS, arn, False), bucket_statements(dest))


def _gone(place: Any, seed: Seeded) -> None:
    """Nothing: the bucket was deleted after the export task ran."""


def _no_policy(place: Any, seed: Seeded) -> None:
    _bucket(place, seed, (SSE_S3, None, False), [])


def _other_prefix(place: Any, seed: Seeded) -> None:
    _healthy(place, seed)


_SETUP: dict[Kind, Callable[[Any, Seeded], None]] = {
    Kind.HEALTHY: _healthy,
    Kind.SSE_S3: _sse_s3,
    Kind.AWS_MANAGED: _aws_managed,
    Kind.NO_GET_BUCKET_ACL: _no_get_bucket_acl,
    Kind.KEY_POLICY: _key_policy,
    Kind.KEY_CONTEXT: _key_context,
    Kind.KEY_DISABLED: _key_disabled,
    Kind.ORG_DENY: _org_deny,
    Kind.DSSE: _dsse,
    Kind.GONE: _gone,
    Kind.NO_POLICY: _no_policy,
    Kind.OTHER_PREFIX: _other_prefix,
}


# --------------------------------------------------------------------------- the refusal


class FleetGate:
    """Refuses AssumeRole into a denied account's role, as an SCP would (WSGI middleware)."""

    def __init__(self, app: Any, region: str, latency_ms: int = 0, stopping: Any = None) -> None:
        self._app = app
        self._region = region
        self._latency = max(0, latency_ms) / 1000  # a refusal takes as long as an answer
        self._stopping = stopping
        self._denied = {a.role_arn for a in FLEET_ACCOUNTS if a.denied and a.role_arn}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from wizard.sandbox.incoming import parse_request
        from wizard.sandbox.preview import caller_arn
        from wizard.sandbox.wire import ApiError, render_error

        if environ.get("REQUEST_METHOD") == "POST" and "HTTP_X_AMZ_TARGET" not in environ:
            request = parse_request(environ, self._region)  # keeps the body for moto
            if request.operation == "AssumeRole" and request.params.get("RoleArn") in self._denied:
                if self._latency and self._stopping is not None:
                    self._stopping.wait(self._latency)
                error = ApiError(
                    "AccessDenied",
                    DENIED_MESSAGE.format(
                        caller=caller_arn(DEFAULT_ACCOUNT_ID), role=request.params["RoleArn"]
                    ),
                    403,
                )
                return render_error("sts", error).send(start_response)
        return self._app(environ, start_response)


# --------------------------------------------------------------------------- profiles


def profiles_text(endpoint_url: str, region: str, *, fleet: bool = True) -> str:
    """An AWS config file: one profile per fleet account. The log archive's profile holds the
    sandbox's keys; every other profile assumes its account's role from it. Another
    scenario has one account: one profile, ``sandbox``."""
    if not fleet:
        return (
            "[profile sandbox]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
            f"region = {region}\nendpoint_url = {endpoint_url}\n"
        )
    base = FLEET_ACCOUNTS[0].profile
    blocks = []
    for account in FLEET_ACCOUNTS:
        lines = [f"[profile {account.profile}]"]
        if account.role_arn is None:
            lines += ["aws_access_key_id = testing", "aws_secret_access_key = testing"]
        else:
            lines += [f"role_arn = {account.role_arn}", f"source_profile = {base}"]
        lines += [f"region = {region}", f"endpoint_url = {endpoint_url}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write_profiles(path: Path, endpoint_url: str, region: str, *, fleet: bool = True) -> None:
    path.write_text(profiles_text(endpoint_url, region, fleet=fleet), encoding="utf-8")
