"""The option groups several commands share (connection and output, the destination, the
source accounts, the key), built once for every parser. Import-light: no AWS, no UI."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from wizard.core.presets import DEFAULT_PREFIX  # import-free: --version stays fast

if TYPE_CHECKING:
    # What ``add_subparsers`` returns: each command module adds its parser to it.
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def connection(parser: argparse.ArgumentParser) -> None:
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


def destination(
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


def sources(parser: argparse.ArgumentParser, *, accounts: bool = True) -> None:
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


def key_choice(parser: argparse.ArgumentParser) -> None:
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
