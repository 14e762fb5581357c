"""The README screenshots, made from the real wizard in demo mode.

    .venv/bin/pip install -e '.[screenshots]'     # cairosvg (needs libcairo)
    .venv/bin/python -m tests.screenshots         # writes screenshots/*.png

The real ``WizardApp`` runs headless at 120x40 against the in-process sandbox and is driven
with a Pilot the way a new user drives it: Enter on every default. One image per step of the
setup flow, then the Review of ``--repair demo-broken-exports``. Each screen is exported as
SVG by Textual, its font set to DejaVu Sans Mono, and converted to PNG by cairosvg.

Every run draws the same pixels (two runs give byte-identical PNGs): the sandbox seeds its
identifiers (key ids, task ids) from a fixed seed, and here the clock is pinned too: the seeded
log events and log groups (SandboxConfig.now_ms), the app's clock (the export window, "created
29 days ago"), the journal's name and the loading dots. The journal directory is a fixed path,
so the path shown on screen does not change either; the export's status is taken before its
first poll ("PENDING  elapsed 0.0 s").
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from textual.pilot import Pilot

from tests.tui.pilot_helpers import at_step, error_text, settle, wait_until
from wizard.flow import Step
from wizard.launch import LaunchOptions
from wizard.tui.app import WizardApp
from wizard.tui.screens.save_code import SaveCodeScreen

SIZE = (120, 40)  # terminal columns x rows
CELL_PX = 12  # a terminal cell 12 px wide (a line 24 px high): 120 columns make 1458 px
FONT = "DejaVu Sans Mono"  # installed everywhere the README is built; Fira Code is not
TITLE_FONT = "DejaVu Sans"
REPAIR_BUCKET = "demo-broken-exports"
OUT_DIR = Path(__file__).resolve().parents[1] / "screenshots"  # the repository's, wherever run

# The moment every run happens at: the seeded log events lie in the hour before it.
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)
WORK_DIR = Path("/tmp/cwl-export-wizard-screenshots")  # removed before and after a run
JOURNAL_DIR = WORK_DIR / "journal"
JOURNAL_TOKEN = "5c2e0a17"  # the journal name's random part, pinned
EXPORT_DELAY = 1.0  # seconds the sandbox's export task takes

SETUP_SHOTS = (
    "01-region.png",
    "02-key.png",
    "03-bucket.png",
    "04-review.png",
    "05-apply.png",
    "06-export.png",
    "07-result.png",
)
REPAIR_SHOTS = ("08-repair-review.png", "11-save-as-code.png")
CENTRAL_SHOTS = ("09-central-bucket.png", "10-central-result.png")
SURVEY_SHOTS = ("12-survey.png",)
STORY_SHOTS = ("13-before-after.png",)
OUTPUT_NAMES = (
    SETUP_SHOTS + REPAIR_SHOTS[:1] + CENTRAL_SHOTS + REPAIR_SHOTS[1:] + SURVEY_SHOTS + STORY_SHOTS
)

_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}\s*")
_FIRA = re.compile(r"""(["']?)Fira Code\1(\s*,\s*monospace)?""")
_TITLE_FONT = re.compile(r"font-family:\s*arial\s*;")
_MATRIX_SIZE = re.compile(r"(-matrix\s*\{[^}]*?font-size:\s*)([0-9.]+)px")
# Rich's SVG: 20 px text in cells 0.61 of that wide (12.2 px). DejaVu Sans Mono's advance is
# 1233/2048 em. cairosvg ignores textLength, so a run of text is as wide as its glyphs: the font
# size is chosen that makes them one cell wide, else long runs end short of the next run.
RICH_FONT_PX = 20
RICH_ASPECT = 0.61
DEJAVU_ADVANCE = 1233 / 2048


def use_font(svg: str, family: str = FONT, advance: float = DEJAVU_ADVANCE) -> str:
    """``svg`` (Rich's export) drawn with ``family`` instead of Fira Code.

    The @font-face rules go (they point at a CDN: no downloads, and cairosvg ignores them);
    every ``Fira Code`` / ``Fira Code, monospace`` becomes ``"family", monospace``; the
    terminal's font size is set so that one glyph (``advance`` em wide) fills one cell; the
    window title's arial becomes DejaVu Sans, so that no font is left to fontconfig's guess.
    """
    svg = _FONT_FACE.sub("", svg)
    svg = _FIRA.sub(f'"{family}", monospace', svg)
    svg = _MATRIX_SIZE.sub(
        lambda m: f"{m.group(1)}{float(m.group(2)) * RICH_ASPECT / advance:.4f}px", svg
    )
    return _TITLE_FONT.sub(f'font-family: "{TITLE_FONT}";', svg)


# Block elements as (left, right, top, bottom) fractions of a cell. Textual draws its "tall"
# borders with them (▊ ▎ ▔ ▁) and fonts draw them shorter than a terminal line: drawn as
# glyphs they leave a stripe of background under every line. Drawn as rectangles they fit.
_BLOCKS: dict[str, tuple[float, float, float, float]] = {
    "\u2580": (0, 1, 0, 1 / 2),  # ▀ upper half
    **{chr(0x2580 + n): (0, 1, 1 - n / 8, 1) for n in range(1, 9)},  # ▁ to █: lower n/8
    **{chr(0x2588 + n): (0, (8 - n) / 8, 0, 1) for n in range(1, 8)},  # ▉ to ▏: left (8-n)/8
    "\u2590": (1 / 2, 1, 0, 1),  # ▐ right half
    "\u2594": (0, 1, 0, 1 / 8),  # ▔ upper one eighth
    "\u2595": (7 / 8, 1, 0, 1),  # ▕ right one eighth
}
_TEXT = re.compile(
    r'<text class="(?P<cls>[\w-]+)" x="(?P<x>[0-9.]+)" y="(?P<y>[0-9.]+)" '
    r'textLength="(?P<length>[0-9.]+)" clip-path="url\(#(?P<clip>[\w-]+-line-(?P<line>\d+))\)">'
    r"(?P<text>[^<]*)</text>"
)
_FILL = re.compile(r"\.(?P<cls>[\w-]+) \{[^}]*?fill: (?P<fill>#[0-9a-fA-F]{3,8})")
_LINE_HEIGHT = re.compile(r"-matrix\s*\{[^}]*?line-height:\s*([0-9.]+)px")


def solid_blocks(svg: str) -> str:
    """Each text made only of block elements becomes rectangles of its colour (see _BLOCKS)."""
    fills = {m["cls"]: m["fill"] for m in _FILL.finditer(svg)}
    found = _LINE_HEIGHT.search(svg)
    if found is None:
        return svg
    line_height = float(found.group(1))

    def rects(m: re.Match[str]) -> str:
        text = m["text"]
        fill = fills.get(m["cls"])
        if not text or fill is None or any(ch not in _BLOCKS for ch in text):
            return m[0]
        cell = float(m["length"]) / len(text)
        top = int(m["line"]) * line_height + 1.5  # Rich's line boxes (its background rects)
        out: list[str] = []
        x = float(m["x"])
        for ch, group in itertools.groupby(text):
            run = len(list(group))
            left, right, upper, lower = _BLOCKS[ch]
            y, height = top + upper * line_height, (lower - upper) * line_height
            if (left, right) == (0, 1):  # full width: one rectangle for the run
                out.append(_rect(x, y, run * cell, height, fill, m["clip"]))
            else:
                out.extend(
                    _rect(x + (n + left) * cell, y, (right - left) * cell, height, fill, m["clip"])
                    for n in range(run)
                )
            x += run * cell
        return "".join(out)

    return _TEXT.sub(rects, svg)


def _rect(x: float, y: float, width: float, height: float, fill: str, clip: str) -> str:
    return (
        f'<rect fill="{fill}" x="{x:g}" y="{y:g}" width="{width:g}" height="{height + 0.25:g}" '
        f'shape-rendering="crispEdges" clip-path="url(#{clip})"/>'
    )


def prepare_svg(svg: str) -> str:
    """Textual's SVG, ready for cairosvg: DejaVu Sans Mono, block elements as rectangles."""
    return solid_blocks(use_font(svg))


def svg_to_png(svg: str, path: Path, cell_px: int = CELL_PX) -> None:
    """Render at a whole number of pixels per cell.

    Cairo rounds glyph advances to whole pixels: at any other scale a run of text would be a
    little longer or shorter than its cells, and its end would overlap or part from the next.
    """
    import cairosvg  # optional extra "screenshots": imported only when rendering

    scale = cell_px / (RICH_FONT_PX * RICH_ASPECT)
    cairosvg.svg2png(bytestring=svg.encode("utf-8"), write_to=str(path), scale=scale)


# --- a pinned world ---------------------------------------------------------------------------


class _FrozenDatetime(datetime):
    """``datetime.now()`` is NOW: the journal's name and its "time" field."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:  # signature as datetime.now
        return NOW if tz is not None else NOW.replace(tzinfo=None)


def _pinned_sandbox(options: LaunchOptions) -> Any:
    """``wizard.launch.start_sandbox`` with the scenario's "now" pinned to NOW."""
    from wizard.sandbox.server import Sandbox, SandboxConfig

    config = SandboxConfig(
        scenario=options.scenario,
        region=options.region or SandboxConfig.region,
        export_delay=options.export_delay,
        now_ms=NOW_MS,
    )
    return Sandbox(config).start()


@contextmanager
def pinned_world() -> Iterator[None]:
    """A fixed clock and journal name, an AWS environment the host's config cannot reach."""
    import textual.widgets._loading_indicator as loading_indicator

    import wizard.aws.journal as aws_journal

    with ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ))  # restored as it was on exit
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )
        stack.enter_context(mock.patch("wizard.launch.start_sandbox", _pinned_sandbox))
        stack.enter_context(mock.patch.object(aws_journal, "datetime", _FrozenDatetime))
        # A cursor that never blinks: the same picture whenever it is taken.
        from textual.widgets import Input

        stack.enter_context(mock.patch.object(Input, "_toggle_cursor", lambda _self: None))
        # Textual's loading dots take their colours from the wall clock: one frame, always.
        stack.enter_context(mock.patch.object(loading_indicator, "time", lambda: 0.0))
        # Only this module's view of ``secrets``: the real one stays random for everyone else.
        journal_token = SimpleNamespace(token_hex=lambda nbytes=None: JOURNAL_TOKEN)
        stack.enter_context(mock.patch.object(aws_journal, "secrets", journal_token))
        yield


