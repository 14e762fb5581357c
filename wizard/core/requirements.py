"""What a destination needs, and what CloudWatch Logs does during an export.

The statements follow the AWS documentation (docs/service-facts.md), narrowed to the destination's
prefix and the account's log groups, with stable Sids so a second run finds and updates them.
``service_requests`` lists the calls the service makes, with the request context it sends:
the doctor and the sandbox both judge them with the same evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.core.arn import (
    account_root_arn,
    bucket_arn,
    log_group_arn,
    logs_principal,
    object_arn,
    parse_arn,
)
from wizard.core.evaluate import Request, RequestPrincipal
from wizard.core.state import Destination

SID_GET_BUCKET_ACL = "CWLExportWizardGetBucketAcl"
SID_PUT_OBJECT = "CWLExportWizardPutObject"
SID_KEY_USE = "CWLExportWizardLogsUseKey"
SID_KEY_ADMIN = "EnableIAMUserPermissions"  # the console's name for the root "kms:*" statement
SID_DENY_INSECURE = "CWLExportWizardDenyInsecureTransport"
SID_CALLER_PUT_OBJECT = "CWLExportWizardSourceCallersWrite"
SID_CALLER_KEY_USE = "CWLExportWizardSourceCallersUseKey"
WIZARD_SIDS = frozenset(
    {
        SID_GET_BUCKET_ACL,
        SID_PUT_OBJECT,
        SID_KEY_USE,
        SID_DENY_INSECURE,
        SID_CALLER_PUT_OBJECT,
        SID_CALLER_KEY_USE,
    }
)

TEST_OBJECT_NAME = "aws-logs-write-test"
STEP_PUT_TEST_OBJECT = "PutObject (test object)"
STEP_PUT_DATA = "PutObject (exported data)"
BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"
POLICY_VERSION = "2012-10-17"

# The texts CreateExportTask fails with (docs/service-facts.md, verbatim).
ERR_BUCKET_MISSING = "The given bucket does not exist. Please make sure the bucket is valid."
ERR_GET_BUCKET_ACL = (
    "GetBucketAcl call on the given bucket failed. Please check if CloudWatch Logs has been "
    "granted permission to perform this operation."
)
ERR_PUT_OBJECT = (
    "PutObject call on the given bucket failed. Please check if CloudWatch Logs has been "
    "granted permission to perform this operation."
)
ERR_KMS_SUFFIX = " This may be a result of a KMS key or bucket encryption misconfiguration."
ERR_PUT_OBJECT_KMS = ERR_PUT_OBJECT + ERR_KMS_SUFFIX
ERR_LIMIT_EXCEEDED = "Resource limit exceeded."
ERR_CALLER_PUT_OBJECT = (
    "Please ensure that the CreateExportTask caller has been granted s3:PutObject access to "
    "the bucket."
)


def test_object_key(prefix: str) -> str:
    return f"{prefix}/{TEST_OBJECT_NAME}"


def stream_folder(stream_name: str) -> str:
    """Exports name a stream's folder after the stream, with "/" replaced by "-"."""
    return stream_name.replace("/", "-")


def data_object_key(prefix: str, task_id: str, stream_name: str, index: int = 0) -> str:
    return f"{prefix}/{task_id}/{stream_folder(stream_name)}/{index:06d}.gz"


def source_arns(dest: Destination) -> list[str]:
    """``aws:SourceArn`` for every source account: any log group of it, in the region."""
    return [log_group_arn(dest.region, a, "*", dest.partition) for a in dest.accounts]


def _source_conditions(dest: Destination) -> dict[str, dict[str, str | list[str]]]:
    return {
        "StringEquals": {"aws:SourceAccount": list(dest.accounts)},
        "ArnLike": {"aws:SourceArn": source_arns(dest)},
    }


def prefix_resource(dest: Destination) -> str:
    return object_arn(dest.bucket, f"{dest.prefix}/*", dest.partition)


def bucket_statements(dest: Destination) -> list[dict[str, Any]]:
    """The two bucket policy statements, for exactly this bucket and prefix."""
    principal = {"Service": logs_principal(dest.region)}
    put_conditions = _source_conditions(dest)
    put_conditions["StringEquals"] = {
        "s3:x-amz-acl": BUCKET_OWNER_FULL_CONTROL,
        **put_conditions["StringEquals"],
    }
    return [
        {
            "Sid": SID_GET_BUCKET_ACL,
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn(dest.bucket, dest.partition),
            "Condition": _source_conditions(dest),
        },
        {
            "Sid": SID_PUT_OBJECT,
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:PutObject",
            "Resource": prefix_resource(dest),
            "Condition": put_conditions,
        },
    ]


