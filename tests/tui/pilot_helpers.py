"""Driving the wizard with a Pilot: wait on conditions and workers, never on fixed sleeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.worker import WorkerState

from wizard.flow import Step
from wizard.tui.app import WizardApp
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.error_panel import ErrorPanel
from wizard.tui.widgets.facts import Facts

POLL = 0.05
MAX_POLLS = 800  # a bound on the number of polls, not a wall-clock limit


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], what: str = "") -> None:
    for _ in range(MAX_POLLS):
        if condition():
            return
        await pilot.pause(POLL)
    raise AssertionError(f"never happened: {what or condition}")


def running_workers(app: WizardApp) -> list[str]:
    return [w.group for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]


def error_text(app: WizardApp) -> str:
    screen = app.screen
    panels = list(screen.query(ErrorPanel))
    return " ".join(str(p.content) for p in panels if p.visible_error)


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker finished and its result shown; fails fast on an error panel."""
    app = pilot.app
    assert isinstance(app, WizardApp)
    for _ in range(MAX_POLLS):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        busy = isinstance(screen, StepScreen) and screen.is_busy
        if not running_workers(app) and not busy:
            return
        await pilot.pause(POLL)
    raise AssertionError(f"workers never finished: {running_workers(app)}")


async def at_step(pilot: Pilot[Any], step: Step) -> StepScreen:
    """Wait for ``step``'s screen with its data loaded."""
    app = pilot.app
    assert isinstance(app, WizardApp)

    def arrived() -> bool:
        screen = app.screen
        return isinstance(screen, StepScreen) and screen.STEP is step

    await wait_until(pilot, lambda: arrived() or bool(error_text(app)), f"step {step}")
    assert not error_text(app), error_text(app)
    await settle(pilot)
    assert not error_text(app), error_text(app)
    screen = app.screen
    assert isinstance(screen, StepScreen) and screen.STEP is step, (screen, step)
    return screen


async def type_into(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Replace a field's text by typing, as a person would: clear it (End, then Ctrl+U
    deletes everything left of the cursor), then type ``text`` key by key."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *text)
    assert field.value == text, (field.value, text)


async def highlight(pilot: Pilot[Any], selector: str, option_id: str) -> None:
    """Move a list's highlight with the arrow keys to the option with this id."""
    from wizard.tui.widgets.option_lists import ChoiceList

    listing = pilot.app.screen.query_one(selector, ChoiceList)
    listing.focus()
    await pilot.press("home")
    for _ in range(listing.option_count):
        if listing.highlighted_id == option_id:
            return
        await pilot.press("down")
    assert listing.highlighted_id == option_id, f"{option_id} not in {selector}"


def text_of(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def screen_text(app: WizardApp) -> str:
    """The text of every Static (and Label) and Facts on the current screen, in screen
    order, for assertions."""
    return "\n".join(
        w.text if isinstance(w, Facts) else str(w.content)
        for w in app.screen.query("Static, Facts")
        if w.display and isinstance(w, (Static, Facts))
    )
