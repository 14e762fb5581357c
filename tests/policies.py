"""Bucket policy statements that accounts commonly carry, for tests at every layer."""

from __future__ import annotations

from typing import Any


def deny_insecure_transport(bucket: str) -> dict[str, Any]:
    """The common "TLS only" statement: Deny everyone when aws:SecureTransport is false."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
