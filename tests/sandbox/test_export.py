"""CreateExportTask as the real service does it: checks, life cycle, objects, encryption."""

from __future__ import annotations

import gzip
import json
import re
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import hold_export_time
from tests.policies import deny_insecure_transport
from tests.sandbox.conftest import (
    ACCOUNT,
    EXPORT_DELAY,
    NO_RETRIES,
    REGION,
    Clients,
    client,
    destination,
    make_bucket,
    make_key,
    task_status,
    unique,
    wait_settled,
)
from wizard.core.policy import compact_json, parse_policy, upsert_statements
from wizard.core.requirements import (
    ERR_BUCKET_MISSING,
    ERR_GET_BUCKET_ACL,
    ERR_LIMIT_EXCEEDED,
    ERR_PUT_OBJECT,
    ERR_PUT_OBJECT_KMS,
    bucket_statements,
    key_statements,
)
from wizard.sandbox.export_tasks import ERR_BUCKET_OTHER_REGION, PENDING_SHARE
from wizard.sandbox.scenarios import (
    BUCKET_BROKEN,
    BUCKET_OTHER_REGION,
    BUCKET_SSE_S3,
    DEMO_FN,
    KEY_DISABLED,
    KEY_EXPORTS,
)
from wizard.sandbox.server import Sandbox

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (.*)$", re.DOTALL)


def window() -> dict[str, int]:
    now = int(time.time() * 1000)
    return {"fromTime": now - 24 * 3600 * 1000, "to": now}


def export(aws: Clients, bucket: str, log_group: str = DEMO_FN, **kwargs: Any) -> str:
    params: dict[str, Any] = {"destinationPrefix": "exportedlogs", **window(), **kwargs}
    task_id: str = aws.logs.create_export_task(
        logGroupName=log_group, destination=bucket, **params
    )["taskId"]
    return task_id


def export_error(aws: Clients, bucket: str, log_group: str = DEMO_FN, **kwargs: Any) -> Any:
    with pytest.raises(ClientError) as caught:
        export(aws, bucket, log_group, **kwargs)
    return caught.value.response["Error"]


def keys_under(aws: Clients, bucket: str, prefix: str) -> list[str]:
    listing = aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def events_of(aws: Clients, log_group: str, stream: str) -> list[tuple[int, str]]:
    events = aws.logs.get_log_events(
        logGroupName=log_group, logStreamName=stream, startFromHead=True
    )["events"]
    return [(e["timestamp"], e["message"]) for e in events]


def streams_of(aws: Clients, log_group: str) -> list[str]:
    streams = aws.logs.describe_log_streams(logGroupName=log_group)["logStreams"]
    return sorted(s["logStreamName"] for s in streams)


def read_lines(aws: Clients, bucket: str, key: str) -> list[str]:
    body = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body).decode().splitlines()


def utc_ms(timestamp: int) -> str:
    moment = datetime.fromtimestamp(timestamp / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp % 1000:03d}"


# --------------------------------------------------------------------------- the checks


def test_missing_bucket(aws: Clients) -> None:
    error = export_error(aws, "no-such-bucket-anywhere")
    assert error == {"Code": "InvalidParameterException", "Message": ERR_BUCKET_MISSING}


def test_bucket_in_another_region(aws: Clients) -> None:
    error = export_error(aws, BUCKET_OTHER_REGION)
    assert error == {"Code": "InvalidParameterException", "Message": ERR_BUCKET_OTHER_REGION}


def test_missing_log_group(aws: Clients) -> None:
    error = export_error(aws, BUCKET_SSE_S3, "/aws/lambda/no-such-function")
    assert error == {
        "Code": "ResourceNotFoundException",
        "Message": "The specified log group does not exist.",
    }


def test_bucket_checks_come_before_the_log_group(aws: Clients) -> None:
    error = export_error(aws, "no-such-bucket-anywhere", "/aws/lambda/no-such-function")
    assert error["Message"] == ERR_BUCKET_MISSING


def test_no_bucket_policy_denies_get_bucket_acl(aws: Clients) -> None:
    # A service principal needs an explicit grant: no policy at all is an implicit deny.
    error = export_error(aws, BUCKET_SSE_S3)
    assert error == {"Code": "InvalidParameterException", "Message": ERR_GET_BUCKET_ACL}


