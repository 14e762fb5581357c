"""Who is calling: the account behind an access key, and the sandbox user's request context."""

from __future__ import annotations

from moto.sts.models import sts_backends

from wizard.core.evaluate import Request, RequestPrincipal
from wizard.sandbox.preview import CALLER_NAME, caller_arn

CALLER_USER_ID = "AIDASANDBOXUSER000001"


def caller_of(access_key: str, default_account: str) -> tuple[str, str | None]:
    """The account of these credentials, and an assumed role session's ARN (None: the
    sandbox's own user). moto keeps assumed roles with their account: a role of another
    account (STS AssumeRole) acts in that account."""
    if access_key:
        for account, backends in list(sts_backends.items()):
            for backend in list(backends.values()):
                for role in list(backend.assumed_roles):
                    if role.access_key_id == access_key:
                        return account, str(role.arn)
    return default_account, None


def caller_request(account: str, action: str, resource: str, **context: str) -> Request:
    arn = caller_arn(account)
    return Request(
        RequestPrincipal("AWS", arn, account),
        action,
        resource,
        {
            "aws:PrincipalArn": arn,
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "User",
            "aws:username": CALLER_NAME,
            "aws:userid": CALLER_USER_ID,
            "aws:SecureTransport": "true",
            "kms:CallerAccount": account,
            **context,
        },
    )
