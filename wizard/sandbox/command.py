"""``cwl-export-wizard sandbox``: run the embedded local AWS in the foreground.

The first stdout line is ``export AWS_ENDPOINT_URL=http://127.0.0.1:PORT`` (flushed at once),
so a script can start the command and read the endpoint; it and the ``export AWS_*`` lines
that follow can be pasted into another shell as they are. SIGINT or SIGTERM stops it
cleanly (exit 0).

Importing this module is cheap (no moto, no boto3): the CLI imports it to build its parser.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from wizard.core.errors import UsageError, WizardError

DEFAULT_REGION = "ap-northeast-1"
DEFAULT_EXPORT_DELAY = 2.0
SCENARIOS = (
    "demo",
    "empty",
    "broken",
    "central",
    "fleet",
)  # kept equal to scenarios.SCENARIO_NAMES (a test checks)


NAME = "sandbox"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The command among the CLI's (``cwl-export-wizard sandbox``): its help, its options."""
    parser = subparsers.add_parser(
        NAME,
        help="run the embedded local AWS (for demos and tests) in the foreground",
        description="Run the sandbox: a local AWS on 127.0.0.1 that behaves like "
        "CloudWatch Logs exports do.",
    )
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default 0: any free port)"
    )
    # Defaults are applied in _config: None tells "not given" (it may come before the command).
    parser.add_argument(
        "--scenario",
        metavar="NAME",
        help=f"what the account holds: {', '.join(SCENARIOS)} (default demo)",
    )
    parser.add_argument("--region", help=f"the sandbox's region (default {DEFAULT_REGION})")
    parser.add_argument(
        "--export-delay",
        type=float,
        metavar="S",
        help="seconds an export task takes from PENDING to COMPLETED (default 2)",
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, metavar="N", help="delay every request by N ms"
    )
    parser.add_argument(
        "--caller-policy",
        metavar="FILE",
        help="an IAM identity policy (JSON): every call made with the sandbox's credentials "
        "is allowed or refused by it, as AWS would (try: cwl-export-wizard iam-policy)",
    )
    parser.add_argument(
        "--propagation-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds a change to a bucket policy, bucket encryption or key policy takes to "
        "reach CloudWatch Logs, as AWS's eventual consistency (default 0)",
    )
    parser.add_argument(
        "--write-profiles",
        metavar="FILE",
        help="write an AWS config file with a profile per account of the sandbox (the fleet "
        "scenario's six; one otherwise), for AWS_CONFIG_FILE=FILE ... --all-profiles",
    )
    parser.add_argument(
        "--org-guardrail",
        metavar="FILE",
        help="an organization's resource control policy (JSON: Deny statements with "
        "Principal, Action, Resource, Condition) applied to every request against the "
        "account's S3 buckets and KMS keys, CloudWatch Logs included, and invisible to the "
        "account's APIs, as on AWS from a member account",
    )
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="OP:Code[:count][@N]",
        help="make operation OP fail with error Code, count times or always, from its N-th "
        "call (repeatable), e.g. PutKeyPolicy:AccessDeniedException:1 or "
        "PutKeyPolicy:AccessDeniedException:1@2 (the second call: a rollback's)",
    )


def _config(args: argparse.Namespace) -> Any:
    from wizard.sandbox.available import sandbox_missing

    missing = sandbox_missing()
    if missing:
        raise WizardError(f"The sandbox cannot start: {missing}")
    from wizard.sandbox.caller import read_caller_policy
    from wizard.sandbox.server import Fault, SandboxConfig

    policy = None
    if args.caller_policy is not None:
        if not args.caller_policy.strip():
            raise UsageError("--caller-policy: give the path of a JSON policy file.")
        policy = read_caller_policy(Path(args.caller_policy))
    guardrail = None
    if args.org_guardrail is not None:
        if not args.org_guardrail.strip():
            raise UsageError("--org-guardrail: give the path of a JSON policy file.")
        from wizard.sandbox.guardrail import read_guardrail

        guardrail = read_guardrail(Path(args.org_guardrail))
    config = SandboxConfig(
        scenario=args.scenario if args.scenario is not None else "demo",
        region=args.region if args.region is not None else DEFAULT_REGION,
        port=args.port,
        export_delay=DEFAULT_EXPORT_DELAY if args.export_delay is None else args.export_delay,
        latency_ms=args.latency_ms,
        faults=tuple(Fault.parse(text) for text in args.fail),
        caller_policy=policy,
        propagation_delay=args.propagation_delay,
        org_guardrail=guardrail,
    )
    config.validate()  # UsageError (exit 2) before anything starts
    if args.write_profiles is not None:
        target = Path(args.write_profiles)
        if not args.write_profiles.strip() or target.is_dir():
            raise UsageError("--write-profiles: give the path of a file to write.")
        if not target.parent.is_dir():
            raise UsageError(f"--write-profiles: the folder {str(target.parent)!r} does not exist.")
    return config


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM. Raises wizard.core.errors.UsageError for bad arguments."""
    config = _config(args)
    from wizard.sandbox.server import Sandbox

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    sandbox = Sandbox(config)
    try:
        sandbox.start()
        env = sandbox.env()
        names = (
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        )
        # Pasted into another shell as they are, they point the AWS CLI (v1 reads
        # AWS_DEFAULT_REGION, v2 AWS_REGION too), boto3 and this wizard at the sandbox.
        lines = [f"export {name}={env[name]}" for name in names]
        lines.append(
            f"# account {sandbox.account}, scenario {config.scenario}; it serves in the "
            "foreground until Ctrl-C"
        )
        if args.write_profiles:
            from wizard.sandbox.fleet import write_profiles

            write_profiles(
                Path(args.write_profiles),
                env["AWS_ENDPOINT_URL"],
                sandbox.region,
                fleet=config.scenario == "fleet",
            )
            lines.append(
                f"# AWS config with a profile per account: {args.write_profiles} "
                f"(AWS_CONFIG_FILE={args.write_profiles})"
            )
        for line in lines:
            print(line, flush=True)
        print(
            f"Sandbox ready on {env['AWS_ENDPOINT_URL']} (started in "
            f"{sandbox.start_seconds or 0:.2f} s).",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass  # no handler installed (not the main thread): Ctrl-C still stops cleanly
    finally:
        sandbox.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("Sandbox stopped.", file=sys.stderr, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cwl-export-wizard sandbox",
        description="Run a local AWS (S3, KMS, CloudWatch Logs, STS) whose exports behave "
        "like the real service.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except WizardError as error:
        from wizard.core.text import visible  # a file name or policy text may be in it

        print(f"cwl-export-wizard sandbox: error: {visible(str(error))}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