def test_demo_broken_bucket_fails_in_the_service_order(aws: Clients) -> None:
    # The demo's broken bucket lacks GetBucketAcl...
    assert export_error(aws, BUCKET_BROKEN)["Message"] == ERR_GET_BUCKET_ACL
    # ...and once that is granted, its aws/s3 key is the next problem.
    policy = aws.s3.get_bucket_policy(Bucket=BUCKET_BROKEN)["Policy"]
    try:
        document = json.loads(policy)
        document["Statement"].append(
            {
                "Sid": "AllowCloudWatchLogsGetBucketAcl",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{BUCKET_BROKEN}",
            }
        )
        aws.s3.put_bucket_policy(Bucket=BUCKET_BROKEN, Policy=json.dumps(document))
        assert export_error(aws, BUCKET_BROKEN)["Message"] == ERR_PUT_OBJECT_KMS
    finally:
        aws.s3.put_bucket_policy(Bucket=BUCKET_BROKEN, Policy=policy)


def test_put_object_not_granted(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("no-put"), grant=False)
    get_acl_only = {
        "Sid": "GetAclOnly",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
        "Action": "s3:GetBucketAcl",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    aws.s3.put_bucket_policy(
        Bucket=bucket,
        Policy=f'{{"Version": "2012-10-17", "Statement": [{json.dumps(get_acl_only)}]}}',
    )
    assert export_error(aws, bucket) == {
        "Code": "InvalidParameterException",
        "Message": ERR_PUT_OBJECT,
    }


def test_put_object_granted_for_another_prefix(aws: Clients) -> None:
    # The grants cover "exportedlogs/*": a task writing under "elsewhere/" is refused.
    bucket = make_bucket(aws.s3, unique("narrow"), prefix="exportedlogs")
    assert export_error(aws, bucket, destinationPrefix="elsewhere")["Message"] == ERR_PUT_OBJECT


ORG_DENY = {
    "Sid": "DenyOutsideOrganization",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"],
    "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-example111"}},
}


def test_explicit_deny_blocks_the_export(aws: Clients) -> None:
    # The logs principal's request has no aws:PrincipalOrgID: the negated operator matches.
    bucket = unique("org-deny")
    deny = json.dumps(ORG_DENY).replace("BUCKET", bucket)
    make_bucket(aws.s3, bucket, extra_statements=[json.loads(deny)])
    assert export_error(aws, bucket)["Message"] == ERR_GET_BUCKET_ACL


def test_explicit_deny_on_put_object_only(aws: Clients) -> None:
    bucket = unique("put-deny")
    deny = dict(ORG_DENY, Action="s3:PutObject", Resource=f"arn:aws:s3:::{bucket}/*")
    make_bucket(aws.s3, bucket, extra_statements=[deny])
    assert export_error(aws, bucket)["Message"] == ERR_PUT_OBJECT


def test_insecure_transport_deny_does_not_block(aws: Clients) -> None:
    # The service calls S3 over TLS: aws:SecureTransport is "true" in its request.
    bucket = unique("tls-only")
    deny = deny_insecure_transport(bucket)
    make_bucket(aws.s3, bucket, extra_statements=[deny])
    assert wait_settled(aws.logs, export(aws, bucket))["status"]["code"] == "COMPLETED"


def test_aws_managed_key(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("aws-s3-key"), kms_key="alias/aws/s3")
    assert export_error(aws, bucket) == {
        "Code": "InvalidParameterException",
        "Message": ERR_PUT_OBJECT_KMS,
    }


def test_sse_kms_without_key_id_uses_aws_managed_key(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("default-kms"))
    aws.s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    assert export_error(aws, bucket)["Message"] == ERR_PUT_OBJECT_KMS


def test_disabled_key(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("disabled-key"), kms_key=KEY_DISABLED)
    assert export_error(aws, bucket)["Message"] == ERR_PUT_OBJECT_KMS


def test_key_policy_without_the_logs_principal(aws: Clients) -> None:
    # alias/demo-exports has the default policy: the account root's kms:* only.
    bucket = make_bucket(aws.s3, unique("default-key-policy"), kms_key=KEY_EXPORTS)
    assert export_error(aws, bucket)["Message"] == ERR_PUT_OBJECT_KMS


