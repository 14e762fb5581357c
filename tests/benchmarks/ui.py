"""Start-up and UI benchmarks: process start, first screen, and a responsive TUI at scale.

- ``bench_cli_startup``: ``cwl-export-wizard --version`` as whole processes, against an eager
  import of the package.
- ``bench_first_screen``: ``--demo`` under a pseudo-terminal: time until "Step 1 of 7" is on
  the screen, until the region step is usable (the sandbox's account and regions shown, known
  before it answers) and until the sandbox answered ("Connected to"); and in-process from
  ``App.run_test`` to the first screen mounted. The naive figure is when the screen could
  appear if the sandbox had to start first.
- ``bench_pilot_flow``: the whole wizard driven by a Pilot against a scaled sandbox, with
  Textual's slow-handler warning switched on (``debug`` feature, threshold 100 ms) and every
  asyncio step of the UI thread timed: a step over 100 ms is a frozen screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.benchmarks.harness import BenchResult, BenchSandbox, Row, log, median, session_for
from tests.pty_drain import drain_until_exit
from wizard.sandbox import preview

ROOT = Path(__file__).resolve().parents[2]
SLOW_MS = 100.0
SIZE = (120, 40)
# Escape sequences: CSI, OSC, DCS, charset selection, single-character ones.
_ANSI = re.compile(
    rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\"
    rb"|[()][0-9A-Za-z]|[=>78DMEc])"
)


def _env(pycache: str) -> dict[str, str]:
    """A child's environment: bytecode cached (as an installed package has it), no AWS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def _run_times(command: list[str], runs: int, env: dict[str, str]) -> list[float]:
    subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)  # warm caches
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - began)
    return times


def wizard_command() -> list[str]:
    """The installed console script when there is one, else ``python -m wizard``."""
    script = Path(sys.executable).parent / "cwl-export-wizard"
    if script.exists():
        return [str(script)]
    found = shutil.which("cwl-export-wizard")
    return [found] if found else [sys.executable, "-m", "wizard"]


EAGER_IMPORTS = (
    "import wizard.cli, wizard.commands.dispatch, wizard.flow, wizard.aws.session, "
    "wizard.aws.inventory, wizard.aws.snapshot, wizard.aws.apply, wizard.aws.export, "
    "wizard.tui.app, wizard.sandbox.server"
)


def bench_cli_startup(*, runs: int = 10, baseline_runs: int = 5) -> BenchResult:
    result = BenchResult("start-up")
    with tempfile.TemporaryDirectory(prefix="cwl-bench-pyc-") as pycache:
        env = _env(pycache)
        command = [*wizard_command(), "--version"]
        version = _run_times(command, runs, env)
        eager = _run_times([sys.executable, "-c", EAGER_IMPORTS], baseline_runs, env)
        floor = _run_times([sys.executable, "-c", "pass"], baseline_runs, env)
        tui_import = _run_times([sys.executable, "-c", "import wizard.tui.app"], baseline_runs, env)
    shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command))
    result.rows.append(
        Row(
            "start-up: --version, whole process (median)",
            "ms",
            median(version) * 1000,
            median(eager) * 1000,
            150.0,
            [
                f"`{shown}`, median of {runs} runs (min {min(version) * 1000:.0f}, max "
                f"{max(version) * 1000:.0f} ms), bytecode cached as installed; naive: python -c "
                f"'import' of every wizard module (boto3, textual, moto), median of "
                f"{baseline_runs}; bare `python -c pass`: {median(floor) * 1000:.0f} ms; "
                f"`import wizard.tui.app` (what --demo loads before its first screen): "
                f"{median(tui_import) * 1000:.0f} ms"
            ],
        )
    )
    result.facts.update(version=version, eager=eager, floor=floor, tui_import=tui_import)
    return result


# --------------------------------------------------------------------------- first screen


def demo_command() -> list[str]:
    """``cwl-export-wizard --demo`` when the CLI has it, else the TUI's entry point itself."""
    command = wizard_command()
    help_text = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, cwd=ROOT, env=_env("/tmp")
    ).stdout
    if "--demo" in help_text:
        return [*command, "--demo"]
    return [
        sys.executable,
        "-c",
        "from wizard.launch import LaunchOptions; from wizard.tui import run; "
        "raise SystemExit(run(LaunchOptions(demo=True)))",
    ]


