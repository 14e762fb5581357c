"""The fleet survey (doctor without --bucket) against ``sandbox --scenario fleet``.

The wizard's way (``Surveyor``: bounded concurrency on one pool) and the same checks one
after another (``one_by_one``: every call waits for the one before), in the same run, over
the profiles ``sandbox --write-profiles`` writes. The requests are counted by the sandbox:
they must stay within a budget that is linear in accounts x regions (a few calls per
account, one per account and region, one per bucket of the region, a bounded number per
destination found), and the table shows them per account and region as the regions grow.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks.harness import BenchResult, BenchSandbox, Row, log

SPEED_TARGET = 8.0  # the survey at least 8x faster than one check after another
PER_ACCOUNT = 4  # at most: STS (AssumeRole + GetCallerIdentity), DescribeRegions, ListBuckets
PER_DESTINATION = 10  # at most: HeadBucket, 5 configurations, DescribeKey + 3 key reads


def write_config(sandbox: BenchSandbox, folder: str) -> Path:
    from wizard.sandbox.fleet import write_profiles

    path = Path(folder, "fleet-profiles")
    write_profiles(path, sandbox.endpoint_url, sandbox.region)
    return path


def survey(
    profiles: Sequence[str], regions: Any, *, one_by_one: bool = False
) -> tuple[float, Any, float]:
    """(wall seconds, result, CPU seconds of this process meanwhile)."""
    from wizard import survey as faces

    surveyor = faces.start(faces.user_factory(None), one_by_one=one_by_one)
    began, cpu = time.perf_counter(), time.process_time()
    result = surveyor.run(profiles, regions)
    return time.perf_counter() - began, result, time.process_time() - cpu


def budget(result: Any, buckets_by_unit: dict[tuple[str, str], int]) -> int:
    """The most requests a survey of this size may make: linear in accounts x regions."""
    profiles = len(result.profiles)
    units = result.units_read
    buckets = sum(buckets_by_unit.values())
    return int(PER_ACCOUNT * profiles + units + buckets + PER_DESTINATION * len(result.rows))


def _buckets_by_unit(sandbox: BenchSandbox, regions: Sequence[str]) -> dict[tuple[str, str], int]:
    """Buckets of each readable fleet account in each region (what GetBucketPolicy reads)."""
    from wizard.sandbox.fleet import FLEET_ACCOUNTS, FLEET_DISTRACTIONS, FLEET_SEEDS, Kind
    from wizard.sandbox.fleet import fleet_regions as seeded_regions

    counts: dict[tuple[str, str], int] = {}
    seeded = seeded_regions(sandbox.region)
    for account in FLEET_ACCOUNTS:
        if account.denied:
            continue
        for region in regions:
            if region in seeded:
                counts[(account.profile, region)] = len(FLEET_DISTRACTIONS)
    for seed in FLEET_SEEDS:
        region = seeded[min(seed.region_index, len(seeded) - 1)]
        key = (seed.profile, region)
        if key in counts and seed.kind is not Kind.GONE:
            counts[key] += 1
    return counts


def bench_fleet(sandbox: BenchSandbox, *, region_steps: Sequence[int] = (1, 3, 9)) -> BenchResult:
    """Needs a sandbox started with ``scenario="fleet"``."""
    from wizard.aws.survey import config_profiles
    from wizard.core.survey import Regions

    result = BenchResult("fleet")
    with tempfile.TemporaryDirectory(prefix="cwl-bench-fleet-") as folder:
        previous = os.environ.get("AWS_CONFIG_FILE")
        os.environ["AWS_CONFIG_FILE"] = str(write_config(sandbox, folder))
        try:
            profiles = config_profiles()
            # Untimed, once: the imports and botocore's service models (loaded once per
            # process) would otherwise count against whichever run came first.
            survey(profiles[:1], (sandbox.region,))
            sandbox.reset_request_counts()
            fast, found, fast_cpu = survey(profiles, Regions.ALL)
            fast_counts = sandbox.request_counts()
            sandbox.reset_request_counts()
            log(f"fleet: survey {fast:.2f} s; now the same checks one after another...")
            slow, slow_found, slow_cpu = survey(profiles, Regions.ALL, one_by_one=True)
            slow_counts = sandbox.request_counts()
            regions = sorted({r.region for r in found.rows})
            every_region = _all_regions(found)
            steps = []
            for step in region_steps:
                chosen = tuple(every_region[:step])
                sandbox.reset_request_counts()
                _, partial, _ = survey(profiles, chosen)
                steps.append((chosen, partial, sum(sandbox.request_counts().values())))
        finally:
            if previous is None:
                os.environ.pop("AWS_CONFIG_FILE", None)
            else:
                os.environ["AWS_CONFIG_FILE"] = previous
    units = found.units_read
    accounts = len(profiles)
    requests = sum(fast_counts.values())
    limit = budget(found, _buckets_by_unit(sandbox, every_region))
    result.rows.append(
        Row(
            f"fleet survey, {accounts} profiles x all regions ({units} account-regions, "
            f"{len(found.rows)} destinations, {len(found.errors)} refusing)",
            "s",
            fast,
            slow,
            slow / SPEED_TARGET,
            notes=[
                "baseline: the same survey with every call after the one before "
                "(Surveyor one_by_one), measured in the same run; target: 8x faster"
            ],
        )
    )
    result.rows.append(
        Row(
            "  its CPU time in this process (the sandbox runs in another)",
            "s",
            fast_cpu,
            slow_cpu,
            None,
            notes=[
                "once the waits overlap the survey is bound by this CPU, much of it botocore "
                "making a client per account and region (for its DescribeExportTasks; service "
                "models, client classes and event aliases are shared, wizard/aws/"
                "client_models.py): the ratio cannot exceed (waits + CPU) / CPU"
            ],
        )
    )
    result.rows.append(
        Row(
            "fleet survey requests (budget: 4/account + 1/account-region + 1/bucket + "
            "10/destination)",
            "calls",
            float(requests),
            float(sum(slow_counts.values())),
            float(limit),
        )
    )
    for chosen, partial, count in steps:
        result.rows.append(
            Row(
                f"  requests, {partial.units_read} account-regions ({len(chosen)} regions)",
                "calls",
                float(count),
                None,
                None,
            )
        )
    # Beyond the regions that hold destinations, each account-region costs one request (its
    # DescribeExportTasks): the count grows linearly in accounts x regions.
    (_, small, small_count), *_ = [s for s in steps if len(s[0]) >= len(regions)] or [steps[-1]]
    grown = (requests - small_count) / max(1, units - small.units_read)
    result.rows.append(
        Row(
            f"  requests added per further account-region ({small.units_read} -> {units})",
            "calls",
            grown,
            None,
            1.0,
        )
    )
    result.facts.update(
        fast=found,
        slow=slow_found,
        fast_counts=fast_counts,
        slow_counts=slow_counts,
        budget=limit,
        steps=steps,
        regions=regions,
    )
    return result


def _all_regions(result: Any) -> list[str]:
    """Regions with destinations first (so the small steps hold some), then the rest."""
    seeded = sorted({r.region for r in result.rows})
    return seeded + [r for r in ENABLED_REGIONS if r not in seeded]


# The sandbox accounts' enabled regions (DescribeRegions without the opt-in ones).
ENABLED_REGIONS = (
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
)
