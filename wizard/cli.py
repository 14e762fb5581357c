"""Command line entry point.

Imports stay lazy: ``--version`` and ``--help`` must not pay for boto3, moto or textual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from wizard import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cwl-export-wizard",
        description=(
            "Make an S3 bucket encrypted with a customer managed KMS key a working "
            "destination for CloudWatch Logs exports, and prove it with a test export."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help(sys.stderr)
    return 0
