"""Defaults and choices the faces offer, decided once for every face."""

from __future__ import annotations

from wizard.core.validate import bucket_name_problem

DEFAULT_KEY_ALIAS = "alias/cwl-exports"
DEFAULT_WINDOW = "24h"
DEFAULT_SAMPLE_LINES = 10


def suggested_bucket_name(account: str, region: str) -> str:
    """A name that is valid, readable and very likely free: exports-ACCOUNT-REGION."""
    name = f"cwl-exports-{account}-{region}"
    return name if bucket_name_problem(name) is None else f"cwl-exports-{account}"
