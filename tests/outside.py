"""Changes made outside the tool: what an administrator, Terraform or another machine would
write with boto3 directly (no journal on this machine, nothing this process remembers)."""

from __future__ import annotations

import json

from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY
from tests.conftest import REGION
from wizard.core.requirements import POLICY_VERSION, bucket_statements, key_statements
from wizard.core.state import Destination
from wizard.sandbox.server import Sandbox


def make_healthy_by_hand(sandbox: Sandbox, bucket: str = DEMO_BUCKET) -> None:
    """What an administrator would do without the wizard (no journal on this machine): the
    bucket encrypts with the demo key, and both policies let CloudWatch Logs in."""
    kms, s3 = sandbox.client("kms"), sandbox.client("s3")
    key = kms.describe_key(KeyId=DEMO_KEY)["KeyMetadata"]
    dest = Destination(REGION, sandbox.account, "aws", bucket, "exportedlogs")
    s3.put_bucket_encryption(
        Bucket=bucket,
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
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps({"Version": POLICY_VERSION, "Statement": bucket_statements(dest)}),
    )
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    policy["Statement"].extend(key_statements(dest))
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy))