# The region step is usable: its question, the account and the regions are on the screen
# (Next works from then on; it waits for the sandbox only if the sandbox has not answered).
USABLE_MARKS = (
    b"Which region are the log groups in?",
    f"Account {preview.ACCOUNT}".encode(),
    preview.DEFAULT_REGION.encode(),  # the first region listed, highlighted
)


@dataclass
class PtyRun:
    first_screen: float | None = None  # "Step 1 of 7" on the screen
    usable: float | None = None  # the region step's question, account and regions shown
    connected: float | None = None  # the sandbox answered: "Connected to" on the screen
    exit_code: int | None = None


def launch_in_pty(command: list[str], env: dict[str, str], timeout: float = 30.0) -> PtyRun:
    """Start ``command`` on a pseudo-terminal and time what the screen shows; then quit it."""
    run = PtyRun()
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = {**env, "TERM": "xterm-256color", "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1])}
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    screen = b""
    try:
        while time.perf_counter() - began < timeout and run.connected is None:
            ready, _, _ = select.select([master], [], [], 0.01)
            if not ready:
                continue
            try:
                screen += os.read(master, 1 << 16)
            except OSError:
                break
            text = _ANSI.sub(b"", screen)
            now = time.perf_counter() - began
            if run.first_screen is None and b"Step 1 of 7" in text:
                run.first_screen = now
            if run.usable is None and all(mark in text for mark in USABLE_MARKS):
                run.usable = now
            if run.connected is None and b"Connected to" in text:
                run.connected = now
        os.write(master, b"q")
        try:
            run.exit_code = drain_until_exit(master, process, timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)  # our own child's session
            run.exit_code = process.wait(10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(OSError):
            while select.select([master], [], [], 0)[0] and os.read(master, 1 << 16):
                pass
        os.close(master)
    return run


async def first_screen_in_process(journal_dir: Path) -> tuple[float, float, float]:
    """(run_test start -> first screen mounted, -> connected, app mounted) in seconds."""
    from wizard.launch import LaunchOptions
    from wizard.tui.app import WizardApp
    from wizard.tui.screens.base import StepScreen

    app = WizardApp(LaunchOptions(demo=True), journal_dir=journal_dir)
    began = time.perf_counter()
    first = connected = 0.0
    try:
        async with app.run_test(size=SIZE) as pilot:
            ready = time.perf_counter() - began
            for _ in range(3000):
                screen = app.screen
                if not first and isinstance(screen, StepScreen) and screen.is_mounted:
                    first = time.perf_counter() - began
                if app.connection is not None:
                    connected = time.perf_counter() - began
                    break
                await pilot.pause(0.005)
            await pilot.press("q")
    finally:
        app.stop_sandbox()
    return first, connected, ready


def bench_first_screen(*, runs: int = 5) -> BenchResult:
    result = BenchResult("first screen")
    command = demo_command()
    with tempfile.TemporaryDirectory(prefix="cwl-bench-pyc-") as pycache:
        env = _env(pycache)
        with tempfile.TemporaryDirectory(prefix="cwl-bench-state-") as state:
            env["XDG_STATE_HOME"] = state
            env["TMPDIR"] = state  # the app's temporary journal folders go with it
            launch_in_pty(command, env)  # warm: bytecode, page cache
            pty_runs = [launch_in_pty(command, env) for _ in range(runs)]
    firsts = [r.first_screen for r in pty_runs if r.first_screen is not None]
    usable = [r.usable for r in pty_runs if r.usable is not None]
    connected = [r.connected for r in pty_runs if r.connected is not None]
    with tempfile.TemporaryDirectory(prefix="cwl-bench-journal-") as journal:
        in_process = [asyncio.run(first_screen_in_process(Path(journal))) for _ in range(runs)]
    shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command[:3]))
    result.rows.append(
        Row(
            "--demo: first screen drawn (pty, process launch)",
            "s",
            median(firsts) if firsts else float("inf"),
            median(connected) if connected else None,
            1.0,
            [
                f"`{shown}...` on a {SIZE[0]}x{SIZE[1]} pseudo-terminal, median of {runs}: "
                "time until 'Step 1 of 7' is on the screen; naive: a first screen that waits "
                "for the sandbox (time until 'Connected to' is on the screen)"
            ],
        )
    )
    result.rows.append(
        Row(
            "--demo: region step usable (pty, process launch)",
            "s",
            median(usable) if usable else float("inf"),
            median(connected) if connected else None,
            1.0,
            [
                f"the same runs: time until the question, the account and the regions are on "
                f"the screen, median of {runs} ({', '.join(f'{u:.2f}' for u in usable)} s); "
                "naive: a region step that waits for the sandbox ('Connected to')"
            ],
        )
    )
    result.rows.append(
        Row(
            "--demo: sandbox started behind the region step (pty; no target)",
            "s",
            median(connected) if connected else float("inf"),
            None,
            None,
            [
                f"the same runs: time until 'Connected to' is on the screen (Next on the region "
                f"step waits for it only before), median of {runs} "
                f"({', '.join(f'{c:.2f}' for c in connected)} s)"
            ],
        )
    )
    result.rows.append(
        Row(
            "--demo: first screen mounted (in-process run_test)",
            "s",
            median([f for f, _, _ in in_process]),
            median([c for _, c, _ in in_process]),
            1.0,
            [
                "App.run_test() start -> the first StepScreen mounted (imports excluded: see "
                "the start-up row for `import wizard.tui.app`); naive: -> connected"
            ],
        )
    )
    result.facts.update(pty=pty_runs, in_process=in_process, command=command)
    return result


