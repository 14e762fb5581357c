"""Defaults and choices the faces offer, decided once for every face."""

from __future__ import annotations

DEFAULT_PREFIX = "exportedlogs"  # what CloudWatch Logs itself uses without a prefix
DEFAULT_KEY_ALIAS = "alias/cwl-exports"
DEFAULT_WINDOW = "24h"
DEFAULT_SAMPLE_LINES = 10


def suggested_bucket_name(account: str, region: str) -> str:
    """A name that is valid, readable and very likely free: exports-ACCOUNT-REGION."""
    from wizard.core.validate import bucket_name_problem  # lazy: the CLI reads this module

    name = f"cwl-exports-{account}-{region}"
    return name if bucket_name_problem(name) is None else f"cwl-exports-{account}"
