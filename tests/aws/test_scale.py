"""At a real account's scale: many keys at a realistic latency, a large exported object."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from tests.aws.conftest import session_for
from tests.conftest import REGION, StartSandbox
from wizard.aws import export, inventory
from wizard.aws.inventory import KeyOption
from wizard.sandbox.scenarios import export_object_data

pytestmark = pytest.mark.slow

LATENCY_MS = 50
KEYS = 1000


def test_a_thousand_keys_at_50_ms_list_in_seconds(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="empty", latency_ms=LATENCY_MS)
    seeded = sandbox.seed_scale(keys=KEYS)
    session = session_for(sandbox)
    session.client("kms", REGION)  # client creation is not what is measured
    sandbox.reset_request_counts()
    sent: set[str] = set()
    options = inventory.list_keys(
        session, REGION, on_page=lambda p: sent.update(o.key.arn or "" for o in p)
    )
    counts = sandbox.request_counts()
    usable = [o for o in options if o.usable]
    assert len(usable) == KEYS
    assert {a for o in usable for a in o.key.aliases} == set(seeded.key_aliases)
    assert len(sent) == len(options)
    calls = counts["DescribeKey"] + counts.get("GetKeyRotationStatus", 0)
    assert counts["DescribeKey"] == len(options)
    # One call after another would take calls x latency (over 50 s here): the calls overlap.
    # Counted by the sandbox, not timed: a loaded machine cannot make this fail.
    assert calls > 100 and sandbox.peak_concurrency() >= 4, sandbox.peak_concurrency()


def test_first_rows_arrive_before_the_whole_list(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(scenario="empty", latency_ms=5)
    sandbox.seed_scale(keys=250)  # ListKeys returns at most 100 keys a page
    pages: list[list[KeyOption]] = []
    options = inventory.list_keys(session_for(sandbox), REGION, on_page=pages.append)
    assert len(pages) >= 3
    assert {o.key.arn for p in pages for o in p} == {o.key.arn for o in options}


def test_sample_of_a_large_object_reads_only_what_it_needs(
    start_sandbox: StartSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = start_sandbox(scenario="empty")
    sandbox.client("s3").create_bucket(
        Bucket="big-exports", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    data = export_object_data(256 * 1024 * 1024)  # 256 MiB of log lines once unzipped
    size = len(data)
    sandbox.put_object("big-exports", "p/t/s/000000.gz", data)
    del data
    session = session_for(sandbox)
    read: list[int] = []
    real = export.gunzip_lines

    def counting(chunks: Iterable[bytes], lines: int) -> list[str]:
        def tap() -> Iterator[bytes]:
            for chunk in chunks:
                read.append(len(chunk))
                yield chunk

        return real(tap(), lines)

    monkeypatch.setattr(export, "gunzip_lines", counting)
    lines = export.read_sample(session, "big-exports", "p/t/s/000000.gz", 20, REGION)
    assert len(lines) == 20 and all(line[:4].isdigit() for line in lines)
    # A few chunks of a many-megabyte object: memory does not grow with the object.
    assert sum(read) <= 4 * export.CHUNK_BYTES < size // 100
