"""The wizard without COMMAND: its options on the top-level parser and its run, the
full-screen wizard or ``--plain`` prompts. Import-light until it runs (no textual, no
questionary, no boto3)."""

from __future__ import annotations

import argparse
import sys

# Options of the interactive faces (no COMMAND). Their dests differ from the commands' own
# --profile/--region/... so that a subcommand's defaults never hide them (argparse quirk).
LAUNCH_OPTIONS = (
    "demo",
    "plain",
    "launch_scenario",
    "launch_export_delay",
    "repair",
    "survey",
    "launch_profile",
    "launch_source_profile",
    "launch_region",
    "launch_endpoint_url",
)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "the interactive wizard (without COMMAND: full-screen, or --plain prompts)"
    )
    group.add_argument(
        "--demo",
        action="store_true",
        help="run against the embedded sandbox (a local AWS on 127.0.0.1): no account needed",
    )
    group.add_argument("--plain", action="store_true", help="line-by-line prompts instead")
    group.add_argument("--repair", metavar="BUCKET", help="start by repairing this bucket")
    group.add_argument(
        "--survey",
        action="store_true",
        help="start with every export destination of your profiles (or, with --demo "
        "--scenario fleet, of the sandbox's accounts) in every region: Enter repairs one",
    )
    group.add_argument(
        "--scenario",
        dest="launch_scenario",
        metavar="NAME",
        help="with --demo: demo (default), empty, broken, central or fleet",
    )
    group.add_argument(
        "--export-delay",
        dest="launch_export_delay",
        type=float,
        metavar="S",
        help="with --demo: seconds an export takes",
    )
    group.add_argument("--profile", dest="launch_profile", metavar="NAME", help="AWS profile")
    group.add_argument(
        "--source-profile",
        dest="launch_source_profile",
        metavar="NAME",
        help="a central logging account: a profile of the account whose log groups export "
        "here (its caller runs the test export)",
    )
    group.add_argument("--region", dest="launch_region", metavar="REGION", help="AWS region")
    group.add_argument(
        "--endpoint-url",
        dest="launch_endpoint_url",
        metavar="URL",
        help="send every AWS call to this URL",
    )


def run(args: argparse.Namespace) -> int:
    """The full-screen wizard, or ``--plain`` prompts (also when no terminal can show the TUI)."""
    import os

    from wizard.launch import LaunchOptions, launch_problem

    options = LaunchOptions.from_args(
        argparse.Namespace(
            demo=args.demo,
            scenario=args.launch_scenario,
            export_delay=args.launch_export_delay,
            profile=args.launch_profile,
            source_profile=args.launch_source_profile,
            region=args.launch_region,
            endpoint_url=args.launch_endpoint_url,
            repair=args.repair,
            survey=args.survey,
        )
    )
    given = frozenset(
        f"--{name.replace('launch_', '').replace('_', '-')}"
        for name in LAUNCH_OPTIONS
        if getattr(args, name, None) not in (None, False)
    )
    problem = launch_problem(options, given)
    if problem is not None:
        print(f"error: {problem[0]}: {problem[1]}", file=sys.stderr)
        return 2
    if args.plain:
        from wizard import plain

        return plain.run(options)
    from wizard.terminal import tui_unavailable_reason  # light: no questionary or boto3

    reason = tui_unavailable_reason(sys.stdin, sys.stdout, os.environ)
    if reason is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    from wizard import tui

    return tui.run(options)
