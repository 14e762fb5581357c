"""tests/screenshots.py without rendering: its SVG rewriting, its names, its pinned world."""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from tests import screenshots
from tests.screenshots import (
    DEJAVU_ADVANCE,
    FONT,
    OUTPUT_NAMES,
    RICH_ASPECT,
    RICH_FONT_PX,
    prepare_svg,
    solid_blocks,
    use_font,
)


def rich_svg(*lines: Text | str, width: int = 20) -> str:
    """What Textual's export_screenshot() makes: Rich's SVG export."""
    console = Console(
        width=width,
        record=True,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    for line in lines:
        console.print(line)
    return console.export_svg(title="test")


def test_output_names() -> None:
    assert OUTPUT_NAMES == (
        "01-region.png",
        "02-key.png",
        "03-bucket.png",
        "04-review.png",
        "05-apply.png",
        "06-export.png",
        "07-result.png",
        "08-repair-review.png",
        "09-central-bucket.png",
        "10-central-result.png",
        "11-save-as-code.png",
        "12-survey.png",
        "13-before-after.png",
    )
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in OUTPUT_NAMES:  # every screenshot is shown, and exists
        assert f"screenshots/{name}" in readme, name
        assert (Path(__file__).resolve().parents[1] / "screenshots" / name).exists(), name


def test_rich_svg_is_what_the_rewriting_expects() -> None:
    """Rich's layout constants the script relies on: a Rich upgrade that changes them fails."""
    svg = rich_svg("ab")
    assert re.search(r"-matrix \{\s*font-family: Fira Code, monospace;\s*font-size: 20px;", svg)
    assert RICH_FONT_PX == 20 and RICH_ASPECT == 0.61
    assert 'textLength="24.4"' in svg  # two cells of 12.2 px
    assert "line-height: 24.4px" in svg


def test_use_font_replaces_fira_code_everywhere() -> None:
    svg = rich_svg("hello")
    assert "Fira Code" in svg and "@font-face" in svg and "cdnjs" in svg
    out = use_font(svg)
    assert "Fira Code" not in out
    assert "@font-face" not in out and "cdnjs" not in out  # no download, no web font
    assert f'font-family: "{FONT}", monospace;' in out
    assert "arial" not in out and 'font-family: "DejaVu Sans";' in out
    size = float(re.search(r"-matrix \{[^}]*font-size: ([0-9.]+)px", out).group(1))  # type: ignore[union-attr]
    assert size * DEJAVU_ADVANCE == pytest.approx(RICH_FONT_PX * RICH_ASPECT, abs=1e-3)
    assert "hello" in out


def test_use_font_on_quoted_and_bare_family_names() -> None:
    text = """a { font-family: "Fira Code"; } b { font-family: 'Fira Code', monospace; }
    c { font-family: Fira Code; }"""
    out = use_font(text, family="Some Mono")
    assert out.count('"Some Mono", monospace') == 3
    assert "Fira" not in out


def test_block_elements_become_rectangles_of_their_colour() -> None:
    # As Textual draws a "tall" border: each run of blocks a text of its own (its own style).
    line = Text.assemble(
        ("▊", "#ff0000 on #0000ff"), ("▔▔▔", "#ff0000 on #000001"), ("x▊", "#00ff00")
    )
    out = solid_blocks(rich_svg(line, width=10))
    assert "▔" not in out
    assert ">x▊</text>" in out  # a text that is not only blocks stays text
    rects = re.findall(
        r'<rect fill="#ff0000" x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" '
        r'height="([0-9.]+)"',
        out,
    )
    # ▊: left three quarters of cell 0, the full line; ▔▔▔: one rectangle, top eighth of 3 cells
    assert [tuple(float(v) for v in r) for r in rects] == [  # type: ignore[comparison-overlap]
        (0.0, 1.5, pytest.approx(9.15), pytest.approx(24.65)),
        (12.2, 1.5, pytest.approx(36.6), pytest.approx(24.4 / 8 + 0.25)),
    ]


def test_prepare_svg_leaves_plain_text_alone() -> None:
    svg = rich_svg("plain text")
    out = prepare_svg(svg)
    assert out.count("<text") == svg.count("<text")


def test_pinned_world_fixes_the_journal_name_and_restores_everything() -> None:
    import wizard.aws.journal as aws_journal
    import wizard.launch

    start_sandbox = wizard.launch.start_sandbox
    with screenshots.pinned_world():
        assert aws_journal.now_iso() == "2026-11-26T09:30:00Z"
        assert vars(aws_journal)["datetime"].now(timezone.utc) == screenshots.NOW
        assert vars(aws_journal)["secrets"].token_hex(4) == screenshots.JOURNAL_TOKEN
        assert wizard.launch.start_sandbox is not start_sandbox
    assert wizard.launch.start_sandbox is start_sandbox
    assert vars(aws_journal)["datetime"] is datetime
    assert vars(aws_journal)["secrets"].token_hex(4) != vars(aws_journal)["secrets"].token_hex(4)
