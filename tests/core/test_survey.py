"""The survey's pure rules: what counts as a destination, its prefixes, the exit outcome."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from wizard.core import survey as core
from wizard.core.findings import Finding, FindingCode, Severity
from wizard.core.requirements import bucket_statements
from wizard.core.state import Destination


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def granted(bucket: str, prefix: str = "exportedlogs") -> str:
    dest = Destination("eu-west-1", "111122223333", "aws", bucket, prefix)
    return policy(*bucket_statements(dest))


def test_a_logs_grant_names_its_prefix() -> None:
    assert core.policy_prefixes("b", granted("b", "app/logs")) == (True, ("app/logs",))


def test_a_grant_on_the_whole_bucket_has_no_prefix_of_its_own() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    assert core.policy_prefixes("b", policy(statement)) == (True, ())


def test_other_services_denies_and_unreadable_policies_grant_nothing() -> None:
    cloudfront = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    deny = {
        "Effect": "Deny",
        "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/*",
    }
    assert core.policy_prefixes("b", policy(cloudfront, deny)) == (False, ())
    assert core.policy_prefixes("b", "{not json") == (False, ())
    assert core.policy_prefixes("b", None) == (False, ())


def test_candidates_join_policies_and_tasks_and_leave_everything_else_out() -> None:
    found = core.candidates(
        {"granted": granted("granted", "app"), "plain": None, "whole": granted("whole", "x")},
        [
            core.TaskTarget("granted", "exportedlogs"),
            core.TaskTarget("gone", "old"),
            core.TaskTarget("granted", "exportedlogs"),
        ],
    )
    assert found == [
        core.Candidate("gone", "old", (core.Via.TASK,)),
        core.Candidate("granted", "app", (core.Via.POLICY,)),
        core.Candidate("granted", "exportedlogs", (core.Via.TASK,)),
        core.Candidate("whole", "x", (core.Via.POLICY,)),
    ]


def test_a_task_without_prefix_is_judged_at_the_default_prefix() -> None:
    assert core.candidates({}, [core.TaskTarget("b", "")]) == [
        core.Candidate("b", "exportedlogs", (core.Via.TASK,))
    ]


def row(profile: str | None, *codes: str, severity: Severity = Severity.ERROR) -> core.Row:
    findings = tuple(Finding(FindingCode(c), severity, "m", "f") for c in codes)
    return core.Row(profile, "111122223333", "eu-west-1", "b-1", "logs x", findings)


def test_the_repair_command_is_shell_quoted_and_asks_for_what_the_repair_needs() -> None:
    assert core.repair_command(row("prod; rm -rf ~", "KEY_POLICY_BLOCKS_LOGS")) == (
        "cwl-export-wizard apply --profile 'prod; rm -rf ~' --region eu-west-1 "
        "--bucket b-1 --prefix 'logs x'"
    )
    assert (core.repair_command(row(None, "KEY_AWS_MANAGED")) or "").endswith(
        "--prefix 'logs x' --create-key alias/cwl-exports"
    )
    assert "--profile" not in (core.repair_command(row(None, "KEY_AWS_MANAGED")) or "")


def test_a_gone_bucket_is_created_again_with_a_new_key_of_its_own() -> None:
    command = core.repair_command(row("p", "BUCKET_NOT_FOUND")) or ""
    assert command.endswith("--create-bucket --create-key alias/cwl-exports")
    assert "--key " not in command  # never another destination's key


def test_a_profile_or_prefix_that_reads_as_an_option_is_joined_to_its_flag() -> None:
    """Found from outside: a profile named -h printed a repair that showed the help."""
    command = core.repair_command(row("-h", "KEY_POLICY_BLOCKS_LOGS")) or ""
    assert "--profile=-h " in command
    odd = core.Row(
        "--x",
        "1",
        "eu-west-1",
        "b-1",
        "-p",
        (Finding(FindingCode.BUCKET_NOT_FOUND, Severity.ERROR, "m", "f"),),
    )
    assert "--profile=--x " in (core.repair_command(odd) or "")
    assert "--prefix=-p " in (core.repair_command(odd) or "")


def test_a_foreign_deny_gets_no_repair_command_but_the_reason() -> None:
    """Found from outside: an EXPLICIT_DENY row offered an apply that the Deny then blocked."""
    denied = row("p", "EXPLICIT_DENY", "BUCKET_POLICY_BLOCKS_PUTOBJECT")
    assert core.repair_command(denied) is None
    assert "never edits a statement it did not write" in core.repair_text(denied)
    assert core.repair_text(row("p", "KEY_AWS_MANAGED")).startswith("cwl-export-wizard apply")


def test_the_outcome_is_healthy_findings_or_nothing_read() -> None:
    healthy = row("p", "BUCKET_NOT_KMS", severity=Severity.WARNING)
    broken = row("p", "KEY_AWS_MANAGED")
    refused = core.SurveyError("q", None, "denied")
    assert core.outcome(core.SurveyResult((healthy,), (), units_read=1)) is core.Outcome.HEALTHY
    assert core.outcome(core.SurveyResult((broken,), (), 1)) is core.Outcome.FINDINGS
    assert core.outcome(core.SurveyResult((healthy,), (refused,), 1)) is core.Outcome.FINDINGS
    assert core.outcome(core.SurveyResult((), (refused,), 0)) is core.Outcome.NOTHING_READ
    assert core.outcome(core.SurveyResult((), (), 3)) is core.Outcome.HEALTHY


def test_json_rows_come_broken_first_in_the_issue_shape() -> None:
    result = core.SurveyResult(
        (row("a", "BUCKET_NOT_KMS", severity=Severity.WARNING), row("b", "KEY_AWS_MANAGED")),
        (core.SurveyError("c", "eu-west-1", "AccessDenied"),),
        2,
    )
    out: Any = core.result_json(result)
    assert [d["profile"] for d in out["destinations"]] == ["b", "a"]
    assert out["errors"] == [{"profile": "c", "region": "eu-west-1", "message": "AccessDenied"}]


def test_a_stopped_survey_is_never_a_verdict_of_healthy() -> None:
    from wizard.core import survey as core

    stopped = core.SurveyResult(rows=(), errors=(), units_read=2, profiles=("p",), interrupted=True)
    assert core.outcome(stopped) is core.Outcome.STOPPED
    assert core.summary(stopped).startswith(core.STOPPED_EARLY)
    assert core.result_json(stopped)["interrupted"] is True


def test_one_repair_for_a_row_whatever_face_makes_it() -> None:
    """Found from outside: the TUI's repair of an SSE-S3 bucket proposed a new key (5
    changes) where the row's printed command changed only the bucket policy (1)."""
    policy_only = core.repair_of(row("p", "BUCKET_POLICY_BLOCKS_GETBUCKETACL"))
    assert policy_only is not None
    assert policy_only.create_key_alias is None and not policy_only.create_bucket
    gone = core.repair_of(row("p", "BUCKET_NOT_FOUND"))
    assert gone is not None and gone.create_bucket and gone.create_key_alias
    aws_key = core.repair_of(row("p", "KEY_AWS_MANAGED"))
    assert aws_key is not None and aws_key.create_key_alias and not aws_key.create_bucket
    assert core.repair_of(row("p", "EXPLICIT_DENY")) is None


