"""Which IAM action each AWS API call needs: one table for the error messages, the sandbox's
caller-permission checks and the ``iam-policy`` command.

Most calls need ``service:Operation``; the exceptions (S3 names many permissions after the
configuration rather than the call) are listed here and nowhere else.
"""

from __future__ import annotations

# (service, operation) -> IAM action, where it is not "service:Operation".
_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "DeleteBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeleteBucketOwnershipControls"): "s3:PutBucketOwnershipControls",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "GetBucketTagging"): "s3:GetBucketTagging",
    ("s3", "PutBucketTagging"): "s3:PutBucketTagging",
    ("s3", "DeleteObject"): "s3:DeleteObject",
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity",
}

# Operations AWS answers for any authenticated caller: no identity policy can deny them.
ALWAYS_ALLOWED = frozenset({("sts", "GetCallerIdentity")})

_SERVICE_OF: dict[str, str] = {
    **{
        op: "s3"
        for op in (
            "CreateBucket",
            "DeleteBucket",
            "GetBucketLocation",
            "GetBucketPolicy",
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "GetBucketOwnershipControls",
            "PutBucketOwnershipControls",
            "GetObject",
            "PutObject",
            "GetBucketAcl",
        )
    },
    **{
        op: "kms"
        for op in (
            "CreateKey",
            "DescribeKey",
            "ListKeys",
            "ListAliases",
            "CreateAlias",
            "DeleteAlias",
            "GetKeyPolicy",
            "PutKeyPolicy",
            "GetKeyRotationStatus",
            "ScheduleKeyDeletion",
            "EnableKeyRotation",
            "DisableKeyRotation",
            "ListResourceTags",
            "TagResource",
            "Decrypt",
            "GenerateDataKey",
        )
    },
    **{
        op: "logs"
        for op in (
            "CreateExportTask",
            "DescribeExportTasks",
            "CancelExportTask",
            "DescribeLogGroups",
            "DescribeLogStreams",
        )
    },
    "DescribeRegions": "ec2",
    "SimulatePrincipalPolicy": "iam",
}


def permission(service: str, operation: str) -> str:
    """The IAM action a call needs: ``permission("s3", "GetBucketEncryption")`` ->
    ``s3:GetEncryptionConfiguration``."""
    return _EXCEPTIONS.get((service, operation), f"{service}:{operation}")


def permission_for(operation: str | None) -> str | None:
    """The same from the operation name alone (the AWS layer knows no more in an error);
    an ``x:Y`` operation is taken as it is; None when the service is not known."""
    if not operation:
        return None
    if ":" in operation:
        return operation
    for (_service, op), action in _EXCEPTIONS.items():
        if op == operation:
            return action
    service = _SERVICE_OF.get(operation)
    return permission(service, operation) if service else None