# --------------------------------------------------------------------------- responsiveness


@dataclass
class Slow:
    seconds: float
    what: str
    ran: float = 0.0  # seconds the UI thread itself ran (the rest: waiting for the GIL)


@dataclass
class UiMonitor:
    """Times every asyncio step and message dispatch on the UI thread; catches Textual's
    own slow-handler warning (``debug`` feature, ``SLOW_THRESHOLD`` lowered to 100 ms)."""

    threshold: float = SLOW_MS / 1000
    steps: list[Slow] = field(default_factory=list)  # asyncio steps over the threshold
    dispatches: list[tuple[float, float, str]] = field(default_factory=list)  # (start, s, what)
    warnings: list[str] = field(default_factory=list)
    max_step: float = 0.0
    # The longest non-event message handler, timed as Textual's slow-handler warning times
    # it (wall time, what it awaits included): the "message handler" figure.
    max_handler: tuple[float, str] = (0.0, "")
    collections: dict[int, float] = field(default_factory=dict)  # generation -> longest (s)
    step_count: int = 0
    app: Any = None  # to name the screen a slow step happened on

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        import asyncio.events

        import textual.message_pump as message_pump
        from textual.events import Event

        handle_run = asyncio.events.Handle._run
        dispatch = message_pump.MessagePump._dispatch_message
        threshold_before = message_pump.SLOW_THRESHOLD
        textual_log = message_pump.log
        monitor = self

        def timed_run(handle: asyncio.events.Handle) -> None:
            began, cpu = time.perf_counter(), time.thread_time()
            try:
                handle_run(handle)
            finally:
                took = time.perf_counter() - began
                monitor.step_count += 1
                monitor.max_step = max(monitor.max_step, took)
                if took > monitor.threshold / 2:
                    what = monitor._attribute(handle, began, took)
                    monitor.steps.append(Slow(took, what, time.thread_time() - cpu))

        async def timed_dispatch(pump: Any, message: Any) -> None:
            began = time.perf_counter()
            try:
                await dispatch(pump, message)
            finally:
                took = time.perf_counter() - began
                what = f"{type(pump).__name__}.{getattr(message, 'handler_name', message)}"
                monitor.dispatches.append((began, took, what))
                if not isinstance(message, Event) and took > monitor.max_handler[0]:
                    monitor.max_handler = (took, what)

        class WarningCatcher:
            def __getattr__(self, name: str) -> Any:
                return getattr(textual_log, name)

            def warning(self, *args: Any, **kwargs: Any) -> None:
                monitor.warnings.append(" ".join(str(a) for a in args))
                textual_log.warning(*args, **kwargs)

        collecting: list[float] = []

        def timed_collection(phase: str, info: dict[str, int]) -> None:
            """Garbage collections stop every thread: the longest, by generation."""
            if phase == "start":
                collecting[:] = [time.perf_counter()]
            elif collecting:
                took = time.perf_counter() - collecting[0]
                generation = info["generation"]
                longest = monitor.collections.get(generation, 0.0)
                monitor.collections[generation] = max(longest, took)

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign,assignment]
        message_pump.MessagePump._dispatch_message = timed_dispatch  # type: ignore[method-assign,assignment]
        message_pump.SLOW_THRESHOLD = int(SLOW_MS)
        message_pump.log = WarningCatcher()  # type: ignore[assignment]
        gc.callbacks.append(timed_collection)
        try:
            yield
        finally:
            gc.callbacks.remove(timed_collection)
            asyncio.events.Handle._run = handle_run  # type: ignore[method-assign]
            message_pump.MessagePump._dispatch_message = dispatch  # type: ignore[method-assign]
            message_pump.SLOW_THRESHOLD = threshold_before
            message_pump.log = textual_log

    def _attribute(self, handle: Any, began: float, took: float) -> str:
        """The message(s) dispatched during a slow step, else the task it belongs to."""
        screen = ""
        with contextlib.suppress(Exception):
            screen = f" on {type(self.app.screen).__name__}" if self.app is not None else ""
        inside = [d for d in self.dispatches[-2000:] if began <= d[0] <= began + took]
        if inside:
            longest = max(inside, key=lambda d: d[1])
            return f"{longest[2]} ({len(inside)} message(s) in the step){screen}"
        callback = getattr(handle, "_callback", None)
        task = getattr(callback, "__self__", None)
        if isinstance(task, asyncio.Task):
            coro = task.get_coro()
            code = getattr(coro, "cr_code", None)
            where = f" ({code.co_qualname})" if code is not None else ""
            return f"task {task.get_name()}{where}{screen}"
        return f"{repr(handle)[:100]}{screen}"

    def over(self, seconds: float) -> list[Slow]:
        return sorted((s for s in self.steps if s.seconds > seconds), key=lambda s: -s.seconds)


