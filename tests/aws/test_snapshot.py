"""Snapshot reader: live sandbox state -> the core's Snapshot."""

from __future__ import annotations

import json

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_GROUP, DEMO_KEY, session_for
from tests.conftest import REGION, StartSandbox
from wizard.aws import snapshot
from wizard.aws.snapshot import location_to_region
from wizard.core.state import Choices
from wizard.sandbox.server import Sandbox


def test_broken_demo_bucket(demo: Sandbox) -> None:
    bucket = snapshot.read_bucket(session_for(demo), DEMO_BUCKET)
    assert bucket.exists and bucket.owned and bucket.region == REGION
    assert bucket.encryption is not None and bucket.encryption.algorithm == "aws:kms"
    assert bucket.policy is not None
    sids = [s.get("Sid") for s in json.loads(bucket.policy)["Statement"]]
    assert "DenyInsecureTransport" in sids


def test_sse_s3_bucket_without_policy(demo: Sandbox) -> None:
    bucket = snapshot.read_bucket(session_for(demo), "demo-sse-s3")
    assert bucket.encryption is not None and bucket.encryption.algorithm == "AES256"
    assert bucket.policy is None
    assert not bucket.object_lock


def test_bucket_in_another_region(demo: Sandbox) -> None:
    bucket = snapshot.read_bucket(session_for(demo), "demo-other-region")
    assert bucket.exists and bucket.region == "us-west-2"


def test_missing_bucket(demo: Sandbox) -> None:
    bucket = snapshot.read_bucket(session_for(demo), "no-such-bucket-here")
    assert not bucket.exists and bucket.owned


def test_bucket_of_another_account(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="demo", faults=("HeadBucket:AccessDenied",))
    bucket = snapshot.read_bucket(session_for(sandbox), "someone-elses-bucket")
    assert bucket.exists and not bucket.owned


def test_new_bucket_without_any_configuration(empty: Sandbox) -> None:
    empty.client("s3").create_bucket(
        Bucket="bare-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    bucket = snapshot.read_bucket(session_for(empty), "bare-bucket")
    assert bucket.exists and bucket.policy is None
    assert bucket.object_ownership in (None, "BucketOwnerEnforced")


def test_configured_bucket(empty: Sandbox) -> None:
    s3 = empty.client("s3")
    s3.create_bucket(Bucket="full-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_public_access_block(
        Bucket="full-bucket",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket="full-bucket", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    bucket = snapshot.read_bucket(session_for(empty), "full-bucket")
    assert bucket.object_ownership == "ObjectWriter"
    assert bucket.public_access_block is not None
    assert not bucket.public_access_block.ignore_public_acls
    assert not bucket.public_access_block.all_on


@pytest.mark.parametrize(
    ("constraint", "region"),
    [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("ap-south-1", "ap-south-1")],
)
def test_location_constraint(constraint: str | None, region: str) -> None:
    assert location_to_region(constraint) == region


def test_key_by_alias(demo: Sandbox) -> None:
    key = snapshot.read_key(session_for(demo), DEMO_KEY, REGION)
    assert key.exists and key.manager == "CUSTOMER" and key.state == "Enabled"
    assert key.spec == "SYMMETRIC_DEFAULT" and key.usage == "ENCRYPT_DECRYPT"
    assert DEMO_KEY in key.aliases and key.region == REGION
    assert key.policy is not None and '"kms:*"' in key.policy
    again = snapshot.read_key(session_for(demo), key.arn or "", "us-west-2")  # ARN decides
    assert again.key_id == key.key_id and again.region == REGION


def test_missing_key(demo: Sandbox) -> None:
    key = snapshot.read_key(session_for(demo), "alias/nothing-here", REGION)
    assert not key.exists


def test_unreadable_key_policy_is_none(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="demo", faults=("GetKeyPolicy:AccessDeniedException",))
    key = snapshot.read_key(session_for(sandbox), DEMO_KEY, REGION)
    assert key.exists and key.policy is None


def test_read_takes_the_buckets_key_when_none_is_chosen(demo: Sandbox) -> None:
    snap = snapshot.read(
        session_for(demo), Choices(region=REGION, bucket=DEMO_BUCKET, log_group=DEMO_GROUP)
    )
    assert snap.identity.account == demo.account
    assert snap.key is not None and snap.key.manager == "AWS"
    assert "alias/aws/s3" in snap.key.aliases
    assert snap.log_group is not None and snap.log_group.exists
    assert snap.active_tasks == ()


def test_read_with_chosen_key_and_missing_log_group(demo: Sandbox) -> None:
    snap = snapshot.read(
        session_for(demo),
        Choices(region=REGION, bucket=DEMO_BUCKET, key=DEMO_KEY, log_group="/not/there"),
    )
    assert snap.key is not None and DEMO_KEY in snap.key.aliases
    assert snap.log_group is not None and not snap.log_group.exists


def test_read_with_key_to_create(demo: Sandbox) -> None:
    snap = snapshot.read(
        session_for(demo),
        Choices(
            region=REGION,
            bucket="new-bucket-name",
            create_bucket=True,
            create_key_alias="alias/brand-new",
        ),
    )
    assert not snap.bucket.exists
    assert snap.key is not None and not snap.key.exists


def test_sse_s3_bucket_has_no_key(demo: Sandbox) -> None:
    snap = snapshot.read(session_for(demo), Choices(region=REGION, bucket="demo-sse-s3"))
    assert snap.key is None


def test_dsse_bucket_reads_its_key(demo: Sandbox) -> None:
    session = session_for(demo)
    key = snapshot.read_key(session, DEMO_KEY, REGION)
    demo.client("s3").put_bucket_encryption(
        Bucket="demo-sse-s3",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms:dsse",
                        "KMSMasterKeyID": key.arn,
                    }
                }
            ]
        },
    )
    snap = snapshot.read(session, Choices(region=REGION, bucket="demo-sse-s3"))
    assert snap.bucket.encryption is not None
    assert snap.bucket.encryption.algorithm == "aws:kms:dsse"
    assert snap.key is not None and snap.key.key_id == key.key_id
