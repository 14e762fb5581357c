"""The Textual face of the wizard: one screen per step of ``wizard.flow``.

The app owns the run: the connection (a real AWS session or the in-process sandbox), the
user's answers (``WizardState``) and the navigation between steps. Screens own their widgets
and their workers; every AWS call happens in a thread worker on the screen that needs it.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from wizard.errors import EXIT_ERROR, EXIT_OK, Cancelled, WizardError
from wizard.flow import BucketHealth, Flow, Step, WizardState
from wizard.launch import LaunchOptions
from wizard.tui.connection import Connection
from wizard.tui.executor import WorkerThreads
from wizard.tui.screens import SCREENS
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets import StepIndicator

if TYPE_CHECKING:
    from wizard.aws.inventory import KeyOption
    from wizard.flow import BucketOption
    from wizard.sandbox.server import Sandbox


WORKER_THREADS = 32  # thread workers in flight at once (each mostly waits on AWS)
# A left step's screen is removed once the screen shown has been idle (no job loading) for
# LEAVING_SCREEN_CALM seconds, one screen at a time, or after LEAVING_SCREEN_WAIT anyway.
LEAVING_SCREEN_CALM = 1.0
LEAVING_SCREEN_WAIT = 30.0
LEAVING_SCREEN_CHECK = 0.25  # seconds between looks


class WizardApp(App[int]):
    """cwl-export-wizard's TUI. ``run()`` in ``wizard.tui`` is the entry point."""

    TITLE = "CloudWatch Logs export wizard"
    # Every screen's stylesheet too (absolute paths, the ones the screens name): Textual
    # re-parses all CSS and restyles the whole app the first time it meets a screen with a
    # stylesheet it has not read (about 50 ms, several times that on a busy machine).
    # Read once at start, moving from step to step costs no parse.
    CSS_PATH: ClassVar[list[str | PurePath]] = [
        Path(__file__).with_name("app.tcss"),
        *sorted(Path(__file__).with_name("screens").glob("*.tcss")),
    ]
    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+c",
            "quit_wizard",
            "Quit",
            show=False,
            priority=True,
            id="wizard.quit_ctrl_c",
            tooltip="Quit. Before the Apply step nothing has been changed.",
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
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.options = options or LaunchOptions()
        self.connection = connection
        self.state = state or WizardState()
        self.start_step = start
        self.journal_dir = journal_dir
        self.clock = clock
        self.cursor_blink = cursor_blink
        # What the screens loaded, so that Back and Next do not ask AWS again.
        self.key_cache: dict[str, list[KeyOption]] = {}
        self.rotation_cache: dict[str, dict[str, bool | None]] = {}  # region -> key id -> on
        self.bucket_cache: dict[str, list[BucketOption]] = {}
        self.other_bucket_cache: dict[str, list[BucketOption]] = {}
        self.health_cache: dict[tuple[str, str, str | None], BucketHealth] = {}
        self.exit_code = EXIT_OK
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()
        self._executor: WorkerThreads | None = None  # the thread workers' (from on_mount)
        self._leaving: list[tuple[float, StepScreen]] = []  # (when, screen) left, oldest first
        self._calm_since = 0.0  # monotonic time since which no screen shown was busy
        self._closing = False
        self._quit_after_apply = False
        self.repair_started = False

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
        if self.connection is None:
            return "connecting..."
        return f"{self.connection.label} · account {self.connection.identity.account}"

    @property
    def is_sandbox(self) -> bool:
        return bool(self.connection and self.connection.sandbox)

    def open_connection(self, demo: bool) -> Connection:
        """Runs in a thread worker: start the sandbox or open the credential chain."""
        from wizard.launch import sandbox_journal_dir, sandbox_session, user_session

        journal_dir = self.journal_dir
        if demo:
            sandbox = self._start_sandbox()
            session = sandbox_session(sandbox)
            label = f"local AWS sandbox ({self.options.scenario})"
            journal_dir = journal_dir or sandbox_journal_dir()
        else:
            session = user_session(self.options)
            label = "AWS"
            if session.profile:
                label += f" profile {session.profile}"
            if session.endpoint_url:
                label += f" at {session.endpoint_url}"
        flow = Flow(session, journal_dir=journal_dir)
        identity = flow.identity()
        regions = tuple(flow.regions())
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
        if sandbox is not None:
            sandbox.stop()

    def connected(self, connection: Connection) -> None:
        self.connection = connection
        if isinstance(self.screen, StepScreen):
            self.screen.query_one(StepIndicator).where = self.subtitle
        self._prepare_clients(connection)

    def _prepare_clients(self, connection: Connection) -> None:
        """While the region is chosen: nothing is shown, and a failure here is met again,
        and explained, by the step that needs the client."""
        region = self.state.region or connection.flow.default_region

        def prepare() -> None:
            connection.flow.prepare_clients(region)
            # What is alive now lives as long as the app: modules, the AWS service models
            # (large trees of dicts), the app. A full garbage collection walks every object,
            # and stops every thread while it does: up to 270 ms at a time with 1,000 keys
            # and 5,000 buckets loaded. Frozen objects are not walked (on_unmount thaws them).
            gc.freeze()

        self.run_worker(
            prepare,
            name="prepare clients",
            group="prepare",
            thread=True,
            exit_on_error=False,
        )

    def key_label(self, key: str | None) -> str | None:
        """An alias for a key ARN the key step listed (people know keys by alias)."""
        if key is None:
            return None
        for options in self.key_cache.values():
            for option in options:
                if key in (option.key.arn, option.key.key_id) and option.key.aliases:
                    return option.key.aliases[0]
        review = self.state.review
        known = review.snapshot.key if review else None
        if known is not None and key in (known.arn, known.key_id) and known.aliases:
            return known.aliases[0]
        return None

    def begin_repair(self, state: WizardState) -> None:
        """Repair mode: the bucket's own choices, straight to Review (Back goes to the steps)."""
        self.state = state
        self.goto(Step.REVIEW)

    # Navigation --------------------------------------------------------------------------
    def on_mount(self) -> None:
        gc.freeze()  # the modules and the app: see _prepare_clients
        # Thread workers run on the event loop's default executor: asyncio's holds
        # min(32, CPUs + 4) threads, 6 on a 2-core machine, and a few bucket health checks
        # queued there made the Review step's read wait seconds for a free thread. The
        # workers mostly wait on the network, so give them room; and the UI thread submits
        # the jobs, so submitting must not wait (see wizard.tui.executor).
        self._executor = WorkerThreads(WORKER_THREADS, "wizard-worker")
        asyncio.get_running_loop().set_default_executor(self._executor)
        self.push_screen(self.make_screen(self.start_step))
        self.set_interval(LEAVING_SCREEN_CHECK, self._remove_left_screens)
        if self.connection is not None:
            self._prepare_clients(self.connection)

    def make_screen(self, step: Step) -> StepScreen:
        return SCREENS[step]()

    def goto(self, step: Step) -> None:
        screen = self.make_screen(step)
        leaving = self.screen
        if not isinstance(leaving, StepScreen):
            self.push_screen(screen)
            return
        # Textual removes a replaced screen at once, and the removal (a message through each
        # of its widgets) then shares the event loop with the new screen being built and
        # drawn, and with the jobs it starts: it took over 100 ms. Kept installed, the old
        # screen is only suspended; its jobs stop now, and it is removed when all is calm.
        leaving.leave()
        self.install_screen(leaving, f"leaving-{id(leaving)}")
        self._leaving.append((time.monotonic(), leaving))
        self.switch_screen(screen)

    async def _remove_left_screens(self) -> None:
        """Every LEAVING_SCREEN_CHECK seconds: remove the oldest left screen when calm.
        (The interval timer awaits this before its next tick: one removal at a time.)"""
        now = time.monotonic()
        current = self.screen_stack[-1] if self.screen_stack else None
        if current is None or (isinstance(current, StepScreen) and current.is_busy):
            self._calm_since = now
        if not self._leaving:
            return
        left_at, leaving = self._leaving[0]
        calm = now - max(self._calm_since, left_at) >= LEAVING_SCREEN_CALM
        if not calm and now - left_at < LEAVING_SCREEN_WAIT:
            return
        self._leaving.pop(0)
        self.uninstall_screen(leaving)
        await leaving.remove()

    def next_step(self, current: Step) -> None:
        if current is Step.RESULT:
            self.exit(self.exit_code)
            return
        target = Step(current.value + 1)
        review = self.state.review
        if current is Step.REVIEW and review is not None and review.plan.empty:
            target = Step.EXPORT  # nothing to apply: straight to the test export
        self.goto(target)

    def previous_step(self, current: Step) -> None:
        if current is Step.REGION:
            return
        target = Step(current.value - 1)
        if current in (Step.APPLY, Step.EXPORT):
            target = Step.REVIEW  # re-read: after an apply, the plan shows what is left
        self.goto(target)

    # Errors and quitting -----------------------------------------------------------------
    def record_error(self, error: BaseException) -> None:
        self.exit_code = error.exit_code if isinstance(error, WizardError) else EXIT_ERROR

    def step_screen(self) -> StepScreen | None:
        """The step under any dialog."""
        return next((s for s in reversed(self.screen_stack) if isinstance(s, StepScreen)), None)

    def action_quit_wizard(self) -> None:
        from wizard.tui.screens.confirm import ConfirmScreen

        screen = self.step_screen()
        if screen is not None and screen.quit_needs_confirmation():
            if self._quit_after_apply or isinstance(self.screen, ConfirmScreen):
                self.notify(
                    "Changes are being applied or rolled back: the wizard quits when that is "
                    "done.",
                    severity="warning",
                    markup=False,
                )
                return

            def decided(stop: bool | None) -> None:
                if stop:
                    self._quit_after_apply = True
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
        self.exit(self.exit_code)

    def apply_finished(self) -> None:
        """Called by the Apply screen when its job ends, however it ended."""
        if self._quit_after_apply:
            self.exit(self.exit_code)

    def action_help(self) -> None:
        from wizard.tui.screens.help import HelpScreen

        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss(None)
            return
        text = screen.HELP if isinstance(screen, StepScreen) else ""
        title = screen.STEP.indicator if isinstance(screen, StepScreen) else "Help"
        self.push_screen(HelpScreen(title, text))

    def on_unmount(self) -> None:
        # Running jobs may still poll AWS or wait for an answer: let them return promptly.
        for screen in [*self.screen_stack, *(left for _, left in self._leaving)]:
            if isinstance(screen, StepScreen):
                screen.release_threads()
        # The threads end once their job returns; the event loop may outlive the app (an
        # embedding program, the tests), so it gets back an executor of the usual kind.
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        gc.unfreeze()  # the app's objects may be collected again once it is gone
