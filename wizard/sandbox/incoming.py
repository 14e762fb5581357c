"""What a request says: its service, region, operation, parameters and signer, read off WSGI."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from wizard.sandbox.wire import (
    WSGIEnviron,
)

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass
class Incoming:
    """What the middleware needs to know about one request."""

    service: str  # "s3", "logs", "kms", "sts", or whatever the signature names
    region: str
    operation: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)  # JSON body or query/form values
    query: dict[str, list[str]] = field(default_factory=dict)
    bucket: str | None = None
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    access_key: str = ""  # who signed the request (the credential's access key id)


def read_body(environ: WSGIEnviron) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        data = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        data = stream.read()
    else:
        data = b""
    environ["wsgi.input"] = io.BytesIO(data)  # moto reads it again
    return bytes(data)


def _path(environ: WSGIEnviron) -> str:
    raw = environ.get("PATH_INFO", "") or "/"
    try:  # WSGI hands the path over as latin-1 decoded bytes
        return str(raw.encode("latin-1").decode("utf-8"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        return str(raw)


def parse_request(environ: WSGIEnviron, default_region: str) -> Incoming:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _SCOPE.search(
        "Credential=" + query.get("X-Amz-Credential", [""])[0]
    )
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    access_key, region, service = scope.groups() if scope else ("", default_region, "")
    if not service:
        if target.startswith("Logs_"):
            service = "logs"
        elif target.startswith("TrentService"):
            service = "kms"
        else:
            service = "s3"
    path = _path(environ)
    if target:
        body = read_body(environ)
        try:
            params = json.loads(body) if body.strip() else {}
        except ValueError:
            params = {}
        return Incoming(
            service,
            region,
            target.split(".", 1)[-1],
            method,
            params if isinstance(params, dict) else {},
            query,
            access_key=access_key,
        )
    if service == "s3":
        bucket, _, key = path.lstrip("/").partition("/")
        headers = {
            name[5:].replace("_", "-").lower(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_X_AMZ_")
        }
        return Incoming(
            service,
            region,
            s3_operation(method, bucket or None, key or None, query, environ),
            method,
            {},
            query,
            bucket or None,
            key or None,
            headers,
            access_key,
        )
    values = {k: v[0] for k, v in query.items()}
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(read_body(environ).decode("utf-8", "replace"), keep_blank_values=True)
        values.update({k: v[0] for k, v in form.items()})
    return Incoming(
        service, region, values.get("Action", path), method, values, query, access_key=access_key
    )


_S3_BUCKET_SUBRESOURCES = {
    "policy": "BucketPolicy",
    "encryption": "BucketEncryption",
    "ownershipControls": "BucketOwnershipControls",
    "publicAccessBlock": "PublicAccessBlock",
    "versioning": "BucketVersioning",
    "tagging": "BucketTagging",
    "acl": "BucketAcl",
    "lifecycle": "BucketLifecycleConfiguration",
    "cors": "BucketCors",
    "logging": "BucketLogging",
    "notification": "BucketNotificationConfiguration",
    "website": "BucketWebsite",
    "replication": "BucketReplication",
    "object-lock": "ObjectLockConfiguration",
    "requestPayment": "BucketRequestPayment",
    "accelerate": "BucketAccelerateConfiguration",
}
_S3_OBJECT_SUBRESOURCES = {
    "acl": "ObjectAcl",
    "tagging": "ObjectTagging",
    "retention": "ObjectRetention",
    "legal-hold": "ObjectLegalHold",
}
_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}


def s3_operation(
    method: str,
    bucket: str | None,
    key: str | None,
    query: Mapping[str, Sequence[str]],
    environ: Mapping[str, Any] | None = None,
) -> str:
    """The S3 API operation name of a REST request (for faults and interception)."""
    verb = _VERBS.get(method, method.title())
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if key is None:
        if "location" in query:
            return "GetBucketLocation"
        if "policyStatus" in query:
            return "GetBucketPolicyStatus"
        if "uploads" in query:
            return "ListMultipartUploads"
        if "versions" in query:
            return "ListObjectVersions"
        if "delete" in query and method == "POST":
            return "DeleteObjects"
        for name, suffix in _S3_BUCKET_SUBRESOURCES.items():
            if name in query:
                return f"{verb}{suffix}"
        return {
            "GET": "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects",
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
            "HEAD": "HeadBucket",
        }.get(method, f"{method} bucket")
    if "attributes" in query:
        return "GetObjectAttributes"
    for name, suffix in _S3_OBJECT_SUBRESOURCES.items():
        if name in query:
            return f"{verb}{suffix}"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "restore" in query:
            return "RestoreObject"
        return "PostObject"
    if method == "PUT":
        if "uploadId" in query:
            return "UploadPart"
        if environ and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
            return "CopyObject"
        return "PutObject"
    if method == "DELETE" and "uploadId" in query:
        return "AbortMultipartUpload"
    if method == "GET" and "uploadId" in query:
        return "ListParts"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(
        method, f"{method} object"
    )