@dataclass
class PilotRun:
    monitor: UiMonitor
    times: dict[str, float] = field(default_factory=dict)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)  # stage -> operation -> n


async def _until(
    pilot: Any, condition: Callable[[], bool], what: str, timeout: float = 120.0
) -> float:
    """Wait for ``condition`` (checked every 10 ms); seconds it took. A bound, not a test.

    A plain sleep between checks, not ``pilot.pause``: that one also posts a callback to
    every widget of the screen and forces a repaint, and at 100 checks a second it made
    the UI thread it measures busier than a person's terminal ever makes it.
    """
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > timeout:
            raise TimeoutError(f"never happened: {what}")
        await asyncio.sleep(0.01)
    return time.perf_counter() - began


async def _press_until(
    pilot: Any, key: str, condition: Callable[[], bool], what: str, timeout: float = 120.0
) -> float:
    """Press ``key`` and wait for ``condition``; seconds from the press.

    The press runs beside the wait: ``pilot.press`` returns only once the app is idle, and
    at scale that is long after the screen showed what is timed.
    """
    began = time.perf_counter()
    press = asyncio.create_task(pilot.press(key))
    try:
        await _until(pilot, condition, what, timeout)
        return time.perf_counter() - began
    finally:
        await press


async def pilot_flow(
    sandbox: BenchSandbox,
    journal_dir: Path,
    *,
    pattern: str = "payments",
    bucket: str = "demo-broken-exports",
    log_group: str = "/aws/lambda/demo-fn",
    last: str = "result",
) -> PilotRun:
    """Drive the whole wizard over ``sandbox``: the monitor, each step's time and calls.

    ``last``: "bucket" stops once the buckets are listed, "export" once the filter has
    found the log group (no export), "result" goes all the way.
    """
    from textual.widgets import Input

    from wizard.flow import Flow, Step
    from wizard.launch import LaunchOptions
    from wizard.tui.app import WizardApp
    from wizard.tui.connection import Connection, settle_heap
    from wizard.tui.screens.base import StepScreen
    from wizard.tui.widgets.option_lists import (
        BUCKET_PREFIX,
        GROUP_PREFIX,
        BucketList,
        KeyList,
        LogGroupList,
    )

    session = session_for(sandbox)
    flow = Flow(session, journal_dir=journal_dir)
    connection = Connection(
        flow, flow.identity(), tuple(flow.regions()), "local AWS sandbox (scale)", sandbox=True
    )
    settle_heap()  # what the region step does once connected (this run brings its own)
    app = WizardApp(
        LaunchOptions(demo=True),
        connection=connection,
        journal_dir=journal_dir,
    )
    app.features = frozenset({*app.features, "debug"})  # Textual times non-event messages
    monitor = UiMonitor(app=app)
    run = PilotRun(monitor)
    times = run.times
    sandbox.reset_request_counts()

    def calls(stage: str) -> None:
        """The requests made since the previous stage ended."""
        run.calls[stage] = sandbox.request_counts()
        sandbox.reset_request_counts()

    def on(step: Step) -> Callable[[], bool]:
        def ready() -> bool:
            screen = app.screen
            return (
                isinstance(screen, StepScreen)
                and screen.STEP is step
                and not screen.is_busy
                and screen.can_go_next()
            )

        return ready

    def options(kind: type) -> Any:
        return app.screen.query_one(kind)

    def showing(step: Step) -> Callable[[], bool]:
        """The step's screen is up (its data may still be loading)."""
        return lambda: isinstance(app.screen, StepScreen) and app.screen.STEP is step

    def listing(step: Step, kind: type) -> Callable[[], bool]:
        """The step's list shows rows besides "Create a new ..."."""

        def shown() -> bool:  # the screen may be up before its list is mounted
            found: Any = app.screen.query(kind) if showing(step)() else []
            return any(listing.option_count > 1 for listing in found)

        return shown

    with monitor.installed():
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, on(Step.REGION), "region step")
            calls("region step")
            began = time.perf_counter()
            times["keys: first rows"] = await _press_until(
                pilot, "enter", listing(Step.KEY, KeyList), "first keys"
            )
            shown, last_change = options(KeyList).option_count, time.perf_counter()

            def keys_loaded() -> bool:
                nonlocal shown, last_change
                count = options(KeyList).option_count
                if count > shown:
                    shown, last_change = count, time.perf_counter()
                return on(Step.KEY)()

            await _until(pilot, keys_loaded, "all keys")
            times["keys: all rows shown"] = last_change - began
            times["keys: Next allowed"] = time.perf_counter() - began
            log(f"  pilot: keys {times['keys: Next allowed']:.2f} s")
            times["buckets: listed"] = await _press_until(
                pilot, "enter", listing(Step.BUCKET, BucketList), "buckets"
            )
            log(f"  pilot: buckets {times['buckets: listed']:.2f} s")
            if last == "bucket":
                await pilot.press("q")
                calls("key and bucket steps")
                return run
            options(BucketList).highlight_id(BUCKET_PREFIX + bucket)
            await pilot.pause()
            calls("key and bucket steps")
            times["review: read"] = await _press_until(pilot, "enter", on(Step.REVIEW), "review")
            log(f"  pilot: review {times['review: read']:.2f} s")
            await pilot.press("enter")
            await _until(pilot, showing(Step.APPLY), "apply step")
            await pilot.pause()
            times["apply: done"] = await _press_until(pilot, "enter", on(Step.APPLY), "apply")
            calls("review and apply steps")
            times["log groups: first screen"] = await _press_until(
                pilot, "enter", on(Step.EXPORT), "log groups"
            )

            async def filter_by(text: str, expect: Callable[[list[str]], bool]) -> float:
                field = app.screen.query_one("#filter", Input)
                field.focus()
                await pilot.pause()
                await pilot.press("end", *["backspace"] * len(field.value), *text)
                typed = time.perf_counter()

                def shown() -> bool:
                    names = [
                        str(o.id).removeprefix(GROUP_PREFIX) for o in options(LogGroupList).options
                    ]
                    screen = app.screen
                    busy = isinstance(screen, StepScreen) and screen.is_busy
                    return bool(names) and expect(names) and not busy

                await _until(pilot, shown, f"filter {text}")
                return time.perf_counter() - typed

            times[f"log groups: typed '{pattern}' -> matches shown"] = await filter_by(
                pattern, lambda names: all(pattern in n for n in names)
            )
            name = log_group.rsplit("/", 1)[-1]
            times[f"log groups: typed '{name}' -> matches shown"] = await filter_by(
                name, lambda names: names == [log_group]
            )
            if last == "export":
                await pilot.press("q")
                calls("export step")
                return run
            options(LogGroupList).focus()
            await pilot.pause()
            times["export: started -> result shown"] = await _press_until(
                pilot, "enter", showing(Step.RESULT), "result", timeout=180
            )
            log(f"  pilot: export {times['export: started -> result shown']:.2f} s")
            await pilot.press("q")
            calls("export step")
    return run


