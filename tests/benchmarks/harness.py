"""Sandboxes for the benchmarks, and the table they print.

A benchmark talks to a sandbox the way the wizard talks to AWS: over HTTP, with the sandbox's
injected latency standing in for the 50-200 ms between a laptop and a region. AWS does its
own work on its own machines; a sandbox in the benchmark's process would spend the client's
CPU (and hold its GIL) on moto, so the full run puts the sandbox in a child process
(``RemoteSandbox``). The smoke tests use an in-process one (``LocalSandbox``) at tiny scale.
Both count the requests they receive per operation (``Sandbox.request_counts``).
"""

from __future__ import annotations

import math
import multiprocessing
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.sandbox.scenarios import ScaleSeed
    from wizard.sandbox.server import Sandbox, SandboxConfig

REPLY_TIMEOUT = 300.0  # seconds: a bound for a hung child, not a measurement


@dataclass(frozen=True)
class Scale:
    keys: int = 0
    buckets: int = 0
    buckets_in_region: int = 0
    log_groups: int = 0


class BenchSandbox(Protocol):
    endpoint_url: str
    region: str
    account: str
    seeded: ScaleSeed

    def request_counts(self) -> dict[str, int]: ...

    def reset_request_counts(self) -> None: ...

    def put_export_object(self, bucket: str, key: str, uncompressed_bytes: int) -> int: ...

    def log_group_count(self) -> int: ...

    def close(self) -> None: ...


class _Driver:
    """The sandbox side: start, seed, count, store test objects, stop."""

    def __init__(self, config: SandboxConfig, scale: Scale) -> None:
        from wizard.sandbox.server import Sandbox

        self.sandbox: Sandbox = Sandbox(config).start()
        try:
            self.seeded = self.sandbox.seed_scale(
                keys=scale.keys,
                buckets=scale.buckets,
                buckets_in_region=scale.buckets_in_region,
                log_groups=scale.log_groups,
            )
        except BaseException:
            self.sandbox.stop()
            raise

    def info(self) -> tuple[str, str, str, ScaleSeed]:
        sandbox = self.sandbox
        return sandbox.endpoint_url, sandbox.region, sandbox.account, self.seeded

    def request_counts(self) -> dict[str, int]:
        return self.sandbox.request_counts()

    def reset_request_counts(self) -> None:
        self.sandbox.reset_request_counts()

    def put_export_object(self, bucket: str, key: str, uncompressed_bytes: int) -> int:
        from wizard.sandbox.scenarios import export_object_data

        data = export_object_data(uncompressed_bytes)
        self.sandbox.put_object(bucket, key, data)
        return len(data)

    def log_group_count(self) -> int:
        from moto.logs.models import logs_backends

        sandbox = self.sandbox
        return len(logs_backends[sandbox.account][sandbox.region].groups)

    def close(self) -> None:
        self.sandbox.stop()


class LocalSandbox:
    """A sandbox in this process (the smoke tests: tiny scale, no child to start)."""

    def __init__(self, config: SandboxConfig, scale: Scale = Scale()) -> None:
        self._driver = _Driver(config, scale)
        self.endpoint_url, self.region, self.account, self.seeded = self._driver.info()

    def request_counts(self) -> dict[str, int]:
        return self._driver.request_counts()

    def reset_request_counts(self) -> None:
        self._driver.reset_request_counts()

    def put_export_object(self, bucket: str, key: str, uncompressed_bytes: int) -> int:
        return self._driver.put_export_object(bucket, key, uncompressed_bytes)

    def log_group_count(self) -> int:
        return self._driver.log_group_count()

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child_main(conn: Connection, config: SandboxConfig, scale: Scale) -> None:
    """The child process: one driver, serving calls from the pipe until "close" or EOF."""
    try:
        driver = _Driver(config, scale)
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", driver.info()))
    try:
        while True:
            try:
                method, args = conn.recv()
            except EOFError:  # the parent went away
                return
            if method == "close":
                break
            try:
                conn.send(("ok", getattr(driver, method)(*args)))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        driver.close()
    conn.send(("ok", None))