def make_app(options: LaunchOptions) -> WizardApp:
    return WizardApp(
        options,
        journal_dir=JOURNAL_DIR,
        clock=lambda: NOW_MS / 1000,
    )


# --- shooting ---------------------------------------------------------------------------------


class Camera:
    """Saves the app's current screen as ``out/NAME`` (and the SVG, if asked)."""

    def __init__(self, out: Path, keep_svg: bool) -> None:
        self.out = out
        self.keep_svg = keep_svg
        self.saved: list[Path] = []

    async def shoot(self, pilot: Pilot[Any], name: str) -> None:
        app = pilot.app
        await pilot.pause()  # the last change drawn
        assert not error_text(app), f"{name}: {error_text(app)}"  # type: ignore[arg-type]
        svg = prepare_svg(app.export_screenshot())
        path = self.out / name
        svg_to_png(svg, path)
        if self.keep_svg:
            path.with_suffix(".svg").write_text(svg, encoding="utf-8")
        self.saved.append(path)
        print(f"  {path}")


def _gate(method: Callable[..., Any], released: threading.Event) -> Callable[..., Any]:
    """``method``, called only once ``released`` is set: holds a worker at a known point."""

    def gated(*args: Any, **kwargs: Any) -> Any:
        released.wait()
        return method(*args, **kwargs)

    return gated


