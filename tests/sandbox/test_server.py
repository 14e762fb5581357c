"""The sandbox's life cycle, configuration, latency and fault injection, and its scenarios."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.conftest import NO_RETRIES, client, make_bucket
from wizard.core.errors import UsageError
from wizard.core.requirements import ERR_GET_BUCKET_ACL
from wizard.sandbox.scenarios import BUCKET_ORG_ONLY, DEMO_FN, SCENARIO_NAMES
from wizard.sandbox.server import Fault, Sandbox, SandboxConfig, SandboxError


def sandbox_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("cwl-sandbox")]


def refuses(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def code_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_start_serve_stop_cleanly() -> None:
    sandbox = Sandbox(SandboxConfig(scenario="demo"))
    sandbox.start()
    assert sandbox.start_seconds is not None
    print(f"\nSandbox(demo).start() took {sandbox.start_seconds:.3f} s")
    try:
        url = sandbox.endpoint_url
        assert url.startswith("http://127.0.0.1:")
        assert sandbox.env() == {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "ap-northeast-1",
            "AWS_REGION": "ap-northeast-1",
        }
        logs = client(sandbox, "logs")
        assert logs.describe_log_groups()["logGroups"]
        # Many concurrent requests: every request thread must end on stop.
        workers = [threading.Thread(target=logs.describe_log_groups) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sandbox_threads()
    finally:
        sandbox.stop()
    assert refuses(url)
    assert sandbox_threads() == []
    sandbox.stop()  # a second stop is harmless


def test_only_one_sandbox_per_process_and_state_is_reset() -> None:
    with Sandbox(SandboxConfig(scenario="empty")) as first:
        s3 = client(first, "s3")
        make_bucket(s3, "left-behind", grant=False)
        with pytest.raises(SandboxError, match="already running"):
            Sandbox(SandboxConfig(scenario="empty")).start()
    with Sandbox(SandboxConfig(scenario="empty")) as second:
        assert client(second, "s3").list_buckets()["Buckets"] == []


def test_fixed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Sandbox(SandboxConfig(scenario="empty", port=port)) as sandbox:
        assert sandbox.endpoint_url == f"http://127.0.0.1:{port}"


def test_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(SandboxError, match="Cannot listen"):
            Sandbox(SandboxConfig(scenario="empty", port=busy)).start()
    assert sandbox_threads() == []
    with Sandbox(SandboxConfig(scenario="empty")):  # the failed start left nothing behind
        pass


class WaitRecorder:
    """A threading.Event that records every wait asked of it."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.event.wait(timeout)

    def is_set(self) -> bool:
        return self.event.is_set()


def test_latency_and_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    faults = (
        Fault.parse("DescribeKey:ThrottlingException:2"),
        Fault.parse("GetBucketPolicy:AccessDenied"),
        Fault.parse("CreateExportTask:ServiceUnavailableException:1"),
        Fault.parse("GetCallerIdentity:ExpiredToken:1"),
    )
    config = SandboxConfig(scenario="demo", latency_ms=150, faults=faults, export_delay=0.2)
    with Sandbox(config) as sandbox:
        kms = client(sandbox, "kms", config=NO_RETRIES)
        s3 = client(sandbox, "s3", config=NO_RETRIES)
        logs = client(sandbox, "logs", config=NO_RETRIES)
        sts = client(sandbox, "sts", config=NO_RETRIES)
        # Every request waits the latency on the sandbox's stop event (a stop wakes it): the
        # wait asked for is recorded, not the wall clock, which a loaded machine stretches.
        fidelity = sandbox._fidelity
        assert fidelity is not None
        stop = WaitRecorder(fidelity._stopping)
        monkeypatch.setattr(fidelity, "_stopping", stop)
        kms.list_keys()
        assert stop.waits == [0.15]

        # JSON protocol, honoured exactly twice.
        assert code_of(kms.describe_key, KeyId="alias/demo-exports") == "ThrottlingException"
        assert code_of(kms.describe_key, KeyId="alias/demo-exports") == "ThrottlingException"
        assert kms.describe_key(KeyId="alias/demo-exports")["KeyMetadata"]["KeyId"]
        # REST-XML protocol, every time.
        for _ in range(3):
            assert code_of(s3.get_bucket_policy, Bucket="demo-broken-exports") == "AccessDenied"
        # Faults come before the service's own checks.
        params = {"logGroupName": DEMO_FN, "destination": "demo-sse-s3", "fromTime": 0, "to": 1}
        assert code_of(logs.create_export_task, **params) == "ServiceUnavailableException"
        with pytest.raises(ClientError) as caught:
            logs.create_export_task(**params)
        assert caught.value.response["Error"]["Message"] == ERR_GET_BUCKET_ACL
        # Query protocol.
        assert code_of(sts.get_caller_identity) == "ExpiredToken"
        assert sts.get_caller_identity()["Account"] == "123456789012"


