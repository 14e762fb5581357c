"""What every step screen shares: header, step indicator, Back/Next, errors, loading, key bar.

A step's screen is installed once and reused (see ``WizardApp``). Its AWS calls run in thread
workers, one group per job; a worker hands its result to the screen as a typed message
(``post_result``), and its failure arrives as ``Worker.StateChanged`` and goes to
``job_failed(group, error)``, which shows the message and the fix (never a traceback).

When another step is shown, the screen pauses: its workers are cancelled and its timers
stopped (``pause_work``); when it is shown again it picks up what is still missing
(``resume_work``). A dialog over the screen (help, a question) pauses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from wizard.flow import Flow, Step, WizardState, previous_step
from wizard.tui.widgets import BusyLine, ErrorPanel, StepIndicator
from wizard.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


class StepScreen(Screen[None]):
    """One step of the wizard. Subclasses set STEP, HELP and compose_body()."""

    STEP: ClassVar[Step]
    HELP: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Next"
    SCROLL_BODY: ClassVar[bool] = True  # False: the screen scrolls its own content
    SHORT_HEIGHT: ClassVar[int] = 30  # below this many rows, inputs are one line high

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "Back",
            id="wizard.back",
            tooltip="Go to the previous step; your choices are kept.",
        ),
        Binding(
            "ctrl+n",
            "next",
            "Next",
            id="wizard.next",
            tooltip="Go on with the current choice (Enter on a list or a field does the same).",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._jobs: dict[str, str] = {}
        self._key_bar_shown: tuple[tuple[str, str, bool], ...] | None = None  # its keys
        self._timers_running: list[Timer] = []
        self._paused = False

    # Shortcuts -----------------------------------------------------------------------------
    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    @property
    def flow(self) -> Flow:
        flow = self.wizard.flow
        if flow is None:  # pragma: no cover - screens after step 1 exist only once connected
            raise RuntimeError("not connected")
        return flow

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    # Layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StepIndicator(self.STEP, self.wizard.subtitle, id="indicator")
        body = (
            VerticalScroll(id="body", can_focus=False) if self.SCROLL_BODY else Vertical(id="body")
        )
        with body:
            yield from self.compose_body()
        yield BusyLine(id="busy")
        yield ErrorPanel(id="error")
        with Horizontal(id="nav"):
            yield Static(Content(self.hint()), id="hint")
            yield from self.nav_buttons()
            yield Button("Back", id="back", compact=True, disabled=self.STEP is Step.REGION)
            yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def nav_buttons(self) -> ComposeResult:
        """The step's own buttons, left of Back and Next."""
        yield from ()

    def hint(self) -> str:
        return "Enter: take the highlighted choice"

    def set_hint(self, text: str) -> None:
        self.query_one("#hint", Static).update(Content(text))

    def show_problem(self, selector: str, problem: str | None) -> None:
        """What is wrong with a field, in the line under it (cleared when nothing is)."""
        self.query_one(selector, Static).update(
            Content.styled(problem, "$text-error") if problem else ""
        )

    def on_mount(self) -> None:
        self._fit(self.app.size.height)
        self.update_nav()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        short = height < self.SHORT_HEIGHT
        self.set_class(short, "-short")
        for field in self.query(Input):
            field.compact = short

    # Life cycle ----------------------------------------------------------------------------
    def on_screen_suspend(self) -> None:
        if self in self.app.screen_stack:
            return  # a dialog is over the screen: its work goes on
        self._paused = True
        self.app.workers.cancel_node(self)
        for timer in self._timers_running:
            timer.stop()
        self._timers_running.clear()
        self._jobs.clear()
        self.pause_work()

    def on_screen_resume(self) -> None:
        self.query_one(StepIndicator).refresh_state(self.wizard)
        if self._paused:
            self._paused = False
            self._show_busy()
            self.resume_work()
        self.update_nav()

    def pause_work(self) -> None:
        """Another step is shown: what this step was doing has stopped (subclasses note what
        they still need)."""

    def resume_work(self) -> None:
        """The step is shown again: pick up what pause_work left."""

    def timer(self, delay: float, callback: Callable[[], object]) -> Timer:
        """A one-off timer that stops when the step is left."""

        def fire() -> object:
            # The suspend that stops the timer is a message of its own: a timer already due
            # may run before it, after another step is shown. It must do nothing then.
            if self.wizard.step_screen() is self:
                return callback()
            return None

        timer = self.set_timer(delay, fire)
        self._timers_running = [t for t in self._timers_running if t is not timer]
        self._timers_running.append(timer)
        return timer

    # Navigation ----------------------------------------------------------------------------
    def can_go_back(self) -> bool:
        return previous_step(self.state, self.STEP) is not None and not self.locked()

    def can_go_next(self) -> bool:
        return not self.locked()

    def locked(self) -> bool:
        """True while leaving would abandon work that must finish (Apply)."""
        return False

    def update_nav(self) -> None:
        if not self.children:  # not composed yet
            return
        self.query_one("#back", Button).disabled = not self.can_go_back()
        self.query_one("#next", Button).disabled = not self.can_go_next()
        # This runs on each busy/idle change: refresh the bindings (the key bar, Textual's
        # binding checks) only when what the key bar shows would change.
        shown = tuple(
            (key, active.binding.action, active.enabled)
            for key, active in self.active_bindings.items()
        )
        if shown != self._key_bar_shown:
            self._key_bar_shown = shown
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return True if self.can_go_back() else None
        if action == "next":
            return True if self.can_go_next() else None
        return True

    def commit(self) -> bool:
        """Store the screen's choice in the state; False (with a message) when it cannot."""
        return True

    def action_next(self) -> None:
        if not self.can_go_next():
            self.refuse("Not yet: finish this step first.")
            return
        if self.commit():
            self.wizard.go_forward_from(self.STEP)

    def action_back(self) -> None:
        if self.wizard.back_to_survey(self.STEP):
            return
        if self.can_go_back():
            self.wizard.go_back_from(self.STEP)

    def refuse(self, message: str, field: Input | None = None) -> bool:
        """Say why Next cannot go on (and put the cursor where the fix is); always False,
        so ``commit`` can ``return self.refuse(...)``."""
        self.notify(message, title="Not yet", severity="warning", timeout=4, markup=False)
        if field is not None:
            field.focus()
        return False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            event.stop()
            self.action_next()
        elif event.button.id == "back":
            event.stop()
            self.action_back()

    def key_help(self) -> list[tuple[str, str, str]]:
        """(key, what it does, more) of the keys that work on this step, for the help."""
        found: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for _node, binding, _enabled, tooltip in self.active_bindings.values():
            if binding.action in seen or not binding.description:
                continue
            if not (binding.show or binding.tooltip):  # a list's arrows, a field's editing
                continue
            seen.add(binding.action)
            found.append((self.app.get_key_display(binding), binding.description, tooltip))
        return found

    def commands(self) -> Iterable[SystemCommand]:
        """This step's entries in the command palette (Ctrl+P)."""
        return ()

    # Jobs (thread workers) ---------------------------------------------------------------
    def busy(self, group: str, text: str) -> None:
        """Show the loading state of a job about to start."""
        self._jobs[group] = text
        self._show_busy()

    def idle(self, group: str) -> None:
        self._jobs.pop(group, None)
        self._show_busy()

    @property
    def is_busy(self) -> bool:
        return bool(self._jobs)

    def _show_busy(self) -> None:
        if not self.children:
            return
        busy = self.query_one(BusyLine)
        if self._jobs:
            busy.show(list(self._jobs.values())[-1])
        else:
            busy.hide()
        self.update_nav()

    def post_result(self, message: Message) -> None:
        """From a worker thread: hand its result over, unless the job was replaced or the
        step left meanwhile (then nobody waits for it)."""
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def _group_active(self, group: str, finished: Worker[Any]) -> bool:
        """Another worker of this group still runs (an exclusive job was restarted)."""
        return any(
            worker is not finished
            and worker.group == group
            and worker.node is self
            and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if not self._group_active(worker.group, worker):
            self.idle(worker.group)
        if event.state is WorkerState.ERROR:
            self.job_failed(worker.group, worker.error or RuntimeError("unknown error"))

    def job_failed(self, group: str, error: BaseException) -> None:
        self.show_error(error)

    def show_error(self, error: BaseException | str, fix: str | None = None) -> None:
        self.query_one(ErrorPanel).show_error(error, fix)
        if isinstance(error, BaseException):
            self.wizard.record_error(error)

    def clear_error(self) -> None:
        self.query_one(ErrorPanel).clear()

    # Quitting ------------------------------------------------------------------------------
    def quit_needs_confirmation(self) -> bool:
        """Before Apply, quitting changes nothing and needs no question."""
        return False

    def hold(self) -> None:
        """Quit is being asked about: pause work that can pause (see ApplyScreen)."""

    def resume(self) -> None:
        """The user chose to keep going."""

    def request_stop(self) -> None:
        """Quit was confirmed while work that must finish runs (see ApplyScreen)."""

    def release_threads(self) -> None:
        """The app is closing: let this screen's worker threads return promptly."""