async def setup_flow(camera: Camera) -> None:
    """Steps 1 to 7 of a first setup, Enter on every default."""
    app = make_app(LaunchOptions(demo=True, export_delay=EXPORT_DELAY))
    released = threading.Event()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await at_step(pilot, Step.REGION)
            await camera.shoot(pilot, "01-region.png")
            # The export's status is shot while the task is new (PENDING, 0.0 s): the wait
            # for it begins once the picture is taken, so no poll can change it first.
            flow = app.flow
            assert flow is not None
            flow.wait_export = _gate(flow.wait_export, released)  # type: ignore[method-assign]

            await pilot.press("enter")
            await at_step(pilot, Step.KEY)
            await camera.shoot(pilot, "02-key.png")

            await pilot.press("enter")
            await at_step(pilot, Step.BUCKET)
            await camera.shoot(pilot, "03-bucket.png")

            await pilot.press("enter")  # "Create a new bucket": on to its name
            await pilot.press("enter")  # the suggested name
            screen = await at_step(pilot, Step.REVIEW)
            # The findings are on 08 (repair); here the plan, as the user scrolls down to it.
            screen.query_one("#review").scroll_to_widget(
                screen.query_one("#changes-title"), top=True, animate=False
            )
            await camera.shoot(pilot, "04-review.png")

            await pilot.press("enter")
            screen = await at_step(pilot, Step.APPLY)
            await pilot.press("enter")  # the sandbox: Enter on the focused Apply button
            await wait_until(pilot, lambda: getattr(screen, "finished", False), "apply done")
            await at_step(pilot, Step.APPLY)
            await camera.shoot(pilot, "05-apply.png")

            await pilot.press("enter")
            await at_step(pilot, Step.EXPORT)
            await pilot.press("enter")  # export the highlighted (most recent) log group
            status = app.screen.query_one("#task-status")
            await wait_until(
                pilot,
                lambda: "PENDING" in str(getattr(status, "content", "")),
                "the export task's first status",
            )
            await camera.shoot(pilot, "06-export.png")
            released.set()

            await at_step(pilot, Step.RESULT)
            await camera.shoot(pilot, "07-result.png")
    finally:
        released.set()  # never leave a worker waiting
        app.stop_sandbox()


