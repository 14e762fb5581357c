"""``doctor`` without ``--bucket``: the survey of every destination of the profiles and
regions asked for, with its progress bar on a terminal."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from wizard import render
from wizard.commands.common import (
    cancelling_survey,
    in_worker,
    print_json,
    show,
    validate_connection,
)
from wizard.core.errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, UsageError
from wizard.core.text import count
from wizard.terminal import stop_signals_as_ctrl_c

if TYPE_CHECKING:
    from wizard.core.survey import Profile, RegionChoice, SurveyResult
    from wizard.survey import Surveyor

_NOT_IN_A_SURVEY = (
    ("--prefix", "prefix"),
    ("--key", "key"),
    ("--create-key", "create_key"),
    ("--create-bucket", "create_bucket"),
    ("--log-group", "log_group"),
    ("--source-account", "source_account"),
    ("--source-profile", "source_profile"),
)


class SurveyProgress:
    """``[#####.....] 12/54 regions · 9 destinations · 1 error`` on stderr, redrawn in place
    as results arrive; only on a terminal (a log gets the table alone)."""

    WIDTH = 24

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._units = self._done = self._rows = self._errors = 0
        self._shown = False

    def __call__(self, event: object) -> None:
        from wizard.survey import ErrorFound, RowFound, UnitDone, UnitsPlanned

        with self._lock:
            if isinstance(event, UnitsPlanned):
                self._units += event.count
            elif isinstance(event, UnitDone):
                self._done += 1
            elif isinstance(event, RowFound):
                self._rows += 1
            elif isinstance(event, ErrorFound):
                self._errors += 1
            self._draw()

    def _draw(self) -> None:
        filled = self.WIDTH * self._done // self._units if self._units else 0
        bar = "#" * filled + "." * (self.WIDTH - filled)
        text = f"[{bar}] {self._done}/{self._units} regions · {count(self._rows, 'destination')}"
        if self._errors:
            text += f" · {count(self._errors, 'error')}"
        self._stream.write("\r" + text + "\033[K")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self._stream.write("\r\033[K")
                self._stream.flush()

    def end_line(self) -> None:
        """Keep the bar as it is and start a new line (for a notice under it)."""
        with self._lock:
            if self._shown:
                self._stream.write("\n")
                self._stream.flush()
                self._shown = False


def run(args: argparse.Namespace) -> int:
    """doctor without --bucket: every destination of the profiles and regions asked for."""
    from wizard import survey
    from wizard.core import survey as core_survey

    for option, dest in _NOT_IN_A_SURVEY:
        if getattr(args, dest, None) not in (None, False, []):
            raise UsageError(
                f"{option} is for one destination: give --bucket too, or leave out {option}."
            )
    validate_connection(args)
    regions = survey.parse_regions(args.regions, args.region)
    profiles = survey.parse_profiles(args.profiles, args.all_profiles, args.profile)
    skipped = survey.skipped_sections(args.all_profiles)
    progress = SurveyProgress(sys.stderr) if sys.stderr.isatty() else None
    surveyor = survey.start(survey.user_factory(args.endpoint_url), on_event=progress)
    abandoned = False
    try:
        with stop_signals_as_ctrl_c():
            result = in_worker(
                lambda cancel: _survey(surveyor, cancel, profiles, regions, skipped),
                cancelling=cancelling_survey,
                before_notice=progress.end_line if progress is not None else None,
                read_only=True,
            )
    except KeyboardInterrupt:  # stopped again: what was read, at once
        result, abandoned = surveyor.abandon(profiles), True
    finally:
        if progress is not None:
            progress.clear()
    if args.json:
        print_json(core_survey.result_json(result))
    else:
        show(render.survey(result))
    if abandoned:
        # Python would wait at exit for the calls still in flight (each up to its read
        # timeout): nothing they return is used, so leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    return {
        core_survey.Outcome.HEALTHY: EXIT_OK,
        core_survey.Outcome.FINDINGS: EXIT_FINDINGS,
        core_survey.Outcome.NOTHING_READ: EXIT_ERROR,
        core_survey.Outcome.STOPPED: EXIT_INTERRUPTED,
    }[core_survey.outcome(result)]


def _survey(
    surveyor: Surveyor,
    cancel: threading.Event,
    profiles: Sequence[Profile],
    regions: RegionChoice,
    skipped: Sequence[str],
) -> SurveyResult:
    def relay() -> None:  # Ctrl-C (the worker's cancel) stops the survey
        cancel.wait()
        surveyor.cancel.set()

    threading.Thread(target=relay, daemon=True).start()
    return surveyor.run(profiles, regions, skipped)
