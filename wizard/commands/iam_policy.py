"""``iam-policy``: its options and its run: the least-privilege identity policy the
wizard's caller needs (or, with ``--source``, a source account's caller), with no AWS call."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from wizard.commands.options import connection, key_choice
from wizard.core.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from wizard.commands.options import Subparsers

NAME = "iam-policy"


def add_parser(subparsers: Subparsers) -> None:
    iam = subparsers.add_parser(
        NAME,
        help="print the least-privilege IAM policy the wizard's caller needs",
        description="Print (JSON, on stdout) the identity policy a caller needs for the "
        "wizard. With --bucket, --key or --create-key, --create-bucket, --region, --account "
        "and --log-group it is narrowed to what that run touches. No AWS call is made.",
    )
    iam.add_argument("--bucket", help="the destination bucket (default: any bucket)")
    iam.add_argument("--prefix", help="the export prefix (default: any)")
    iam.add_argument("--log-group", help="the log group of the test export (default: any)")
    iam.add_argument("--account", help="the account id (default: any)")
    key_choice(iam)
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
    connection(iam)


def _source_iam_policy(args: argparse.Namespace) -> int:
    """``iam-policy --source``: the policy of the caller in a source account."""
    from wizard.commands.common import print_json
    from wizard.core.arn import parse_arn
    from wizard.core.iam_policy import SourceScope, source_policy

    if args.create_key or args.create_bucket:
        option = "--create-key" if args.create_key else "--create-bucket"
        raise UsageError(f"{option} is not for --source: the source caller creates nothing.")
    key = parse_arn(args.key) if args.key else None
    if args.key and (key is None or not key.resource.startswith("key/")):
        raise UsageError(
            f"--key {args.key}: with --source give the destination key's ARN "
            "(arn:aws:kms:REGION:ACCOUNT:key/ID): an alias means nothing in another account.",
        )
    if len(args.source_account) > 1:
        raise UsageError("--source-account: with --source give one account (one caller).")
    scope = SourceScope(
        region=args.region,
        account=args.source_account[0] if args.source_account else None,
        bucket=args.bucket,
        prefix=args.prefix,
        key=args.key,
        acls_enabled=args.acls_enabled,
        log_group=args.log_group,
    )
    print_json(source_policy(scope))
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    # The run's imports wait for the run: building the parser stays import-light.
    from wizard import launch
    from wizard.commands.common import _check, print_json, validate_destination
    from wizard.core.iam_policy import PolicyScope, identity_policy
    from wizard.core.validate import (
        account_problem,
        normalize_alias,
    )

    validate_destination(args)  # bucket, prefix, key, alias, log group, source accounts
    if args.account is not None:
        _check(account_problem(args.account), "--account")
    if args.region is not None:
        _check(launch.region_known_problem(args.region), "--region")
    if args.source:
        return _source_iam_policy(args)
    if args.source_account or args.acls_enabled:
        option = "--source-account" if args.source_account else "--acls-enabled"
        raise UsageError(f"{option} is for the source caller's policy: add --source.")
    scope = PolicyScope(
        region=args.region,
        account=args.account,
        bucket=args.bucket,
        prefix=args.prefix,
        key=args.key,
        create_key_alias=normalize_alias(args.create_key) if args.create_key else None,
        create_bucket=bool(args.create_bucket),
        log_group=args.log_group,
    )
    print_json(identity_policy(scope))
    return EXIT_OK
