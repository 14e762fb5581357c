"""One AWS session: the user's credential chain, a region, clients, identity, and error texts.

boto3's own chain decides the credentials (``--profile``, environment, SSO, instance roles),
and boto3 itself honours ``AWS_ENDPOINT_URL``. Every botocore failure leaves this layer as a
:class:`wizard.core.errors.WizardError` with one line that says what happened and how to fix it.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore import exceptions as bce
from botocore.config import Config
from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES
from botocore.parsers import ResponseParserError

from wizard import __version__
from wizard.aws import client_models
from wizard.aws.pool import AwsPool
from wizard.core.arn import parse_arn, partition_for_region
from wizard.core.errors import AwsError, NoRegion, UsageError, WizardError
from wizard.core.permissions import permission_for
from wizard.core.state import Identity
from wizard.core.validate import endpoint_problem

MAX_ATTEMPTS_ENV = "CWL_WIZARD_MAX_ATTEMPTS"
DEFAULT_MAX_ATTEMPTS = 5
# An interactive tool's patience, in seconds: a few to connect; a read that waits longer is
# reported (naming the endpoint), not retried, so one hanging call costs at most about
# CONNECT_TIMEOUT + READ_TIMEOUT. $CWL_WIZARD_TIMEOUT_SCALE multiplies both (tests: 0.05).
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
TIMEOUT_SCALE_ENV = "CWL_WIZARD_TIMEOUT_SCALE"
# Connections per client, and threads in the session's pool: every thread can hold one.
MAX_POOL_CONNECTIONS = 40


@dataclass(frozen=True)
class ConnectionOptions:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    profile_option: str = "--profile"  # the option that named ``profile``, for its errors
    # None: $CWL_WIZARD_MAX_ATTEMPTS, else DEFAULT_MAX_ATTEMPTS (botocore counts the first try).
    max_attempts: int | None = None


def _max_attempts(options: ConnectionOptions) -> int:
    if options.max_attempts is not None:
        return max(1, options.max_attempts)
    raw = os.environ.get(MAX_ATTEMPTS_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_MAX_ATTEMPTS


def timeouts() -> tuple[float, float]:
    """(connect, read) timeouts in seconds, read in this one place."""
    raw = os.environ.get(TIMEOUT_SCALE_ENV, "").strip()
    try:
        scale = float(raw) if raw else 1.0
    except ValueError:
        scale = 1.0
    if not 0 < scale <= 100:
        scale = 1.0
    return CONNECT_TIMEOUT * scale, READ_TIMEOUT * scale


def _isolated_session_vars() -> dict[str, tuple[Any, ...]]:
    """botocore's settings with no environment variable and no config file behind them: a
    session on the sandbox must not read the user's AWS_PROFILE, AWS_CONFIG_FILE,
    AWS_DEFAULT_REGION, credentials or anything else of theirs."""
    isolated: dict[str, tuple[Any, ...]] = {}
    for name, (_config, _env, default, convert) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items():
        if name in ("config_file", "credentials_file"):
            default = os.devnull
        isolated[name] = (None, None, default, convert)
    return isolated


def _no_timeout_retry(caught_exception: BaseException | None = None, **_: Any) -> None:
    """A call that timed out is not tried again (botocore would, up to max_attempts times
    the timeout): it is reported at once, naming the endpoint."""
    if isinstance(caught_exception, (bce.ReadTimeoutError, bce.ConnectTimeoutError)):
        raise caught_exception


client_models.install()
_loader_lock = threading.Lock()
_loader: botocore.loaders.Loader | None = None


def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader per process: service models are parsed once, not per session.

    It caches read-only JSON shipped with botocore, so sharing it shares no user state.
    """
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
        return _loader


@dataclass
class _Shared:
    """What sessions for several regions share: boto3 session, clients, identity."""

    boto: boto3.session.Session
    config: Config
    s3_config: Config
    endpoint_url: str | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    clients: dict[tuple[str, str, int | None], Any] = field(default_factory=dict)
    identity: Identity | None = None
    pool: AwsPool = field(default_factory=lambda: AwsPool(MAX_POOL_CONNECTIONS))
    credential_processes: CredentialProcesses | None = None