def test_fault_parse() -> None:
    assert Fault.parse("PutKeyPolicy:AccessDeniedException:1") == Fault(
        "PutKeyPolicy", "AccessDeniedException", 1
    )
    assert Fault.parse("GetObject:KMS.DisabledException") == Fault(
        "GetObject", "KMS.DisabledException", None
    )
    assert str(Fault.parse("A:B:3")) == "A:B:3"
    for bad in ("", "PutKeyPolicy", "PutKeyPolicy:", ":Code", "A:B:0", "A:B:x", "A:B:1:2"):
        with pytest.raises(UsageError):
            Fault.parse(bad)


@pytest.mark.parametrize(
    "config",
    [
        SandboxConfig(scenario="nope"),
        SandboxConfig(region="mars-1"),
        SandboxConfig(port=70000),
        SandboxConfig(export_delay=-1),
        SandboxConfig(latency_ms=-5),
    ],
)
def test_bad_config(config: SandboxConfig) -> None:
    with pytest.raises(UsageError):
        Sandbox(config)


def test_endpoint_before_start() -> None:
    with pytest.raises(SandboxError):
        _ = Sandbox().endpoint_url


def test_empty_scenario_and_other_region() -> None:
    with Sandbox(SandboxConfig(scenario="empty", region="eu-central-1")) as sandbox:
        assert client(sandbox, "logs").describe_log_groups()["logGroups"] == []
        assert client(sandbox, "s3").list_buckets()["Buckets"] == []
        kms = client(sandbox, "kms")
        managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
        assert managed["KeyManager"] == "AWS" and ":eu-central-1:" in managed["Arn"]


def test_broken_scenario_org_deny_bucket() -> None:
    assert set(SCENARIO_NAMES) == {"demo", "empty", "broken", "central", "fleet"}
    with Sandbox(SandboxConfig(scenario="broken", export_delay=0.2)) as sandbox:
        logs = client(sandbox, "logs")
        now = int(time.time() * 1000)
        with pytest.raises(ClientError) as caught:
            logs.create_export_task(
                logGroupName=DEMO_FN,
                destination=BUCKET_ORG_ONLY,
                destinationPrefix="exportedlogs",
                fromTime=now - 3600_000,
                to=now,
            )
        assert caught.value.response["Error"]["Message"] == ERR_GET_BUCKET_ACL
        names = [b["Name"] for b in client(sandbox, "s3").list_buckets()["Buckets"]]
        assert {"demo-broken-exports", "demo-sse-s3", "demo-other-region"} <= set(names)


def test_identifiers_are_reproducible() -> None:
    def key_ids() -> list[str]:
        with Sandbox(SandboxConfig(scenario="demo")) as sandbox:
            kms = client(sandbox, "kms")
            return sorted(k["KeyId"] for k in kms.list_keys()["Keys"])

    assert key_ids() == key_ids()


def test_start_loads_the_models_moto_answers_with() -> None:
    """moto loads a service's botocore model on its first response, with no lock: a burst
    of first requests loaded it once per request thread (S3 then answered in seconds).
    The sandbox loads them before it serves."""
    from moto.core.utils import get_service_model

    from wizard.sandbox.server import SERVED_PACKAGES

    get_service_model.cache_clear()
    sandbox = Sandbox(SandboxConfig(scenario="empty")).start()
    try:
        before = get_service_model.cache_info()
        assert before.currsize >= len(SERVED_PACKAGES)
        s3 = sandbox.client("s3")
        with pytest.raises(ClientError):  # an error response: the error model is needed too
            s3.get_bucket_policy(Bucket="no-such-bucket")
        client(sandbox, "kms").list_keys()
        after = get_service_model.cache_info()
        assert after.misses == before.misses  # nothing left to load on a request
    finally:
        sandbox.stop()
