"""The wire format: AWS error and response bodies (JSON, REST-XML, query) and how they are sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ApiError(Exception):
    """An AWS error response: rendered in the protocol of the service that was called."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def request_id() -> str:
    return str(uuid.uuid4())


def json_response(status: int, payload: Any, error_type: str | None = None) -> Response:
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id())]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return Response(status, headers, json.dumps(payload).encode())


def xml_response(status: int, body: str) -> Response:
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id())]
    return Response(status, headers, body.encode())


def render_error(service: str, error: ApiError) -> Response:
    """The error body AWS sends for the protocol: JSON (logs, kms), REST-XML (s3), query (sts)."""
    if service in ("logs", "kms"):
        return json_response(
            error.status, {"__type": error.code, "message": error.message}, error.code
        )
    code, message = escape(error.code), escape(error.message)
    if service == "s3":
        return xml_response(
            error.status,
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{request_id()}</RequestId><HostId>sandbox</HostId></Error>",
        )
    kind = "Receiver" if error.status >= 500 else "Sender"
    return xml_response(
        error.status,
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{request_id()}</RequestId></ErrorResponse>",
    )


def fault_status(service: str, code: str) -> int:
    """The HTTP status AWS uses for an error code (retry behaviour in SDKs depends on it)."""
    lower = code.lower()
    if lower in ("serviceunavailable", "serviceunavailableexception", "slowdown"):
        return 503
    if "internal" in lower or lower in ("servicefailure", "kmsinternalexception"):
        return 500
    if service in ("s3", "sts"):
        if lower.startswith("accessdenied") or lower in ("invalidaccesskeyid", "expiredtoken"):
            return 403
        if lower.startswith("nosuch"):
            return 404
    return 400


@dataclass
class Response:
    status: int
    headers: Headers
    body: bytes

    def send(self, start_response: StartResponse, head: bool = False) -> list[bytes]:
        body = b"" if head else self.body
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{self.status} {HTTPStatus(self.status).phrase}", headers)
        return [body]


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app and collect its answer (status line, headers, body)."""
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, list(headers)
        return chunks.append

    result = app(environ, start)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    return captured["status"], captured["headers"], b"".join(chunks)
