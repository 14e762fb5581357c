"""Benchmarks of the wizard at a real account's scale, each against the naive way, same run.

    .venv/bin/python -m tests.benchmarks.run            # everything, about four minutes
    .venv/bin/python tests/benchmarks/run.py --only keys,buckets --latency-ms 100

A sandbox in a child process holds 1,000 customer keys (plus the AWS managed ones), 5,000
buckets (1,000 in the region), 20,000 log groups and a 1 GiB export object, and answers
every request after ``--latency-ms`` (50 ms: a laptop to a region). Where the naive way
would take minutes it is measured on a sample and extrapolated linearly (the table's notes
say so). Prints: figure | measured | baseline (naive) | ratio | target | met?  Exit status 1
when a target is not met.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.harness import BenchResult, RemoteSandbox, Scale, log, render_table

NAMES = ("install", "startup", "keys", "buckets", "log-groups", "sample", "export", "ui", "fleet")


def _isolate() -> tempfile.TemporaryDirectory[str]:
    """No host AWS configuration or credentials; journals in a temporary directory."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            del os.environ[name]
    home = tempfile.TemporaryDirectory(prefix="cwl-bench-")
    os.environ["AWS_CONFIG_FILE"] = str(Path(home.name, "no-aws-config"))
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(Path(home.name, "no-aws-credentials"))
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["XDG_STATE_HOME"] = str(Path(home.name, "state"))
    return home


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.run",
        description="Benchmarks against the sandbox at scale, each against the naive way.",
    )
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(NAMES)}")
    parser.add_argument("--latency-ms", type=int, default=50, help="per request (default 50)")
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--buckets", type=int, default=5000)
    parser.add_argument("--buckets-in-region", type=int, default=1000)
    parser.add_argument("--log-groups", type=int, default=20000)
    parser.add_argument("--object-mib", type=int, default=1024, help="uncompressed (1 GiB)")
    parser.add_argument("--export-delay", type=float, default=5.0)
    parser.add_argument(
        "--full-baselines",
        action="store_true",
        help="run the naive loops in full instead of on a sample (adds minutes)",
    )
    args = parser.parse_args(argv)
    args.selected = set(NAMES) if not args.only else set(args.only.split(","))
    unknown = args.selected - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    home = _isolate()
    began = time.perf_counter()
    results: list[BenchResult] = []

    def step(name: str, run: Callable[[], BenchResult]) -> None:
        if name not in args.selected:
            return
        log(f"{name}...")
        started = time.perf_counter()
        results.append(run())
        log(f"{name}: {time.perf_counter() - started:.1f} s")

    from tests.benchmarks import bench, install, ui

    try:
        step("install", install.bench_install)
        if "startup" in args.selected:
            step("startup", ui.bench_cli_startup)
            step("startup", ui.bench_first_screen)
        if args.selected & {"keys", "buckets", "log-groups", "sample", "export", "ui"}:
            from wizard.sandbox.server import SandboxConfig

            scale = Scale(args.keys, args.buckets, args.buckets_in_region, args.log_groups)
            config = SandboxConfig(
                scenario="demo", latency_ms=args.latency_ms, export_delay=args.export_delay
            )
            log(f"sandbox: {scale}, latency {args.latency_ms} ms, in a child process...")
            with RemoteSandbox(config, scale) as sandbox:
                full = args.full_baselines
                step(
                    "keys",
                    lambda: bench.bench_keys(sandbox, naive_sample=args.keys + 10 if full else 100),
                )
                step(
                    "buckets",
                    lambda: bench.bench_buckets(
                        sandbox, naive_sample=args.buckets + 10 if full else 200
                    ),
                )
                step(
                    "log-groups",
                    lambda: bench.bench_log_groups(sandbox, naive_pages=None if full else 40),
                )
                step(
                    "sample",
                    lambda: bench.bench_sample(sandbox, uncompressed_bytes=args.object_mib << 20),
                )
                step("export", lambda: bench.bench_export(sandbox, delay=args.export_delay))
                step("ui", lambda: ui.bench_pilot_flow(sandbox))
        if "fleet" in args.selected:
            from tests.benchmarks import fleet
            from wizard.sandbox.server import SandboxConfig

            config = SandboxConfig(scenario="fleet", latency_ms=args.latency_ms)
            log(f"sandbox: the fleet scenario, latency {args.latency_ms} ms, in a child process...")
            with RemoteSandbox(config) as sandbox:
                step("fleet", lambda: fleet.bench_fleet(sandbox))
    finally:
        home.cleanup()
    print(
        f"\ncwl-export-wizard benchmarks: latency {args.latency_ms} ms/request, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
    )
    render_table(results)
    print(f"\ntotal run time {time.perf_counter() - began:.0f} s")
    missed = [row.figure for r in results for row in r.rows if row.met is False]
    if missed:
        print(f"targets not met: {'; '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
