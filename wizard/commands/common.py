"""What every command shares: output on stdout and stderr, checked input, a session and a
flow opened from the options, and Ctrl-C as a clean cancel of the work in a thread."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, TypeVar

from wizard import launch, render
from wizard.core import wording
from wizard.core.errors import (
    Cancelled,
    UsageError,
)
from wizard.core.formats import CODE_FORMATS, PlanFormat
from wizard.core.state import Choices, Snapshot
from wizard.core.text import json_escaped, visible_lines
from wizard.core.validate import (
    account_problem,
    alias_problem,
    bucket_name_problem,
    endpoint_problem,
    key_reference_problem,
    log_group_problem,
    normalize_alias,
    prefix_problem,
    profile_problem,
    region_problem,
)
from wizard.flow import Flow, Review
from wizard.terminal import STILL_FINISHING, StopSignal, run_interruptible, supports_color
from wizard.views import Line

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.core.findings import Finding

T = TypeVar("T")

FILE_FORMATS = (PlanFormat.CLI, *CODE_FORMATS)  # what --out writes as files


# --- output -------------------------------------------------------------------------------


def use_colour(stream: IO[str]) -> bool:
    """Colour only for a terminal that wants it: not with NO_COLOR, not with TERM=dumb."""
    return supports_color(stream, os.environ)


def show(lines: list[Line]) -> None:
    """Rendered lines on stdout, coloured on a terminal (see wizard.render: untrusted text in
    them is shown visibly)."""
    colour = use_colour(sys.stdout)
    for line in lines:
        write_out(render.paint(line, colour) + "\n")


class OutputFailed(Exception):
    """stdout refused what was written to it (/dev/full, a full disk): not a bug, not AWS."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


def write_out(text: str, flush: bool = False) -> None:
    """Every result goes to stdout through here; a stdout that cannot take it raises
    OutputFailed (a reader that went away stays BrokenPipeError)."""
    try:
        sys.stdout.write(text)
        if flush:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputFailed(exc) from exc


def out(text: str = "") -> None:
    """A line for a person on stdout: AWS text in it is shown visibly (core.text.visible)."""
    write_out(visible_lines(text) + "\n")


def err(text: str) -> None:
    """A diagnostic on stderr, shown visibly like ``out``."""
    print(visible_lines(text), file=sys.stderr, flush=True)


def show_err(lines: list[Line]) -> None:
    """A view on stderr (progress and waits, while stdout carries the result)."""
    colour = use_colour(sys.stderr)
    for line in lines:
        print(render.paint(line, colour), file=sys.stderr, flush=True)


def print_json(data: Any) -> None:
    """Exact data (never escaped for show), in bytes no terminal acts on: JSON escapes the C0
    controls itself; the other controls, bidi and separator characters are written as their
    JSON escapes (the same string to a parser)."""
    write_out(json_text(data) + "\n")


def json_text(data: Any) -> str:
    return json_escaped(json.dumps(data, indent=2, ensure_ascii=False))


# --- input --------------------------------------------------------------------------------


def _check(problem: str | None, option: str) -> None:
    if problem:
        raise UsageError(f"{option}: {problem}")


def validate_connection(args: argparse.Namespace) -> None:
    if args.region is not None:
        _check(region_problem(args.region), "--region")
    if args.endpoint_url is not None:
        _check(endpoint_problem(args.endpoint_url), "--endpoint-url")
    for flag, profile in (
        ("--profile", args.profile),
        ("--source-profile", getattr(args, "source_profile", None)),
    ):
        if profile is not None:
            _check(profile_problem(profile), flag)


def validate_destination(args: argparse.Namespace) -> None:
    """The checks every destination command shares, on the options given; raises
    UsageError naming the option."""
    validate_connection(args)
    if args.bucket is not None:
        _check(bucket_name_problem(args.bucket), "--bucket")
    if args.prefix is not None:
        _check(prefix_problem(args.prefix), "--prefix")
    if getattr(args, "key", None) is not None:
        _check(key_reference_problem(args.key), "--key")
    if getattr(args, "create_key", None) is not None:
        _check(alias_problem(args.create_key), "--create-key")
    if args.log_group is not None:
        _check(log_group_problem(args.log_group), "--log-group")
    for account in getattr(args, "source_account", None) or ():
        _check(account_problem(account), "--source-account")


