"""Seeded scenarios: what the sandbox account holds when it starts.

Seeding goes straight into moto's backends (no HTTP round trips): the demo seeds in about a
quarter of a second, most of it moto making key material for the four KMS keys. Names are
fixed (tests and the README rely on them: its "Scenarios" paragraph); log timestamps are
relative to "now" so that a default 24-hour export window finds them. Identifiers come from a
seeded RNG, so two runs look the same.
"""

from __future__ import annotations

import gzip
import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import moto.kms.models as kms_models
from moto.kms.models import Key, kms_backends
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends

from wizard.core.arn import account_root_arn, bucket_arn, key_arn, logs_principal, object_arn
from wizard.core.errors import UsageError
from wizard.core.requirements import BUCKET_OWNER_FULL_CONTROL, POLICY_VERSION
from wizard.core.state import AWS_MANAGED_S3_ALIAS, KEY_MANAGER_AWS, SSE_KMS, SSE_S3
from wizard.sandbox.preview import CENTRAL_SOURCE_ACCOUNT

DEFAULT_SCENARIO = "demo"
SCENARIO_NAMES = ("demo", "empty", "broken", "central", "fleet")

# The demo's names (the README's "Scenarios" paragraph lists them).
DEMO_FN = "/aws/lambda/demo-fn"
ORDERS_API = "/aws/lambda/orders-api"
ECS_WEB = "/ecs/web"
KEY_EXPORTS = "alias/demo-exports"
KEY_DISABLED = "alias/demo-disabled"
KEY_SIGNING = "alias/demo-signing"
BUCKET_BROKEN = "demo-broken-exports"
BUCKET_SSE_S3 = "demo-sse-s3"
BUCKET_OTHER_REGION = "demo-other-region"
# Only in "broken": correct grants, defeated by an explicit Deny the logs principal cannot pass.
BUCKET_ORG_ONLY = "demo-org-only"
DEMO_ORG_ID = "o-demo123456"
# Lambda names a stream after the day it started; fixed so that names are reproducible.
DEMO_STREAM_DAY = "2026/11/26"

# The central scenario: a log archive account (the sandbox's own) and an application account.
CENTRAL_ROLE = "app-exporter"  # a role of the source account that runs exports
CENTRAL_ROLE_ARN = f"arn:aws:iam::{CENTRAL_SOURCE_ACCOUNT}:role/{CENTRAL_ROLE}"
CENTRAL_LOG_GROUP = "/aws/lambda/app-fn"
CENTRAL_BUCKET = "central-log-archive"
CENTRAL_KEY = "alias/central-exports"

GROUP_AGE_MS = 30 * 86_400_000  # how long before "now" the demo log groups were created

AWS_S3_KEY_DESCRIPTION = "Default key that protects my S3 objects when no other key is defined"
_aws_key_lock = threading.Lock()
_aws_key_ids: dict[tuple[str, str], str] = {}  # (account, region) -> aws/s3's key id
_key_pair_lock = threading.RLock()  # held while a scenario is seeded (the patch is global)
_shared_key_pairs_by_spec: dict[str, Any] = {}  # key spec -> the pair its keys share


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # What a presenter would pick in the wizard for this scenario.
    suggested: dict[str, str] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    "demo": Scenario(
        "demo",
        "Three log groups, three customer keys plus aws/s3, and three buckets that are not yet "
        "a working destination.",
        {"log_group": DEMO_FN, "bucket": BUCKET_BROKEN, "key": KEY_EXPORTS},
    ),
    "empty": Scenario("empty", "The account and region only.", {}),
    "central": Scenario(
        "central",
        "A central logging account: the demo, plus central-log-archive (SSE-KMS under "
        f"{CENTRAL_KEY}, ready for this account's own log groups), and an application account "
        f"{CENTRAL_SOURCE_ACCOUNT} whose {CENTRAL_LOG_GROUP} is to export there as the role "
        f"{CENTRAL_ROLE}.",
        {
            "log_group": CENTRAL_LOG_GROUP,
            "bucket": CENTRAL_BUCKET,
            "key": CENTRAL_KEY,
            "source_account": CENTRAL_SOURCE_ACCOUNT,
            "source_role": CENTRAL_ROLE_ARN,
        },
    ),
    "broken": Scenario(
        "broken",
        "The demo, plus a bucket whose grants are defeated by an organisation-only Deny: "
        "repair demo-broken-exports with alias/demo-exports.",
        {"log_group": DEMO_FN, "bucket": BUCKET_BROKEN, "key": KEY_EXPORTS},
    ),
    "fleet": Scenario(
        "fleet",
        "Six accounts (the sandbox's own and five reached by AssumeRole, one of which refuses "
        "it) with export destinations healthy and broken in every documented way, in two or "
        "three regions: survey them with doctor --all-profiles (sandbox --write-profiles).",
        {},
    ),
}