def key_statements(dest: Destination) -> list[dict[str, Any]]:
    """The key policy statement: the logs principal may have S3 encrypt with the key."""
    return [
        {
            "Sid": SID_KEY_USE,
            "Effect": "Allow",
            "Principal": {"Service": logs_principal(dest.region)},
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": "*",
        }
    ]


# Shown beside the key policy's diff: why its statement for CloudWatch Logs is not scoped.
KEY_STATEMENT_NOTE = (
    "The wizard's key statement for CloudWatch Logs carries no aws:SourceAccount or "
    "aws:SourceArn condition on purpose: "
    "whether S3 passes them on when it asks KMS for a data key for an export is not documented, "
    "and a condition the request does not meet would refuse every export. The bucket policy's "
    "statements carry both, so only your account's log groups can write to the bucket."
)


def tls_only_statement(dest: Destination) -> dict[str, Any]:
    """Refuse every request to the bucket that does not use TLS (a common scanner check).

    CloudWatch Logs always uses TLS (``aws:SecureTransport`` true), so exports pass it."""
    bucket = bucket_arn(dest.bucket, dest.partition)
    return {
        "Sid": SID_DENY_INSECURE,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket, f"{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def key_admin_statement(account: str, partition: str = "aws") -> dict[str, Any]:
    """The account root's ``kms:*``: keeps IAM in charge of the key, so nobody is locked out."""
    return {
        "Sid": SID_KEY_ADMIN,
        "Effect": "Allow",
        "Principal": {"AWS": account_root_arn(account, partition)},
        "Action": "kms:*",
        "Resource": "*",
    }


def new_key_policy(dest: Destination) -> dict[str, Any]:
    statements = [key_admin_statement(dest.account, dest.partition), *key_statements(dest)]
    caller = caller_key_statement(dest)
    if caller is not None:
        statements.append(caller)
    return {"Version": POLICY_VERSION, "Id": "cwl-export-wizard", "Statement": statements}


@dataclass(frozen=True)
class ServiceRequest:
    """One call CloudWatch Logs makes during an export, and what it fails with if denied."""

    step: str
    target: str  # "bucket" or "key": whose resource policy decides
    request: Request
    aws_error: str
    caller: str | None = None  # None: the logs principal's call; else the caller it is for


EXAMPLE_LOG_GROUP = "/aws/lambda/example"
EXAMPLE_TASK_ID = "00000000-0000-0000-0000-000000000000"
EXAMPLE_STREAM = "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef"


def _logs_context(
    dest: Destination, log_group: str | None, account: str
) -> dict[str, str | tuple[str, ...]]:
    return {
        "aws:SourceAccount": account,
        # Without a chosen log group, judge for a typical one of the account.
        "aws:SourceArn": log_group_arn(
            dest.region, account, log_group or EXAMPLE_LOG_GROUP, dest.partition
        ),
        "aws:SecureTransport": "true",
        "aws:PrincipalServiceName": logs_principal(dest.region),
        "aws:PrincipalIsAWSService": "true",
    }


@dataclass(frozen=True)
class ContextKey:
    """One key of the request context KMS sees when S3 asks for a data key for an export."""

    key: str
    confirmed: bool  # False: UNCONFIRMED (docs/service-facts.md); relied on: a warning
    sent: bool  # whether the doctor and the sandbox put it in the request
    source: str  # where the value comes from, for people


# The KMS request S3 makes for CloudWatch Logs. Only the encryption context is documented
# (S3 user guide, Bucket Key page); the rest is assumed. Change a row, not the code below.
KMS_REQUEST_CONTEXT: tuple[ContextKey, ...] = (
    ContextKey(
        "kms:EncryptionContext:aws:s3:arn",
        True,
        True,
        "the bucket ARN with S3 Bucket Key on, the object ARN with it off",
    ),
    ContextKey("kms:ViaService", False, True, "s3.REGION.amazonaws.com"),
    ContextKey("kms:CallerAccount", False, True, "the bucket's account"),
    ContextKey("aws:SourceAccount", False, True, "the log group's account"),
    ContextKey("aws:SourceArn", False, True, "the log group's ARN"),
)
UNCONFIRMED_KMS_KEYS = frozenset(c.key.lower() for c in KMS_REQUEST_CONTEXT if not c.confirmed)


def _kms_context(
    dest: Destination, context: dict[str, str | tuple[str, ...]], object_key: str | None
) -> dict[str, str | tuple[str, ...]]:
    """The KMS request's context; ``object_key`` None: S3 Bucket Key is on (bucket ARN)."""
    encryption_arn = (
        bucket_arn(dest.bucket, dest.partition)
        if object_key is None
        else object_arn(dest.bucket, object_key, dest.partition)
    )
    values: dict[str, str | tuple[str, ...]] = {
        "kms:EncryptionContext:aws:s3:arn": encryption_arn,
        "kms:ViaService": f"s3.{dest.region}.amazonaws.com",
        "kms:CallerAccount": dest.account,
        "aws:SourceAccount": context["aws:SourceAccount"],
        "aws:SourceArn": context["aws:SourceArn"],
    }
    sent = {c.key for c in KMS_REQUEST_CONTEXT if c.sent}
    base = {k: v for k, v in context.items() if k not in values}
    return {**base, **{k: v for k, v in values.items() if k in sent}}


def service_requests(
    dest: Destination,
    log_group: str | None = None,
    key_arn: str | None = None,
    *,
    bucket_key: bool = True,
    data_object: str | None = None,
    test_object: str | None = None,
    source_account: str | None = None,
) -> list[ServiceRequest]:
    """The export's calls, in the service's order. ``key_arn`` None: no SSE-KMS step.

    With S3 Bucket Key on, S3 asks KMS once with the bucket ARN as encryption context; with
    it off, once per object with the object's ARN (the test object, then the data).
    ``data_object`` names a real data object (the sandbox knows them); else a typical one.
    ``test_object``: where the test object goes (``PREFIX/aws-logs-write-test`` by default).
    ``source_account``: the log group's account (the destination's own by default).
    """
    principal = RequestPrincipal(kind="Service", id=logs_principal(dest.region))
    context = _logs_context(dest, log_group, source_account or dest.account)
    put_context = {**context, "s3:x-amz-acl": BUCKET_OWNER_FULL_CONTROL}
    test_key = test_object or test_object_key(dest.prefix)
    data_key = data_object or data_object_key(dest.prefix, EXAMPLE_TASK_ID, EXAMPLE_STREAM)
    requests = [
        ServiceRequest(
            "GetBucketAcl",
            "bucket",
            Request(principal, "s3:GetBucketAcl", bucket_arn(dest.bucket, dest.partition), context),
            ERR_GET_BUCKET_ACL,
        ),
        ServiceRequest(
            STEP_PUT_TEST_OBJECT,
            "bucket",
            Request(
                principal,
                "s3:PutObject",
                object_arn(dest.bucket, test_key, dest.partition),
                put_context,
            ),
            ERR_PUT_OBJECT,
        ),
        ServiceRequest(
            STEP_PUT_DATA,
            "bucket",
            Request(
                principal,
                "s3:PutObject",
                object_arn(dest.bucket, data_key, dest.partition),
                put_context,
            ),
            ERR_PUT_OBJECT,
        ),
    ]
    if key_arn:
        objects: list[tuple[str, str | None]] = (
            [("GenerateDataKey", None)]
            if bucket_key
            else [
                ("GenerateDataKey (test object)", test_key),
                ("GenerateDataKey (exported data)", data_key),
            ]
        )
        for step, object_key in objects:
            requests.append(
                ServiceRequest(
                    step,
                    "key",
                    Request(
                        principal,
                        "kms:GenerateDataKey",
                        key_arn,
                        _kms_context(dest, context, object_key),
                    ),
                    ERR_PUT_OBJECT_KMS,
                )
            )
    return requests


# --- a central logging account: the CreateExportTask caller of another account ----------------


@dataclass(frozen=True)
class CallerNeed:
    """What the caller of CreateExportTask in another account needs on the destination: in
    its own identity policy and in the destination's bucket or key policy (cross-account
    access needs both). One row each; the doctor, the planner, ``iam-policy --source`` and
    the sandbox all read this table."""

    action: str
    target: str  # "bucket" (the prefix's objects) or "key"
    confirmed: bool  # False: UNCONFIRMED (docs/service-facts.md)
    only_with_acls: bool  # only while the bucket has ACLs enabled (not BucketOwnerEnforced)
    why: str


CROSS_ACCOUNT_CALLER_NEEDS: tuple[CallerNeed, ...] = (
    CallerNeed(
        "s3:PutObject",
        "bucket",
        True,
        False,
        "CreateExportTask refuses a caller that may not write to the bucket",
    ),
    CallerNeed(
        "kms:GenerateDataKey",
        "key",
        False,
        False,
        "the current export documentation names it for an SSE-KMS destination",
    ),
    CallerNeed(
        "kms:Decrypt",
        "key",
        False,
        False,
        "the current export documentation names it for an SSE-KMS destination",
    ),
    CallerNeed(
        "s3:PutObjectAcl",
        "bucket",
        False,
        True,
        "the current export documentation names it while ACLs are enabled; a 2020 note "
        "from the documentation team said it is not needed",
    ),
)


def caller_needs(*, kms: bool, acls_enabled: bool) -> tuple[CallerNeed, ...]:
    """The rows that apply to a destination: the key's only with SSE-KMS, the ACL's only
    while ACLs are enabled."""
    return tuple(
        need
        for need in CROSS_ACCOUNT_CALLER_NEEDS
        if (need.target != "key" or kms) and (acls_enabled or not need.only_with_acls)
    )


def caller_role_arn(arn: str) -> str:
    """The principal a policy names for a caller: an assumed-role session's role (its path
    is not in the session ARN; see ``caller_patterns``), else the ARN itself."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "sts":
        return arn
    kind, _, rest = parsed.resource.partition("/")
    if kind != "assumed-role" or not rest:
        return arn
    role = rest.split("/", 1)[0]
    return f"arn:{parsed.partition}:iam::{parsed.account}:role/{role}"


def caller_patterns(callers: tuple[str, ...]) -> list[str]:
    """``aws:PrincipalArn`` patterns for the callers: a role with or without a path."""
    patterns: list[str] = []
    for caller in callers:
        if caller.endswith(":root"):  # any principal of that account
            patterns.append(caller.removesuffix("root") + "*")
            continue
        role = caller_role_arn(caller)
        patterns.append(role)
        head, _, name = role.rpartition(":role/")
        if name and "/" not in name:
            patterns.append(f"{head}:role/*/{name}")
    return patterns


@dataclass(frozen=True)
class CallerCondition:
    """One condition the wizard's statements for the callers of other accounts carry, besides
    the callers' own ARNs. The statement allows ``allowed``; the caller's request (as the
    doctor and the sandbox judge it) carries ``sent``."""

    target: str  # "bucket" or "key": the statement it narrows
    operator: str
    key: str
    confirmed: bool  # False: UNCONFIRMED (docs/service-facts.md)
    why: str


# Change a row, not the code below: the statements, the doctor and the sandbox all read it.
CALLER_CONDITIONS: tuple[CallerCondition, ...] = (
    CallerCondition(
        "bucket",
        "StringEquals",
        "s3:x-amz-acl",
        True,
        "the documented statement for the caller: exports write with bucket-owner-full-control",
    ),
    CallerCondition(
        "key",
        "StringEquals",
        "kms:ViaService",
        False,
        "the caller's use of the key is S3's, on its behalf, in the bucket's region",
    ),
    CallerCondition(
        "key",
        "StringLike",
        "kms:EncryptionContext:aws:s3:arn",
        False,
        "S3 names the bucket (S3 Bucket Key on) or the object (off) as encryption context",
    ),
)


def _caller_condition_values(dest: Destination) -> dict[str, tuple[str | list[str], str]]:
    """Each condition key's (allowed value, value the caller's request carries)."""
    bucket = bucket_arn(dest.bucket, dest.partition)
    via = f"s3.{dest.region}.amazonaws.com"
    return {
        "s3:x-amz-acl": (BUCKET_OWNER_FULL_CONTROL, BUCKET_OWNER_FULL_CONTROL),
        "kms:ViaService": (via, via),
        # With S3 Bucket Key on (as the wizard sets it) the bucket's ARN; off, an object's.
        "kms:EncryptionContext:aws:s3:arn": ([bucket, f"{bucket}/*"], bucket),
    }


def caller_conditions(dest: Destination, target: str) -> dict[str, dict[str, Any]]:
    """The condition blocks ``CALLER_CONDITIONS`` puts on the caller statement of ``target``."""
    values = _caller_condition_values(dest)
    blocks: dict[str, dict[str, Any]] = {}
    for row in CALLER_CONDITIONS:
        if row.target == target:
            blocks.setdefault(row.operator, {})[row.key] = values[row.key][0]
    return blocks


def caller_context(dest: Destination, target: str) -> dict[str, str]:
    """What a caller's request to ``target`` carries for the keys ``CALLER_CONDITIONS`` uses."""
    values = _caller_condition_values(dest)
    return {row.key: values[row.key][1] for row in CALLER_CONDITIONS if row.target == target}


