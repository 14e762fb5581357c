"""The listings layer: paged, filtered and quick answers where moto's are whole or slow."""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from moto.kms.models import kms_backends
from moto.kms.policy_validator import validate_policy
from moto.kms.utils import RESERVED_ALIASE_TARGET_KEY_IDS
from moto.logs.models import logs_backends
from moto.utilities.utils import get_partition

from wizard.sandbox.identity import caller_of
from wizard.sandbox.incoming import parse_request
from wizard.sandbox.preview import DEFAULT_REGIONS
from wizard.sandbox.wire import (
    ApiError,
    Response,
    WSGIApp,
    call_wsgi,
    json_response,
    render_error,
)


def _encode_marker(kind: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox-{kind}:{offset}".encode()).decode()


def _decode_marker(kind: str, token: Any, error: ApiError) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(token).encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise error from None
    name, _, number = text.rpartition(":")
    if name != f"sandbox-{kind}" or not number.isdigit():
        raise error
    return int(number)


def _limit(params: dict[str, Any], name: str, default: int, most: int) -> int:
    value = params.get(name, default)
    if not isinstance(value, int) or not 1 <= value <= most:
        raise ApiError(
            "ValidationException" if name == "Limit" else "InvalidParameterException",
            f"1 validation error detected: Value '{value}' at '{name[0].lower() + name[1:]}' "
            f"failed to satisfy constraint: Member must have value between 1 and {most}",
        )
    return value


class Listings:
    """What moto answers in one piece, paged and filtered as AWS does.

    - KMS ListKeys (Limit 1-1000, default 100) and ListAliases (Limit 1-100, default 50):
      moto returns every key at once; AWS pages them (Marker, NextMarker, Truncated).
    - CloudWatch Logs DescribeLogGroups with ``logGroupNamePattern`` (a case-sensitive
      substring; limit 1-50, default 50): moto ignores the pattern and lists every group.
    - EC2 DescribeRegions (see ``_describe_regions``).
    Sits between the fidelity layer and moto, so latency and faults apply as to any request.
    """

    _KMS_PAGES: ClassVar[dict[str, tuple[str, int, int]]] = {
        "ListKeys": ("Keys", 100, 1000),
        "ListAliases": ("Aliases", 50, 100),
    }
    _KMS_READS = frozenset({"DescribeKey", "GetKeyRotationStatus"})
    _OPERATIONS = frozenset({*_KMS_PAGES, *_KMS_READS, "DescribeLogGroups"})

    def __init__(self, app: WSGIApp, account: str, region: str) -> None:
        self._app = app
        self._account = account
        self._region = region

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        operation = target.rpartition(".")[2]
        if not target and str(environ.get("CONTENT_TYPE", "")).startswith(_FORM):
            request = parse_request(environ, self._region)  # query protocol: EC2, STS
            if request.service == "ec2" and request.operation == "DescribeRegions":
                return _describe_regions(self._region, request.params).send(start_response)
            return self._app(environ, start_response)
        if operation not in self._OPERATIONS:
            return self._app(environ, start_response)
        request = parse_request(environ, self._region)
        account = caller_of(request.access_key, self._account)[0]  # a role of another account
        try:
            if request.service == "kms" and operation in self._KMS_READS:
                response = self._kms_read(account, operation, request.region, request.params)
                if response is not None:
                    return response.send(start_response)
            if (
                request.service == "kms"
                and operation in self._KMS_PAGES
                and account == self._account
            ):
                return self._kms_page(environ, start_response, operation, request.params)
            if request.service == "logs" and request.params.get("logGroupNamePattern"):
                return self._log_groups(account, request.region, request.params).send(
                    start_response
                )
        except ApiError as error:
            return render_error(request.service, error).send(start_response)
        return self._app(environ, start_response)

    def _kms_read(
        self, account: str, operation: str, region: str, params: dict[str, Any]
    ) -> Response | None:
        """DescribeKey / GetKeyRotationStatus of a key named by its id, from moto's own objects.

        A key listing makes these two calls per key: through moto's request machinery they
        cost the sandbox milliseconds of CPU each, which would cap a 1,000-key listing at
        the sandbox's speed rather than the client's. Anything else (aliases, ARNs, unknown
        keys, errors) goes to moto, which words the answer.
        """
        key_id = params.get("KeyId")
        if not isinstance(key_id, str) or not _RAW_KEY_ID.match(key_id):
            return None
        backend = kms_backends[account][region]
        if key_id not in backend.keys:
            return None
        try:
            if operation == "DescribeKey":
                key = backend.describe_key(key_id)
                validate_policy(key, "kms:DescribeKey")
                return json_response(200, key.to_dict())
            return json_response(
                200, {"KeyRotationEnabled": backend.get_key_rotation_status(key_id)}
            )
        except Exception:
            return None

    def _kms_items(
        self, operation: str, region: str, params: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        """Every key or alias, as moto lists them, without moto's request machinery (which
        would render all of them for every page). None: let moto answer (ListAliases of one
        key, which moto validates)."""
        backend = kms_backends[self._account][region]
        if operation == "ListKeys":
            return [{"KeyArn": key.arn, "KeyId": key.id} for key in list(backend.keys.values())]
        if params.get("KeyId") is not None:
            return None
        aliases = [
            {"AliasArn": a.alias_arn, "AliasName": a.alias_name, "TargetKeyId": a.target_key_id}
            for a in list(backend.list_aliases())
        ]
        named = {a["AliasName"] for a in aliases}
        # moto lists the AWS managed aliases nobody has used yet too (fidelity drops their
        # invented TargetKeyId).
        for reserved, target in RESERVED_ALIASE_TARGET_KEY_IDS.items():
            if reserved not in named:
                arn = f"arn:{get_partition(region)}:kms:{region}:{self._account}:{reserved}"
                aliases.append({"TargetKeyId": target, "AliasArn": arn, "AliasName": reserved})
        return aliases

    def _kms_page(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        operation: str,
        params: dict[str, Any],
    ) -> Any:
        field, default, most = self._KMS_PAGES[operation]
        limit = _limit(params, "Limit", default, most)
        offset = _decode_marker(
            "kms", params.get("Marker"), ApiError("InvalidMarkerException", "Invalid marker")
        )
        region = parse_request(environ, self._region).region
        listed = self._kms_items(operation, region, params)
        if listed is not None:
            page = listed[offset : offset + limit]
            reply: dict[str, Any] = {field: page, "Truncated": offset + limit < len(listed)}
            if reply["Truncated"]:
                reply["NextMarker"] = _encode_marker("kms", offset + limit)
            return json_response(200, reply).send(start_response)
        rest = {k: v for k, v in params.items() if k not in ("Limit", "Marker")}
        body = json.dumps(rest).encode()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        status, headers, data = call_wsgi(self._app, environ)
        try:
            payload = json.loads(data) if status.startswith("200") else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            start_response(status, headers)
            return [data]
        items = list(payload.get(field) or [])
        page = items[offset : offset + limit]
        payload[field] = page
        payload["Truncated"] = offset + limit < len(items)
        payload.pop("NextMarker", None)
        if payload["Truncated"]:
            payload["NextMarker"] = _encode_marker("kms", offset + limit)
        data = json.dumps(payload).encode()
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(data))))
        start_response(status, headers)
        return [data]

    def _log_groups(self, account: str, region: str, params: dict[str, Any]) -> Response:
        if params.get("logGroupNamePrefix"):
            raise ApiError(
                "InvalidParameterException",
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            )
        pattern = str(params["logGroupNamePattern"])
        limit = _limit(params, "limit", 50, 50)
        offset = _decode_marker(
            "log-groups",
            params.get("nextToken"),
            ApiError("InvalidParameterException", "The specified nextToken is invalid."),
        )
        groups = logs_backends[account][region].groups
        names = sorted(name for name in list(groups) if pattern in name)
        result: dict[str, Any] = {"logGroups": []}
        for name in names[offset : offset + limit]:
            full = groups[name].to_describe_dict()
            # With a pattern AWS returns these three fields only.
            result["logGroups"].append(
                {k: full[k] for k in ("logGroupName", "creationTime", "arn") if k in full}
            )
        if offset + limit < len(names):
            result["nextToken"] = _encode_marker("log-groups", offset + limit)
        return json_response(200, result)