class CredentialProcesses:
    """The processes a profile's ``credential_process`` started, so that a sign-in given up
    (too slow, or the user stopped) does not leave its process running: botocore waits for
    the process without a time limit and never stops it."""

    def __init__(self, *, own_group: bool = False) -> None:
        """``own_group``: each process leads a process group of its own, so that stopping it
        stops what it started too (a shell script's children); it is then cut off from the
        terminal (no prompt, and Ctrl+C does not reach it: ``stop`` does). For the survey,
        whose concurrent sign-ins can prompt no one anyway."""
        self._lock = threading.Lock()
        self._started: list[subprocess.Popen[bytes]] = []
        self._stopped = False
        self._own_group = own_group and hasattr(os, "killpg")

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        if self._own_group:
            kwargs["start_new_session"] = True
        process: subprocess.Popen[bytes] = subprocess.Popen(*args, **kwargs)
        with self._lock:
            self._started.append(process)
            too_late = self._stopped
        if too_late:  # the sign-in was given up before its process started
            self._kill(process)
        return process

    def stop(self) -> int:
        """Kill those still running, and any started from now on; how many were running."""
        with self._lock:
            self._stopped = True
            started = list(self._started)
        running = sum(p.poll() is None for p in started)
        for process in started:
            # A group outlives its leader (a script's children): stopped all the same.
            if self._own_group or process.poll() is None:
                self._kill(process)
        return running

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        try:
            if self._own_group:
                os.killpg(process.pid, signal.SIGKILL)  # its group: pgid == pid
            else:
                process.kill()
        except OSError:
            pass  # it ended on its own meanwhile

    def watch(self, core: botocore.session.Session) -> None:
        """Start the profile's credential_process through ``popen``, keeping botocore's
        resolver lazy (it is built with the region of the first client, as botocore does)."""

        def resolver() -> Any:
            made = core._create_credential_resolver()  # botocore's own factory
            with contextlib.suppress(bce.UnknownCredentialError):  # no such provider
                made.get_provider("custom-process")._popen = self.popen
            return made

        core.lazy_register_component("credential_provider", resolver)


def _profile(options: ConnectionOptions) -> tuple[str | None, str]:
    if options.profile:
        return options.profile, options.profile_option
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        value = os.environ.get(variable)
        if value:
            return value, variable
    return None, "the default profile"


def _region(options: ConnectionOptions, boto: boto3.session.Session) -> tuple[str | None, str]:
    if options.region:
        return options.region, "--region"
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(variable)
        if value:
            return value, variable
    return boto.region_name, "the profile"