def _caller_statement(
    dest: Destination, sid: str, actions: list[str], resource: str, target: str
) -> dict[str, Any]:
    accounts = sorted({a.account for a in map(parse_arn, dest.export_callers) if a is not None})
    return {
        "Sid": sid,
        "Effect": "Allow",
        # The callers' accounts, narrowed to the callers: a role's path is not known from
        # its session, and a principal ARN with the wrong path would not be accepted.
        "Principal": {"AWS": [account_root_arn(a, dest.partition) for a in accounts]},
        "Action": actions if len(actions) > 1 else actions[0],
        "Resource": resource,
        "Condition": {
            "ArnLike": {"aws:PrincipalArn": caller_patterns(dest.export_callers)},
            **caller_conditions(dest, target),
        },
    }


def caller_bucket_statement(dest: Destination, *, acls_enabled: bool) -> dict[str, Any] | None:
    needs = [n.action for n in caller_needs(kms=False, acls_enabled=acls_enabled)]
    if not dest.export_callers or not needs:
        return None
    return _caller_statement(
        dest, SID_CALLER_PUT_OBJECT, needs, prefix_resource(dest), target="bucket"
    )


def caller_key_statement(dest: Destination) -> dict[str, Any] | None:
    needs = [n.action for n in caller_needs(kms=True, acls_enabled=False) if n.target == "key"]
    if not dest.export_callers or not needs:
        return None
    return _caller_statement(dest, SID_CALLER_KEY_USE, needs, "*", target="key")