def test_key_policy_deny_blocks(aws: Clients) -> None:
    key = make_key(aws.kms)
    policy = json.loads(aws.kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    policy["Statement"].append(
        {
            "Sid": "DenyOutsideOrganization",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-example111"}},
        }
    )
    aws.kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    bucket = make_bucket(aws.s3, unique("key-deny"), kms_key=key)
    assert export_error(aws, bucket)["Message"] == ERR_PUT_OBJECT_KMS


def test_one_active_task_per_region(sandbox: Sandbox, aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("limit"))
    first = export(aws, bucket)
    # botocore retries LimitExceededException (a throttling code) until the first task ends.
    impatient = Clients(aws.s3, client(sandbox, "logs", config=NO_RETRIES), aws.kms, aws.sts)
    error = export_error(impatient, bucket)
    assert error == {"Code": "LimitExceededException", "Message": ERR_LIMIT_EXCEEDED}
    aws.logs.cancel_export_task(taskId=first)
    second = export(aws, bucket)  # a cancelled task no longer counts
    assert wait_settled(aws.logs, second)["status"]["code"] == "COMPLETED"


# --------------------------------------------------------------------------- life cycle


def test_status_goes_pending_running_completed(
    aws: Clients, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PENDING for the first half of the delay, RUNNING for the second, then COMPLETED, by
    the tasks' clock (held here: polling the wall clock missed a phase on a loaded machine)."""
    clock = hold_export_time(monkeypatch, sandbox)
    bucket = make_bucket(aws.s3, unique("lifecycle"))
    task_id = export(aws, bucket)
    pending = EXPORT_DELAY * PENDING_SHARE
    seen = [task_status(aws.logs, task_id)]
    for step in (pending - 0.01, 0.02, EXPORT_DELAY - pending - 0.02, 0.02):
        clock.advance(step)
        seen.append(task_status(aws.logs, task_id))
    assert seen == ["PENDING", "PENDING", "RUNNING", "RUNNING", "COMPLETED"]
    task = aws.logs.describe_export_tasks(taskId=task_id)["exportTasks"][0]
    assert task["status"] == {"code": "COMPLETED", "message": "Completed successfully"}
    assert task["destination"] == bucket
    assert task["destinationPrefix"] == "exportedlogs"
    assert task["logGroupName"] == DEMO_FN
    info = task["executionInfo"]
    assert info["creationTime"] <= info["completionTime"]


def test_cancel_while_active_and_after(
    aws: Clients, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold_export_time(monkeypatch, sandbox)  # active until cancelled, however slow the machine
    bucket = make_bucket(aws.s3, unique("cancel"))
    task_id = export(aws, bucket)
    assert task_status(aws.logs, task_id) == "PENDING"
    aws.logs.cancel_export_task(taskId=task_id)
    task = aws.logs.describe_export_tasks(taskId=task_id)["exportTasks"][0]
    assert task["status"] == {"code": "CANCELLED", "message": "Cancelled by user"}
    with pytest.raises(ClientError) as caught:
        aws.logs.cancel_export_task(taskId=task_id)
    assert caught.value.response["Error"]["Code"] == "InvalidOperationException"
    # A cancelled task writes the test object only, never data.
    assert keys_under(aws, bucket, "exportedlogs/") == ["exportedlogs/aws-logs-write-test"]


def test_cancel_after_completion_fails(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("cancel-late"))
    task_id = export(aws, bucket)
    wait_settled(aws.logs, task_id)
    with pytest.raises(ClientError) as caught:
        aws.logs.cancel_export_task(taskId=task_id)
    assert caught.value.response["Error"]["Code"] == "InvalidOperationException"


def test_cancel_unknown_task(aws: Clients) -> None:
    with pytest.raises(ClientError) as caught:
        aws.logs.cancel_export_task(taskId="00000000-0000-4000-8000-000000000000")
    assert caught.value.response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "The specified export task does not exist.",
    }


def test_describe_filters_order_and_pages(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("describe"))
    created = []
    for _ in range(3):
        created.append(export(aws, bucket))
        aws.logs.cancel_export_task(taskId=created[-1])
    # Newest first, one per page.
    seen, token = [], None
    while True:
        page = aws.logs.describe_export_tasks(
            statusCode="CANCELLED", limit=1, **({"nextToken": token} if token else {})
        )
        assert len(page["exportTasks"]) <= 1
        seen += [t["taskId"] for t in page["exportTasks"]]
        token = page.get("nextToken")
        if not token:
            break
    ours = [t for t in seen if t in created]
    assert ours == list(reversed(created))
    only = aws.logs.describe_export_tasks(taskId=created[1])["exportTasks"]
    assert [t["taskId"] for t in only] == [created[1]]
    assert aws.logs.describe_export_tasks(taskId="unknown")["exportTasks"] == []
    running = aws.logs.describe_export_tasks(statusCode="RUNNING")["exportTasks"]
    assert all(t["status"]["code"] == "RUNNING" for t in running)


def test_describe_limit_is_validated(aws: Clients) -> None:
    with pytest.raises(ClientError) as caught:
        aws.logs.describe_export_tasks(limit=51)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"


# --------------------------------------------------------------------------- objects


def test_objects_layout_lines_and_encryption(aws: Clients) -> None:
    key = make_key(aws.kms)
    bucket = make_bucket(aws.s3, unique("kms-export"), kms_key=key)
    task_id = export(aws, bucket, taskName="demo")
    # The test object is written at once, under the prefix.
    assert keys_under(aws, bucket, "") == ["exportedlogs/aws-logs-write-test"]
    assert wait_settled(aws.logs, task_id)["status"]["code"] == "COMPLETED"

    streams = streams_of(aws, DEMO_FN)
    assert len(streams) == 3 and all("/" in s for s in streams)
    expected = [f"exportedlogs/{task_id}/{s.replace('/', '-')}/000000.gz" for s in streams]
    expected.append("exportedlogs/aws-logs-write-test")
    assert keys_under(aws, bucket, "") == sorted(expected)

    for stream in streams:
        object_key = f"exportedlogs/{task_id}/{stream.replace('/', '-')}/000000.gz"
        lines = read_lines(aws, bucket, object_key)
        assert lines == [f"{utc_ms(t)}Z {m}" for t, m in events_of(aws, DEMO_FN, stream)]
        assert all(LINE.match(line) for line in lines)
        assert any(" START RequestId: " in line for line in lines)
        assert any(" REPORT RequestId: " in line for line in lines)
        head = aws.s3.head_object(Bucket=bucket, Key=object_key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key
        assert head["BucketKeyEnabled"] is True
        got = aws.s3.get_object(Bucket=bucket, Key=object_key)
        assert (got["ServerSideEncryption"], got["SSEKMSKeyId"]) == ("aws:kms", key)

    head = aws.s3.head_object(Bucket=bucket, Key="exportedlogs/aws-logs-write-test")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key)


def test_key_alias_in_bucket_rule_reported_as_key_arn(aws: Clients) -> None:
    key = make_key(aws.kms)
    alias = f"alias/{unique('export-key')}"
    aws.kms.create_alias(AliasName=alias, TargetKeyId=key)
    bucket = make_bucket(aws.s3, unique("alias-rule"), kms_key=alias)
    wait_settled(aws.logs, export(aws, bucket))
    head = aws.s3.head_object(Bucket=bucket, Key="exportedlogs/aws-logs-write-test")
    assert head["SSEKMSKeyId"] == key  # the ARN, not the alias the rule names
    aws.s3.put_object(Bucket=bucket, Key="mine.txt", Body=b"hello")
    assert aws.s3.head_object(Bucket=bucket, Key="mine.txt")["SSEKMSKeyId"] == key


def test_sse_s3_objects(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("sse-s3"), sse_s3=True)
    task_id = export(aws, bucket, log_group="/ecs/web")
    wait_settled(aws.logs, task_id)
    data_keys = [k for k in keys_under(aws, bucket, "") if k.endswith(".gz")]
    assert len(data_keys) == 1 and data_keys[0].startswith(f"exportedlogs/{task_id}/web-web-")
    head = aws.s3.head_object(Bucket=bucket, Key=data_keys[0])
    assert head["ServerSideEncryption"] == "AES256"
    assert "SSEKMSKeyId" not in head


def test_stream_prefix_filter(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("stream-prefix"))
    first = streams_of(aws, DEMO_FN)[0]
    task_id = export(aws, bucket, logStreamNamePrefix=first)
    wait_settled(aws.logs, task_id)
    data_keys = [k for k in keys_under(aws, bucket, "") if k.endswith(".gz")]
    assert data_keys == [f"exportedlogs/{task_id}/{first.replace('/', '-')}/000000.gz"]


def test_time_window_filter(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("window"))
    stream = streams_of(aws, DEMO_FN)[1]
    events = events_of(aws, DEMO_FN, stream)
    start, end = events[2][0], events[-3][0]  # both ends are inclusive
    task_id = export(aws, bucket, fromTime=start, to=end, logStreamNamePrefix=stream)
    wait_settled(aws.logs, task_id)
    lines = read_lines(aws, bucket, f"exportedlogs/{task_id}/{stream.replace('/', '-')}/000000.gz")
    assert lines == [f"{utc_ms(t)}Z {m}" for t, m in events if start <= t <= end]
    assert len(lines) < len(events)


def test_empty_window_completes_with_the_test_object_only(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("empty-window"))
    task_id = export(aws, bucket, fromTime=1_000, to=2_000)  # the times given in seconds
    assert wait_settled(aws.logs, task_id)["status"]["code"] == "COMPLETED"
    assert keys_under(aws, bucket, "") == ["exportedlogs/aws-logs-write-test"]


def test_default_prefix(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("default-prefix"), prefix="exportedlogs")
    params = window()
    task_id = aws.logs.create_export_task(
        logGroupName="/aws/lambda/orders-api", destination=bucket, **params
    )["taskId"]
    task = wait_settled(aws.logs, task_id)
    assert task["destinationPrefix"] == "exportedlogs"
    data_keys = [k for k in keys_under(aws, bucket, "") if k.endswith(".gz")]
    assert len(data_keys) == 1 and data_keys[0].startswith(f"exportedlogs/{task_id}/")


def test_grant_removed_while_running_fails_the_task(aws: Clients) -> None:
    bucket = make_bucket(aws.s3, unique("revoked"))
    task_id = export(aws, bucket)
    aws.s3.delete_bucket_policy(Bucket=bucket)
    task = wait_settled(aws.logs, task_id)
    assert task["status"] == {"code": "FAILED", "message": ERR_PUT_OBJECT}


def test_repairing_the_demo_bucket_makes_the_export_work(aws: Clients) -> None:
    """The demo story: grant GetBucketAcl, switch to alias/demo-exports, let logs use it."""
    policy_before = aws.s3.get_bucket_policy(Bucket=BUCKET_BROKEN)["Policy"]
    encryption_before = aws.s3.get_bucket_encryption(Bucket=BUCKET_BROKEN)[
        "ServerSideEncryptionConfiguration"
    ]
    key = aws.kms.describe_key(KeyId=KEY_EXPORTS)["KeyMetadata"]
    key_policy_before = aws.kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    try:
        dest = destination(BUCKET_BROKEN)
        merged = upsert_statements(parse_policy(policy_before), bucket_statements(dest))
        aws.s3.put_bucket_policy(Bucket=BUCKET_BROKEN, Policy=compact_json(merged))
        key_policy = upsert_statements(parse_policy(key_policy_before), key_statements(dest))
        aws.kms.put_key_policy(
            KeyId=key["Arn"], PolicyName="default", Policy=compact_json(key_policy)
        )
        aws.s3.put_bucket_encryption(
            Bucket=BUCKET_BROKEN,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": key["Arn"],
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        task = wait_settled(aws.logs, export(aws, BUCKET_BROKEN))
        assert task["status"]["code"] == "COMPLETED"
        data = [k for k in keys_under(aws, BUCKET_BROKEN, "exportedlogs/") if k.endswith(".gz")]
        assert len(data) == 3
        head = aws.s3.head_object(Bucket=BUCKET_BROKEN, Key=data[0])
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    finally:
        aws.s3.put_bucket_policy(Bucket=BUCKET_BROKEN, Policy=policy_before)
        aws.s3.put_bucket_encryption(
            Bucket=BUCKET_BROKEN, ServerSideEncryptionConfiguration=encryption_before
        )
        aws.kms.put_key_policy(KeyId=key["Arn"], PolicyName="default", Policy=key_policy_before)


# --- the encryption context follows S3 Bucket Key -----------------------------------------


def _context_key(aws: Clients, pattern: str, operator: str) -> str:
    arn: str = aws.kms.create_key(Description="context key")["KeyMetadata"]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {operator: {"kms:EncryptionContext:aws:s3:arn": pattern}},
            },
        ],
    }
    aws.kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(policy))
    return arn


@pytest.mark.parametrize(
    ("target", "bucket_key", "works"),
    [
        ("bucket", True, True),
        ("bucket", False, False),
        ("objects", False, True),
        ("objects", True, False),
    ],
)
def test_the_key_is_asked_with_the_bucket_or_the_object_arn(
    aws: Clients, target: str, bucket_key: bool, works: bool
) -> None:
    name = unique("context")
    pattern = f"arn:aws:s3:::{name}" if target == "bucket" else f"arn:aws:s3:::{name}/*"
    key = _context_key(aws, pattern, "StringEquals" if target == "bucket" else "StringLike")
    make_bucket(aws.s3, name, kms_key=key)
    aws.s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key,
                    },
                    "BucketKeyEnabled": bucket_key,
                }
            ]
        },
    )
    if not works:
        assert export_error(aws, name)["Message"] == ERR_PUT_OBJECT_KMS
        return
    task = wait_settled(aws.logs, export(aws, name))
    assert task["status"]["code"] == "COMPLETED", task