async def repair_flow(camera: Camera) -> None:
    """``--demo --repair demo-broken-exports``: straight to Review, the findings first."""
    app = make_app(LaunchOptions(demo=True, export_delay=EXPORT_DELAY, repair=REPAIR_BUCKET))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await at_step(pilot, Step.REVIEW)
            await camera.shoot(pilot, "08-repair-review.png")
            # Save as code: Terraform, into the fixed work folder (its path is on screen).
            saved = screen.query_one("#saved")
            await pilot.press("x")
            await wait_until(pilot, lambda: isinstance(app.screen, SaveCodeScreen), "formats")
            WORK_DIR.mkdir(parents=True, exist_ok=True)
            here = Path.cwd()
            os.chdir(WORK_DIR)
            try:
                await pilot.press("enter")
                await wait_until(pilot, lambda: saved.display, "the saved panel")
            finally:
                os.chdir(here)
            await camera.shoot(pilot, "11-save-as-code.png")
    finally:
        app.stop_sandbox()


async def central_flow(camera: Camera) -> None:
    """``--demo --scenario central``: the archive's bucket with the application account as a
    source, then the result of its export into the archive."""
    from tests.tui.pilot_helpers import highlight
    from wizard.sandbox.scenarios import CENTRAL_BUCKET, CENTRAL_KEY
    from wizard.tui.widgets.option_lists import BUCKET_PREFIX, KEY_PREFIX

    app = make_app(LaunchOptions(demo=True, scenario="central", export_delay=EXPORT_DELAY))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await at_step(pilot, Step.REGION)
            await pilot.press("enter")
            await at_step(pilot, Step.KEY)
            assert app.connection is not None and app.state.region is not None
            [key] = [
                o.key
                for o in app.connection.flow.keys(app.state.region)
                if CENTRAL_KEY in o.key.aliases
            ]
            await highlight(pilot, "#keys", KEY_PREFIX + (key.arn or ""))
            await pilot.press("enter")
            await at_step(pilot, Step.BUCKET)
            await highlight(pilot, "#buckets", BUCKET_PREFIX + CENTRAL_BUCKET)
            buckets = app.screen.query_one("#buckets")
            await wait_until(
                pilot,
                lambda: buckets.health_of(CENTRAL_BUCKET) is not None,  # type: ignore[attr-defined]
                "the archive's badge",
            )
            await camera.shoot(pilot, "09-central-bucket.png")
            await pilot.press("enter")
            await at_step(pilot, Step.REVIEW)
            await pilot.press("enter")
            screen = await at_step(pilot, Step.APPLY)
            await pilot.press("enter")
            await wait_until(pilot, lambda: getattr(screen, "finished", False), "apply done")
            await at_step(pilot, Step.APPLY)
            await pilot.press("enter")
            await at_step(pilot, Step.EXPORT)
            await pilot.press("enter")
            await at_step(pilot, Step.RESULT)
            await camera.shoot(pilot, "10-central-result.png")
    finally:
        app.stop_sandbox()