def check_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(
            f"Unknown sandbox scenario {name!r}.", f"Use one of: {', '.join(SCENARIO_NAMES)}."
        ) from None


def other_region(region: str) -> str:
    return "us-west-2" if region != "us-west-2" else "us-east-1"


# --------------------------------------------------------------------------- AWS managed key


def aws_managed_s3_key_policy(account: str, region: str) -> dict[str, Any]:
    """The policy AWS gives ``aws/s3``: usable through S3 by the account, changeable by nobody."""
    return {
        "Version": POLICY_VERSION,
        "Id": "auto-s3-2",
        "Statement": [
            {
                "Sid": "Allow access through S3 for all principals in the account that are "
                "authorized to use S3",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account,
                        "kms:ViaService": f"s3.{region}.amazonaws.com",
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": account_root_arn(account)},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*",
            },
        ],
    }


def ensure_aws_managed_key(account: str, region: str) -> Key:
    """The ``aws/s3`` key of this region, created on first use as AWS does.

    moto's own lazy ``alias/aws/s3`` key is a customer key with a fixed id that ListAliases
    and DescribeKey disagree on; this one is a real AWS managed key (KeyManager AWS).
    """
    backend = kms_backends[account][region]
    # Every KMS request of the sandbox asks: remember the key instead of scanning them all.
    known = backend.keys.get(_aws_key_ids.get((account, region), ""))
    if known is not None and AWS_MANAGED_S3_ALIAS in known.aliases:
        return known
    with _aws_key_lock:
        for key in backend.keys.values():
            if AWS_MANAGED_S3_ALIAS in key.aliases:
                _aws_key_ids[(account, region)] = key.id
                return key
        key = backend.create_key(
            json.dumps(aws_managed_s3_key_policy(account, region)),
            "ENCRYPT_DECRYPT",
            "SYMMETRIC_DEFAULT",
            AWS_S3_KEY_DESCRIPTION,
            None,
        )
        key.key_manager = KEY_MANAGER_AWS
        key.key_rotation_status = True  # AWS rotates its managed keys every year
        backend.create_alias(key.id, AWS_MANAGED_S3_ALIAS)
        _aws_key_ids[(account, region)] = key.id
        return key


def share_key_pairs() -> None:
    """From now on, the keys moto makes in this process share one key pair per key spec
    instead of making their own (once per process; the sandbox owns moto here).

    moto makes an RSA-2048 pair for every key, symmetric ones included (about 90 ms each):
    1,000 keys would take a minute and a half, and every CreateKey of a demo 90 ms again.
    Only Sign/Verify/GetPublicKey use the pair, and KMS refuses those for symmetric keys;
    two asymmetric keys sharing a public key is nothing this tool reads.
    """
    with _key_pair_lock:
        original = kms_models.generate_private_key
        if getattr(original, "shares_key_pairs", False):
            return

        def generate(key_spec: str) -> Any:
            spec = "RSA_2048" if key_spec in ("SYMMETRIC_DEFAULT", "", None) else key_spec
            with _key_pair_lock:
                if spec not in _shared_key_pairs_by_spec:
                    _shared_key_pairs_by_spec[spec] = original(spec)
                return _shared_key_pairs_by_spec[spec]

        generate.shares_key_pairs = True  # type: ignore[attr-defined]
        kms_models.generate_private_key = generate


