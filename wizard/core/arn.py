"""ARNs, partitions and the CloudWatch Logs service principal.

The ``aws`` partition is certain. The ``aws-cn`` and ``aws-us-gov`` forms of the logs
principal are UNCONFIRMED (docs/service-facts.md): they live in ``PARTITIONS`` and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    name: str
    region_prefixes: tuple[str, ...]
    # Suffix of service principals in this partition. UNCONFIRMED outside "aws".
    service_principal_suffix: str


PARTITIONS: tuple[Partition, ...] = (
    Partition("aws-cn", ("cn-",), "amazonaws.com.cn"),  # UNCONFIRMED principal form
    Partition("aws-us-gov", ("us-gov-",), "amazonaws.com"),  # UNCONFIRMED principal form
    Partition("aws", ("",), "amazonaws.com"),  # the default: must stay last
)

REGION_PATTERN = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}")


def is_valid_region(region: str) -> bool:
    return REGION_PATTERN.fullmatch(region) is not None


def partition_for_region(region: str) -> Partition:
    for partition in PARTITIONS:
        if any(region.startswith(prefix) for prefix in partition.region_prefixes):
            return partition
    raise AssertionError("the aws partition matches every region")  # pragma: no cover


def logs_principal(region: str) -> str:
    """The service principal CloudWatch Logs uses for exports: always the regional form."""
    return f"logs.{region}.{partition_for_region(region).service_principal_suffix}"


def bucket_arn(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}"


def object_arn(bucket: str, key: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"


def log_group_arn(region: str, account: str, log_group: str = "*", partition: str = "aws") -> str:
    """The ``aws:SourceArn`` CloudWatch Logs sends: ``...:log-group:NAME`` (``*`` for any)."""
    return f"arn:{partition}:logs:{region}:{account}:log-group:{log_group}"


def key_arn(region: str, account: str, key_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:kms:{region}:{account}:key/{key_id}"


def account_root_arn(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn | None:
    """Split an ARN into its parts, or None when ``text`` is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])
