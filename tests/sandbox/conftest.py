"""Fixtures for the sandbox tests: every test talks to the sandbox over real HTTP (boto3).

moto's state is process-wide, so a sandbox fixture is module-scoped and only one runs at a
time; tests that need their own configuration start their own Sandbox in the test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from wizard.core.requirements import bucket_statements, new_key_policy
from wizard.core.state import Destination
from wizard.sandbox.server import Sandbox, SandboxConfig

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
EXPORT_DELAY = 0.6  # PENDING for 0.3 s, then RUNNING for 0.3 s
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(sandbox: Sandbox, service: str, region: str | None = None, **kwargs: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=region or sandbox.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


@dataclass
class Clients:
    s3: Any
    logs: Any
    kms: Any
    sts: Any


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, every: float = 0.02) -> Any:
    """Poll until ``predicate`` returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


def task_status(logs: Any, task_id: str) -> str:
    return str(logs.describe_export_tasks(taskId=task_id)["exportTasks"][0]["status"]["code"])


def wait_settled(logs: Any, task_id: str) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        task = logs.describe_export_tasks(taskId=task_id)["exportTasks"][0]
        return task if task["status"]["code"] not in ("PENDING", "RUNNING") else None

    result: dict[str, Any] = wait_for(settled)
    return result


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(scenario="demo", export_delay=EXPORT_DELAY)) as running:
        yield running


@pytest.fixture(scope="module")
def aws(sandbox: Sandbox) -> Clients:
    return Clients(
        client(sandbox, "s3"),
        client(sandbox, "logs"),
        client(sandbox, "kms"),
        client(sandbox, "sts"),
    )


@pytest.fixture(autouse=True)
def _no_active_export(request: pytest.FixtureRequest) -> Iterator[None]:
    """Leave no PENDING/RUNNING export behind: one active task per region is the limit."""
    yield
    if "aws" not in request.fixturenames:
        return
    logs = request.getfixturevalue("aws").logs
    for code in ("PENDING", "RUNNING"):
        for task in logs.describe_export_tasks(statusCode=code)["exportTasks"]:
            logs.cancel_export_task(taskId=task["taskId"])


_names = iter(range(1, 10_000))


def unique(base: str) -> str:
    return f"{base}-{next(_names)}"


def destination(bucket: str, prefix: str = "exportedlogs", region: str = REGION) -> Destination:
    return Destination(region, ACCOUNT, "aws", bucket, prefix)


def make_key(kms: Any, *, grant_logs: bool = True, region: str = REGION) -> str:
    """A customer managed key; with ``grant_logs`` its policy lets CloudWatch Logs use it."""
    arn: str = kms.create_key(Description="test key")["KeyMetadata"]["Arn"]
    if grant_logs:
        policy = new_key_policy(destination("any", region=region))
        kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(policy))
    return arn


def make_bucket(
    s3: Any,
    name: str,
    *,
    prefix: str = "exportedlogs",
    kms_key: str | None = None,
    sse_s3: bool = False,
    grant: bool = True,
    extra_statements: list[dict[str, Any]] | None = None,
    region: str = REGION,
) -> str:
    """A bucket as the wizard leaves it: the documented grants, optional SSE-KMS/SSE-S3."""
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if kms_key:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": kms_key,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
    elif sse_s3:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
    statements = (bucket_statements(destination(name, prefix, region)) if grant else []) + (
        extra_statements or []
    )
    if statements:
        s3.put_bucket_policy(
            Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements})
        )
    return name