def bench_pilot_flow(sandbox: BenchSandbox, *, pattern: str = "payments") -> BenchResult:
    result = BenchResult("ui")
    with tempfile.TemporaryDirectory(prefix="cwl-bench-journal-") as journal:
        run = asyncio.run(pilot_flow(sandbox, Path(journal), pattern=pattern))
    monitor, times = run.monitor, run.times
    slow = monitor.over(monitor.threshold)
    worst = sorted(monitor.dispatches, key=lambda d: -d[1])[:5]
    result.rows.append(
        Row(
            "UI: longest UI-thread asyncio step (stricter; no target)",
            "ms",
            monitor.max_step * 1000,
            None,
            None,
            [
                "one event-loop step can run many messages back to back (Textual drains a "
                "queue without yielding) or a whole repaint, so this is the longest the screen "
                "went without an update, not a handler; "
                f"{monitor.step_count} asyncio steps timed; steps over {SLOW_MS:.0f} ms: "
                + (
                    "; ".join(
                        f"{s.seconds * 1000:.0f} ms ({s.ran * 1000:.0f} ms running) {s.what}"
                        for s in slow[:6]
                    )
                    or "none"
                )
                + ". Longest dispatches (wall time, async handlers include what they await): "
                + "; ".join(f"{d[2]} {d[1] * 1000:.0f} ms" for d in worst)
            ],
        )
    )
    result.rows.append(
        Row(
            "UI: longest message handler (Textual's rule)",
            "ms",
            monitor.max_handler[0] * 1000,
            None,
            SLOW_MS,
            [
                f"{monitor.max_handler[1]}: non-event messages, wall time of the handler "
                "(what it awaits included), as Textual's slow-handler warning times them"
            ],
        )
    )
    result.rows.append(
        Row(
            "UI: longest garbage collection (every thread stopped)",
            "ms",
            max(monitor.collections.values(), default=0.0) * 1000,
            None,
            None,
            [
                "longest by generation: "
                + ", ".join(
                    f"gen{g} {t * 1000:.0f} ms" for g, t in sorted(monitor.collections.items())
                )
            ],
        )
    )
    result.rows.append(
        Row(
            "UI: Textual slow-handler warnings (>100 ms)",
            "calls",
            float(len(monitor.warnings)),
            None,
            0.0,
            ["; ".join(w.replace("\n", " ") for w in monitor.warnings[:3])]
            if monitor.warnings
            else [],
        )
    )
    for what, seconds in times.items():
        target = {"keys: first rows": 1.0, "keys: all rows shown": 5.0, "buckets: listed": 2.0}.get(
            what, 1.0 if "matches shown" in what else None
        )
        result.rows.append(Row(f"TUI {what}", "s", seconds, None, target))
    for stage, counts in run.calls.items():
        total = sum(counts.values())
        top = ", ".join(f"{op} {n}" for op, n in sorted(counts.items(), key=lambda i: -i[1])[:6])
        result.notes.append(f"TUI {stage}: {total} requests ({top})")
    result.facts.update(monitor=monitor, times=times, calls=run.calls)
    return result
