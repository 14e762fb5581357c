"""``plan``: its options and its run: the changes that make a destination work, as text,
JSON, an AWS CLI script, Terraform, CloudFormation or the documents themselves."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from wizard.commands.options import connection, destination, key_choice, sources
from wizard.core.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from wizard.core.formats import PlanFormat

if TYPE_CHECKING:
    from wizard.commands.options import Subparsers
    from wizard.core.change import Change, Plan
    from wizard.core.state import Choices
    from wizard.flow import WizardState

NAME = "plan"
PLAN_FORMATS = ("text", "json", "cli", "terraform", "cloudformation", "documents")


def add_parser(subparsers: Subparsers) -> None:
    plan = subparsers.add_parser(
        NAME,
        help="show the changes that make the destination work, with diffs",
        description="Preview the changes. Exit 0 when nothing changes, 1 when something "
        "would (or a blocker stops the plan), 2 on errors.",
    )
    destination(plan)
    key_choice(plan)
    sources(plan)
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
    connection(plan)


def change_json(change: Change) -> dict[str, Any]:
    return {
        "action": change.action.value,
        "target": change.target,
        "summary": change.summary,
        "before": change.before,
        "after": change.after,
        "diff": change.diff,
        "notes": list(change.notes),
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "changes": [change_json(c) for c in plan.changes],
        "blockers": list(plan.blockers),
    }


def plan_format(args: argparse.Namespace) -> PlanFormat:
    """--format, or json for --json; refuses the combinations that say two things."""
    from wizard.commands.common import FILE_FORMATS

    chosen = PlanFormat(args.format or (PlanFormat.JSON if args.json else PlanFormat.TEXT))
    if args.json and chosen is not PlanFormat.JSON:
        raise UsageError(f"--json and --format {chosen} say two things: give one.")
    if args.out is not None and chosen not in FILE_FORMATS:
        raise UsageError(
            f"--out writes files: give it with --format {' or '.join(FILE_FORMATS)}.",
        )
    return chosen


def run(args: argparse.Namespace) -> int:
    # The run's imports wait for the run: building the parser stays import-light.
    from pathlib import Path

    from wizard import render
    from wizard.commands.common import out, print_json, review, show
    from wizard.flow import code_files, code_next_steps, script_name, write_new_files

    chosen = plan_format(args)
    _, choices, reviewed = review(args)
    plan = reviewed.plan
    code = EXIT_OK if plan.empty and not plan.blockers else EXIT_FINDINGS
    if chosen is PlanFormat.JSON:
        print_json(plan_json(plan))
        return code
    if chosen is PlanFormat.TEXT:
        show(render.plan(plan))
        return code
    if chosen is PlanFormat.CLI and plan.blockers:
        # No commands for a plan the wizard will not apply: the blockers, as the other
        # formats show them, in a file that stops at once if it is run anyway.
        from wizard.core.cli_equivalent import blocked_script

        files = {script_name(state_of(choices)): blocked_script(plan)}
        executable: tuple[str, ...] = ()
    elif chosen is PlanFormat.CLI:
        state = state_of(choices)
        files = {script_name(state): plan_script(plan, state, reviewed.snapshot.identity.account)}
        executable = tuple(files)
    else:
        files = code_files(chosen, reviewed)
        executable = ()
    if args.out is None:
        print_files(files)
        return code
    folder = Path(args.out)
    for path in write_new_files(folder, files, executable=executable):
        out(f"Wrote {path}")
    if chosen is not PlanFormat.CLI:
        out("Next:")
        for step in code_next_steps(chosen, reviewed, folder):
            out(f"  {step}")
    return code


def print_files(files: dict[str, str]) -> None:
    """One file as it is; several each under a ``# ==> name <==`` line (as ``tail`` does),
    so that a reader (or a split) sees where each begins. Exact into a file or a pipe; on a
    terminal, AWS text in them (a foreign statement's values) is shown visibly."""
    import sys

    from wizard.commands.common import write_out
    from wizard.core.text import visible_lines
    from wizard.terminal import _isatty

    shown = visible_lines if _isatty(sys.stdout) else str
    if len(files) == 1:
        write_out(shown(next(iter(files.values()))))
        return
    for number, (name, text) in enumerate(files.items()):
        write_out(("\n" if number else "") + f"# ==> {name} <==\n{shown(text)}")


def state_of(choices: Choices) -> WizardState:
    """The answers a command was given, as the wizard's state (for the words faces share)."""
    from wizard.flow import WizardState

    return WizardState(
        region=choices.region,
        key=choices.key,
        create_key_alias=choices.create_key_alias,
        bucket=choices.bucket,
        create_bucket=choices.create_bucket,
        prefix=choices.prefix,
        log_group=choices.log_group,
    )


def plan_script(plan: Plan, state: WizardState, account: str) -> str:
    from wizard.core.cli_equivalent import script
    from wizard.flow import cli_header

    return script(plan, state.region or "", cli_header(state, account))
