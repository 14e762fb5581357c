"""Running a command: its exit code, and every failure it meets (a WizardError, Ctrl-C, a
closed pipe, a full stdout, a bug) said in the wizard's lines on stderr, never a traceback."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable
from typing import Any

from wizard.commands.common import OutputFailed, err, print_json, write_out
from wizard.core.errors import EXIT_ERROR, ApplyError, ExportBusy, WizardError

EXIT_BROKEN_PIPE = 141  # as a shell reports a program ended by SIGPIPE (128 + 13)
BUSY_OPTIONS = (
    "or: run it again with --if-busy wait (or --if-busy cancel) to let the command do it."
)


def report_error(error: WizardError, args: argparse.Namespace | None) -> int:
    """``error: MESSAGE`` and ``fix: ...`` on stderr; details and traceback with --debug."""
    err(f"error: {error.message}")
    if error.fix:
        err(f"fix: {error.fix}")
    # The flow's words name no flag: this face's way to wait or cancel, in text and JSON alike.
    busy_hint = isinstance(error, ExportBusy) and args is not None and hasattr(args, "if_busy")
    if busy_hint:
        err(BUSY_OPTIONS)
    if isinstance(error, ApplyError):
        if error.report is not None:
            for remaining in error.report.remaining:
                err(f"remains: {remaining.message}")
                for command in remaining.manual:
                    err(f"    {command}")
        if error.journal_path:
            err(f"journal: {error.journal_path}")
            if not error.restored_everything:
                err(f"then: cwl-export-wizard undo {shlex.quote(error.journal_path)}")
    if args is not None and getattr(args, "json", False):
        described: dict[str, Any] = {
            "type": type(error).__name__,
            "message": error.message,
            "fix": error.fix,
        }
        if busy_hint:
            hint = BUSY_OPTIONS[0].upper() + BUSY_OPTIONS[1:]
            described["fix"] = f"{error.fix} {hint}" if error.fix else hint
        if isinstance(error, ApplyError) and error.journal_path:
            described["journal"] = error.journal_path  # so a script can undo it
        print_json({"error": described})
    if args is not None and getattr(args, "debug", False):
        import traceback

        if error.details:
            err(f"details: {error.details}")
        err("".join(traceback.format_exception(error)).rstrip())
    return error.exit_code


def dispatch(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> int:
    """``handler(args)`` (a command's run), its failures reported; the exit code."""
    try:
        code = handler(args)
        write_out("", flush=True)  # a stdout that cannot take it fails here, not at exit
        return code
    except WizardError as error:
        try:
            return report_error(error, args)
        except OutputFailed as failed:  # --json's error could not be written either
            return _output_failed(failed)
    except KeyboardInterrupt:
        err("error: interrupted.")
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): nothing is wrong, and nothing more can be said.
        # Python would complain again when it flushes stdout on exit: point it elsewhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OutputFailed as failed:
        return _output_failed(failed)
    except Exception as exc:  # a bug: still one line unless --debug
        return _unexpected(exc, args)


def _output_failed(failed: OutputFailed) -> int:
    # Python's own flush at exit must not fail again on what is still buffered.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    err(f"error: The output could not be written to stdout: {failed}.")
    err("fix: Send it where there is room (check the disk or the file stdout goes to).")
    return EXIT_ERROR


def _unexpected(exc: BaseException, args: argparse.Namespace) -> int:
    """A bug: one line, and exit 2 with or without --debug (which adds the traceback)."""
    err(f"error: unexpected {type(exc).__name__}: {exc}")
    if getattr(args, "debug", False):
        import traceback

        err("".join(traceback.format_exception(exc)).rstrip())
        err("fix: report this traceback.")
    else:
        err("fix: run again with --debug and report the traceback.")
    return EXIT_ERROR