def caller_requests(
    dest: Destination, caller: str, key_arn: str | None, *, acls_enabled: bool
) -> list[ServiceRequest]:
    """What the caller's side of an export asks of the destination's policies."""
    parsed = parse_arn(caller)
    account = parsed.account if parsed is not None else None
    principal = RequestPrincipal(kind="AWS", id=caller, account=account)
    context: dict[str, str | tuple[str, ...]] = {
        "aws:PrincipalArn": caller_role_arn(caller),
        "aws:PrincipalAccount": account or "",
        "aws:SecureTransport": "true",
    }
    test_key = object_arn(dest.bucket, test_object_key(dest.prefix), dest.partition)
    requests = []
    for need in caller_needs(kms=key_arn is not None, acls_enabled=acls_enabled):
        resource = key_arn if need.target == "key" else test_key
        requests.append(
            ServiceRequest(
                f"{need.action} (caller {caller_role_arn(caller)})",
                need.target,
                Request(
                    principal,
                    need.action,
                    resource or "*",
                    {**context, **caller_context(dest, need.target)},
                ),
                ERR_CALLER_PUT_OBJECT if need.target == "bucket" else ERR_PUT_OBJECT_KMS,
                caller,
            )
        )
    return requests


def destination_requests(
    dest: Destination,
    log_group: str | None = None,
    key_arn: str | None = None,
    *,
    bucket_key: bool = True,
    acls_enabled: bool = False,
) -> list[ServiceRequest]:
    """Everything an export from each source account asks of the destination's policies:
    the logs principal's calls for every source account (the own one first), then each
    other account's CreateExportTask caller's."""
    requests: list[ServiceRequest] = []
    for account in dest.accounts:
        requests.extend(
            service_requests(
                dest, log_group, key_arn, bucket_key=bucket_key, source_account=account
            )
        )
    for caller in dest.export_callers:
        requests.extend(caller_requests(dest, caller, key_arn, acls_enabled=acls_enabled))
    return requests
