"""Launch options of the survey view, and the survey's progress bar (stderr, a terminal only)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.commands.survey import SurveyProgress
from wizard.survey import ErrorFound, RowFound, UnitDone, UnitsPlanned


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--survey", "--repair", "b-1"], "error: --survey: the survey leads to a repair itself"),
        (["--survey", "--plain"], "error: --survey: the survey view is the full-screen wizard's"),
        (["--survey", "doctor"], "error: --survey is for the interactive wizard"),
    ],
)
def test_survey_launch_options_that_do_not_fit_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[0].startswith(message), err
    assert "Traceback" not in err


def test_the_progress_bar_counts_regions_destinations_and_errors_then_clears() -> None:
    from wizard.core.findings import Finding, FindingCode, Severity
    from wizard.core.survey import Row, SurveyError

    stream = io.StringIO()
    progress = SurveyProgress(stream)
    row = Row(
        "p",
        "111122223333",
        "eu-west-1",
        "b-1",
        "x",
        (Finding(FindingCode.KEY_POLICY_BLOCKS_LOGS, Severity.ERROR, "", ""),),
    )
    for event in (
        UnitsPlanned("p", 4),
        UnitDone("p", "eu-west-1"),
        RowFound(row),
        ErrorFound(SurveyError("q", None, "denied")),
    ):
        progress(event)
    drawn = stream.getvalue().split("\r")
    assert drawn[-1] == "[" + "#" * 6 + "." * 18 + "] 1/4 regions · 1 destination · 1 error\x1b[K"
    progress.clear()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_names_and_messages_from_aws_are_shown_visibly_in_the_table_and_the_tui_cells() -> None:
    from wizard import render
    from wizard.core.findings import Finding, FindingCode, Severity
    from wizard.core.survey import Row, SurveyError, SurveyResult

    hostile = "prod\x1b[2J\u202e"
    row = Row(
        hostile,
        "111122223333",
        "eu-west-1",
        "b-1",
        "x",
        (Finding(FindingCode.KEY_POLICY_BLOCKS_LOGS, Severity.ERROR, "", ""),),
    )
    error = SurveyError("q", "eu-west-1", "AccessDenied \x1b]0;owned\x07 by SCP")
    result = SurveyResult((row,), (error,), 1, (hostile, "q"))
    printed = "\n".join(render.paint(line, colour=False) for line in render.survey(result))
    assert "\x1b" not in printed and "\u202e" not in printed and "\x07" not in printed
    assert "prod\\x1b[2J\\u202e" in printed
    # No repair command: its escaped name, once pasted, would name another profile (found
    # from outside); the line says why instead.
    assert "--profile" not in printed
    assert "no command printed: the profile name holds characters" in printed
    cells = render.survey_cells(row) + render.survey_error_cells(error)
    assert not any("\x1b" in cell or "\u202e" in cell or "\x07" in cell for cell in cells)


def test_a_very_long_name_is_cut_in_the_tui_table_not_the_other_columns() -> None:
    """Found from outside: a 500-character prefix pushed every other column off screen."""
    from wizard.core.findings import Finding, FindingCode, Severity
    from wizard.core.survey import Row
    from wizard.tui.screens.survey import MAX_NAME_WIDTH, _cells

    finding = Finding(FindingCode.KEY_POLICY_BLOCKS_LOGS, Severity.ERROR, "m", "f")
    cells = _cells(Row("p", "111122223333", "eu-west-1", "b-1", "x" * 500, (finding,)))
    assert len(cells[4]) == MAX_NAME_WIDTH and cells[4].endswith("…")
    assert cells[:4] == ("p", "111122223333", "eu-west-1", "b-1")


def test_a_survey_stopped_before_finding_any_destination_does_not_say_none_was_found() -> None:
    """Found from outside: a survey stopped by Ctrl-C opened with "No export destination
    found." before saying it was stopped."""
    from wizard import render
    from wizard.core.survey import SurveyResult

    stopped = [line.text for line in render.survey(SurveyResult((), (), 61, interrupted=True))]
    assert "No export destination found." not in stopped
    assert any("stopped" in text for text in stopped), stopped
    complete = [line.text for line in render.survey(SurveyResult((), (), 61))]
    assert "No export destination found." in complete


def test_the_tui_surveys_heading_counts_profiles_as_english_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found from outside: "of 1 profiles of your AWS config", and the same words with no
    profile in the config at all (the default credentials were surveyed)."""
    from wizard import survey

    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for text, where in (
        ("", "your default AWS credentials"),
        ("[profile one]\nregion = eu-west-1\n", "the 1 profile of your AWS config"),
        ("[profile one]\n[profile two]\n", "2 profiles of your AWS config"),
    ):
        config.write_text(text)
        plan = survey.plan_for(sandbox=None, profile=None, region=None, endpoint_url=None)
        assert plan.where == where, text


def test_a_survey_that_read_only_errors_does_not_open_with_a_blank_line() -> None:
    from wizard import render
    from wizard.core.survey import SurveyError, SurveyResult

    lines = render.survey(SurveyResult((), (SurveyError("p", None, "denied"),), interrupted=True))
    assert lines[0].text == "Could not be read:", [line.text for line in lines]
