"""The fidelity layer: WSGI middleware that makes moto behave as AWS does where exports care.

moto alone is too forgiving: its CreateExportTask ignores bucket and key policies, treats
``aws/s3`` as a customer key, finishes synchronously, writes into a random folder and stamps
lines in local time. This middleware sits in front of moto's WSGI app and

- runs CloudWatch Logs export tasks itself (Create/Describe/CancelExportTask, emulated by
  ``wizard.sandbox.export_tasks``): the service's checks in the service's order, judged by
  ``wizard.core.evaluate`` with the request context ``wizard.core.requirements.service_requests``
  builds; a lazily computed PENDING -> RUNNING -> COMPLETED life cycle; objects where the real
  service writes them;
- makes ``aws/s3`` an AWS managed key whose policy and state nobody can change; checks the
  PutKeyPolicy lockout rule; defaults KeyUsage; accepts key ARNs where moto wants bare ids;
- refuses GetObject/PutObject of SSE-KMS objects whose key is disabled or does not let the
  caller (``user/sandbox`` of the account, as GetCallerIdentity says) use it;
- returns SSE-KMS key ids as key ARNs, as S3 does, and ListBuckets with ``BucketRegion``;
- injects latency and faults.

Everything here runs in the server's request threads; one lock guards the sandbox's own state.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from xml.sax.saxutils import escape

from moto.kms.models import Key, kms_backends
from moto.s3.models import FakeBucket, s3_backends

from wizard.core.arn import bucket_arn, object_arn
from wizard.core.evaluate import Request, evaluate
from wizard.core.policy import parse_policy
from wizard.core.state import (
    DSSE_KMS,
    KEY_MANAGER_AWS,
    KEY_STATE_ENABLED,
    KEY_USAGE_ENCRYPT,
    SSE_KMS,
)
from wizard.sandbox.export_tasks import ExportTasks
from wizard.sandbox.identity import CALLER_USER_ID, caller_of, caller_request
from wizard.sandbox.incoming import Incoming, parse_request, read_body
from wizard.sandbox.moto_state import (
    PARTITION,
    bucket_crypto,
    find_bucket,
    key_policy,
    policy_text,
    resolve_key,
)
from wizard.sandbox.preview import caller_arn
from wizard.sandbox.scenarios import ensure_aws_managed_key
from wizard.sandbox.wire import (
    ApiError,
    Headers,
    Response,
    StartResponse,
    WSGIEnviron,
    call_wsgi,
    fault_status,
    json_response,
    render_error,
    request_id,
    xml_response,
)

log = logging.getLogger("wizard.sandbox")

# The text S3 answers with when KMS refuses to decrypt an object's data key for the caller.
ERR_S3_KMS_ACCESS = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in "
    "this region, or you are not allowed to access."
)
ERR_KEY_LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
# KMS operations that change a key: refused on AWS managed keys.
KMS_KEY_CHANGES = frozenset(
    {
        "PutKeyPolicy",
        "DisableKey",
        "EnableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "UpdateKeyDescription",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "TagResource",
        "UntagResource",
    }
)
# moto looks these keys up by the raw KeyId and fails (HTTP 500) when given a key ARN.
KMS_ARN_UNAWARE = frozenset({"DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion"})


@dataclass(frozen=True)
class FaultRule:
    operation: str
    error_code: str
    count: int | None  # None: every time
    skip: int = 0  # calls let through before the first failure


class Gate:
    """Holds the ``occurrence``-th request of ``operation`` until released: a test kills the
    client while the call is in flight, then lets the call go on (it completes in AWS, as a
    real call whose answer was lost does) or drops it (it never reached AWS)."""

    def __init__(self, operation: str, occurrence: int = 1) -> None:
        self.operation = operation
        self.occurrence = occurrence
        self.arrived = threading.Event()  # the request is held
        self.done = threading.Event()  # the request was answered (or dropped)
        self._released = threading.Event()
        self._complete = True
        self.seen = 0

    def release(self, *, complete: bool = True) -> None:
        self._complete = complete
        self._released.set()

    def hold(self, stopping: threading.Event) -> bool:
        """Called in the request thread: wait; True: go on with the call."""
        self.arrived.set()
        while not self._released.wait(0.05):
            if stopping.is_set():
                return False
        return self._complete


class OrgGuardrail(Protocol):
    """An organization's policy over the account's S3 and KMS resources (sandbox
    --org-guardrail; wizard.sandbox.guardrail): each raises ApiError when it denies."""

    def check_caller(self, request: Incoming, account: str) -> None: ...

    def check_request(self, incoming: Incoming, request: Request, account: str) -> None: ...


class Fidelity:
    """WSGI middleware in front of moto's DomainDispatcherApplication."""

    def __init__(
        self,
        app: Callable[[WSGIEnviron, StartResponse], Iterable[bytes]],
        *,
        account: str,
        region: str,
        tasks: ExportTasks,
        latency_ms: int = 0,
        faults: Sequence[FaultRule] = (),
        stopping: threading.Event | None = None,
        authorize: Callable[[Incoming, str], None] | None = None,
        simulate: Callable[[Incoming], str] | None = None,
        identity_allows: Callable[[Incoming, str, Key, Mapping[str, str]], bool] | None = None,
        guardrail: OrgGuardrail | None = None,
    ) -> None:
        self._app = app
        self.account = account
        self.region = region
        self.tasks = tasks
        self._latency = max(0, latency_ms) / 1000
        self._faults = list(faults)
        self._remaining: list[int | None] = [f.count for f in faults]
        self._skipped: list[int] = [0 for _ in faults]
        self._fault_lock = threading.Lock()
        self._gates: list[Gate] = []
        self._authorize = authorize  # the caller's own permissions (sandbox --caller-policy)
        self._identity_allows = identity_allows
        self._guardrail = guardrail  # the organization's policy (sandbox --org-guardrail)
        self._stopping = stopping or threading.Event()
        self._handlers: dict[tuple[str, str], Callable[[Incoming], Response | None]] = {
            ("logs", "CreateExportTask"): lambda r: json_response(
                200, self.tasks.create(r.region, r.params, self._caller(r))
            ),
            ("logs", "DescribeExportTasks"): lambda r: json_response(
                200, self.tasks.describe(r.region, r.params, self._caller(r)[0])
            ),
            ("logs", "CancelExportTask"): lambda r: json_response(
                200, self.tasks.cancel(r.region, r.params, self._caller(r)[0])
            ),
            ("s3", "ListBuckets"): self._list_buckets,
            ("s3", "GetObject"): self._get_object,
            ("s3", "PutObject"): self._put_object,
            ("kms", "PutKeyPolicy"): self._put_key_policy,
            ("kms", "CreateKey"): self._create_key,
            ("sts", "GetCallerIdentity"): self._caller_identity,
        }
        if simulate is not None:
            self._handlers[("iam", "SimulatePrincipalPolicy")] = lambda r: xml_response(
                200, simulate(r)
            )

    # -- WSGI

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        request = parse_request(environ, self.region)
        head = request.method == "HEAD"
        try:
            self.tasks.advance()
        except Exception:  # a task that cannot settle must not break unrelated requests
            log.exception("settling export tasks failed")
        gate = self._take_gate(request.operation)
        if gate is not None:
            # The whole request has arrived at "AWS" before it is held: a client killed now
            # cannot take part of it back (its socket's reset would drop unread bytes).
            read_body(environ)
            try:
                if not gate.hold(self._stopping):
                    # Dropped: the call never reached AWS (the client is gone by now).
                    return render_error(
                        request.service,
                        ApiError("ServiceUnavailable", "sandbox: request dropped", 503),
                    ).send(start_response, head)
                return self._answer(environ, start_response, request, head)
            finally:
                gate.done.set()
        return self._answer(environ, start_response, request, head)

    def _answer(
        self,
        environ: WSGIEnviron,
        start_response: StartResponse,
        request: Incoming,
        head: bool,
    ) -> Iterable[bytes]:
        if self._latency:
            self._stopping.wait(self._latency)
        try:
            fault = self._take_fault(request.operation)
            if fault is not None:
                raise ApiError(
                    fault.error_code,
                    f"Injected fault: {fault.error_code} for {request.operation} "
                    "(cwl-export-wizard sandbox --fail).",
                    fault_status(request.service, fault.error_code),
                )
            if request.service == "kms":
                ensure_aws_managed_key(self.account, request.region)
            if self._authorize is not None:
                self._authorize(request, self._caller(request)[0])  # in its own account
            if self._guardrail is not None:
                self._guardrail.check_caller(request, self._caller(request)[0])
            if request.service == "kms":
                if request.operation in KMS_KEY_CHANGES:
                    self._refuse_aws_managed(request)
                if request.operation == "ListAliases":
                    return self._list_aliases(environ, request).send(start_response)
                if request.operation in KMS_ARN_UNAWARE:
                    return self._by_key_id(environ, request).send(start_response)
            self._remember_before_write(request)
            handler = self._handlers.get((request.service, request.operation))
            response = handler(request) if handler else None
            if request.service == "kms" and request.operation == "CreateKey":
                _default_key_usage(environ, request)
        except ApiError as error:
            return render_error(request.service, error).send(start_response, head)
        except Exception as error:  # a bug here must look like an AWS 500, not a hang
            log.exception("sandbox fidelity layer failed on %s", request.operation)
            return render_error(
                request.service, ApiError("InternalFailure", f"sandbox: {error}", 500)
            ).send(start_response, head)
        if response is not None:
            return response.send(start_response, head)
        if request.service == "s3" and request.bucket and request.key:
            return self._app(environ, self._s3_headers(request, start_response))
        return self._app(environ, start_response)

    def add_gate(self, gate: Gate) -> Gate:
        with self._fault_lock:
            self._gates.append(gate)
        return gate

    def _take_gate(self, operation: str) -> Gate | None:
        with self._fault_lock:
            for gate in self._gates:
                if gate.operation.lower() == operation.lower():
                    gate.seen += 1
                    if gate.seen == gate.occurrence:
                        return gate
        return None

    def _remember_before_write(self, request: Incoming) -> None:
        """Keep what a write replaces: CloudWatch Logs sees it for a while (Propagation)."""
        seen = self.tasks.seen
        if seen.delay <= 0:
            return
        operation = request.operation
        if (
            request.service == "s3"
            and request.bucket
            and operation
            in (
                "PutBucketPolicy",
                "DeleteBucketPolicy",
                "PutBucketEncryption",
                "DeleteBucketEncryption",
            )
        ):
            bucket = self._s3().buckets.get(request.bucket)
            if bucket is None:
                return
            if operation.endswith("Policy"):
                seen.record("bucket-policy", bucket.name, policy_text(bucket.policy))
            else:
                seen.record("bucket-encryption", bucket.name, bucket.encryption)
        elif request.service == "kms" and operation == "PutKeyPolicy":
            key = self._kms_key(request)
            if key is not None:
                seen.record("key-policy", key.id, key.policy)

    def _take_fault(self, operation: str) -> FaultRule | None:
        with self._fault_lock:
            for index, fault in enumerate(self._faults):
                if fault.operation.lower() != operation.lower():
                    continue
                if self._skipped[index] < fault.skip:
                    self._skipped[index] += 1
                    continue
                remaining = self._remaining[index]
                if remaining is None:
                    return fault
                if remaining > 0:
                    self._remaining[index] = remaining - 1
                    return fault
        return None

    def _call_moto(self, environ: WSGIEnviron) -> Response:
        status, headers, body = call_wsgi(self._app, environ)
        return Response(int(status.split()[0]), headers, body)

    # -- S3

    def _caller(self, request: Incoming) -> tuple[str, str | None]:
        return caller_of(request.access_key, self.account)

    def _s3(self, request: Incoming | None = None) -> Any:
        account = self._caller(request)[0] if request is not None else self.account
        return s3_backends[account][PARTITION]

    def _list_buckets(self, request: Incoming) -> Response:
        """ListBuckets with BucketRegion/MaxBuckets/Prefix/ContinuationToken, as S3 has it."""
        q = {k: v[0] for k, v in request.query.items()}
        region, prefix = q.get("bucket-region"), q.get("prefix")
        after = q.get("continuation-token")
        try:
            limit = int(q.get("max-buckets", "10000"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 10000:
            raise ApiError("InvalidArgument", "Argument max-buckets must be between 1 and 10000.")
        buckets = sorted(self._s3(request).buckets.values(), key=lambda b: b.name)
        selected = [
            b
            for b in buckets
            if (not region or b.region_name == region)
            and (not prefix or b.name.startswith(prefix))
            and (not after or b.name > _unb64(after))
        ]
        page, more = selected[:limit], len(selected) > limit
        items = "".join(
            f"<Bucket><Name>{escape(b.name)}</Name>"
            f"<CreationDate>{b.creation_date_ISO8601}</CreationDate>"
            f"<BucketRegion>{escape(b.region_name)}</BucketRegion></Bucket>"
            for b in page
        )
        tail = ""
        if more:
            token = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
            tail += f"<ContinuationToken>{token}</ContinuationToken>"
        if prefix:
            tail += f"<Prefix>{escape(prefix)}</Prefix>"
        return xml_response(
            200,
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            "<Owner><ID>bcaf1ffd86f41161ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName>"
            f"</Owner><Buckets>{items}</Buckets>{tail}</ListAllMyBucketsResult>",
        )

    def _caller_key_check(
        self,
        bucket: FakeBucket,
        object_key: str,
        reference: str | None,
        bucket_key: bool,
        action: str,
        incoming: Incoming,
    ) -> None:
        """S3 calls KMS as the caller: the key must be enabled and let the caller use it.

        The key is the bucket owner's; a caller of that same account (another sandbox
        account's role, as in the fleet) is judged as that account's."""
        owner = self._owner(bucket)
        caller_account = self._caller(incoming)[0]
        account = caller_account if caller_account == owner else self.account
        key = resolve_key(owner, bucket.region_name, reference)
        if key is None:
            raise ApiError("KMS.NotFoundException", f"Invalid keyId {reference}", 400)
        if key.key_state == "Disabled":
            raise ApiError("KMS.DisabledException", f"{key.arn} is disabled.", 400)
        if key.key_state != KEY_STATE_ENABLED:
            raise ApiError("KMS.KMSInvalidStateException", f"{key.arn} is {key.key_state}.", 400)
        context_arn = bucket_arn(bucket.name) if bucket_key else object_arn(bucket.name, object_key)
        request = caller_request(
            account,
            action,
            key.arn,
            **{
                "kms:ViaService": f"s3.{bucket.region_name}.amazonaws.com",
                "kms:EncryptionContext:aws:s3:arn": context_arn,
            },
        )
        if not evaluate(key_policy(key), request).allowed:
            raise ApiError("AccessDenied", ERR_S3_KMS_ACCESS, 403)
        if self._guardrail is not None:
            self._guardrail.check_request(incoming, request, self.account)
        if self._identity_allows is not None and not self._identity_allows(
            incoming, action, key, {k: str(v) for k, v in request.context.items()}
        ):
            raise ApiError(
                "AccessDenied",
                f"User: {caller_arn(account)} is not authorized to perform: {action} on "
                f"resource: {key.arn} because no identity-based policy allows the {action} "
                "action",
                403,
            )

    def _owner(self, bucket: FakeBucket) -> str:
        """The account that holds ``bucket`` (bucket names are global)."""
        found = find_bucket(bucket.name)
        return found[0] if found is not None else self.account

    def _get_object(self, request: Incoming) -> None:
        """Reading an SSE-KMS object needs kms:Decrypt for the caller."""
        if request.bucket is None or request.key is None:
            return None
        version = request.query.get("versionId", [None])[0]
        try:
            obj = self._s3().get_object(request.bucket, request.key, version)
            bucket = self._s3().get_bucket(request.bucket)
        except Exception:  # no such bucket/key: moto answers that itself
            return None
        if obj is None or getattr(obj, "encryption", None) not in (SSE_KMS, DSSE_KMS):
            return None
        bucket_key = str(obj.bucket_key_enabled).lower() == "true"
        self._caller_key_check(
            bucket, request.key, obj.kms_key_id, bucket_key, "kms:Decrypt", request
        )
        return None

    def _put_object(self, request: Incoming) -> None:
        """Writing an SSE-KMS object needs kms:GenerateDataKey for the caller."""
        if request.bucket is None or request.key is None:
            return None
        try:
            bucket = self._s3().get_bucket(request.bucket)
        except Exception:
            return None
        algorithm = request.headers.get("x-amz-server-side-encryption")
        reference = request.headers.get("x-amz-server-side-encryption-aws-kms-key-id")
        bucket_key_header = request.headers.get("x-amz-server-side-encryption-bucket-key-enabled")
        crypto = bucket_crypto(self._owner(bucket), bucket)
        if algorithm is None:
            algorithm, reference = crypto.algorithm, crypto.key_reference
        if algorithm not in (SSE_KMS, DSSE_KMS):
            return None
        bucket_key = bucket_key_header.lower() == "true" if bucket_key_header else crypto.bucket_key
        self._caller_key_check(
            bucket, request.key, reference, bucket_key, "kms:GenerateDataKey", request
        )
        return None

    def _s3_headers(self, request: Incoming, start_response: StartResponse) -> StartResponse:
        """S3 names an object's KMS key by its ARN, whatever the bucket rule or request said."""

        def start(status: str, headers: Headers, exc_info: Any = None) -> Any:
            names = {k.lower(): v for k, v in headers}
            if names.get("x-amz-server-side-encryption") in (SSE_KMS, DSSE_KMS):
                try:
                    bucket = self._s3().get_bucket(request.bucket)
                    key = resolve_key(
                        self.account,
                        bucket.region_name,
                        names.get("x-amz-server-side-encryption-aws-kms-key-id"),
                    )
                except Exception:
                    key = None
                if key is not None:
                    headers = [
                        (k, v)
                        for k, v in headers
                        if k.lower() != "x-amz-server-side-encryption-aws-kms-key-id"
                    ]
                    headers.append(("x-amz-server-side-encryption-aws-kms-key-id", key.arn))
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        return start

    # -- KMS

    def _kms_key(self, request: Incoming, param: str = "KeyId") -> Key | None:
        reference = request.params.get(param)
        if not isinstance(reference, str):
            return None
        # The caller's own account: another sandbox account's role (the fleet) writes its keys.
        return resolve_key(self._caller(request)[0], request.region, reference)

    def _not_authorized(self, action: str, key: Key, why: str) -> ApiError:
        return ApiError(
            "AccessDeniedException",
            f"User: {caller_arn(self.account)} is not authorized to perform: {action} on "
            f"resource: {key.arn} because {why}",
        )

    def _refuse_aws_managed(self, request: Incoming) -> None:
        key = self._kms_key(request)
        if key is not None and key.key_manager == KEY_MANAGER_AWS:
            # AWS managed keys belong to the service: their policy and state are not yours.
            raise self._not_authorized(
                f"kms:{request.operation}",
                key,
                f"no resource-based policy allows the kms:{request.operation} action",
            )

    def _lockout_check(
        self, policy_text: Any, resource: str, bypass: Any, account: str | None = None
    ) -> None:
        if not isinstance(policy_text, str):
            return
        try:
            document = parse_policy(policy_text, kind="key policy")
        except Exception as error:
            raise ApiError("MalformedPolicyDocumentException", str(error)) from None
        if bypass is True:
            return
        caller = caller_request(account or self.account, "kms:PutKeyPolicy", resource)
        if not evaluate(document, caller).allowed:
            raise ApiError("MalformedPolicyDocumentException", ERR_KEY_LOCKOUT)

    def _put_key_policy(self, request: Incoming) -> None:
        key = self._kms_key(request)
        if key is None:
            return None  # moto reports the missing key
        account = self._caller(request)[0]
        current = caller_request(account, "kms:PutKeyPolicy", key.arn)
        if not evaluate(key_policy(key), current).allowed:
            raise self._not_authorized(
                "kms:PutKeyPolicy",
                key,
                "no resource-based policy allows the kms:PutKeyPolicy action",
            )
        self._lockout_check(
            request.params.get("Policy"),
            key.arn,
            request.params.get("BypassPolicyLockoutSafetyCheck"),
            account,
        )
        return None

    def _create_key(self, request: Incoming) -> None:
        account = self._caller(request)[0]
        resource = f"arn:{PARTITION}:kms:{request.region}:{account}:key/*"
        self._lockout_check(
            request.params.get("Policy"),
            resource,
            request.params.get("BypassPolicyLockoutSafetyCheck"),
            account,
        )
        return None

    def _by_key_id(self, environ: WSGIEnviron, request: Incoming) -> Response:
        """Hand moto the bare key id; answer with the key ARN, as KMS does."""
        key = self._kms_key(request)
        if key is None:
            return self._call_moto(environ)
        _rewrite_json_body(environ, {**request.params, "KeyId": key.id})
        response = self._call_moto(environ)
        try:
            payload = json.loads(response.body or b"null")
        except ValueError:
            return response
        if isinstance(payload, dict) and "KeyId" in payload:
            payload["KeyId"] = key.arn
        response.body = json.dumps(payload if payload is not None else {}).encode()
        return response

    def _list_aliases(self, environ: WSGIEnviron, request: Incoming) -> Response:
        """AWS lists unused AWS managed aliases without a TargetKeyId; moto invents one."""
        response = self._call_moto(environ)
        if response.status != 200:
            return response
        try:
            payload = json.loads(response.body)
        except ValueError:
            return response
        keys = kms_backends[self.account][request.region].keys
        for alias in payload.get("Aliases", []):
            if alias.get("TargetKeyId") and alias["TargetKeyId"] not in keys:
                del alias["TargetKeyId"]
        response.body = json.dumps(payload).encode()
        return response

    # -- STS

    def _caller_identity(self, request: Incoming) -> Response | None:
        if self._caller(request)[1] is not None:
            return None  # an assumed role's session: moto names it
        return xml_response(
            200,
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>{caller_arn(self.account)}</Arn>"
            f"<UserId>{CALLER_USER_ID}</UserId><Account>{self.account}</Account>"
            "</GetCallerIdentityResult>"
            f"<ResponseMetadata><RequestId>{request_id()}</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>",
        )


def _rewrite_json_body(environ: WSGIEnviron, params: Mapping[str, Any]) -> None:
    body = json.dumps(params).encode()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _default_key_usage(environ: WSGIEnviron, request: Incoming) -> None:
    """AWS defaults KeyUsage to ENCRYPT_DECRYPT; moto would store and report null."""
    if not request.params.get("KeyUsage"):
        _rewrite_json_body(environ, {**request.params, "KeyUsage": KEY_USAGE_ENCRYPT})


def _unb64(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("InvalidArgument", "The continuation token provided is incorrect") from None