@pytest.mark.parametrize("profile", ["prod\u202e", "p\x7f", "a\x1b[2Jb"])
def test_no_command_is_printed_for_a_profile_a_terminal_does_not_show_as_it_is(
    profile: str,
) -> None:
    """Found from outside: the escaped name in a printed repair pasted as another name."""
    broken = row(profile, "KEY_POLICY_BLOCKS_LOGS")
    assert core.repair_command(broken) is None
    assert core.repair_of(broken) is not None  # the TUI still repairs it, by its real name
    text = core.repair_text(broken)
    assert text.startswith("no command printed: the profile name holds characters")
    assert "cwl-export-wizard --survey" in text


@pytest.mark.parametrize(
    ("bucket", "prefix", "why"),
    [
        ("b-1", "cost$center", "The prefix must not contain '$'."),
        ("b-1", "a//b", "must not contain '//'"),
        ("b-1", "/lead", "must not start with '/'"),
        ("b-1", "x" * 500, "at most 464 fit"),
        ("b-1", "logs\x1b[2J", "must not contain control characters"),
        ("b-1", "x\u2066", "bidirectional"),
        ("My_Legacy_Bucket", "logs", "A bucket name may contain only"),
    ],
)
def test_a_destination_apply_would_refuse_gets_no_repair_in_any_face(
    bucket: str, prefix: str, why: str
) -> None:
    """Found from outside: the survey printed `apply --prefix 'cost$center'`, which apply
    then refused, and the TUI opened a repair the commands would not make."""
    broken = dataclasses.replace(row("p", "KEY_POLICY_BLOCKS_LOGS"), bucket=bucket, prefix=prefix)
    assert core.repair_of(broken) is None and core.repair_command(broken) is None
    text = core.repair_text(broken)
    assert text.startswith("none by this tool: the ") and why in text


def pattern_grant(bucket: str, path: str) -> str:
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/{path}",
        }
    )


def test_a_grant_under_a_pattern_only_is_judged_at_the_default_prefix_and_says_so() -> None:
    """Found from outside: a bucket whose policy grants only ``a*b/*`` was surveyed at the
    default prefix (outside the pattern, so "broken") without a word about why."""
    [found] = core.candidates({"b": pattern_grant("b", "a*b/*")}, [])
    assert found == core.Candidate("b", "exportedlogs", (core.Via.POLICY,), "a*b/*")
    row = core.Row(None, "111122223333", "eu-west-1", "b", found.prefix, (), pattern=found.pattern)
    note = core.pattern_note(row)
    assert note is not None and "only under the pattern a*b/*" in note
    assert "judged at the default prefix exportedlogs" in note
    assert core.row_json(row)["granted_pattern"] == "a*b/*"
    # A prefix, the whole bucket or an export task's prefix says where to judge: no note.
    for grants, tasks in (
        ({"b": granted("b", "app")}, []),
        ({"b": pattern_grant("b", "*")}, []),
        ({"b": pattern_grant("b", "a*b/*")}, [core.TaskTarget("b", "team")]),
    ):
        assert all(c.pattern is None for c in core.candidates(grants, tasks)), grants
    assert "granted_pattern" not in core.row_json(dataclasses.replace(row, pattern=None))
