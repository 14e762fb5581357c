"""The embedded local AWS: moto's server in a thread on 127.0.0.1, behind the fidelity layer.

    with Sandbox(SandboxConfig(scenario="demo", export_delay=0.5)) as sandbox:
        logs = boto3.client("logs", endpoint_url=sandbox.endpoint_url, region_name=sandbox.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

moto keeps its state in process-wide backends, so only ONE Sandbox may run per process at a
time: ``start`` resets moto's state, seeds the scenario, and raises ``SandboxError`` if another
Sandbox is running; ``stop`` resets it again. While a Sandbox runs, moto's own (condition-blind)
S3 bucket-policy enforcement is switched off: the fidelity layer judges policies instead.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data
from moto.iam.access_control import PermissionResult
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.models import FakeBucket
from werkzeug.serving import ThreadedWSGIServer

from wizard.core.arn import is_valid_region
from wizard.errors import UsageError, WizardError
from wizard.sandbox.fidelity import ExportTasks, FaultRule, Fidelity
from wizard.sandbox.scenarios import DEFAULT_SCENARIO, check_scenario, seed

HOST = "127.0.0.1"
ACCOUNT = DEFAULT_ACCOUNT_ID  # "123456789012": what moto answers for the "testing" keys
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
RNG_SEED = 20261126  # identifiers (key ids, task ids) are the same on every run
THREAD_PREFIX = "cwl-sandbox"

_FAULT = re.compile(r"^([A-Za-z][A-Za-z0-9]*):([A-Za-z][A-Za-z0-9._]*)(?::(\d+))?$")


class SandboxError(WizardError):
    """The sandbox cannot start (port taken, another sandbox running in this process)."""


@dataclass(frozen=True)
class Fault:
    """Make ``operation`` fail with ``error_code``: ``count`` times, or every time (None)."""

    operation: str
    error_code: str
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``OPERATION:ErrorCode[:count]``, e.g. ``PutKeyPolicy:AccessDeniedException:1``."""
        match = _FAULT.match(text.strip())
        count = int(match.group(3)) if match and match.group(3) is not None else None
        if not match or count == 0:
            raise UsageError(
                f"Bad fault {text!r}: expected OPERATION:ErrorCode[:count] with count >= 1.",
                "For example: --fail PutKeyPolicy:AccessDeniedException:1",
            )
        return cls(match.group(1), match.group(2), count)

    def __str__(self) -> str:
        return f"{self.operation}:{self.error_code}" + (f":{self.count}" if self.count else "")


@dataclass(frozen=True)
class SandboxConfig:
    scenario: str = DEFAULT_SCENARIO  # "demo" | "empty" | "broken"
    region: str = "ap-northeast-1"
    port: int = 0  # 0: any free port
    export_delay: float = 2.0  # seconds from PENDING to COMPLETED
    latency_ms: int = 0
    faults: tuple[Fault, ...] = ()

    def validate(self) -> None:
        """Raise UsageError for values no sandbox can run with."""
        check_scenario(self.scenario)
        if not is_valid_region(self.region):
            raise UsageError(f"Invalid region {self.region!r}.", "For example: ap-northeast-1")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"Invalid port {self.port}: use 0 (any free port) to 65535.")
        if self.export_delay < 0:
            raise UsageError(f"Invalid export delay {self.export_delay}: it cannot be negative.")
        if self.latency_ms < 0:
            raise UsageError(f"Invalid latency {self.latency_ms} ms: it cannot be negative.")


DEFAULT_CONFIG = SandboxConfig()


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server that ends every request thread when it closes.

    Request threads are not daemons and are joined on close; each open connection is shut
    down first, so that a thread waiting on an idle keep-alive connection wakes up and ends.
    """

    daemon_threads = False
    block_on_close = False  # we track and join our own threads (named, see below)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._request_threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._count = 0
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._count += 1
            self._connections.add(request)
            self._request_threads = [t for t in self._request_threads if t.is_alive()]
            thread = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name=f"{THREAD_PREFIX}-request-{self._count}",
            )
            self._request_threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._request_threads)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client closed it already
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()


class _QuietHandler(MotoRequestHandler):
    """No access log on stderr: the sandbox command prints only what the user needs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _neutral_permission(self: FakeBucket, action: str, resource: str) -> Any:
    return PermissionResult.NEUTRAL


