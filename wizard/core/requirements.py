"""What a destination needs, and what CloudWatch Logs does during an export.

The statements follow the AWS documentation (aws-facts.md), narrowed to the destination's
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
)
from wizard.core.evaluate import Request, RequestPrincipal
from wizard.core.state import Destination

SID_GET_BUCKET_ACL = "CWLExportWizardGetBucketAcl"
SID_PUT_OBJECT = "CWLExportWizardPutObject"
SID_KEY_USE = "CWLExportWizardLogsUseKey"
SID_KEY_ADMIN = "EnableIAMUserPermissions"  # the console's name for the root "kms:*" statement
WIZARD_SIDS = frozenset({SID_GET_BUCKET_ACL, SID_PUT_OBJECT, SID_KEY_USE})

TEST_OBJECT_NAME = "aws-logs-write-test"
BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"
POLICY_VERSION = "2012-10-17"

# The texts CreateExportTask fails with (aws-facts.md, verbatim).
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


def _source_conditions(dest: Destination) -> dict[str, dict[str, str | list[str]]]:
    return {
        "StringEquals": {"aws:SourceAccount": [dest.account]},
        "ArnLike": {
            "aws:SourceArn": [log_group_arn(dest.region, dest.account, "*", dest.partition)]
        },
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
    return {
        "Version": POLICY_VERSION,
        "Id": "cwl-export-wizard",
        "Statement": [key_admin_statement(dest.account, dest.partition), *key_statements(dest)],
    }


@dataclass(frozen=True)
class ServiceRequest:
    """One call CloudWatch Logs makes during an export, and what it fails with if denied."""

    step: str
    target: str  # "bucket" or "key": whose resource policy decides
    request: Request
    aws_error: str


EXAMPLE_LOG_GROUP = "/aws/lambda/example"
EXAMPLE_TASK_ID = "00000000-0000-0000-0000-000000000000"
EXAMPLE_STREAM = "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef"


def _logs_context(dest: Destination, log_group: str | None) -> dict[str, str | tuple[str, ...]]:
    return {
        "aws:SourceAccount": dest.account,
        # Without a chosen log group, judge for a typical one of the account.
        "aws:SourceArn": log_group_arn(
            dest.region, dest.account, log_group or EXAMPLE_LOG_GROUP, dest.partition
        ),
        "aws:SecureTransport": "true",
        "aws:PrincipalServiceName": logs_principal(dest.region),
        "aws:PrincipalIsAWSService": "true",
    }




def service_requests(
    dest: Destination, log_group: str | None = None, key_arn: str | None = None
) -> list[ServiceRequest]:
    """The export's calls, in the service's order. ``key_arn`` None: no SSE-KMS step."""
    principal = RequestPrincipal(kind="Service", id=logs_principal(dest.region))
    context = _logs_context(dest, log_group)
    put_context = {**context, "s3:x-amz-acl": BUCKET_OWNER_FULL_CONTROL}
    requests = [
        ServiceRequest(
            "GetBucketAcl",
            "bucket",
            Request(principal, "s3:GetBucketAcl", bucket_arn(dest.bucket, dest.partition), context),
            ERR_GET_BUCKET_ACL,
        ),
        ServiceRequest(
            "PutObject (test object)",
            "bucket",
            Request(
                principal,
                "s3:PutObject",
                object_arn(dest.bucket, test_object_key(dest.prefix), dest.partition),
                put_context,
            ),
            ERR_PUT_OBJECT,
        ),
        ServiceRequest(
            "PutObject (exported data)",
            "bucket",
            Request(
                principal,
                "s3:PutObject",
                object_arn(
                    dest.bucket,
                    data_object_key(dest.prefix, EXAMPLE_TASK_ID, EXAMPLE_STREAM),
                    dest.partition,
                ),
                put_context,
            ),
            ERR_PUT_OBJECT,
        ),
    ]
    if key_arn:
        kms_context = {
            **context,
            # With S3 Bucket Key the encryption context is the bucket ARN.
            "kms:EncryptionContext:aws:s3:arn": bucket_arn(dest.bucket, dest.partition),
            "kms:ViaService": f"s3.{dest.region}.amazonaws.com",
            "kms:CallerAccount": dest.account,
        }
        requests.append(
            ServiceRequest(
                "GenerateDataKey",
                "key",
                Request(principal, "kms:GenerateDataKey", key_arn, kms_context),
                ERR_PUT_OBJECT_KMS,
            )
        )
    return requests