def open_session(args: argparse.Namespace, region: str | None = None) -> AwsSession:
    """The user's session; refuses a region botocore does not know, before any AWS call."""
    return launch.checked_session(args.profile, region or args.region, args.endpoint_url)


def choices_from(args: argparse.Namespace, session: AwsSession) -> Choices:
    create_key = getattr(args, "create_key", None)
    return Choices(
        region=session.region,
        bucket=args.bucket,
        create_bucket=bool(getattr(args, "create_bucket", False)),
        key=args.key,
        create_key_alias=normalize_alias(create_key) if create_key else None,
        prefix=args.prefix,
        log_group=args.log_group,
        source_accounts=tuple(dict.fromkeys(getattr(args, "source_account", None) or ())),
    )


def open_flow(args: argparse.Namespace, session: AwsSession) -> Flow:
    """The flow of a command: with --source-profile, the source account's session too (in
    the destination's region: an export goes to a bucket of its own region)."""
    source = None
    if getattr(args, "source_profile", None):
        source = launch.checked_session(
            args.source_profile, session.region, args.endpoint_url, "--source-profile"
        )
        source.identity()  # its credentials first: a clearer error than the export's
    return Flow(session, source=source)


def review(args: argparse.Namespace) -> tuple[Flow, Choices, Review]:
    """Validate, open the session and review the destination (the doctor, the plan and the
    caller's own permissions), as the Review step of the wizard does."""
    validate_destination(args)
    session = open_session(args)
    choices = choices_from(args, session)
    flow = open_flow(args, session)
    return flow, flow.with_source(choices), flow.review(choices)


def confirm(question: str, assume_yes: bool) -> None:
    """Ask on the terminal; without one, refuse unless --yes. No: Cancelled."""
    if not agreed(question, assume_yes):
        raise Cancelled("Cancelled: nothing was changed.")


def agreed(question: str, assume_yes: bool) -> bool:
    """Ask on the terminal whether to go ahead; without one, refuse unless --yes."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            "Refusing to change anything without confirmation: stdin is not a terminal.",
            fix="Pass --yes to go ahead without a question.",
        )
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


# What Ctrl-C says while a command runs: only an apply has something to roll back.
CANCELLING = "Cancelling: finishing the current AWS call..."
CANCELLING_APPLY = "Cancelling: finishing the current AWS call, then rolling back..."
CANCELLING_SURVEY = "Stopping the survey: finishing the calls in flight (Ctrl-C again: at once)..."


def cancelling_survey(stop: KeyboardInterrupt) -> str:
    """What a survey says as it stops: under SIGTERM or SIGHUP, that signal, not Ctrl-C."""
    if isinstance(stop, StopSignal):
        return (
            f"Stopping the survey on {stop.name}: finishing the calls in flight "
            f"({stop.name} or Ctrl-C again: at once)..."
        )
    return CANCELLING_SURVEY


def in_worker(
    job: Callable[[threading.Event], T],
    cancel: threading.Event | None = None,
    *,
    cancelling: str | Callable[[KeyboardInterrupt], str] = CANCELLING,
    before_notice: Callable[[], None] | None = None,
    read_only: bool = False,
) -> T:
    """Run ``job`` in a thread so that Ctrl-C becomes a clean cancel (rollback included).
    ``before_notice`` makes room for the notice (a progress line ends first)."""
    cancel = cancel or threading.Event()
    stop = cancel

    def cancelled(interrupt: KeyboardInterrupt) -> None:
        if before_notice is not None:
            before_notice()
        err(cancelling if isinstance(cancelling, str) else cancelling(interrupt))

    return run_interruptible(
        lambda: job(stop),
        stop,
        on_cancel=cancelled,
        on_again=lambda: err(STILL_FINISHING),
        name="cwl-wizard-job",
        abandon_on_again=read_only,
    )


# --- doctor -------------------------------------------------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "fix": finding.fix,
        "aws_error": finding.aws_error,
    }


def key_words(snap: Snapshot, choices: Choices) -> str:
    """The key a destination is judged with, for a header line."""
    return wording.key_words(choices.create_key_alias, snap.key, read=True)


def destination_words(snap: Snapshot, choices: Choices) -> str:
    """ "s3://bucket/prefix/ with KEY", as every face opens its reading of a destination."""
    return wording.destination(choices.bucket, choices.prefix, key_words(snap, choices))
