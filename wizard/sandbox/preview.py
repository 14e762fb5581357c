"""What a sandbox answers about itself, known before it starts: account, caller, regions.

Imports neither moto nor botocore: the TUI's region step shows these the moment it is drawn,
while the sandbox starts behind it. The server and the fidelity layer answer from the same
constants; a test compares them with what a running sandbox says over HTTP.
"""

from __future__ import annotations

from wizard.core.arn import partition_for_region

# moto's DEFAULT_ACCOUNT_ID: the account moto answers for the sandbox's "testing" keys.
ACCOUNT = "123456789012"
DEFAULT_REGION = "ap-northeast-1"
# Who the sandbox believes is calling: an IAM user of the account (GetCallerIdentity says so).
CALLER_NAME = "sandbox"
CALLER_PARTITION = "aws"
# The central scenario's application account, whose log groups export to ACCOUNT.
CENTRAL_SOURCE_ACCOUNT = "210987654321"

# Regions every account has; the others (launched since 2019) need opting in.
DEFAULT_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
    }
)


def caller_arn(account: str) -> str:
    """The ARN GetCallerIdentity gives for the sandbox's credentials."""
    return f"arn:{CALLER_PARTITION}:iam::{account}:user/{CALLER_NAME}"


def enabled_regions(region: str) -> list[str]:
    """The regions a sandbox in ``region`` lists as enabled (DescribeRegions without
    AllRegions): the default regions of its partition, and its own region (opted in)."""
    partition = partition_for_region(region).name
    same = {name for name in DEFAULT_REGIONS if partition_for_region(name).name == partition}
    return sorted({*same, region})
