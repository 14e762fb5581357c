"""The survey view: every export destination of many accounts and regions, as they arrive.

A thread worker runs the survey (``wizard.survey``) and reports each destination, each
profile or region that could not be read, and its progress as typed messages; the table
fills in as they come. Sortable (``s`` cycles the column, or click a header), filterable (type
in the field: every column is searched). Enter on a broken row opens the wizard's repair of
that destination, with its profile and region: straight to the Review.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from wizard import render
from wizard.core import survey as core
from wizard.core.text import visible
from wizard.flow import Flow, WizardState
from wizard.tui.connection import Connection
from wizard.tui.widgets.error_panel import ErrorPanel
from wizard.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from wizard.survey import Plan, Surveyor
    from wizard.tui.app import WizardApp

# The cells as render.survey_cells gives them (the command's table order) ...
CELL_TITLES = ("Profile", "Account", "Region", "Bucket", "Prefix", "Verdict", "First finding")
VERDICT, FINDING = 5, 6
# ... and the view's columns: what is broken, where and why first, so that at 80 columns the
# verdict, the bucket and the finding are on screen (the rest scrolls; the detail line under
# the table says all of the highlighted row).
ORDER = (VERDICT, 3, 4, FINDING, 0, 2, 1)
COLUMNS = tuple(CELL_TITLES[i] for i in ORDER)
ERROR_VERDICT = render.SURVEY_UNREADABLE


class DestinationFound(Message, bubble=False):
    def __init__(self, row: core.Row) -> None:
        super().__init__()
        self.row = row


class Unreadable(Message, bubble=False):
    def __init__(self, error: core.SurveyError) -> None:
        super().__init__()
        self.error = error


class Progressed(Message, bubble=False):
    def __init__(self, done: int, planned: int) -> None:
        super().__init__()
        self.done = done
        self.planned = planned


class SurveyDone(Message, bubble=False):
    def __init__(self, result: core.SurveyResult) -> None:
        super().__init__()
        self.result = result


class RepairReady(Message, bubble=False):
    """A broken row's repair: the account's connection and the choices that fix it."""

    def __init__(self, connection: Connection, state: WizardState) -> None:
        super().__init__()
        self.connection = connection
        self.state = state


# A name longer than this (a 500-character prefix) is cut in its cell, so that it cannot
# push the other columns off the screen; the detail line under the table holds it whole.
MAX_NAME_WIDTH = 40


def _cut(cells: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        cell if i == FINDING else _clipped(cell, MAX_NAME_WIDTH) for i, cell in enumerate(cells)
    )


def _cells(row: core.Row) -> tuple[str, ...]:
    return _cut(render.survey_cells(row))


def _error_cells(error: core.SurveyError) -> tuple[str, ...]:
    return _cut(render.survey_error_cells(error))


# The last column takes the width the others leave (at least this); the detail line under
# the table shows the highlighted row's finding or reason in full.
MIN_FINDING_WIDTH = 12
DEFAULT_FINDING_WIDTH = 36  # before the table has a size


def _clipped(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class SurveyScreen(Screen[None]):
    """Every destination of the survey's profiles and regions, with its verdict."""

    CSS_PATH = Path(__file__).with_name("survey.tcss")
    AUTO_FOCUS = "#survey-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "s",
            "sort",
            "Sort",
            id="survey.sort",
            tooltip="Sort by the next column (again: the one after).",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            id="survey.filter",
            tooltip="Type to show only the rows that contain the text.",
        ),
        Binding(
            "escape",
            "leave",
            "Back",
            id="survey.back",
            tooltip="Close the survey (it stops) and go back.",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[core.Row] = []
        self.errors: list[core.SurveyError] = []
        self.result: core.SurveyResult | None = None
        self.sort_column = ORDER.index(VERDICT)  # broken first
        self.surveyor: Surveyor | None = None
        self.plan: Plan | None = None
        self._cancel = threading.Event()
        self._done = 0
        self._planned = 0
        self._handed_over = False
        # The widest cell so far of each column (kept as rows arrive, so that a row's width
        # is one pass over its own cells, not over every row), in the cells' order.
        self._widths = [len(name) for name in CELL_TITLES]

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("Every export destination", id="survey-title")
        yield Static("Starting...", id="survey-status")
        yield Input(
            placeholder="Filter: type a bucket, a profile, a region, a finding...",
            id="survey-filter",
        )
        yield DataTable(id="survey-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="survey-detail")
        yield ErrorPanel(id="survey-error")
        yield Static(
            "Enter on a broken row: repair it · s: sort · /: filter · Escape: back",
            id="survey-hint",
        )
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.run_survey()

    # The survey ------------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="survey", exclusive=True)
    def run_survey(self) -> None:
        from wizard import survey

        sandbox = None
        options = self.wizard.options
        if options.demo:
            sandbox = self.wizard.sandbox or self.wizard.demo_sandbox()
        plan = survey.plan_for(
            sandbox=sandbox,
            profile=options.profile,
            region=options.region,
            endpoint_url=options.endpoint_url,
        )
        self.plan = plan
        self.app.call_from_thread(self._heading, plan)

        def on_event(event: object) -> None:
            if isinstance(event, survey.RowFound):
                self.post_message(DestinationFound(event.row))
            elif isinstance(event, survey.ErrorFound):
                self.post_message(Unreadable(event.error))
            elif isinstance(event, survey.UnitsPlanned):
                with lock:
                    counts[1] += event.count
                    self.post_message(Progressed(counts[0], counts[1]))
            elif isinstance(event, survey.UnitDone):
                with lock:
                    counts[0] += 1
                    self.post_message(Progressed(counts[0], counts[1]))

        lock = threading.Lock()
        counts = [0, 0]
        surveyor = survey.start(plan.factory, on_event=on_event, cancel=self._cancel)
        surveyor.keep_sessions()  # a repair opens from a row with the row's session
        self.surveyor = surveyor
        self.post_message(SurveyDone(surveyor.run(plan.profiles, plan.regions, plan.skipped)))

    def _heading(self, plan: Plan) -> None:
        regions = (
            "every enabled region"
            if plan.regions is core.Regions.ALL
            else ", ".join(plan.regions)
            if isinstance(plan.regions, tuple)
            else "each profile's region"
        )
        self.query_one("#survey-title", Static).update(
            Content.assemble(
                ("Every export destination", "bold"), f" of {plan.where}, in {regions}"
            )
        )

    def on_destination_found(self, message: DestinationFound) -> None:
        self.rows.append(message.row)
        cells = _cells(message.row)
        self._widen(cells)
        if self._matches(render.survey_cells(message.row)):
            self._add(message.row)
        self._status()

    def on_unreadable(self, message: Unreadable) -> None:
        self.errors.append(message.error)
        cells = _error_cells(message.error)
        self._widen(cells)
        if self._matches(render.survey_error_cells(message.error)):
            self._add_error(message.error)
        self._status()

    def _widen(self, cells: tuple[str, ...]) -> None:
        self._widths = [max(w, len(c)) for w, c in zip(self._widths, cells, strict=False)]

    def on_progressed(self, message: Progressed) -> None:
        self._done, self._planned = message.done, message.planned
        self._status()

    def on_survey_done(self, message: SurveyDone) -> None:
        self.result = message.result
        self._refill()
        self._status()

    def _status(self) -> None:
        broken = sum(not r.healthy for r in self.rows)
        if self.result is not None:
            text = core.summary(self.result)
        else:
            text = (
                f"Surveying: {self._done}/{self._planned or '?'} regions read, "
                f"{len(self.rows)} destinations found ({broken} broken)"
            )
            if self.errors:
                text += f", {len(self.errors)} unreadable"
            text += "..."
        self.query_one("#survey-status", Static).update(Content(text))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.query_one(ErrorPanel).show_error(event.worker.error or RuntimeError("?"))

    # The table -------------------------------------------------------------------------------
    def _matches(self, cells: tuple[str, ...]) -> bool:
        wanted = self.query_one("#survey-filter", Input).value.strip().lower()
        return not wanted or any(wanted in cell.lower() for cell in cells)

    def _add(self, row: core.Row) -> None:
        # Rich Text cells: the table sizes its columns to them (names are shown as given).
        cells = [Text(c) for c in _cells(row)]
        cells[VERDICT] = Text(row.verdict, style="green" if row.healthy else "bold red")
        cells[FINDING] = Text(_clipped(cells[FINDING].plain, self._finding_width()))
        self.query_one(DataTable).add_row(*(cells[i] for i in ORDER), key="|".join(row.key))

    def _add_error(self, error: core.SurveyError) -> None:
        cells = [Text(c) for c in _error_cells(error)]
        cells[VERDICT] = Text(ERROR_VERDICT, style="yellow")
        cells[FINDING] = Text(_clipped(cells[FINDING].plain, self._finding_width()))
        # A region can hold several errors (one per bucket that could not be read).
        key = f"error|{self.errors.index(error)}"
        self.query_one(DataTable).add_row(*(cells[i] for i in ORDER), key=key)

    def _finding_width(self) -> int:
        table = self.query_one(DataTable)
        if not table.size.width:
            return DEFAULT_FINDING_WIDTH
        others = sum(w for i, w in enumerate(self._widths) if i != FINDING)
        padding = 2 * len(COLUMNS) + 2  # a space each side of a cell, and the scrollbar
        return max(MIN_FINDING_WIDTH, table.size.width - others - padding)

    def on_resize(self) -> None:
        self._refill()

    @on(DataTable.RowHighlighted)
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted row's first finding (or reason) in full, under the table."""
        key = str(event.row_key.value or "")
        text = ""
        if key.startswith("error|"):
            text = render.survey_error_detail(self.errors[int(key.removeprefix("error|"))])
        else:
            row = next((r for r in self.rows if "|".join(r.key) == key), None)
            if row is not None:
                text = render.survey_detail(row)
        self.query_one("#survey-detail", Static).update(Content(text))

    def _sort_key(self, row: core.Row) -> tuple[object, ...]:
        column = ORDER[self.sort_column]
        if column == VERDICT:
            return (row.healthy, core.severity_rank(row), *row.key)
        return (_cells(row)[column].lower(), *row.key)

    def _refill(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)  # the columns too: their widths only ever grow
        for name in COLUMNS:
            table.add_column(name, key=name)
        for row in sorted(self.rows, key=self._sort_key):
            if self._matches(render.survey_cells(row)):  # a cut name matches whole
                self._add(row)
        for error in core.sort_errors(self.errors):
            if self._matches(render.survey_error_cells(error)):
                self._add_error(error)

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(COLUMNS)
        self.notify(f"Sorted by {COLUMNS[self.sort_column].lower()}", timeout=2)
        self._refill()

    @on(DataTable.HeaderSelected)
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_column = event.column_index
        self._refill()

    def action_filter(self) -> None:
        self.query_one("#survey-filter", Input).focus()

    @on(Input.Changed, "#survey-filter")
    def filter_changed(self) -> None:
        self._refill()

    @on(Input.Submitted, "#survey-filter")
    def filter_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def action_leave(self) -> None:
        table = self.query_one(DataTable)
        if not table.has_focus:
            # Escape in the filter leaves the filter (its rows stay), not the survey.
            table.focus()
            return
        self._cancel.set()
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.wizard.finish(self.wizard.exit_code)

    # Repair ------------------------------------------------------------------------------------
    def selected_row(self) -> core.Row | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if "|".join(r.key) == key), None)

    @on(DataTable.RowSelected)
    def row_selected(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if row.healthy:
            self.notify("This destination is healthy: nothing to repair.", timeout=3)
            return
        if core.repair_of(row) is None:
            self.query_one("#survey-status", Static).update(
                Content(f"Repair: {visible(core.repair_text(row))}")
            )
            return
        if self.surveyor is None or row.profile not in self.surveyor.sessions:
            return
        self.query_one("#survey-status", Static).update(
            Content(f"Reading {visible(row.bucket)} in {row.region} for its repair...")
        )
        self.open_repair(row)

    @work(thread=True, exit_on_error=False, group="survey-repair", exclusive=True)
    def open_repair(self, row: core.Row) -> None:
        from wizard.launch import sandbox_journal_dir

        assert self.surveyor is not None
        session = self.surveyor.sessions[row.profile].for_region(row.region)
        sandboxed = self.wizard.options.demo
        journal_dir = self.wizard.journal_dir or (sandbox_journal_dir() if sandboxed else None)
        flow = Flow(session, journal_dir=journal_dir)
        identity = flow.identity()
        repair = core.repair_of(row)
        assert repair is not None  # row_selected opens only a row with a repair
        # The very change the row's printed command makes (core.repair_of): the bucket keeps
        # its own encryption and key unless the repair needs another.
        state = WizardState(
            region=repair.region,
            bucket=repair.bucket,
            prefix=repair.prefix,
            create_bucket=repair.create_bucket,
            create_key_alias=repair.create_key_alias,
            repair=True,
        )
        flow.prepare_clients(row.region)
        where = "local AWS sandbox (fleet)" if sandboxed else "AWS"
        label = f"{where} profile {visible(core.profile_label(row.profile))}"
        connection = Connection(flow, identity, (row.region,), label, sandbox=sandboxed)
        self.post_message(RepairReady(connection, state))

    def on_repair_ready(self, message: RepairReady) -> None:
        self._status()
        self._handed_over = True  # the repair's session runs on the survey's pool
        self.wizard.repair_from_survey(message.connection, message.state)

    def on_unmount(self) -> None:
        self._cancel.set()
        if self.surveyor is not None and not self._handed_over:
            self.surveyor.close()  # its sessions go with it: no repair uses them
