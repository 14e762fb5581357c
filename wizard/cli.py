"""Command line entry point: assembles the top-level parser (the interactive wizard's
options, interactive.py), each command's parser (one module per command, wizard.commands,
and the sandbox's), and runs what was asked.

Imports stay lazy: ``--version`` and ``--help`` must not pay for boto3, moto or textual.
A command's modules import what its run needs only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, NoReturn, cast

from wizard import __version__, interactive
from wizard.commands import apply, doctor, iam_policy, plan, test_export, undo
from wizard.sandbox import command as sandbox_command  # cheap: no moto until it runs

if TYPE_CHECKING:
    from wizard.commands.options import Subparsers

# Each command's module, by name, in the order --help lists them: it adds its parser
# (add_parser) and runs (run).
COMMANDS: dict[str, ModuleType] = {
    module.NAME: module for module in (doctor, plan, apply, test_export, iam_policy, undo)
}


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
    interactive.add_options(parser)
    # Its parsers are _Parser (argparse gives them the top-level class): ArgumentParsers.
    sub = cast("Subparsers", parser.add_subparsers(dest="command", metavar="COMMAND"))
    for command in COMMANDS.values():
        command.add_parser(sub)
    sandbox_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: keep main() returning
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        return interactive.run(args)
    problem = _move_global_options(args)
    if problem is not None:  # the wizard's two lines, as the parser's own refusals
        print(f"error: {problem}", file=sys.stderr)
        print(f"fix: see {parser.prog} {args.command} --help", file=sys.stderr)
        return 2
    if args.command == sandbox_command.NAME:
        return _run_sandbox(args)
    from wizard.commands.dispatch import dispatch

    return dispatch(args, COMMANDS[args.command].run)


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


def _run_sandbox(args: argparse.Namespace) -> int:
    from wizard.commands.dispatch import report_error
    from wizard.core.errors import WizardError

    try:
        return sandbox_command.run(args)
    except WizardError as error:
        return report_error(error, None)
    except KeyboardInterrupt:
        return 130