# --------------------------------------------------------------------------- log events


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _request_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _lambda_events(
    rng: random.Random, region: str, start_ms: int, invocations: int, app_lines: list[str]
) -> list[dict[str, Any]]:
    """One Lambda execution environment: INIT, then START/app lines/END/REPORT per request."""
    events: list[dict[str, Any]] = []
    t = start_ms
    events.append(
        {
            "timestamp": t,
            "message": "INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: "
            f"arn:aws:lambda:{region}::runtime:0d4bb5e4b3e4d0b7e0e0c1c1f5a1b2c3d4e5f6a7",
        },
    )
    for n in range(invocations):
        t += 40 + rng.randrange(30) + (0 if n == 0 else 60_000 + rng.randrange(120_000))
        rid = _request_id(rng)
        events.append({"timestamp": t, "message": f"START RequestId: {rid} Version: $LATEST"})
        for line in rng.sample(app_lines, k=min(2, len(app_lines))):
            t += 1 + rng.randrange(40)
            events.append({"timestamp": t, "message": f"[INFO]\t{_iso(t)}\t{rid}\t{line}"})
        duration = 5 + rng.random() * 200
        t += int(duration)
        events.append({"timestamp": t, "message": f"END RequestId: {rid}"})
        report = (
            f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {int(duration) + 1} ms\tMemory Size: 128 MB\t"
            f"Max Memory Used: {60 + rng.randrange(20)} MB\t"
        )
        if n == 0:
            report += f"Init Duration: {120 + rng.random() * 100:.2f} ms\t"
        events.append({"timestamp": t, "message": report})
    return events