_active_lock = threading.Lock()
_active: Sandbox | None = None


def _reset_moto() -> None:
    BackendDict.reset()
    reset_model_data()


class Sandbox:
    """An embedded local AWS for demos and tests. One per process at a time (see module doc)."""

    account: str = ACCOUNT

    def __init__(self, config: SandboxConfig = DEFAULT_CONFIG) -> None:
        config.validate()
        self.config = config
        self.region = config.region
        self.account = ACCOUNT
        self._endpoint_url: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._original_permission: Any = None
        self.tasks: ExportTasks | None = None
        self.start_seconds: float | None = None  # how long start() took

    # -- life cycle

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise SandboxError("The sandbox has not been started.")
        return self._endpoint_url

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Sandbox:
        global _active
        began = time.perf_counter()
        with _active_lock:
            if self._server is not None:
                return self
            if _active is not None:
                raise SandboxError(
                    "Another sandbox is already running in this process "
                    f"({_active._endpoint_url}).",
                    "Stop it first: moto keeps its state process-wide, so sandboxes cannot "
                    "run side by side in one process.",
                )
            _active = self
        try:
            self._start()
        except BaseException:
            self._teardown()
            raise
        self.start_seconds = time.perf_counter() - began
        return self

    def _start(self) -> None:
        _reset_moto()
        mock_random.seed(RNG_SEED)
        self._original_permission = FakeBucket.get_permission
        FakeBucket.get_permission = _neutral_permission  # type: ignore[method-assign]
        self._stopping.clear()
        seed(self.config.scenario, self.account, self.region, int(time.time() * 1000), RNG_SEED)
        # Its own stream: moto's seeded uuids (key ids) must not repeat as task ids.
        task_ids = random.Random(f"export-tasks-{RNG_SEED}")
        self.tasks = ExportTasks(self.account, self.config.export_delay, task_ids)
        app = Fidelity(
            DomainDispatcherApplication(create_backend_app),
            account=self.account,
            region=self.region,
            tasks=self.tasks,
            latency_ms=self.config.latency_ms,
            faults=[FaultRule(f.operation, f.error_code, f.count) for f in self.config.faults],
            stopping=self._stopping,
        )
        # Bind ourselves: werkzeug would print and sys.exit() on a taken port.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, self.config.port))
            listener.listen(128)
            server = _Server(
                HOST, self.config.port, app, handler=_QuietHandler, fd=listener.fileno()
            )
        except OSError as error:
            raise SandboxError(
                f"Cannot listen on {HOST}:{self.config.port}: {error.strerror or error}.",
                "Choose another --port, or 0 for any free port.",
            ) from None
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        self._server = server
        self._endpoint_url = f"http://{HOST}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{THREAD_PREFIX}-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Close the port, end every server thread, and reset moto's state."""
        if self._server is None and self._thread is None:
            return
        self._teardown()

    def _teardown(self) -> None:
        global _active
        self._stopping.set()  # wake requests sleeping for injected latency
        server, thread = self._server, self._thread
        if server is not None:
            if thread is not None and thread.is_alive():
                server.shutdown()
            if thread is not None:
                thread.join()
            server.server_close()
        self._server = self._thread = None
        if self._original_permission is not None:
            FakeBucket.get_permission = self._original_permission  # type: ignore[method-assign]
            self._original_permission = None
        _reset_moto()
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- for clients

    def env(self) -> dict[str, str]:
        """The environment a boto3/AWS CLI process needs to talk to this sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for this sandbox (imports boto3 on first use)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
