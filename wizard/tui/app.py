"""The Textual face of the wizard: one installed screen per step of ``wizard.flow``.

The app owns the run: the connection (a real AWS session or the in-process sandbox), the
user's answers (``WizardState``) and the navigation, which the flow decides
(``next_step``/``previous_step``). Each step's screen is installed once and reused on Back
and Next (``switch_screen``): it keeps what it loaded, and pauses its work while another step
is shown (``on_screen_suspend``/``on_screen_resume``). A new region, or starting over after
an apply, uninstalls the later steps: what they showed no longer applies.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from wizard.core.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, Cancelled, WizardError
from wizard.core.text import visible
from wizard.flow import Flow, Step, WizardState, next_step, previous_step
from wizard.launch import LaunchOptions
from wizard.tui.connection import Connection, Preview
from wizard.tui.screens import SCREENS
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets import StepIndicator
from wizard.views import Line, farewell

if TYPE_CHECKING:
    from wizard.sandbox.server import Sandbox


def exports_from(account: str) -> str:
    """The end of a central logging account's label: where its log groups come from."""
    return f" · exports from account {account}"


class WizardApp(App[int]):
    """cwl-export-wizard's TUI. ``run()`` in ``wizard.tui`` is the entry point."""

    TITLE = "CloudWatch Logs export wizard"
    # Every screen's stylesheet too: read once at start, so that moving from step to step
    # never re-parses CSS.
    CSS_PATH: ClassVar[list[str | PurePath]] = [
        Path(__file__).with_name("app.tcss"),
        *sorted(Path(__file__).with_name("screens").glob("*.tcss")),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+c",
            "interrupt",
            "Quit",
            show=False,
            priority=True,
            id="wizard.quit_ctrl_c",
            tooltip="Quit (exit code 130). Before the Apply step nothing has been changed.",
        ),
        Binding(
            "q",
            "quit_wizard",
            "Quit",
            id="wizard.quit",
            tooltip="Quit. Before the Apply step nothing has been changed.",
        ),
        Binding("f1", "help", "Help", id="wizard.help", tooltip="What this step does."),
    ]

    def __init__(
        self,
        options: LaunchOptions | None = None,
        *,
        connection: Connection | None = None,
        state: WizardState | None = None,
        start: Step = Step.REGION,
        journal_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.options = options or LaunchOptions()
        self.connection = connection
        self.state = state or WizardState()
        self.start_step = start
        self.journal_dir = journal_dir
        self.clock = clock
        self.exit_code = EXIT_OK
        self._sandbox: Sandbox | None = None
        self._preview: Preview | None = None
        self._sandbox_lock = threading.Lock()
        self._closing = False
        self._quit_after_apply = False
        self.repair_started = False
        self.farewell_lines: list[Line] = []  # printed on the terminal once the app is gone
        self.changed_before = False  # an earlier run of this session (before n) changed things

    # Connection --------------------------------------------------------------------------
    @property
    def flow(self) -> Flow | None:
        return self.connection.flow if self.connection else None

    @property
    def sandbox(self) -> Sandbox | None:
        return self._sandbox

    @property
    def subtitle(self) -> str:
        """Where the wizard works, shown on every step."""
        where = self.connection or self.preview()
        if where is None:
            return "connecting..."
        return f"{where.label} · account {where.identity.account}"

    def preview(self) -> Preview | None:
        """In ``--demo``, before the sandbox answers: what it will say about itself."""
        if not self.options.demo or self.connection is not None:
            return None
        if self._preview is None:
            from wizard.launch import sandbox_preview

            known = sandbox_preview(self.options)
            label = self._sandbox_label()
            if known.source_account is not None:
                label += exports_from(known.source_account)
            self._preview = Preview(known.identity, known.regions, label, known.region)
        return self._preview

    def _sandbox_label(self) -> str:
        return f"local AWS sandbox ({self.options.scenario})"

    @property
    def is_sandbox(self) -> bool:
        return bool(self.connection and self.connection.sandbox)

    def open_connection(self, demo: bool) -> Connection:
        """Runs in a thread worker: start the sandbox or open the credential chain."""
        from wizard.launch import (
            sandbox_journal_dir,
            sandbox_session,
            source_session,
            user_session,
        )

        journal_dir = self.journal_dir
        sandbox = None
        if demo:
            sandbox = self._start_sandbox()
            session = sandbox_session(sandbox)
            label = self._sandbox_label()
            journal_dir = journal_dir or sandbox_journal_dir()
        else:
            session = user_session(self.options)
            label = "AWS"
            if session.profile:
                label += f" profile {visible(session.profile)}"  # AWS_PROFILE may hold anything
            if session.endpoint_url:
                label += f" at {session.endpoint_url}"
        source = source_session(self.options, sandbox)
        if source is not None:
            source.identity()  # a source profile that does not work says so now
            label += exports_from(source.identity().account)
        flow = Flow(session, journal_dir=journal_dir, source=source)
        identity = flow.identity()
        # The sandbox's regions are known (a test holds them to its DescribeRegions): asking
        # would load EC2's model, the largest, for nothing.
        known = self.preview() if demo else None
        regions = known.regions if known is not None else tuple(flow.regions())
        # The KMS, S3 and Logs clients of the region, while the region is chosen: the first
        # client of a service loads its model, which would otherwise delay the key step.
        flow.prepare_clients(self.state.region or flow.default_region)
        return Connection(flow, identity, regions, label, sandbox=demo)

    def _start_sandbox(self) -> Sandbox:
        from wizard.launch import start_sandbox

        with self._sandbox_lock:
            if self._sandbox is not None:
                return self._sandbox
            if self._closing:
                raise Cancelled("The wizard is closing.")
        options = self.options
        if not options.demo:  # "Try the sandbox" after a credential failure
            options = LaunchOptions(
                demo=True, scenario=options.scenario, export_delay=options.export_delay
            )
        sandbox = start_sandbox(options)
        with self._sandbox_lock:
            if self._closing:  # the user quit while it started: never leave it running
                sandbox.stop()
                raise Cancelled("The wizard is closing.")
            self._sandbox = sandbox
        return sandbox

    def stop_sandbox(self) -> None:
        """Idempotent; also stops a sandbox whose start is still under way when it ends."""
        with self._sandbox_lock:
            self._closing = True
            sandbox, self._sandbox = self._sandbox, None
        if self.connection is not None:
            self.connection.flow.close()
        if sandbox is not None:
            sandbox.stop()

    def connected(self, connection: Connection) -> None:
        self.connection = connection
        screen = self.step_screen()
        if screen is not None:
            screen.query_one(StepIndicator).where = self.subtitle

    def demo_sandbox(self) -> Sandbox:
        """The demo's sandbox, started now if it is not running yet (in a worker)."""
        return self._start_sandbox()

    def repair_from_survey(self, connection: Connection, state: WizardState) -> None:
        """A broken row of the survey: its account's connection, straight to its Review
        (Back, before anything is applied, returns to the survey)."""
        self.connection = connection
        self.repair_started = True
        self.begin_repair(state)

    def back_to_survey(self, step: Step) -> bool:
        """Back on a repair's Review opened from the survey: the survey again (True)."""
        from wizard.tui.screens.survey import SurveyScreen

        stack = self.screen_stack
        if step is not Step.REVIEW or len(stack) < 2 or not isinstance(stack[-2], SurveyScreen):
            return False
        self.pop_screen()
        return True

    def action_survey(self) -> None:
        """Every export destination of the accounts and regions (the survey view)."""
        from wizard.tui.screens.survey import SurveyScreen

        if not isinstance(self.screen, SurveyScreen):
            self.push_screen(SurveyScreen())

    def begin_repair(self, state: WizardState) -> None:
        """Repair mode: the bucket's own choices, straight to Review (Back goes to the steps)."""
        self.reset_after(Step.REGION)
        self.state = state
        self.goto(Step.REVIEW)

    # Navigation --------------------------------------------------------------------------
    def on_mount(self) -> None:
        # The first screen is pushed (Textual switches only away from a pushed screen).
        if self.options.survey:
            self.action_survey()
            return
        self.push_screen(self._installed(self.start_step))

    @staticmethod
    def screen_name(step: Step) -> str:
        return f"step-{step.name.lower()}"

    def _installed(self, step: Step) -> str:
        name = self.screen_name(step)
        if not self.is_screen_installed(name):
            self.install_screen(SCREENS[step](), name)
        return name

    def goto(self, step: Step) -> None:
        name = self._installed(step)
        if isinstance(self.screen, StepScreen):
            self.switch_screen(name)
        else:
            self.push_screen(name)

    def reset_after(self, step: Step) -> None:
        """Forget the screens of the steps after ``step``: what they loaded (keys, buckets,
        a review) belonged to answers that no longer hold."""
        for later in Step:
            if later.value <= step.value:
                continue
            name = self.screen_name(later)
            if not self.is_screen_installed(name):
                continue
            screen = self.get_screen(name)
            if screen in self.screen_stack:
                continue
            self.uninstall_screen(name)
            if screen.is_attached:
                self.call_later(screen.remove)

    def go_forward_from(self, current: Step) -> None:
        """Show the step the flow says comes next (the flow decides; the app only shows)."""
        target = next_step(self.state, current)
        if target is None:
            self.finish(self.exit_code)
            return
        self.goto(target)

    def go_back_from(self, current: Step) -> None:
        """Show the step the flow says Back leads to, if any."""
        target = previous_step(self.state, current)
        if target is not None:
            self.goto(target)

    def start_over(self) -> None:
        """After an apply: a new run from the region step (the connection stays)."""
        self.farewell_lines.extend(
            farewell(self.state, sandbox=self.is_sandbox, changed_before=self.changed_before)
        )
        self.changed_before = self.changed_before or self.state.made > 0
        self.state = WizardState(region=self.state.region)
        self.goto(Step.REGION)
        self.reset_after(Step.REGION)

    # Errors and quitting -----------------------------------------------------------------
    def record_error(self, error: BaseException) -> None:
        self.exit_code = error.exit_code if isinstance(error, WizardError) else EXIT_ERROR

    def step_screen(self) -> StepScreen | None:
        """The step under any dialog."""
        return next((s for s in reversed(self.screen_stack) if isinstance(s, StepScreen)), None)

    def finish(self, code: int) -> None:
        """Leave the app; what happened is printed on the terminal afterwards."""
        self.farewell_lines.extend(
            farewell(self.state, sandbox=self.is_sandbox, changed_before=self.changed_before)
        )
        self.exit(code)

    def action_quit_wizard(self) -> None:
        self._quit(self.exit_code)

    async def action_quit(self) -> None:
        """Textual's own quit (Ctrl+Q, the palette): the same safe way out as q."""
        self._quit(self.exit_code)

    def action_interrupt(self) -> None:
        self._quit(EXIT_INTERRUPTED)

    def _quit(self, code: int) -> None:
        from wizard.tui.screens.confirm import ConfirmScreen

        screen = self.step_screen()
        if screen is not None and screen.quit_needs_confirmation():
            if self._quit_after_apply or isinstance(self.screen, ConfirmScreen):
                self.notify(
                    "Changes are being applied or rolled back: the wizard quits when that is done.",
                    severity="warning",
                    markup=False,
                )
                return

            def decided(stop: bool | None) -> None:
                if stop:
                    self._quit_after_apply = True
                    self.exit_code = code
                    screen.request_stop()
                else:
                    screen.resume()

            screen.hold()
            self.push_screen(
                ConfirmScreen(
                    "Stop applying?",
                    "The wizard stops after the change in progress and rolls back the changes "
                    "made so far, then quits.",
                    confirm="Stop and roll back",
                    cancel="Keep applying",
                ),
                decided,
            )
            return
        self.finish(code)

    def apply_finished(self) -> None:
        """Called by the Apply screen when its job ends, however it ended."""
        if self._quit_after_apply:
            self.finish(self.exit_code)

    def action_help(self) -> None:
        from wizard.tui.screens.help import HelpScreen

        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss(None)
            return
        step = self.step_screen()
        text = step.HELP if step is not None else ""
        title = step.STEP.indicator if step is not None else "Help"
        keys = step.key_help() if step is not None else []
        self.push_screen(HelpScreen(title, text, keys))

    # The command palette -------------------------------------------------------------------
    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """The palette's Screenshot: saved in the current folder (as the wizard saves its
        scripts and code), not in Textual's default ~/Downloads, which many hosts do not have
        (the save then failed with "Failed to save screenshot")."""
        return super().deliver_screenshot(filename, path or os.getcwd(), time_format)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        step = self.step_screen()
        if step is not None:
            yield from step.commands()
        if self.state.applied_changes and not self._quit_after_apply:
            yield SystemCommand(
                "Undo this run's changes",
                "Put back what the apply changed, from its journal",
                self.action_undo_run,
            )
        yield SystemCommand(
            "Survey every destination",
            "Every export destination of the accounts and regions, healthy or broken; "
            "Enter on a broken one repairs it",
            self.action_survey,
        )
        yield SystemCommand("Help", "What this step does, and its keys", self.action_help)

    def action_undo_run(self) -> None:
        """From any step after the apply: the Apply step, which asks and undoes."""
        from wizard.tui.screens.apply import ApplyScreen

        self.goto(Step.APPLY)
        screen = self.get_screen(self.screen_name(Step.APPLY))
        if isinstance(screen, ApplyScreen):
            self.call_after_refresh(screen.action_undo_run)

    def on_unmount(self) -> None:
        # Running jobs may still poll AWS or wait for an answer: let them return promptly.
        for name in [self.screen_name(step) for step in Step]:
            if self.is_screen_installed(name):
                screen = self.get_screen(name)
                if isinstance(screen, StepScreen):
                    screen.release_threads()