def _nginx_events(rng: random.Random, start_ms: int, count: int) -> list[dict[str, Any]]:
    paths = ["/", "/healthz", "/api/orders", "/api/orders/42", "/static/app.js"]
    events = []
    t = start_ms
    for _ in range(count):
        t += 5_000 + rng.randrange(200_000)
        stamp = datetime.fromtimestamp(t / 1000, tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S")
        path = rng.choice(paths)
        status = rng.choice([200, 200, 200, 304, 404])
        events.append(
            {
                "timestamp": t,
                "message": f"10.0.{rng.randrange(256)}.{rng.randrange(256)} - - [{stamp} +0000] "
                f'"GET {path} HTTP/1.1" {status} {rng.randrange(90_000)} "-" '
                '"ELB-HealthChecker/2.0"',
            }
        )
    return events


def _lambda_stream(rng: random.Random) -> str:
    return f"{DEMO_STREAM_DAY}/[$LATEST]{rng.getrandbits(128):032x}"


# --------------------------------------------------------------------------- seeding


@dataclass
class _Seeder:
    account: str
    region: str
    now_ms: int
    rng: random.Random

    def log_group(self, name: str, streams: dict[str, list[dict[str, Any]]]) -> None:
        backend = logs_backends[self.account][self.region]
        group = backend.create_log_group(name, {})
        # Created weeks before "now", a minute apart in seeding order (moto: the wall clock),
        # so that listings look alike on every run and sort the same way.
        created = self.now_ms - GROUP_AGE_MS + len(backend.groups) * 60_000
        group.creation_time = datetime.fromtimestamp(created / 1000, tz=timezone.utc).replace(
            tzinfo=None  # moto keeps naive UTC datetimes
        )
        for stream, events in streams.items():
            group.create_log_stream(stream)
            group.streams[stream].put_log_events(events)

    def key(self, alias: str, description: str, usage: str, spec: str) -> Key:
        backend = kms_backends[self.account][self.region]
        key = backend.create_key(None, usage, spec, description, None)
        backend.create_alias(key.id, alias)
        return key

    def bucket(
        self,
        name: str,
        region: str,
        encryption: tuple[str, str | None, bool] | None = None,
        policy: dict[str, Any] | None = None,
    ) -> None:
        s3 = s3_backends[self.account]["aws"]
        s3.create_bucket(name, region)
        # New buckets have had these defaults since 2023.
        s3.put_bucket_ownership_controls(name, "BucketOwnerEnforced")  # type: ignore[arg-type]
        s3.put_public_access_block(
            name,
            {
                "BlockPublicAcls": "true",
                "IgnorePublicAcls": "true",
                "BlockPublicPolicy": "true",
                "RestrictPublicBuckets": "true",
            },
        )
        if encryption:
            algorithm, kms_key, bucket_key = encryption
            default: dict[str, Any] = {"SSEAlgorithm": algorithm}
            if kms_key:
                default["KMSMasterKeyID"] = kms_key
            s3.put_bucket_encryption(
                name,
                {
                    "Rule": {
                        "ApplyServerSideEncryptionByDefault": default,
                        "BucketKeyEnabled": "true" if bucket_key else "false",
                    }
                },
            )
        if policy:
            s3.put_bucket_policy(name, json.dumps(policy, indent=2).encode())


def _seed_demo(s: _Seeder) -> None:
    rng = s.rng
    hour_ago = s.now_ms - 55 * 60_000
    demo_fn_lines = [
        "Handling event from EventBridge rule nightly-report",
        "Fetched 42 items from DynamoDB table demo-items",
        "Wrote report to s3://demo-reports/2026/11/26/report.csv",
        "Cache miss for key customer#1017",
    ]
    s.log_group(
        DEMO_FN,
        {
            _lambda_stream(rng): _lambda_events(
                # The newest events of the demo: the log group a picker offers first.
                rng,
                s.region,
                hour_ago + 1_500_000 + i * 600_000,
                4,
                demo_fn_lines,
            )
            for i in range(3)
        },
    )
    orders_lines = [
        'Received POST /orders {"items": 3, "total": 129.5}',
        "Order ord-7f3a created for customer 1017",
        "Payment authorised for order ord-7f3a",
        "Validation failed: missing shipping address",
    ]
    s.log_group(
        ORDERS_API,
        {_lambda_stream(rng): _lambda_events(rng, s.region, hour_ago + 300_000, 5, orders_lines)},
    )
    s.log_group(ECS_WEB, {f"web/web/{rng.getrandbits(128):032x}": _nginx_events(rng, hour_ago, 12)})

    aws_key = ensure_aws_managed_key(s.account, s.region)
    s.key(KEY_EXPORTS, "cwl-export-wizard demo: export key", "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT")
    disabled = s.key(
        KEY_DISABLED, "cwl-export-wizard demo: disabled key", "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT"
    )
    kms_backends[s.account][s.region].disable_key(disabled.id)
    s.key(KEY_SIGNING, "cwl-export-wizard demo: signing key", "SIGN_VERIFY", "RSA_2048")

    principal = {"Service": logs_principal(s.region)}
    source = {
        "StringEquals": {
            "s3:x-amz-acl": BUCKET_OWNER_FULL_CONTROL,
            "aws:SourceAccount": [s.account],
        },
        "ArnLike": {"aws:SourceArn": [f"arn:aws:logs:{s.region}:{s.account}:log-group:*"]},
    }
    s.bucket(
        BUCKET_BROKEN,
        s.region,
        encryption=(SSE_KMS, key_arn(s.region, s.account, aws_key.id), True),
        policy={
            "Version": POLICY_VERSION,
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn(BUCKET_BROKEN), object_arn(BUCKET_BROKEN, "*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "AllowCloudWatchLogsPutObject",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "s3:PutObject",
                    "Resource": object_arn(BUCKET_BROKEN, "*"),
                    "Condition": source,
                },
            ],
        },
    )
    s.bucket(BUCKET_SSE_S3, s.region, encryption=(SSE_S3, None, False))
    s.bucket(BUCKET_OTHER_REGION, other_region(s.region), encryption=(SSE_S3, None, False))


def _seed_broken(s: _Seeder) -> None:
    _seed_demo(s)
    principal = {"Service": logs_principal(s.region)}
    source_arn = f"arn:aws:logs:{s.region}:{s.account}:log-group:*"
    s.bucket(
        BUCKET_ORG_ONLY,
        s.region,
        encryption=(SSE_S3, None, False),
        policy={
            "Version": POLICY_VERSION,
            "Statement": [
                {
                    "Sid": "DenyOutsideOrganization",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn(BUCKET_ORG_ONLY), object_arn(BUCKET_ORG_ONLY, "*")],
                    "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": DEMO_ORG_ID}},
                },
                {
                    "Sid": "AllowCloudWatchLogsGetBucketAcl",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "s3:GetBucketAcl",
                    "Resource": bucket_arn(BUCKET_ORG_ONLY),
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": [s.account]},
                        "ArnLike": {"aws:SourceArn": [source_arn]},
                    },
                },
                {
                    "Sid": "AllowCloudWatchLogsPutObject",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "s3:PutObject",
                    "Resource": object_arn(BUCKET_ORG_ONLY, "*"),
                    "Condition": {
                        "StringEquals": {
                            "s3:x-amz-acl": BUCKET_OWNER_FULL_CONTROL,
                            "aws:SourceAccount": [s.account],
                        },
                        "ArnLike": {"aws:SourceArn": [source_arn]},
                    },
                },
            ],
        },
    )


