"""The AWS CLI commands that do what a plan does: a runnable script for review, audits and
runbooks.

Each change's command comes from the Action registry (``core.actions``). Documents go into
files (``file://NAME.json``) exactly as the wizard would send them; a new key's ARN is kept
in the shell variable ``KEY_ARN`` by the create-key command and used by the ones after it.
Long commands are continued over lines with a backslash, so the text can be pasted into a
shell or saved and run as it is (``bash plan.sh``).
"""

from __future__ import annotations

import shlex
import textwrap

from wizard.core.actions import NEW_KEY_VARIABLE, CliStep, shell_word, spec
from wizard.core.change import Plan
from wizard.core.text import json_escaped, visible

__all__ = ["CliStep", "aws_cli_commands", "export_command", "render", "script"]

WIDTH = 88  # a command longer than this is continued over lines, one option per line


def aws_cli_commands(plan: Plan, region: str) -> list[CliStep]:
    """One step per change, in the plan's order."""
    return [spec(change.action).cli(change, region) for change in plan.changes]


def export_command(
    region: str,
    log_group: str,
    bucket: str,
    prefix: str,
    from_ms: int,
    to_ms: int,
    stream_prefix: str | None = None,
    profile: str | None = None,
) -> str:
    """``profile``: the AWS CLI profile of the account that owns the log group (the export
    runs there), when the run used one."""
    parts = [
        "aws",
        "logs",
        "create-export-task",
        *(("--profile", profile) if profile else ()),
        "--region",
        region,
        "--log-group-name",
        log_group,
        "--from",
        str(from_ms),
        "--to",
        str(to_ms),
        "--destination",
        bucket,
        "--destination-prefix",
        prefix,
    ]
    if stream_prefix:
        parts += ["--log-stream-name-prefix", stream_prefix]
    return " ".join(shlex.quote(p) for p in parts)


def _groups(argv: tuple[str, ...]) -> list[str]:
    """The command words as lines: the command itself, then each option with its value."""
    lines: list[str] = []
    for word in argv:
        quoted = shell_word(word)
        if not lines or word.startswith("--"):
            lines.append(quoted)
        elif len(lines[-1]) + len(quoted) >= WIDTH:  # a long value gets a line of its own
            lines.append(f"    {quoted}")
        else:
            lines[-1] += f" {quoted}"
    return lines


def format_command(step: CliStep) -> list[str]:
    """The step's command as shell lines, continued with a backslash when long."""
    one_line = step.command
    prefix = f"{step.capture}=$(" if step.capture else ""
    suffix = ")" if step.capture else ""
    if len(prefix) + len(one_line) + len(suffix) <= WIDTH:
        return [f"{prefix}{one_line}{suffix}"]
    groups = _groups(step.argv)
    lines = [f"{prefix}{groups[0]} \\"]
    lines += [f"    {group} \\" for group in groups[1:-1]]
    lines.append(f"    {groups[-1]}{suffix}")
    return lines


def comment(text: str) -> list[str]:
    """A shell comment wrapped at WIDTH: every line starts with "#" (text from AWS in it is
    shown visibly: a comment never carries a control or bidi character)."""
    return textwrap.wrap(
        visible(text),
        WIDTH,
        initial_indent="# ",
        subsequent_indent="#   ",
        break_long_words=False,
        break_on_hyphens=False,
    ) or ["#"]


def render(steps: list[CliStep]) -> str:
    """The steps as shell text: for each, a comment, its files, then the command."""
    lines: list[str] = []
    for number, step in enumerate(steps, 1):
        lines.extend(comment(visible(f"{number}. {step.comment}")))
        for name, content in step.files:
            lines.append(f"cat > {shlex.quote(name)} <<'JSON'")
            # The same document; no bidi or control character to make it read otherwise.
            lines.append(json_escaped(content))
            lines.append("JSON")
        lines.extend(format_command(step))
        if step.capture:
            lines.append(f'echo "{step.capture}=${step.capture}"')
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def blocked_script(plan: Plan) -> str:
    """The script for a plan with blockers: what blocks it, and no command to run (every face
    saves or prints this, never half a plan)."""
    lines = [
        "#!/usr/bin/env bash",
        "# No AWS CLI script: the plan has blockers (the wizard will not apply this plan).",
    ]
    for blocker in plan.blockers:
        lines.extend(comment(f"BLOCKER: {blocker}"))
    lines += [
        "echo 'cwl-export-wizard: the plan has blockers (see this file); nothing to run.' >&2",
        "exit 1",
    ]
    return "\n".join(lines) + "\n"


def script(plan: Plan, region: str, header: tuple[str, ...] = ()) -> str:
    """A whole bash script: stops at the first failing command (``set -euo pipefail``). A plan
    with blockers gets ``blocked_script``: nothing to run."""
    if plan.blockers:
        return blocked_script(plan)
    lines = ["#!/usr/bin/env bash", "# The AWS CLI equivalent of a cwl-export-wizard plan."]
    for line in header:
        lines.extend(comment(line))
    lines += ["set -euo pipefail", ""]
    steps = aws_cli_commands(plan, region)
    if not steps:
        lines.append("# Nothing to change: the destination already works as it is.")
        return "\n".join(lines) + "\n"
    uses_new_key = any(f'"${NEW_KEY_VARIABLE}"' in s.command for s in steps)
    creates_key = any(s.capture == NEW_KEY_VARIABLE for s in steps)
    if uses_new_key and not creates_key:  # pragma: no cover - the planner never does this
        raise ValueError("a plan that uses a new key must create it")
    # Its documents are JSON (any control or bidi character from AWS is in their strings):
    # written as JSON escapes, the script holds none, and the AWS CLI reads the same JSON.
    return json_escaped("\n".join(lines) + "\n" + render(steps))
