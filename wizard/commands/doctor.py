"""``doctor``: its options and its run: one destination judged (``--verify``: and probed, in
verify.py), or, without ``--bucket``, the survey of every destination (survey.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from wizard.commands.options import connection, destination, key_choice, sources
from wizard.core.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from wizard.core.presets import DEFAULT_PREFIX

if TYPE_CHECKING:
    from wizard.commands.options import Subparsers

NAME = "doctor"


def add_parser(subparsers: Subparsers) -> None:
    doctor = subparsers.add_parser(
        NAME,
        help="say whether an export to the destination would work, and why not",
        description="Diagnose a destination. Exit 0 healthy, 1 findings, 2 errors. Without "
        "--bucket: survey every export destination of the account (buckets whose policy lets "
        "CloudWatch Logs in, buckets its export tasks wrote to), in one or many profiles and "
        "regions. Exit 0 all healthy, 1 a broken destination or a profile or region that "
        "could not be read, 2 nothing could be read.",
    )
    destination(doctor, survey=True)
    key_choice(doctor)
    sources(doctor)
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
    connection(doctor)


def run(args: argparse.Namespace) -> int:
    # The run's imports wait for the run: building the parser stays import-light.
    from wizard import render
    from wizard.commands import survey, verify
    from wizard.commands.common import (
        destination_words,
        err,
        finding_json,
        out,
        print_json,
        review,
        show,
    )

    if args.bucket is None:
        if args.verify or args.if_busy is not None or args.propagation_wait is not None:
            raise UsageError(
                "--verify probes one destination: add --bucket (a survey of every destination "
                "reads policies only)."
            )
        return survey.run(args)
    for option, given in (
        ("--profiles", args.profiles is not None),
        ("--all-profiles", args.all_profiles),
        ("--regions", args.regions is not None),
    ):
        if given:
            raise UsageError(
                f"{option} is for a survey of every destination: leave out --bucket, or "
                f"leave out {option}."
            )
    if args.prefix is None:
        args.prefix = DEFAULT_PREFIX
    verify.check_options(args)
    if args.verify:
        return verify.run(args)
    flow, choices, reviewed = review(args)
    findings = list(reviewed.findings)
    healthy = reviewed.healthy
    snap = reviewed.snapshot
    if args.json:
        print_json({"healthy": healthy, "findings": [finding_json(f) for f in findings]})
    else:
        out(
            f"Destination {destination_words(snap, choices)} "
            f"(account {snap.identity.account}; {flow.session.describe()})"
        )
        show([*render.findings(findings), render.verdict(findings)])
        if not healthy:
            err("fix: run 'cwl-export-wizard plan' with the same options to see the changes.")
    return EXIT_OK if healthy else EXIT_FINDINGS