class AwsSession:
    """Clients per (service, region), created once and shared by threads.

    boto3 sessions are not thread-safe but clients are: creation happens under a lock.
    """

    region: str
    region_source: str  # where the region came from: --region, AWS_REGION, ...
    endpoint_url: str | None
    profile: str | None
    profile_source: str | None

    def __init__(
        self,
        options: ConnectionOptions = ConnectionOptions(),
        *,
        credentials: tuple[str, ...] | None = None,
        pool: AwsPool | None = None,
        detached_sign_in: bool = False,
    ) -> None:
        """``pool``: threads shared with other sessions (a survey of many profiles runs on
        one pool); default: the session's own. ``detached_sign_in``: a credential_process
        runs in a process group of its own (``CredentialProcesses``), for the survey."""
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            kwargs["aws_access_key_id"] = credentials[0]
            kwargs["aws_secret_access_key"] = credentials[1]
            if len(credentials) > 2:
                kwargs["aws_session_token"] = credentials[2]
        sandboxed = credentials is not None
        # The profile as the AWS CLI finds it: --profile, else AWS_PROFILE, else
        # AWS_DEFAULT_PROFILE. Given credentials (the sandbox) use no profile at all, so a
        # profile in the user's environment can neither break nor leak into a demo.
        profile, source = _profile(options)
        try:
            core = botocore.session.Session(
                session_vars=_isolated_session_vars() if sandboxed else None
            )
            core.register_component("data_loader", _shared_loader())
            processes = None if sandboxed else CredentialProcesses(own_group=detached_sign_in)
            if processes is not None:
                processes.watch(core)
            boto = boto3.session.Session(
                botocore_session=core, profile_name=None if sandboxed else profile, **kwargs
            )
            if not sandboxed and profile and profile not in boto.available_profiles:
                raise UsageError(
                    f"The AWS profile {profile!r} (from {source}) is not in your AWS config.",
                    fix="Check 'aws configure list-profiles' (for SSO: 'aws configure sso'), "
                    f"or correct {source}.",
                )
            if options.endpoint_url and not sandboxed:
                # --endpoint-url for the calls botocore makes itself too (the AssumeRole of a
                # profile's role_arn, SSO): as if the profile said endpoint_url, which
                # botocore honours for every client the session makes (AWS_ENDPOINT_URL too).
                core.get_scoped_config()["endpoint_url"] = options.endpoint_url
            # The AWS CLI v2's order: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile.
            region, region_source = _region(options, boto)
        except bce.BotoCoreError as exc:
            raise translate(exc) from exc
        if not region:
            raise NoRegion(
                "No AWS region is set.",
                fix="Pass --region (for example --region ap-northeast-1), set AWS_REGION, "
                "or add 'region' to your AWS profile.",
            )
        # An endpoint override (ours or AWS_ENDPOINT_URL) means a local emulator: path-style
        # S3 addressing, since BUCKET.localhost does not resolve.
        endpoint_url = options.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        if (
            endpoint_url
            and not options.endpoint_url
            and (problem := endpoint_problem(endpoint_url))
        ):
            raise UsageError(
                f"AWS_ENDPOINT_URL: {problem}",
                fix="Correct AWS_ENDPOINT_URL (for example http://127.0.0.1:4566), or unset it "
                "to reach AWS itself.",
            )
        connect_timeout, read_timeout = timeouts()
        config = Config(
            # total_max_attempts counts the first try (botocore's max_attempts does not).
            retries={"mode": "adaptive", "total_max_attempts": _max_attempts(options)},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # Enough connections for the concurrent describe pools (botocore's default is 10).
            max_pool_connections=MAX_POOL_CONNECTIONS,
            user_agent_extra=f"cwl-export-wizard/{__version__}",
        )
        s3_config = config
        if endpoint_url:
            s3_config = config.merge(Config(s3={"addressing_style": "path"}))
        self._shared = _Shared(boto, config, s3_config, options.endpoint_url)
        if pool is not None:
            self._shared.pool = pool
        self._shared.credential_processes = processes
        self.region = region
        self.region_source = region_source
        self.endpoint_url = endpoint_url
        self.profile = None if sandboxed else profile
        self.profile_source = None if sandboxed else source

    def abandon_sign_in(self) -> int:
        """Stop the credential_process of a sign-in given up; how many were still running."""
        processes = self._shared.credential_processes
        return processes.stop() if processes is not None else 0

    def describe(self) -> str:
        """Where calls go, for a header: "profile prod, eu-west-1 (from AWS_REGION), endpoint
        http://127.0.0.1:4566"."""
        parts = [f"profile {self.profile}"] if self.profile else []
        parts.append(f"{self.region} (from {self.region_source})")
        if self.endpoint_url:
            parts.append(f"endpoint {self.endpoint_url}")
        return ", ".join(parts)

    @property
    def pool(self) -> AwsPool:
        """The session's threads for concurrent calls (shared by every region's session)."""
        return self._shared.pool

    def close(self) -> None:
        """No new concurrent calls; the calls already running finish on their own."""
        self._shared.pool.close()

    def prepare_clients(self, services: Iterable[str], region: str | None = None) -> None:
        """Create (and cache) these clients now, so that their first call does not pay for
        loading the service models."""
        for service in services:
            self.client(service, region)

    def client(
        self, service: str, region: str | None = None, *, max_attempts: int | None = None
    ) -> Any:
        """A client per (service, region); ``max_attempts`` gives a separate, less patient one.

        botocore retries LimitExceededException as throttling: CreateExportTask uses
        ``max_attempts=1`` so that a busy region is reported at once, not after backoff.
        """
        region = region or self.region
        shared = self._shared
        cache_key = (service, region, max_attempts)
        client = shared.clients.get(cache_key)  # no lock: a made client is only read
        if client is not None:
            return client
        # One client made at a time (a boto3 session is not thread-safe), so a thread that
        # wants a client already made does not wait behind one being made.
        with shared.lock:
            client = shared.clients.get(cache_key)
            if client is None:
                config = shared.s3_config if service == "s3" else shared.config
                if max_attempts is not None:
                    config = config.merge(
                        Config(retries={"mode": "adaptive", "total_max_attempts": max_attempts})
                    )
                client = shared.boto.client(
                    service,
                    region_name=region,
                    endpoint_url=shared.endpoint_url,
                    config=config,
                )
                client.meta.events.register("after-call", _note_foreign_answer)
                client.meta.events.register_first("needs-retry", _no_timeout_retry)
                shared.clients[cache_key] = client
        return client

    def identity(self) -> Identity:
        """STS GetCallerIdentity, once per session: the first call that proves the credentials."""
        shared = self._shared
        if shared.identity is None:
            with aws_call("GetCallerIdentity"):
                reply = self.client("sts").get_caller_identity()
            arn = reply["Arn"]
            parsed = parse_arn(arn)
            partition = parsed.partition if parsed else partition_for_region(self.region).name
            shared.identity = Identity(account=reply["Account"], arn=arn, partition=partition)
        return shared.identity

    def for_region(self, region: str) -> AwsSession:
        """The same credentials and clients with another default region."""
        other = object.__new__(AwsSession)
        other._shared = self._shared
        other.region = region
        other.region_source = self.region_source
        other.endpoint_url = self.endpoint_url
        other.profile = self.profile
        other.profile_source = self.profile_source
        return other

    def known_regions(self, partition: str | None = None) -> list[str]:
        """The regions botocore knows (no AWS call): of one partition, or of all."""
        boto = self._shared.boto
        partitions = [partition] if partition else boto.get_available_partitions()
        regions: set[str] = set()
        for name in partitions:
            regions.update(boto.get_available_regions("ec2", partition_name=name))
        return sorted(regions)


