"""Command line entry point.

Imports stay lazy: ``--version`` and ``--help`` must not pay for boto3, moto or textual.
The commands live in ``wizard.commands`` and are imported only when one runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from wizard import __version__
from wizard.core.presets import DEFAULT_PREFIX  # import-free: --version stays fast

PLAN_FORMATS = ("text", "json", "cli", "terraform", "cloudformation", "documents")


def _connection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection and output")
    group.add_argument("--profile", help="AWS profile (default: the AWS credential chain)")
    group.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    group.add_argument(
        "--endpoint-url",
        help="send every AWS call to this URL (a local emulator; AWS_ENDPOINT_URL works too)",
    )
    group.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    group.add_argument(
        "--debug", action="store_true", help="show error details and tracebacks on stderr"
    )


def _destination(
    parser: argparse.ArgumentParser, *, log_group_required: bool = False, survey: bool = False
) -> None:
    parser.add_argument(
        "--bucket",
        required=not survey,
        help="the destination S3 bucket"
        + (" (without it: survey every destination, see below)" if survey else ""),
    )
    parser.add_argument(
        "--prefix",
        # The doctor's default is set once it knows it judges one bucket (not a survey).
        default=None if survey else DEFAULT_PREFIX,
        help=f"the key prefix exports write under (default {DEFAULT_PREFIX})",
    )
    parser.add_argument(
        "--log-group",
        required=log_group_required,
        help="the log group to export" if log_group_required else "judge for this log group",
    )


def _sources(parser: argparse.ArgumentParser, *, accounts: bool = True) -> None:
    group = parser.add_argument_group(
        "a central logging account (log groups of other accounts export here)"
    )
    if accounts:
        group.add_argument(
            "--source-account",
            action="append",
            default=[],
            metavar="ID",
            help="another account whose log groups export to this destination (repeatable)",
        )
    group.add_argument(
        "--source-profile",
        metavar="NAME",
        help="a profile of the account whose log groups export here: its caller runs the "
        "export (and is checked, and granted on the destination)",
    )


def _key_choice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--create-bucket", action="store_true", help="create the bucket when it does not exist"
    )
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--key",
        help="an existing KMS key: key id, key ARN, alias/NAME or alias ARN "
        "(default: the bucket's current key)",
    )
    keys.add_argument("--create-key", metavar="ALIAS", help="create a new key with this alias")


# Options of the interactive faces (no COMMAND). Their dests differ from the commands' own
# --profile/--region/... so that a subcommand's defaults never hide them (argparse quirk).
_LAUNCH_OPTIONS = (
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


def _interactive(parser: argparse.ArgumentParser) -> None:
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
        help="with --demo: demo (default), empty, broken or central",
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


class _Parser(argparse.ArgumentParser):
    """argparse, with its refusals in the wizard's two lines (error, fix), not a usage block
    of a dozen lines above them. Subcommands get the same class."""

    def error(self, message: str) -> NoReturn:
        from wizard.core.text import visible  # the message quotes what was typed: escaped

        self.exit(2, f"error: {self.prog}: {visible(message)}.\nfix: see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cwl-export-wizard",
        description=(
            "Make an S3 bucket encrypted with a customer managed KMS key a working "
            "destination for CloudWatch Logs exports, and prove it with a test export."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _interactive(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    doctor = sub.add_parser(
        "doctor",
        help="say whether an export to the destination would work, and why not",
        description="Diagnose a destination. Exit 0 healthy, 1 findings, 2 errors. Without "
        "--bucket: survey every export destination of the account (buckets whose policy lets "
        "CloudWatch Logs in, buckets its export tasks wrote to), in one or many profiles and "
        "regions. Exit 0 all healthy, 1 a broken destination or a profile or region that "
        "could not be read, 2 nothing could be read.",
    )
    _destination(doctor, survey=True)
    _key_choice(doctor)
    _sources(doctor)
    survey = doctor.add_argument_group("a survey (doctor without --bucket)")
    survey.add_argument(
        "--profiles",
        metavar="P1,P2,...",
        help="survey these profiles (accounts) of your AWS config (default: --profile, or "
        "the default credentials)",
    )
    survey.add_argument(
        "--all-profiles",
        action="store_true",
        help="survey every profile in the AWS config files (AWS_CONFIG_FILE)",
    )
    survey.add_argument(
        "--regions",
        metavar="R1,R2,...|all",
        help="survey these regions, or 'all' (each account's enabled regions); default: "
        "--region, else each profile's own region",
    )
    checking = doctor.add_argument_group("checking the diagnosis against AWS")
    checking.add_argument(
        "--verify",
        action="store_true",
        help="also run a probe export (the last minute: AWS's test object and a few lines at "
        "most) and set AWS's answer beside the prediction; exit 0 only when healthy and "
        "agreeing (without --log-group: the log group written last)",
    )
    checking.add_argument(
        "--if-busy",
        choices=("fail", "wait"),
        help="with --verify, when another export task is active: fail (default) or wait for "
        "it (the probe never cancels it)",
    )
    checking.add_argument(
        "--propagation-wait",
        type=float,
        metavar="S",
        help="with --verify: when AWS refuses although the policies allow it, try again for "
        "up to S seconds, as policy changes (by any tool) take a while to reach CloudWatch "
        "Logs (default: 120; 0: do not wait)",
    )
    _connection(doctor)

    plan = sub.add_parser(
        "plan",
        help="show the changes that make the destination work, with diffs",
        description="Preview the changes. Exit 0 when nothing changes, 1 when something "
        "would (or a blocker stops the plan), 2 on errors.",
    )
    _destination(plan)
    _key_choice(plan)
    _sources(plan)
    plan.add_argument(
        "--format",
        choices=PLAN_FORMATS,
        help="text (default), json (= --json), cli (a runnable AWS CLI script), terraform "
        "(HCL with import blocks), cloudformation (YAML, with a resource import where needed) "
        "or documents (each document the plan writes, as JSON)",
    )
    plan.add_argument(
        "--out",
        metavar="DIR",
        help="write the files of --format cli, terraform, cloudformation or documents into DIR "
        "(created if needed; existing files are never overwritten) instead of printing them",
    )
    _connection(plan)

    apply = sub.add_parser(
        "apply",
        help="apply the plan (asks first; journal, drift check and rollback)",
        description="Apply the plan. Exit 0 on success, 1 when blocked, 2 on errors.",
    )
    _destination(apply)
    _key_choice(apply)
    _sources(apply)
    apply.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    apply.add_argument(
        "--lock-wait",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds to wait for another apply on the same account and region (default 300)",
    )
    _connection(apply)

    export = sub.add_parser(
        "test-export",
        help="run an export task and show the objects, their encryption and sample lines",
        description="Run a test export. Exit 0 when data arrived, 1 when the task failed or "
        "exported nothing, 2 on errors.",
    )
    _destination(export, log_group_required=True)
    window = export.add_argument_group("time window (default: the last 24 hours)")
    window.add_argument("--since", help="a duration back from now: 30m, 1h, 24h, 2d, 1w")
    window.add_argument(
        "--from", dest="from_time", metavar="T", help="ISO-8601 time or epoch milliseconds"
    )
    window.add_argument("--to", dest="to_time", metavar="T", help="ISO-8601 time or epoch ms")
    export.add_argument("--stream-prefix", help="export only streams whose names start so")
    export.add_argument(
        "--lines", type=int, default=10, metavar="N", help="sample lines to show (default 10)"
    )
    export.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait for the task and inspect the result (default: wait)",
    )
    export.add_argument(
        "--propagation-wait",
        type=float,
        metavar="S",
        help="when AWS refuses the export although the policies allow it, try again for up "
        "to S seconds, as policy changes (by any tool) take a while to reach CloudWatch Logs "
        "(default: 120; 0: do not wait)",
    )
    export.add_argument(
        "--if-busy",
        choices=("fail", "wait", "cancel"),
        default="fail",
        help="when another export task is active: fail (default), wait for it, or cancel it",
    )
    export.add_argument(
        "--report",
        metavar="FILE",
        help="write a Markdown proof for a change ticket: the failure reproduced before the "
        "change (doctor --verify), the changes applied (journal), the objects, their SSE-KMS "
        "key ARN and alias, decrypted lines, and the commands that repeat it (never "
        "overwrites a file)",
    )
    _sources(export, accounts=False)
    _connection(export)

    iam = sub.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy the wizard's caller needs",
        description="Print (JSON, on stdout) the identity policy a caller needs for the "
        "wizard. With --bucket, --key or --create-key, --create-bucket, --region, --account "
        "and --log-group it is narrowed to what that run touches. No AWS call is made.",
    )
    iam.add_argument("--bucket", help="the destination bucket (default: any bucket)")
    iam.add_argument("--prefix", help="the export prefix (default: any)")
    iam.add_argument("--log-group", help="the log group of the test export (default: any)")
    iam.add_argument("--account", help="the account id (default: any)")
    _key_choice(iam)
    iam.add_argument(
        "--source",
        action="store_true",
        help="the policy of the caller in a source account that exports into the "
        "destination (a central logging account); --key then takes the destination key's ARN",
    )
    iam.add_argument(
        "--source-account",
        action="append",
        default=[],
        metavar="ID",
        help="with --source: the source account (default: any)",
    )
    iam.add_argument(
        "--acls-enabled",
        action="store_true",
        help="with --source: the destination bucket has ACLs enabled (adds s3:PutObjectAcl)",
    )
    _connection(iam)

    undo = sub.add_parser(
        "undo",
        help="restore what an apply changed, from its journal",
        description="Undo an apply. Exit 0 when everything was restored, 1 when some "
        "target had changed since and was left alone, 2 on errors.",
    )
    undo.add_argument("journal", help="the journal file apply printed")
    undo.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _connection(undo)

    sandbox = sub.add_parser(
        "sandbox",
        help="run the embedded local AWS (for demos and tests) in the foreground",
        description="Run the sandbox: a local AWS on 127.0.0.1 that behaves like "
        "CloudWatch Logs exports do.",
    )
    from wizard.sandbox import command as sandbox_command  # cheap: no moto until it runs

    sandbox_command.add_arguments(sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: keep main() returning
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        return _run_interactive(args)
    problem = _move_global_options(args)
    if problem is not None:
        parser.print_usage(sys.stderr)
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.command == "sandbox":
        return _run_sandbox(args)
    from wizard.commands import dispatch

    return dispatch(args)


# Options that may come before the command, as with the AWS CLI (``--profile prod doctor``):
# the top-level dest, and the command's own.
_GLOBAL_OPTIONS = {
    "launch_profile": "profile",
    "launch_source_profile": "source_profile",
    "launch_region": "region",
    "launch_endpoint_url": "endpoint_url",
    "launch_scenario": "scenario",  # sandbox
    "launch_export_delay": "export_delay",  # sandbox
}


def _option(dest: str) -> str:
    return "--" + dest.replace("launch_", "").replace("_", "-")


def _move_global_options(args: argparse.Namespace) -> str | None:
    """Options given before the command become the command's own; what is wrong, or None.

    Given on both sides with different values, or before a command that has no such option,
    or an option only the interactive wizard has (--demo, --plain, --repair): refused.
    """
    for dest in ("demo", "plain", "repair", "survey"):
        if getattr(args, dest, None) not in (None, False):
            return (
                f"{_option(dest)} is for the interactive wizard (without a command); "
                f"{args.command!r} does not take it."
            )
    for before_dest, dest in _GLOBAL_OPTIONS.items():
        before = getattr(args, before_dest, None)
        if before is None:
            continue
        if not hasattr(args, dest):
            return f"{args.command!r} does not take {_option(dest)}."
        after = getattr(args, dest)
        if after is not None and after != before:
            return (
                f"{_option(dest)} is given twice, {before} before {args.command!r} and {after} "
                "after it: give it once."
            )
        setattr(args, dest, before)
    return None


def _run_interactive(args: argparse.Namespace) -> int:
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
        for name in _LAUNCH_OPTIONS
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


def _run_sandbox(args: argparse.Namespace) -> int:
    from wizard.commands import report_error
    from wizard.core.errors import WizardError
    from wizard.sandbox import command as sandbox_command

    try:
        return sandbox_command.run(args)
    except WizardError as error:
        return report_error(error, None)
    except KeyboardInterrupt:
        return 130