def _seed_empty(s: _Seeder) -> None:
    pass


def _seed_central(s: _Seeder) -> None:
    """The demo, and a destination ready for its own account's log groups only; the source
    account has a log group and a role that may be assumed from the sandbox's account."""
    from moto.iam.models import iam_backends

    from wizard.core.requirements import bucket_statements, new_key_policy, tls_only_statement
    from wizard.core.state import Destination

    _seed_demo(s)
    dest = Destination(s.region, s.account, "aws", CENTRAL_BUCKET, "exportedlogs")
    key = s.key(
        CENTRAL_KEY, "central log archive: export key", "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT"
    )
    kms = kms_backends[s.account][s.region]
    kms.put_key_policy(key.id, json.dumps(new_key_policy(dest), indent=2))
    kms.enable_key_rotation(key.id)
    s.bucket(
        CENTRAL_BUCKET,
        s.region,
        encryption=(SSE_KMS, key_arn(s.region, s.account, key.id), True),
        policy={
            "Version": POLICY_VERSION,
            "Statement": [*bucket_statements(dest), tls_only_statement(dest)],
        },
    )
    source = _Seeder(CENTRAL_SOURCE_ACCOUNT, s.region, s.now_ms, s.rng)
    lines = [
        "Handling request GET /api/orders/1017",
        "Fetched 7 orders for customer 1017",
        "Rendered order history in 38 ms",
        "Upstream payments-api answered 200 in 112 ms",
    ]
    source.log_group(
        CENTRAL_LOG_GROUP,
        {
            _lambda_stream(s.rng): _lambda_events(
                s.rng, s.region, s.now_ms - 40 * 60_000 + i * 600_000, 4, lines
            )
            for i in range(2)
        },
    )
    trust = {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": account_root_arn(s.account)},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam_backends[CENTRAL_SOURCE_ACCOUNT]["aws"].create_role(
        CENTRAL_ROLE,
        json.dumps(trust),
        "/",
        None,
        "runs CloudWatch Logs exports into the central log archive",
        [],
        None,
        None,
    )


# The scenarios this module fills; the fleet's seeder builds on this module (fleet.py), and
# ``wizard.sandbox.seeding`` chooses among them all.
SEEDERS: dict[str, Callable[[_Seeder], None]] = {
    "demo": _seed_demo,
    "empty": _seed_empty,
    "broken": _seed_broken,
    "central": _seed_central,
}


def seed_with(
    seeder: Callable[[_Seeder], None],
    account: str,
    region: str,
    now_ms: int,
    rng_seed: int = 20261126,
) -> None:
    """Fill moto's (freshly reset) backends with ``seeder``."""
    share_key_pairs()
    seeder(_Seeder(account, region, now_ms, random.Random(f"scenario-{rng_seed}")))


# --------------------------------------------------------------------------- at scale

# AWS managed keys a real account accumulates as services are used (aws/s3 comes first).
AWS_MANAGED_ALIASES = (
    AWS_MANAGED_S3_ALIAS,
    "alias/aws/ebs",
    "alias/aws/rds",
    "alias/aws/lambda",
    "alias/aws/secretsmanager",
    "alias/aws/sns",
)
# Log group names are built from these: a filter on one word matches a tenth of the groups.
SCALE_WORDS = (
    "orders",
    "payments",
    "billing",
    "search",
    "auth",
    "inventory",
    "shipping",
    "catalog",
    "profile",
    "notify",
)
SCALE_OTHER_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1")


@dataclass(frozen=True)
class ScaleSeed:
    """What ``seed_scale`` added (on top of the scenario), by name."""

    key_aliases: tuple[str, ...]  # customer managed keys, one alias each
    aws_managed_aliases: tuple[str, ...]
    buckets: dict[str, str]  # name -> region
    log_groups: tuple[str, ...]

    def buckets_in(self, region: str) -> list[str]:
        return sorted(name for name, where in self.buckets.items() if where == region)