_FORM = "application/x-www-form-urlencoded"
_RAW_KEY_ID = re.compile(
    r"^(mrk-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)
_regions_lock = threading.Lock()
_partition_regions: dict[str, list[str]] = {}


def _regions_of(region: str) -> list[str]:
    """The regions of ``region``'s partition, from botocore's small partitions file (once;
    its endpoint file would cost the region step a fifth of a second)."""
    import botocore.loaders

    from wizard.core.arn import is_valid_region, partition_for_region

    partition = partition_for_region(region).name
    with _regions_lock:
        if partition not in _partition_regions:
            data = botocore.loaders.create_loader().load_data("partitions")
            known: dict[str, Any] = next(
                (p.get("regions", {}) for p in data["partitions"] if p["id"] == partition), {}
            )
            found = {name for name in known if is_valid_region(name)}
            _partition_regions[partition] = sorted({*found, region})
        return _partition_regions[partition]


def _describe_regions(region: str, params: dict[str, Any]) -> Response:
    """EC2 DescribeRegions, answered here: moto's costs three seconds of imports and setup
    on first use, which the demo would spend with "Starting the local AWS sandbox..." shown.

    The account has the partition's default regions and its own region (as opted in).
    """
    every = str(params.get("AllRegions", "false")).lower() == "true"
    wanted = {v for k, v in params.items() if k.startswith("RegionName.")}
    items = []
    for name in _regions_of(region):
        if name in DEFAULT_REGIONS:
            status = "opt-in-not-required"
        elif name == region:
            status = "opted-in"
        else:
            status = "not-opted-in"
        if (status == "not-opted-in" and not every) or (wanted and name not in wanted):
            continue
        suffix = ".cn" if name.startswith("cn-") else ""
        items.append(
            f"<item><regionName>{name}</regionName>"
            f"<regionEndpoint>ec2.{name}.amazonaws.com{suffix}</regionEndpoint>"
            f"<optInStatus>{status}</optInStatus></item>"
        )
    return Response(
        200,
        [("Content-Type", "text/xml;charset=UTF-8")],
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            f"<requestId>{uuid.uuid4()}</requestId>"
            f"<regionInfo>{''.join(items)}</regionInfo></DescribeRegionsResponse>"
        ).encode(),
    )
