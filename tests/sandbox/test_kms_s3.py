"""KMS and S3 where moto differs from AWS: aws/s3, key policies, GetObject, ListBuckets, STS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.policies import deny_insecure_transport
from tests.sandbox.conftest import (
    ACCOUNT,
    REGION,
    Clients,
    client,
    destination,
    make_bucket,
    make_key,
    unique,
)
from wizard.core.requirements import new_key_policy
from wizard.sandbox.scenarios import (
    BUCKET_BROKEN,
    BUCKET_OTHER_REGION,
    BUCKET_SSE_S3,
    DEMO_FN,
    ECS_WEB,
    KEY_DISABLED,
    KEY_EXPORTS,
    KEY_SIGNING,
    ORDERS_API,
)
from wizard.sandbox.server import Sandbox


def error_of(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error: dict[str, str] = caught.value.response["Error"]
    return error


def aws_s3_key(aws: Clients) -> dict[str, Any]:
    metadata: dict[str, Any] = aws.kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    return metadata


# --------------------------------------------------------------------------- the demo scenario


def test_demo_scenario_contents(aws: Clients) -> None:
    groups = [g["logGroupName"] for g in aws.logs.describe_log_groups()["logGroups"]]
    assert sorted(groups) == sorted([DEMO_FN, ORDERS_API, ECS_WEB])
    streams = aws.logs.describe_log_streams(logGroupName=DEMO_FN)["logStreams"]
    assert len(streams) == 3
    assert all(s["logStreamName"].startswith("2026/11/26/[$LATEST]") for s in streams)
    assert all(len(s["logStreamName"].split("]")[1]) == 32 for s in streams)
    assert len(aws.logs.describe_log_streams(logGroupName=ORDERS_API)["logStreams"]) == 1
    assert len(aws.logs.describe_log_streams(logGroupName=ECS_WEB)["logStreams"]) == 1

    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in aws.kms.list_aliases()["Aliases"]}
    for alias in (KEY_EXPORTS, KEY_DISABLED, KEY_SIGNING, "alias/aws/s3"):
        assert aliases[alias], alias
    exports = aws.kms.describe_key(KeyId=KEY_EXPORTS)["KeyMetadata"]
    assert (exports["KeyManager"], exports["KeyState"], exports["KeySpec"]) == (
        "CUSTOMER",
        "Enabled",
        "SYMMETRIC_DEFAULT",
    )
    policy = json.loads(
        aws.kms.get_key_policy(KeyId=exports["KeyId"], PolicyName="default")["Policy"]
    )
    assert [s["Action"] for s in policy["Statement"]] == ["kms:*"]
    assert aws.kms.describe_key(KeyId=KEY_DISABLED)["KeyMetadata"]["KeyState"] == "Disabled"
    signing = aws.kms.describe_key(KeyId=KEY_SIGNING)["KeyMetadata"]
    assert (signing["KeySpec"], signing["KeyUsage"]) == ("RSA_2048", "SIGN_VERIFY")

    broken_policy = json.loads(aws.s3.get_bucket_policy(Bucket=BUCKET_BROKEN)["Policy"])
    sids = [s.get("Sid") for s in broken_policy["Statement"]]
    assert "DenyInsecureTransport" in sids
    actions = [s["Action"] for s in broken_policy["Statement"]]
    assert "s3:PutObject" in actions and "s3:GetBucketAcl" not in actions
    rule = aws.s3.get_bucket_encryption(Bucket=BUCKET_BROKEN)["ServerSideEncryptionConfiguration"][
        "Rules"
    ][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].endswith(
        aws_s3_key(aws)["KeyId"]
    )
    sse_s3 = aws.s3.get_bucket_encryption(Bucket=BUCKET_SSE_S3)
    assert (
        sse_s3["ServerSideEncryptionConfiguration"]["Rules"][0][
            "ApplyServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "AES256"
    )
    assert error_of(aws.s3.get_bucket_policy, Bucket=BUCKET_SSE_S3)["Code"] == "NoSuchBucketPolicy"
    location = aws.s3.get_bucket_location(Bucket=BUCKET_OTHER_REGION)["LocationConstraint"]
    assert location == "us-west-2"


def test_demo_events_are_recent_lambda_lines(aws: Clients) -> None:
    stream = aws.logs.describe_log_streams(logGroupName=DEMO_FN)["logStreams"][0]["logStreamName"]
    events = aws.logs.get_log_events(
        logGroupName=DEMO_FN, logStreamName=stream, startFromHead=True
    )["events"]
    messages = [e["message"] for e in events]
    assert any(m.startswith("START RequestId: ") for m in messages)
    assert any(m.startswith("END RequestId: ") for m in messages)
    assert any(m.startswith("REPORT RequestId: ") for m in messages)
    assert any(m.startswith("[INFO]") for m in messages)
    now = time.time() * 1000
    assert all(now - 3600_000 <= e["timestamp"] <= now for e in events)


# --------------------------------------------------------------------------- aws/s3


def test_aws_managed_key_is_aws_managed(aws: Clients) -> None:
    key = aws_s3_key(aws)
    assert key["KeyManager"] == "AWS"
    assert key["KeyState"] == "Enabled"
    assert key["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key['KeyId']}"
    aliases = aws.kms.list_aliases(KeyId=key["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/aws/s3"]
    listed = {a["AliasName"]: a for a in aws.kms.list_aliases()["Aliases"]}
    assert listed["alias/aws/s3"]["TargetKeyId"] == key["KeyId"]
    # Unused AWS managed aliases have no key yet.
    assert "TargetKeyId" not in listed["alias/aws/ebs"]


def test_aws_managed_key_policy_cannot_change(aws: Clients) -> None:
    key_id = aws_s3_key(aws)["KeyId"]
    before = aws.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    policy = new_key_policy(destination("any-bucket"))
    error = error_of(
        aws.kms.put_key_policy, KeyId=key_id, PolicyName="default", Policy=json.dumps(policy)
    )
    assert error["Code"] == "AccessDeniedException"
    assert "kms:PutKeyPolicy" in error["Message"]
    assert aws.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == before
    assert error_of(aws.kms.disable_key, KeyId=key_id)["Code"] == "AccessDeniedException"
    assert error_of(aws.kms.schedule_key_deletion, KeyId=key_id)["Code"] == "AccessDeniedException"
    assert aws_s3_key(aws)["KeyState"] == "Enabled"


def test_aws_managed_key_in_bucket_encryption(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("uses-aws-s3"), kms_key="alias/aws/s3", grant=False)
    aws.s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    head = aws.s3.head_object(Bucket=bucket, Key="hello.txt")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == aws_s3_key(aws)["Arn"]
    # The account may read through S3: aws/s3's policy allows it via S3.
    assert aws.s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"


def test_aws_managed_key_appears_in_another_region_on_first_use(sandbox: Sandbox) -> None:
    kms = client(sandbox, "kms", region="eu-west-1")
    key = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert key["KeyManager"] == "AWS" and ":eu-west-1:" in key["Arn"]


# --------------------------------------------------------------------------- key policies


def test_put_key_policy_lockout_check(aws: Clients) -> None:
    key = make_key(aws.kms, grant_logs=False)
    locked_out = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LogsOnly",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
            }
        ],
    }
    error = error_of(
        aws.kms.put_key_policy, KeyId=key, PolicyName="default", Policy=json.dumps(locked_out)
    )
    assert error == {
        "Code": "MalformedPolicyDocumentException",
        "Message": "The new key policy will not allow you to update the key policy in the future.",
    }
    assert error_of(aws.kms.create_key, Policy=json.dumps(locked_out))["Code"] == (
        "MalformedPolicyDocumentException"
    )


def test_created_key_defaults_to_encrypt_decrypt(aws: Clients) -> None:
    key = aws.kms.create_key()["KeyMetadata"]
    assert (key["KeyUsage"], key["KeySpec"], key["KeyManager"]) == (
        "ENCRYPT_DECRYPT",
        "SYMMETRIC_DEFAULT",
        "CUSTOMER",
    )


# --------------------------------------------------------------------------- GetObject


def test_get_object_refused_for_disabled_key(aws: Clients) -> None:
    key = make_key(aws.kms)
    bucket = make_bucket(aws.s3, unique("disable-later"), kms_key=key, grant=False)
    aws.s3.put_object(Bucket=bucket, Key="data.txt", Body=b"secret")
    aws.kms.disable_key(KeyId=key)
    error = error_of(aws.s3.get_object, Bucket=bucket, Key="data.txt")
    assert error["Code"] == "KMS.DisabledException"
    # HEAD does not decrypt: it still works.
    assert aws.s3.head_object(Bucket=bucket, Key="data.txt")["SSEKMSKeyId"] == key
    aws.kms.enable_key(KeyId=key)
    assert aws.s3.get_object(Bucket=bucket, Key="data.txt")["Body"].read() == b"secret"


def test_get_object_refused_when_key_policy_does_not_let_the_account_decrypt(
    aws: Clients,
) -> None:
    key = make_key(aws.kms, grant_logs=False)
    bucket = make_bucket(aws.s3, unique("no-decrypt"), kms_key=key, grant=False)
    aws.s3.put_object(Bucket=bucket, Key="data.txt", Body=b"secret")
    # The documentation's short admin list: no kms:Decrypt for the account any more.
    admin_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:DescribeKey"],
                "Resource": "*",
            }
        ],
    }
    aws.kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(admin_only))
    error = error_of(aws.s3.get_object, Bucket=bucket, Key="data.txt")
    assert error["Code"] == "AccessDenied"
    assert "not allowed to access" in error["Message"]


def test_bucket_policy_deny_does_not_lock_the_account_out_of_objects(aws: Clients) -> None:
    # moto would apply a Principal "*" Deny regardless of its conditions; the sandbox does not.
    bucket = unique("deny-star")
    deny = deny_insecure_transport(bucket)
    make_bucket(aws.s3, bucket, extra_statements=[deny])
    aws.s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    assert aws.s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"a"


# --------------------------------------------------------------------------- ListBuckets, STS


def test_list_buckets_by_region_with_pages(aws: Clients) -> None:
    everything = aws.s3.list_buckets()["Buckets"]
    assert all("BucketRegion" in b for b in everything)
    regional = aws.s3.list_buckets(BucketRegion=REGION)["Buckets"]
    names = [b["Name"] for b in regional]
    assert BUCKET_BROKEN in names and BUCKET_OTHER_REGION not in names
    assert {b["BucketRegion"] for b in regional} == {REGION}
    other = aws.s3.list_buckets(BucketRegion="us-west-2")["Buckets"]
    assert [b["Name"] for b in other] == [BUCKET_OTHER_REGION]
    paged, token = [], None
    while True:
        page = aws.s3.list_buckets(
            BucketRegion=REGION, MaxBuckets=2, **({"ContinuationToken": token} if token else {})
        )
        assert len(page["Buckets"]) <= 2
        paged += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if not token:
            break
    assert paged == names
    assert [b["Name"] for b in aws.s3.list_buckets(Prefix="demo-s")["Buckets"]] == [BUCKET_SSE_S3]


def test_caller_identity(aws: Clients) -> None:
    identity = aws.sts.get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/sandbox"


def test_put_object_refused_for_disabled_key(aws: Clients) -> None:
    key = make_key(aws.kms)
    bucket = make_bucket(aws.s3, unique("put-disabled"), kms_key=key, grant=False)
    aws.kms.disable_key(KeyId=key)
    assert error_of(aws.s3.put_object, Bucket=bucket, Key="x", Body=b"x")["Code"] == (
        "KMS.DisabledException"
    )
    aws.kms.enable_key(KeyId=key)
    aws.s3.put_object(Bucket=bucket, Key="x", Body=b"x")


def test_key_arn_accepted_for_state_changes(aws: Clients) -> None:
    # moto looks these up by bare key id; KMS takes the ARN too and answers with the ARN.
    key = make_key(aws.kms, grant_logs=False)
    scheduled = aws.kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert scheduled["KeyId"] == key
    assert aws.kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert aws.kms.cancel_key_deletion(KeyId=key)["KeyId"] == key
    assert aws.kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    aws.kms.enable_key(KeyId=key)
    assert aws.kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