async def survey_flow(camera: Camera) -> None:
    """``--demo --scenario fleet --survey``: every destination of the sandbox's six accounts,
    once the survey has read them all (the rows then stand in their sorted order)."""
    from wizard.tui.screens.survey import SurveyScreen

    app = make_app(
        LaunchOptions(demo=True, scenario="fleet", export_delay=EXPORT_DELAY, survey=True)
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, SurveyScreen) and app.screen.result is not None,
                "the survey",
            )
            # The table refilled once the survey ends draws a frame with its columns as wide
            # as their titles before it draws them as wide as their cells: wait for that one.
            await wait_until(
                pilot, lambda: "fleet-data-lake" in app.export_screenshot(), "the table drawn"
            )
            await camera.shoot(pilot, "12-survey.png")
    finally:
        app.stop_sandbox()


async def story_flow(camera: Camera) -> None:
    """``--demo --scenario broken``, Enter on every screen: the failure reproduced on the
    Review, the repair, and the Result's before/after card."""
    app = make_app(LaunchOptions(demo=True, scenario="broken", export_delay=EXPORT_DELAY))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await at_step(pilot, Step.REGION)
            for _ in range(12):  # at most: the Pilot test pins the count
                screen = app.screen
                if getattr(screen, "STEP", None) is Step.RESULT and app.state.result:
                    break
                await pilot.press("enter")
                await settle(pilot)
                await pilot.pause(0.1)
                await settle(pilot)
            await at_step(pilot, Step.RESULT)
            await camera.shoot(pilot, "13-before-after.png")
    finally:
        app.stop_sandbox()


async def shoot_all(out: Path, keep_svg: bool = False) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    camera = Camera(out, keep_svg)
    shutil.rmtree(WORK_DIR, ignore_errors=True)  # the pinned journal name is reused
    try:
        with pinned_world():
            await setup_flow(camera)
            await repair_flow(camera)
            shutil.rmtree(WORK_DIR, ignore_errors=True)  # the central run reuses the name
            await central_flow(camera)
            await survey_flow(camera)
            shutil.rmtree(WORK_DIR, ignore_errors=True)  # the story reuses the name
            await story_flow(camera)
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    return camera.saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.screenshots", description="Make the README screenshots."
    )
    parser.add_argument(
        "--out", type=Path, default=OUT_DIR, help=f"directory for the PNGs (default: {OUT_DIR})"
    )
    parser.add_argument(
        "--keep-svg",
        action="store_true",
        help="also keep each screen's SVG (after the font change) beside its PNG",
    )
    args = parser.parse_args(argv)
    began = time.perf_counter()
    print(f"Writing {len(OUTPUT_NAMES)} screenshots to {args.out}/")
    saved = asyncio.run(shoot_all(args.out, args.keep_svg))
    missing = [n for n in OUTPUT_NAMES if args.out / n not in saved]
    if missing:
        print(f"Missing: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"Done in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
