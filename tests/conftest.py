"""Fixtures shared by every directory of the suite: the CLI run in-process, an AWS
environment that forgets the host's setup, a sandbox the environment points at.

Sandboxes are process-global (moto keeps its state per process): ``start_sandbox`` stops the
one it started before it starts another, and stops the last one after the test.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.isolation import isolate_aws
from wizard.core import pacing
from wizard.sandbox.server import Fault, Sandbox, SandboxConfig

REGION = "ap-northeast-1"
EXPORT_DELAY = 0.3


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]


CliRunner = Callable[..., Run]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``cwl-export-wizard ARGS`` in-process; returns exit code, stdout and stderr."""
    from wizard.cli import main

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No host AWS config or credentials (tests/isolation.py); returns the journal folder."""
    return isolate_aws(monkeypatch, tmp_path)


def point_at(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Sandbox:
    """The AWS environment of this test (and of the processes it starts) names ``sandbox``."""
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    return sandbox


StartSandbox = Callable[..., Sandbox]


@pytest.fixture
def start_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartSandbox]:
    """``start_sandbox(scenario=..., faults=(...), ...)``: a running sandbox, env pointed at it."""
    running: list[Sandbox] = []

    def start(**config: Any) -> Sandbox:
        while running:
            running.pop().stop()
        config.setdefault("export_delay", EXPORT_DELAY)
        config.setdefault("region", REGION)
        faults = tuple(
            Fault.parse(f) if isinstance(f, str) else f for f in config.pop("faults", ())
        )
        sandbox = Sandbox(SandboxConfig(faults=faults, **config)).start()
        running.append(sandbox)
        return point_at(monkeypatch, sandbox)

    yield start
    while running:
        running.pop().stop()


def selects_slow(config: pytest.Config) -> bool:
    """The run was asked for the slow tests by name (``-m slow``, ``-m "slow and ..."``),
    not merely left them in (a plain ``pytest``, CI's command, runs them too)."""
    expression = str(config.getoption("markexpr", "") or "")
    return "slow" in expression.replace("not slow", "")


def trial_count(config: pytest.Config, *, quick: int, full: int, env: str) -> int:
    """How many times a trial-based test (a race, a fast typist) repeats: ``quick`` by
    default, ``full`` with ``-m slow``, or exactly ``$env`` when it is set."""
    given = os.environ.get(env)
    if given:
        return int(given)
    return full if selects_slow(config) else quick


class FastForward(pacing.WallClock):
    """The tool's clock where waiting takes no time: each pause moves the clock on by its
    length (a poll every 1.25 s, a retry after 2 s), and the sandbox's export tasks and
    propagation age by the same clock. So a test of a wait neither sleeps nor races the
    machine's load: what the tool sees after N pauses is the same on any machine."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.skipped = 0.0  # seconds the pauses have skipped
        # While set, every pause waits for it to open (a test reads what a wait shows first).
        self.gate: threading.Event | None = None

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def time(self) -> float:
        return time.time() + self.skipped

    def pause(self, stop: threading.Event, seconds: float) -> bool:
        gate = self.gate
        while gate is not None and not gate.wait(0.05):
            if stop.is_set():
                return True
        if stop.is_set():
            return True
        with self._lock:
            self.skipped += max(0.0, seconds)
        # A moment of real time for the other threads (a Ctrl-C, the screen), never a spin.
        return stop.wait(0.01)


@pytest.fixture(autouse=True)
def fast_waits(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every in-process wait of the tool on a fast-forwarded clock (see FastForward); a test
    marked ``wall_clock`` (one that measures real pacing) keeps the wall clock."""
    if request.node.get_closest_marker("wall_clock") is None:
        monkeypatch.setattr(pacing, "CLOCK", FastForward())


def fast_clock() -> FastForward:
    """The test's fast-forwarded clock (see ``fast_waits``)."""
    clock = pacing.CLOCK
    assert isinstance(clock, FastForward), "the test is marked wall_clock"
    return clock


class TaskClock:
    """The clock a sandbox's export tasks age by, held still until the test moves it: a task
    is PENDING, RUNNING or settled by this clock only, however loaded the machine is."""

    def __init__(self, base: Callable[[], float] = pacing.monotonic) -> None:
        self._base = base  # the clock it runs on once resumed
        self._held: float | None = base()
        self._offset = 0.0

    def __call__(self) -> float:
        if self._held is not None:
            return self._held
        return self._base() + self._offset

    def advance(self, seconds: float) -> None:
        assert self._held is not None, "advance() a held clock"
        self._held += seconds

    def resume(self) -> None:
        """Run on with the tool's clock from where it was held (for a wait the test cannot
        drive: the CLI polling a task until it settles)."""
        assert self._held is not None
        self._offset = self._held - self._base()
        self._held = None


def hold_export_time(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> TaskClock:
    """From now on ``sandbox``'s export tasks age only as the returned clock is advanced."""
    tasks = sandbox.tasks
    assert tasks is not None, "the sandbox is running"
    clock = TaskClock(tasks._monotonic)
    monkeypatch.setattr(tasks, "_monotonic", clock)
    return clock


def installed_cli() -> list[str]:
    """The command a user types: the installed ``cwl-export-wizard`` script beside this
    Python, else ``python -m wizard``."""
    script = shutil.which("cwl-export-wizard", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "wizard"]
