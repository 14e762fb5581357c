"""Fixtures for the AWS layer: a sandbox over real HTTP, an isolated AWS environment, the CLI
(``cli``, ``isolated_aws``, ``start_sandbox``: tests/conftest.py, shared with the other folders).

Sandboxes are process-global (moto keeps state per process), so every fixture here starts
one per test and stops it afterwards; a test that needs another configuration asks
``start_sandbox`` (which stops the previous one first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StartSandbox
from wizard.aws.session import AwsSession, ConnectionOptions
from wizard.sandbox.server import Sandbox

DEMO_BUCKET = "demo-broken-exports"
DEMO_KEY = "alias/demo-exports"
DEMO_GROUP = "/aws/lambda/demo-fn"


@pytest.fixture(autouse=True)
def _isolated(isolated_aws: Path) -> Path:
    """Every test here forgets the host's AWS setup."""
    return isolated_aws


@pytest.fixture
def journal_dir(isolated_aws: Path) -> Path:
    return isolated_aws


@pytest.fixture
def demo(start_sandbox: StartSandbox) -> Sandbox:
    return start_sandbox(scenario="demo")


@pytest.fixture
def empty(start_sandbox: StartSandbox) -> Sandbox:
    return start_sandbox(scenario="empty")


def session_for(sandbox: Sandbox) -> AwsSession:
    return AwsSession(ConnectionOptions(region=sandbox.region, endpoint_url=sandbox.endpoint_url))


def allow_exports(sandbox: Sandbox, bucket: str, prefix: str = "exportedlogs") -> None:
    """Give the bucket a policy with exactly the statements CloudWatch Logs needs."""
    from wizard.core.requirements import POLICY_VERSION, bucket_statements
    from wizard.core.state import Destination

    dest = Destination(sandbox.region, sandbox.account, "aws", bucket, prefix)
    policy = {"Version": POLICY_VERSION, "Statement": bucket_statements(dest)}
    sandbox.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def full_state(session: AwsSession, bucket: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Everything an apply may touch, in comparable form (policies parsed, order kept)."""
    from wizard.aws import snapshot

    state = snapshot.read_bucket(session, bucket)
    result: dict[str, Any] = {
        "bucket": {
            **state.__dict__,
            "policy": json.loads(state.policy) if state.policy else None,
        }
    }
    for reference in keys:
        key = snapshot.read_key(session, reference, session.region)
        result[reference] = {
            **key.__dict__,
            "policy": json.loads(key.policy) if key.policy else None,
        }
    kms = session.client("kms")
    aliases = sorted(
        (a["AliasName"], a.get("TargetKeyId"))
        for page in kms.get_paginator("list_aliases").paginate()
        for a in page["Aliases"]
    )
    usable_keys = sorted(
        k["KeyId"]
        for page in kms.get_paginator("list_keys").paginate()
        for k in page["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
    )
    result["aliases"] = aliases
    result["keys"] = usable_keys
    return result
