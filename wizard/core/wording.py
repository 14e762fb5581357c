"""Words every face says about the same thing, defined once: a destination and its key,
another export task being active, nothing having changed.

The faces (the TUI, plain mode, the commands) and the errors and findings of core say these
in the same words; views (wizard.views) put them into lines with roles, and the renderer
paints them. Names in them come from AWS: the renderer makes them safe to show.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.core.state import ExportTaskInfo, KeyState

NOTHING_CHANGED = "Nothing was changed."
NOTHING_CHANGED_THIS_RUN = "This run changed nothing."  # an earlier run of the session did
ONE_EXPORT_AT_A_TIME = (
    "CloudWatch Logs runs one export task at a time per account and region "
    "(AWS says: Resource limit exceeded)."
)


def new_key(alias: str) -> str:
    return f"a new key {alias}"


def destination(bucket: str, prefix: str, key: str, *, new_bucket: bool = False) -> str:
    """Where exports go and with which key ("s3://logs/exportedlogs/ with alias/logs"), as
    every face opens its reading of a destination. ``key``: ``key_words``."""
    where = f"s3://{bucket}/{prefix}/"
    return f"{'a new bucket ' if new_bucket else ''}{where} with {key}"


def key_words(
    create_alias: str | None,
    known: KeyState | None,
    chosen: str | None = None,
    *,
    read: bool,
) -> str:
    """The key a destination is (or will be) encrypted with, as every face names it.

    ``known``: the key as read from AWS (the chosen one, else the bucket's); ``chosen``: the
    key the user picked (an alias or an ARN) when nothing has been read yet; ``read``: the
    destination has been read, so an absent key means the bucket has none.
    """
    if create_alias and (known is None or not known.exists):
        return new_key(create_alias)
    if known is not None and known.exists:
        return known.display_name
    if known is not None and read:
        return f"{known.reference} (not found)"
    if chosen:
        return chosen
    return "no KMS key" if read else "the bucket's current key"


def export_busy(region: str, active: Sequence[ExportTaskInfo]) -> str:
    """Another export task (or several) holds the account's one export slot in ``region``."""
    described = ", ".join(f"{t.task_id} for {t.log_group} ({t.status})" for t in active)
    tasks = "Another export task is" if len(active) == 1 else "Other export tasks are"
    return f"{tasks} active in {region}: {described}. {ONE_EXPORT_AT_A_TIME}"


def export_still_busy(region: str, active: ExportTaskInfo, rounds: int) -> str:
    """The busy-export policy's limit: after ``rounds`` rounds of clearing, still busy."""
    return (
        f"{export_busy(region, [active])} It was still busy after {rounds} rounds of waiting "
        "for (or cancelling) other export tasks: something keeps starting exports here."
    )