def scale_key_alias(n: int) -> str:
    return f"alias/scale/key-{n:05d}"


def scale_bucket_name(region: str, n: int) -> str:
    return f"scale-{region}-{n:05d}"


def scale_log_group_name(n: int) -> str:
    word = SCALE_WORDS[n % len(SCALE_WORDS)]
    if n % 2:
        return f"/ecs/{word}/service-{n:05d}"
    return f"/aws/lambda/{word}-fn-{n:05d}"


def seed_scale(
    account: str,
    region: str,
    *,
    keys: int = 0,
    buckets: int = 0,
    buckets_in_region: int = 0,
    log_groups: int = 0,
) -> ScaleSeed:
    """A real account's numbers, written straight into moto's backends (no HTTP).

    ``keys`` customer managed symmetric keys with an alias each, plus the AWS managed keys of
    AWS_MANAGED_ALIASES; ``buckets`` buckets, ``buckets_in_region`` of them in ``region`` and
    the rest spread over other regions; ``log_groups`` empty log groups. 1,000 keys, 5,000
    buckets and 20,000 log groups seed in about two seconds.
    """
    if not 0 <= buckets_in_region <= buckets:
        raise UsageError("buckets_in_region must be between 0 and buckets.")
    kms = kms_backends[account][region]
    aliases: list[str] = []
    managed: list[str] = []
    share_key_pairs()
    ensure_aws_managed_key(account, region)
    managed.append(AWS_MANAGED_S3_ALIAS)
    taken = {a.alias_name for a in kms.list_aliases()}
    for alias in AWS_MANAGED_ALIASES[1:]:
        if alias in taken:
            continue
        key = kms.create_key(
            None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", f"Default key for {alias[10:]}", None
        )
        key.key_manager = KEY_MANAGER_AWS
        kms.create_alias(key.id, alias)
        managed.append(alias)
    for n in range(keys):
        alias = scale_key_alias(n)
        key = kms.create_key(
            None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", f"scale test key {n}", None
        )
        kms.create_alias(key.id, alias)
        aliases.append(alias)

    s3 = s3_backends[account]["aws"]
    others = [r for r in SCALE_OTHER_REGIONS if r != region]
    placed: dict[str, str] = {}
    for n in range(buckets):
        where = region if n < buckets_in_region else others[n % len(others)]
        name = scale_bucket_name(where, n)
        s3.create_bucket(name, where)
        placed[name] = where

    logs = logs_backends[account][region]
    names = [scale_log_group_name(n) for n in range(log_groups)]
    for name in names:
        logs.create_log_group(name, {})
    return ScaleSeed(tuple(aliases), tuple(managed), placed, tuple(names))


def export_object_data(uncompressed_bytes: int, *, block_bytes: int = 1 << 20) -> bytes:
    """gzip data of export lines that unzips to ``uncompressed_bytes``, made in seconds.

    One block of Lambda log lines (as an export writes them) is compressed once and the
    compressed member repeated: a multi-member gzip stream, which every gunzip reads as one.
    A GiB of lines costs only the compression of a MiB.
    """
    rng = random.Random(f"export-object-{block_bytes}")
    lines: list[str] = []
    size = 0
    start_ms = 1_764_115_200_000  # 2025-11-26T00:00:00Z
    app_lines = [
        "Handling event from EventBridge rule nightly-report",
        "Fetched 42 items from DynamoDB table demo-items",
        "Cache miss for key customer#1017",
        'Received POST /orders {"items": 3, "total": 129.5}',
    ]
    while size < block_bytes:
        for event in _lambda_events(rng, "us-east-1", start_ms, 20, app_lines):
            line = f"{_iso(event['timestamp'])} {event['message']}\n"
            lines.append(line)
            size += len(line.encode())
        start_ms += 3_600_000
    block = "".join(lines).encode()[:block_bytes]
    block = block[: block.rfind(b"\n") + 1]  # whole lines only
    member = gzip.compress(block, compresslevel=6, mtime=0)
    count, rest = divmod(uncompressed_bytes, len(block))
    parts = [member] * count
    if rest:
        tail = block[:rest]
        parts.append(gzip.compress(tail, compresslevel=6, mtime=0))
    return b"".join(parts)