class RemoteSandbox:
    """A sandbox in a child process: its CPU is not the client's, as with AWS."""

    def __init__(self, config: SandboxConfig, scale: Scale = Scale()) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self._conn, child_end = context.Pipe()
        self._process = context.Process(
            target=_child_main, args=(child_end, config, scale), name="bench-sandbox"
        )
        self._process.start()
        child_end.close()
        self.endpoint_url, self.region, self.account, self.seeded = self._reply()

    def _reply(self) -> Any:
        if not self._conn.poll(REPLY_TIMEOUT):
            raise RuntimeError("the sandbox process did not answer")
        status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"sandbox process: {value}")
        return value

    def _call(self, method: str, *args: Any) -> Any:
        self._conn.send((method, args))
        return self._reply()

    def request_counts(self) -> dict[str, int]:
        return dict(self._call("request_counts"))

    def reset_request_counts(self) -> None:
        self._call("reset_request_counts")

    def put_export_object(self, bucket: str, key: str, uncompressed_bytes: int) -> int:
        return int(self._call("put_export_object", bucket, key, uncompressed_bytes))

    def log_group_count(self) -> int:
        return int(self._call("log_group_count"))

    def close(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send(("close", ()))
                self._reply()
            except (OSError, EOFError, RuntimeError):
                pass
        self._process.join(30)
        if self._process.is_alive():  # our own child, by its handle
            self._process.terminate()
            self._process.join(10)
        self._conn.close()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def session_for(sandbox: BenchSandbox) -> AwsSession:
    """The wizard's own session on the sandbox (its retries, timeouts and pools)."""
    from wizard.aws.session import AwsSession, ConnectionOptions

    return AwsSession(
        ConnectionOptions(region=sandbox.region, endpoint_url=sandbox.endpoint_url),
        credentials=("testing", "testing"),
    )


def per_bucket_calls(counts: dict[str, int]) -> int:
    """Requests other than the listing itself: what a bucket listing must not make."""
    return sum(n for operation, n in counts.items() if operation != "ListBuckets")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the table. ``target`` is an upper bound in ``unit`` (None: informative)."""

    figure: str
    unit: str  # "s", "ms", "MB", "calls", "calls/s", "pkgs"
    measured: float
    baseline: float | None
    target: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.measured <= self.target


@dataclass
class BenchResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # for the smoke tests' assertions
    notes: list[str] = field(default_factory=list)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "calls/s":
        return f"{value:.2f}/s"
    return f"{value:.0f}"


def ratio(row: Row) -> str:
    """How many times better than the naive way (baseline / measured)."""
    if row.baseline is None:
        return "-"
    if row.measured <= 0:
        return "inf" if row.baseline > 0 else "-"
    return f"{row.baseline / row.measured:.1f}x"


def render_table(results: Sequence[BenchResult], out: Callable[[str], None] = print) -> None:
    header = ("figure", "measured", "baseline (naive)", "ratio", "target", "met?")
    lines: list[tuple[str, ...]] = []
    footnotes: list[str] = []
    for result in results:
        for row in result.rows:
            marks = ""
            for note in row.notes:
                footnotes.append(note)
                marks += f"[{len(footnotes)}]"
            met = {True: "yes", False: "NO", None: "-"}[row.met]
            target = "-" if row.target is None else f"<= {fmt(row.target, row.unit)}"
            lines.append(
                (
                    f"{row.figure} {marks}".rstrip(),
                    fmt(row.measured, row.unit),
                    fmt(row.baseline, row.unit),
                    ratio(row),
                    target,
                    met,
                )
            )
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    out(line(header))
    out("-+-".join("-" * w for w in widths))
    for cells in lines:
        out(line(cells))
    if footnotes:
        out("")
        for number, note in enumerate(footnotes, 1):
            out(f"[{number}] {note}")
    extra = [note for result in results for note in result.notes]
    if extra:
        out("")
        for note in extra:
            out(f"- {note}")


def log(text: str) -> None:
    """Progress on stderr; the table goes to stdout."""
    print(text, file=sys.stderr, flush=True)