def region_known_problem(region: str) -> str | None:
    """A region botocore has never heard of (no credentials needed to ask)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _shared_loader())
    known: set[str] = set()
    for partition in core.get_available_partitions():
        known.update(core.get_available_regions("ec2", partition_name=partition))
    return known_regions_problem(region, sorted(known))


def known_regions_problem(region: str, known: list[str]) -> str | None:
    """A region name botocore has never heard of, with a suggestion."""
    if region in known:
        return None
    close = difflib.get_close_matches(region, known, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"{region!r} is not a known AWS region.{hint}"


# --- errors -------------------------------------------------------------------------------

_NOT_AUTHORIZED = re.compile(r"not authorized to perform:?\s*([A-Za-z0-9-]+:[A-Za-z0-9*]+)")
_ON_RESOURCE = re.compile(r"on resource:?\s*(\S+)")
_EXPLICIT_DENY = re.compile(r"explicit deny in (?:an? )?([A-Za-z ]+?policy)", re.IGNORECASE)

_ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "Forbidden",
        "403",
        "AllAccessDisabled",
        "UnauthorizedAccess",
        "AuthorizationError",
    }
)
_EXPIRED = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
_INVALID_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "IncompleteSignature",
        "InvalidSignatureException",
    }
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
    }
)
_NETWORK = (
    bce.EndpointConnectionError,
    bce.ConnectTimeoutError,
    bce.ReadTimeoutError,
    bce.ConnectionClosedError,
    bce.ProxyConnectionError,
    bce.SSLError,
    bce.HTTPClientError,
)
_SSO = (
    bce.SSOTokenLoadError,
    bce.UnauthorizedSSOTokenError,
    bce.TokenRetrievalError,
    bce.SSOError,
)


def _note_foreign_answer(http_response: Any = None, parsed: Any = None, **_: Any) -> None:
    """Mark an error that did not come from AWS (an HTML page from a proxy, a web server at
    the wrong --endpoint-url): botocore would report it as code "500" with no words."""
    if http_response is None or not isinstance(parsed, dict) or http_response.status_code < 300:
        return
    headers = {str(k).lower(): str(v) for k, v in http_response.headers.items()}
    from_aws = any(h in headers for h in ("x-amzn-requestid", "x-amz-request-id", "x-amz-id-2"))
    code = str(parsed.get("Error", {}).get("Code") or "")
    if "html" in headers.get("content-type", "") or (not from_aws and code.isdigit()):
        error = parsed.setdefault("Error", {})
        error["ForeignEndpoint"] = str(http_response.url)
        error["ForeignStatus"] = str(http_response.status_code)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError ("NoSuchBucketPolicy"), else None."""
    if isinstance(exc, bce.ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


def error_message(exc: BaseException) -> str:
    if isinstance(exc, bce.ClientError):
        return str(exc.response.get("Error", {}).get("Message") or "")
    return str(exc)


def _endpoint_of(url: str) -> str:
    """scheme://host[:port] of a request URL (no path, no query: they can hold a key name)."""
    match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", url)
    return match.group(0) if match else url


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _access_denied(message: str, operation: str | None) -> AwsError:
    match = _NOT_AUTHORIZED.search(message)
    action = match.group(1) if match else permission_for(operation)
    resource = _ON_RESOURCE.search(message)
    on = f" on {resource.group(1).rstrip('.,')}" if resource else ""
    deny = _EXPLICIT_DENY.search(message)
    what = f"{operation}: access denied" if operation else "Access denied"
    if action:
        what += f" (missing permission {action}{on})"
    if deny:
        what += f": an explicit deny in {deny.group(1).lower()}"
        fix = f"Ask your administrator to lift the deny on {action or 'this action'}."
    elif action:
        fix = f"Grant your identity {action}{on} (IAM policy), or use a profile that has it."
    else:
        fix = "Use a profile or role that may perform this call."
    return AwsError(
        _one_line(what + "."),
        fix=fix,
        details=message,
        code="AccessDenied",
        operation=operation,
    )


def translate(exc: BaseException, operation: str | None = None) -> WizardError:
    """A botocore failure as one plain line with the fix."""
    if isinstance(exc, WizardError):
        return exc
    op = operation or getattr(exc, "operation_name", None)
    details = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, bce.NoCredentialsError):
        return AwsError(
            "No AWS credentials were found.",
            fix="Run 'aws configure' (or 'aws sso login --profile NAME' and pass --profile NAME),"
            " or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
            details=details,
            code="NoCredentials",
            operation=op,
        )
    if isinstance(exc, bce.PartialCredentialsError):
        return AwsError(
            _one_line(f"Your AWS credentials are incomplete: {exc}."),
            fix="Set both the access key id and the secret access key (aws configure).",
            details=details,
            code="PartialCredentials",
            operation=op,
        )
    if isinstance(exc, bce.ProfileNotFound):
        profile = getattr(exc, "kwargs", {}).get("profile", "")
        return UsageError(
            f"The AWS profile {profile!r} is not in your AWS config.",
            fix=f"Check 'aws configure list-profiles', or create it: aws configure --profile "
            f"{profile or 'NAME'}.",
            details=details,
        )
    if isinstance(exc, _SSO):
        return AwsError(
            "Your AWS SSO session has expired or is not signed in.",
            fix="Run 'aws sso login' (with --profile NAME for a named profile) and try again.",
            details=details,
            code="SSOTokenExpired",
            operation=op,
        )
    if isinstance(exc, bce.CredentialRetrievalError):
        said = str(getattr(exc, "kwargs", {}).get("error_msg") or "").strip()
        provider = getattr(exc, "kwargs", {}).get("provider") or "the profile"
        if not said and provider == "custom-process":
            reason = "the profile's credential_process failed and wrote no reason on stderr"
        elif not said:
            reason = f"{provider} failed without a reason"
        else:
            reason = str(exc)
        return AwsError(
            _one_line(f"Could not get AWS credentials: {reason}."),
            fix="Check the credential_process / role settings of your profile.",
            details=details,
            code="CredentialRetrieval",
            operation=op,
        )
    if isinstance(exc, bce.NoRegionError):
        return UsageError(
            "No AWS region is set.",
            fix="Pass --region, set AWS_REGION, or add 'region' to your AWS profile.",
            details=details,
        )
    if isinstance(exc, (bce.ReadTimeoutError, bce.ConnectTimeoutError)):
        where = _endpoint_of(getattr(exc, "kwargs", {}).get("endpoint_url") or "") or "AWS"
        connect, read = timeouts()
        if isinstance(exc, bce.ReadTimeoutError):
            what = f"{where} accepted {op or 'the call'} but did not answer within {read:g} s"
        else:
            what = f"Could not connect to {where} within {connect:g} s ({op or 'the call'})"
        return AwsError(
            what + ".",
            fix="Check --endpoint-url / AWS_ENDPOINT_URL if set (is the emulator or proxy "
            "there still running?), your network, proxy and VPN; then run again.",
            details=details,
            code="Timeout",
            operation=op,
        )
    if isinstance(exc, _NETWORK):
        where = getattr(exc, "kwargs", {}).get("endpoint_url") or ""
        target = f" ({where})" if where else ""
        return AwsError(
            f"Could not reach AWS{target}: {type(exc).__name__}.",
            fix="Check your network, proxy and VPN, and --endpoint-url / AWS_ENDPOINT_URL if set.",
            details=details,
            code="NetworkError",
            operation=op,
        )
    if isinstance(exc, ResponseParserError):
        return AwsError(
            f"The answer to {op or 'an AWS call'} is not one AWS would send (it cannot be "
            "read): the endpoint is not an AWS endpoint, or a proxy changed the answer.",
            fix="Check --endpoint-url / AWS_ENDPOINT_URL and your proxy settings (HTTPS_PROXY).",
            details=details,
            code="UnreadableAnswer",
            operation=op,
        )
    if isinstance(exc, bce.ParamValidationError):
        return AwsError(
            _one_line(f"{op or 'AWS call'}: invalid parameters: {exc}"),
            details=details,
            code="ParamValidation",
            operation=op,
        )
    if isinstance(exc, bce.ClientError):
        foreign = exc.response.get("Error", {}).get("ForeignEndpoint")
        if foreign:
            status = exc.response["Error"].get("ForeignStatus", "?")
            where = foreign.split("?")[0]
            return AwsError(
                f"{where} answered {op or 'the call'} with HTTP {status} and a page that is "
                "not an AWS answer (a proxy, or a web server at the wrong endpoint).",
                fix="Check --endpoint-url / AWS_ENDPOINT_URL and your proxy settings "
                "(HTTPS_PROXY).",
                details=details,
                code="ForeignAnswer",
                operation=op,
            )
        code = error_code(exc) or "Unknown"
        message = _one_line(error_message(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _EXPIRED:
            return AwsError(
                "Your AWS credentials have expired.",
                fix="Refresh them: 'aws sso login' for SSO profiles, or get a new session token.",
                details=details,
                code=code,
                operation=op,
            )
        if code in _INVALID_CREDENTIALS:
            return AwsError(
                "AWS does not accept these credentials (unknown access key or wrong secret).",
                fix="Check the profile / AWS_ACCESS_KEY_ID in use ('aws configure list').",
                details=details,
                code=code,
                operation=op,
            )
        if code in _ACCESS_DENIED or (status == 403 and code not in _THROTTLED):
            return _access_denied(message, op)
        if code in _THROTTLED:
            return AwsError(
                f"AWS is throttling {op or 'the'} requests, even after retries.",
                fix="Wait a minute and run again; other tools in this account share the quota.",
                details=details,
                code=code,
                operation=op,
            )
        text = f"{op}: {message or code}" if op else (message or code)
        if code not in text:
            text += f" ({code})"
        return AwsError(_one_line(text), details=details, code=code, operation=op)
    if isinstance(exc, bce.BotoCoreError):
        return AwsError(
            _one_line(f"{op or 'AWS call'} failed: {exc}"), details=details, operation=op
        )
    return AwsError(
        _one_line(f"{op or 'AWS call'} failed: {type(exc).__name__}: {exc}"),
        details=details,
        operation=op,
    )


@contextmanager
def aws_call(operation: str) -> Iterator[None]:
    """Run one AWS call; botocore errors leave as :func:`translate` explains them."""
    try:
        yield
    except WizardError:
        raise
    except (bce.BotoCoreError, bce.ClientError, ResponseParserError) as exc:
        raise translate(exc, operation) from exc
