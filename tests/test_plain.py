"""The plain face, driven by real key presses through prompt_toolkit's pipe input.

Each test types into the same questionary prompts a person would see, against the sandbox,
and checks both what was printed and (with boto3) what the sandbox now holds.
"""

from __future__ import annotations

import _thread
import asyncio
import io
import json
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from wizard import launch, plain
from wizard.core.requirements import SID_GET_BUCKET_ACL, SID_KEY_USE, SID_PUT_OBJECT
from wizard.core.validate import normalize_alias
from wizard.flow import Flow, WizardState
from wizard.launch import LaunchOptions
from wizard.plain import PlainWizard, Printer, supports_color, tui_unavailable_reason
from wizard.sandbox.server import Fault, Sandbox, SandboxConfig

ENTER = "\r"
DOWN = "\x1b[B"
CTRL_C = "\x03"
CTRL_U = "\x15"  # erase the line typed so far (the prompt's default, too)

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
NEW_BUCKET = f"cwl-exports-{ACCOUNT}-{REGION}"
EXPORT_DELAY = 0.3
# Breaks a hang (a prompt waiting for keys the test never sends) into a failure: closing the
# pipe makes the waiting prompt raise EOFError. Not a time limit on anything that works.
HANG_GUARD_S = 120.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Screen(io.TextIOBase):
    """What prompt_toolkit draws, kept so a test can wait for a prompt or a message."""

    encoding = "utf-8"

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[str] = []
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            self._parts.append(text)
            self._changed.notify_all()
        return len(text)

    def isatty(self) -> bool:
        return False

    @property
    def text(self) -> str:
        with self._changed:
            return ANSI.sub("", "".join(self._parts))

    def wait_for(self, needle: str, timeout: float = HANG_GUARD_S) -> None:
        with self._changed:
            found = self._changed.wait_for(
                lambda: needle in ANSI.sub("", "".join(self._parts)), timeout
            )
        assert found, f"never shown: {needle!r}"


@dataclass
class Keyboard:
    pipe: PipeInput
    screen: Screen

    def type(self, *keys: str) -> None:
        self.pipe.send_text("".join(keys))


@contextmanager
def keyboard() -> Iterator[Keyboard]:
    screen = Screen()
    with create_pipe_input() as pipe:
        output = Vt100_Output(
            screen,  # type: ignore[arg-type]
            lambda: Size(rows=50, columns=250),
            term="xterm",
            enable_cpr=False,
        )
        guard = threading.Timer(HANG_GUARD_S, pipe.close)
        guard.daemon = True
        guard.start()
        try:
            with create_app_session(input=pipe, output=output):
                yield Keyboard(pipe, screen)
        finally:
            guard.cancel()


@pytest.fixture
def journal_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path / "state"


def _sandbox(**config: Any) -> Sandbox:
    return Sandbox(SandboxConfig(export_delay=EXPORT_DELAY, **config)).start()


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, journal_dir: Any) -> Iterator[Sandbox]:
    """``run(--demo)`` gets this sandbox; its stop is recorded and done after the checks."""
    sandbox = _sandbox()
    real_stop = sandbox.stop
    stops: list[bool] = []
    monkeypatch.setattr(sandbox, "stop", lambda: stops.append(True))
    monkeypatch.setattr(launch, "start_sandbox", lambda options: sandbox)
    sandbox.stops = stops  # type: ignore[attr-defined]
    try:
        yield sandbox
    finally:
        real_stop()


def client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(
        service,
        region_name=sandbox.region,
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def key_policy(sandbox: Sandbox, alias: str) -> dict[str, Any]:
    kms = client(sandbox, "kms")
    key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    policy: dict[str, Any] = json.loads(
        kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    )
    return policy


def sids(policy: dict[str, Any]) -> set[str]:
    statements = policy["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    return {s.get("Sid") for s in statements}


def account_state(sandbox: Sandbox) -> dict[str, Any]:
    """What a wizard run could change: buckets and their settings, keys, aliases, policies."""
    s3, kms = client(sandbox, "s3"), client(sandbox, "kms")
    aliases = sorted(a["AliasName"] for a in kms.list_aliases()["Aliases"])
    state: dict[str, Any] = {"aliases": aliases}
    # Policies compared as JSON: a restored policy may be sent compact where it was indented.
    state["keys"] = {
        k["KeyId"]: json.loads(kms.get_key_policy(KeyId=k["KeyId"], PolicyName="default")["Policy"])
        for k in kms.list_keys()["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    }
    buckets = {}
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        except s3.exceptions.ClientError:
            policy = None
        try:
            encryption = s3.get_bucket_encryption(Bucket=name)[
                "ServerSideEncryptionConfiguration"
            ]
        except s3.exceptions.ClientError:
            encryption = None
        buckets[name] = (policy, json.dumps(encryption, sort_keys=True))
    state["buckets"] = buckets
    return state


def run_plain(
    options: LaunchOptions, keys: str, *, during: Callable[[Keyboard], None] | None = None
) -> int:
    with keyboard() as kb:
        kb.type(keys)
        if during is None:
            return plain.run(options)
        driver = threading.Thread(target=during, args=(kb,), daemon=True)
        driver.start()
        try:
            return plain.run(options)
        finally:
            driver.join(5)


# ------------------------------------------------------------------------------ whole runs

# Region, key (alias/demo-exports), bucket (create new), its name, prefix: all defaults.
CHOOSE_DEFAULTS = ENTER * 5


@pytest.mark.slow
def test_fresh_setup_ends_with_decrypted_lines(
    demo: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before_key = key_policy(demo, "alias/demo-exports")
    assert SID_KEY_USE not in sids(before_key)
    # Defaults through the choices, "y" to apply, then the log group and window defaults.
    options = LaunchOptions(demo=True, export_delay=EXPORT_DELAY)
    code = run_plain(options, CHOOSE_DEFAULTS + "y" + ENTER * 3)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    text = out.out
    for step in range(1, 8):
        assert f"Step {step} of 7 - " in text
    assert re.search(r"\[1/\d\] PutKeyPolicy on .* \.\.\. done", text)
    # One line of status changes; PENDING/RUNNING show when a poll lands before the end.
    assert re.search(r"^export task [\w-]+: (\w+ \d+\.\ds / )*COMPLETED \d+\.\ds$", text, re.M)
    uri = re.search(rf"s3://{NEW_BUCKET}/exportedlogs/[\w-]+/\S+/000000\.gz", text)
    assert uri, text
    assert "encrypted: aws:kms with arn:aws:kms:" in text
    sample = text.split("Decrypted sample", 1)[1]
    assert re.search(r"^\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S", sample, re.M)
    assert "Journal" in text and "aws logs create-export-task" in text
    assert demo.stops == [True]  # type: ignore[attr-defined]

    # The sandbox agrees: the key policy gained the logs statement, the bucket exists with the
    # statements and default encryption, and the printed object is there.
    after_key = key_policy(demo, "alias/demo-exports")
    assert SID_KEY_USE in sids(after_key)
    assert sids(before_key) <= sids(after_key)
    s3 = client(demo, "s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=NEW_BUCKET)["Policy"])
    assert {SID_GET_BUCKET_ACL, SID_PUT_OBJECT} <= sids(policy)
    encryption = s3.get_bucket_encryption(Bucket=NEW_BUCKET)["ServerSideEncryptionConfiguration"]
    rule = encryption["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key = uri.group(0).removeprefix(f"s3://{NEW_BUCKET}/")
    head = s3.head_object(Bucket=NEW_BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"


@pytest.mark.slow
def test_repair_broken_bucket(demo: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = client(demo, "s3")
    before = json.loads(s3.get_bucket_policy(Bucket="demo-broken-exports")["Policy"])
    options = LaunchOptions(demo=True, export_delay=EXPORT_DELAY, repair="demo-broken-exports")
    code = run_plain(options, "y" + ENTER * 3)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    text = out.out
    assert "Step 1 of 7" not in text  # the choices come from the bucket
    assert "Step 4 of 7 - Review" in text and "Error:" in text.split("Step 5", 1)[0]
    assert "s3://demo-broken-exports/exportedlogs/" in text and "000000.gz" in text

    after = json.loads(s3.get_bucket_policy(Bucket="demo-broken-exports")["Policy"])
    assert "DenyInsecureTransport" in sids(after)  # patched, never replaced
    assert SID_GET_BUCKET_ACL in sids(after) and sids(before) - {None} <= sids(after)
    rule = s3.get_bucket_encryption(Bucket="demo-broken-exports")[
        "ServerSideEncryptionConfiguration"
    ]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    demo_key = client(demo, "kms").describe_key(KeyId="alias/demo-exports")["KeyMetadata"]["Arn"]
    assert rule["KMSMasterKeyID"] == demo_key


@pytest.mark.slow
def test_bad_bucket_name_is_refused_then_a_good_one_accepted(
    demo: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before = account_state(demo)

    def type_like_a_person(kb: Keyboard) -> None:
        kb.screen.wait_for("Name of the new bucket")
        kb.type(CTRL_U, "my_logs", ENTER)
        # The prompt stays, showing why; the message is drawn before the next key is typed.
        kb.screen.wait_for("may contain only a-z, 0-9, '.' and '-'; not '_'")
        kb.type(CTRL_U, "my-logs-2026", ENTER, ENTER)
        kb.screen.wait_for("Apply these")
        kb.type("n", DOWN, ENTER)  # don't apply; then "Quit without changes"

    code = run_plain(
        LaunchOptions(demo=True, export_delay=EXPORT_DELAY), ENTER * 3, during=type_like_a_person
    )
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "Destination: a new bucket my-logs-2026, prefix exportedlogs/" in out.out
    assert "Stopped; nothing was changed." in out.out
    assert account_state(demo) == before


@pytest.mark.slow
def test_ctrl_c_before_apply_changes_nothing(
    demo: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before = account_state(demo)
    code = run_plain(LaunchOptions(demo=True, export_delay=EXPORT_DELAY), CHOOSE_DEFAULTS + CTRL_C)
    out = capsys.readouterr()
    assert code == plain.EXIT_CANCELLED
    assert "Step 4 of 7 - Review" in out.out  # the plan was shown...
    assert out.out.rstrip().endswith("Cancelled; nothing was changed.")  # ...and not applied
    assert "Traceback" not in out.out + out.err
    assert account_state(demo) == before
    assert demo.stops == [True]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ apply


@pytest.fixture
def slow_sandbox(journal_dir: Any) -> Iterator[Sandbox]:
    # Each AWS call takes a while, so a cancel lands between two steps of the apply.
    sandbox = _sandbox(latency_ms=60)
    try:
        yield sandbox
    finally:
        sandbox.stop()


class _Watch(Printer):
    """A printer that reports when a line containing ``needle`` has been printed."""

    def __init__(self, needle: str) -> None:
        super().__init__(color=False)
        self.needle = needle
        self.seen = threading.Event()

    def write(self, text: str, style: str | None = None) -> None:
        super().write(text, style)
        if self.needle in text:
            self.seen.set()


def _fresh_state(flow: Flow) -> WizardState:
    """The choices the defaults give: alias/demo-exports and a new bucket."""
    state = WizardState(region=REGION, bucket=NEW_BUCKET, create_bucket=True)
    default = flow.default_key(flow.keys(REGION))
    assert default is not None
    state.key = default.key.arn
    return state


@pytest.mark.slow
def test_cancel_during_apply_rolls_back(
    slow_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = Flow(launch.sandbox_session(slow_sandbox))
    before = account_state(slow_sandbox)
    printer = _Watch("[1/")
    wizard = PlainWizard(flow, sandbox=True, out=printer)
    state = _fresh_state(flow)
    plan = flow.review(state.choices()).plan
    assert len(plan.changes) >= 3
    cancel = threading.Event()

    def press_ctrl_c_after_the_first_step() -> None:
        printer.seen.wait()
        cancel.set()

    presser = threading.Thread(target=press_ctrl_c_after_the_first_step, daemon=True)
    presser.start()
    assert wizard.apply(plan, cancel=cancel) is False
    presser.join()
    text = capsys.readouterr().out
    assert "[1/" in text and "Rolled back" in text
    assert account_state(slow_sandbox) == before


@pytest.fixture
def sigint_as_in_a_terminal() -> Iterator[None]:
    """Ctrl+C raises KeyboardInterrupt: a runner that started the tests in the background
    may have set SIGINT to "ignore", and then interrupt_main() does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
@pytest.mark.usefixtures("sigint_as_in_a_terminal")
def test_ctrl_c_during_apply_in_a_whole_run(
    monkeypatch: pytest.MonkeyPatch, slow_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real KeyboardInterrupt in the main thread while the apply worker runs."""
    assert threading.current_thread() is threading.main_thread()
    before = account_state(slow_sandbox)
    real_stop = slow_sandbox.stop
    monkeypatch.setattr(slow_sandbox, "stop", lambda: None)
    monkeypatch.setattr(launch, "start_sandbox", lambda options: slow_sandbox)
    first_step = threading.Event()
    noticed = threading.Event()  # the main thread took the Ctrl+C
    original_line = Printer.line

    def line(self: Printer, text: str = "", style: str | None = None, **kw: Any) -> None:
        original_line(self, text, style, **kw)
        if text.startswith("Ctrl+C: finishing"):
            noticed.set()
        if text.startswith("[1/") and not first_step.is_set():  # the apply worker's thread
            first_step.set()
            _thread.interrupt_main()  # what Ctrl+C in a terminal does
            # The next steps wait until the main thread has seen it (it polls every 0.2 s):
            # on a loaded machine the rest of the apply could otherwise finish first. And a
            # Ctrl+C that never arrives fails this step, instead of the run going on to the
            # export prompts with no more input to read.
            if not noticed.wait(30):
                raise AssertionError("the main thread never took the Ctrl+C")

    monkeypatch.setattr(Printer, "line", line)
    try:
        code = run_plain(LaunchOptions(demo=True), CHOOSE_DEFAULTS + "y")
    finally:
        monkeypatch.setattr(slow_sandbox, "stop", real_stop)
    out = capsys.readouterr()
    assert code == plain.EXIT_CANCELLED, out.out + out.err
    assert "Ctrl+C: finishing the current AWS call, then rolling back" in out.out
    assert "Rolled back" in out.out and "Step 6 of 7" not in out.out
    assert "Traceback" not in out.out + out.err
    assert account_state(slow_sandbox) == before


# ------------------------------------------------------------------------------ both faces


def _plain_choices(sandbox: Sandbox, keys: str) -> WizardState:
    """Drive the plain face to the confirmation, decline, quit: the state it built."""
    flow = Flow(launch.sandbox_session(sandbox))
    wizard = PlainWizard(flow, sandbox=True, out=Printer(io.StringIO(), color=False))
    with keyboard() as kb:
        kb.type(keys, "n", DOWN, ENTER)  # don't apply; "Quit without changes"
        assert wizard.run() == 0
    return wizard.state


@pytest.mark.slow
def test_plain_and_tui_make_the_same_plan(demo: Sandbox) -> None:
    """The TUI commits WizardState the same way (wizard/tui/screens/region, key, bucket.py):
    key = the option's ARN or the new alias (normalized), bucket = the name, create_bucket,
    prefix as typed. Equal choices must give equal plans, for defaults and for typed answers."""
    flow = Flow(launch.sandbox_session(demo))
    default_key = flow.default_key(flow.keys(REGION))
    assert default_key is not None and default_key.key.arn
    buckets = [b.name for b in flow.buckets(REGION)]

    # 1. Every default: the session's region, the first usable key, a new suggested bucket.
    plain_state = _plain_choices(demo, CHOOSE_DEFAULTS)
    tui_state = WizardState(region=flow.default_region, prefix="exportedlogs", window="24h")
    tui_state.key, tui_state.create_key_alias = default_key.key.arn, None
    tui_state.bucket, tui_state.create_bucket = flow.suggested_bucket(REGION), True
    assert plain_state.choices() == tui_state.choices()
    assert plain_state.review is not None
    assert plain_state.review.plan == flow.review(tui_state.choices()).plan

    # 2. Typed answers: a new key "team-exports", the existing demo-sse-s3, prefix app/logs.
    downs = DOWN * (1 + buckets.index("demo-sse-s3"))  # "Create a new bucket" comes first
    typed = (
        ENTER  # region
        + "\x1b[A" + ENTER + CTRL_U + "team-exports" + ENTER  # up to "Create a new key"
        + downs + ENTER  # the bucket
        + CTRL_U + "app/logs" + ENTER  # prefix
    )
    plain_state = _plain_choices(demo, typed)
    tui_state = WizardState(region=REGION, prefix="exportedlogs", window="24h")
    tui_state.key, tui_state.create_key_alias = None, normalize_alias("team-exports")
    tui_state.bucket, tui_state.create_bucket = "demo-sse-s3", False
    tui_state.prefix = "app/logs"
    assert plain_state.choices() == tui_state.choices()
    assert plain_state.review is not None
    plan = flow.review(tui_state.choices()).plan
    assert plain_state.review.plan == plan
    assert [c.action.value for c in plan.changes][:3] == [
        "CreateKey", "EnableKeyRotation", "CreateAlias"
    ]


@pytest.mark.slow
async def test_plain_defaults_and_tui_defaults_make_the_same_plan(demo: Sandbox) -> None:
    """Both real faces, Enter at every step up to Review: the same choices and plan."""
    from wizard.tui.app import WizardApp
    from wizard.tui.connection import Connection

    # questionary runs its own event loop: give it a thread of its own.
    plain_state = await asyncio.to_thread(_plain_choices, demo, CHOOSE_DEFAULTS)
    flow = Flow(launch.sandbox_session(demo))
    connection = Connection(flow, flow.identity(), tuple(flow.regions()), "sandbox", True)
    app = WizardApp(LaunchOptions(demo=True), connection=connection)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(10):  # region, key, bucket, bucket name: one Enter each, then Review
            await app.workers.wait_for_complete()
            await pilot.pause()
            if app.state.review is not None:
                break
            await pilot.press("enter")
        await app.workers.wait_for_complete()
        tui_review = app.state.review
    assert tui_review is not None, "the TUI did not reach Review with Enter alone"
    assert plain_state.review is not None
    assert app.state.choices() == plain_state.choices()
    assert tui_review.plan == plain_state.review.plan


# ------------------------------------------------------------------------------ errors


@pytest.mark.slow
def test_failed_apply_step_is_explained_and_rolled_back(
    monkeypatch: pytest.MonkeyPatch, journal_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = _sandbox(faults=(Fault("PutBucketPolicy", "AccessDenied", 1),))
    try:
        before = account_state(sandbox)
        monkeypatch.setattr(sandbox, "stop", lambda: None)
        monkeypatch.setattr(launch, "start_sandbox", lambda options: sandbox)
        code = run_plain(LaunchOptions(demo=True), CHOOSE_DEFAULTS + "y")
        out = capsys.readouterr()
        assert code == 2, out.out + out.err
        assert re.search(r"\[6/6\] PutBucketPolicy on .* \.\.\. failed", out.out)
        assert "rolled back" in out.out and "The account is as it was before." in out.err
        errors = [line for line in out.err.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and "PutBucketPolicy" in errors[0], out.err
        assert "Traceback" not in out.out + out.err
        assert "Journal of the changes: " not in out.out  # nothing remains to undo
        assert account_state(sandbox) == before
    finally:
        Sandbox.stop(sandbox)


@pytest.mark.slow
def test_wizard_error_is_one_line_and_a_fix(
    demo: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_plain(LaunchOptions(demo=True, repair="Not_A_Bucket"), "")
    out = capsys.readouterr()
    assert code == 2
    assert "Error: --repair Not_A_Bucket:" in out.err
    assert "Fix: " in out.err and "Traceback" not in out.err
    assert demo.stops == [True]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ terminals


class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._tty


def test_tui_unavailable_reason() -> None:
    tty, pipe = _Tty(True), _Tty(False)
    assert tui_unavailable_reason(tty, tty, {"TERM": "xterm-256color"}) is None
    reason = tui_unavailable_reason(tty, pipe, {"TERM": "xterm"})
    assert reason is not None and "standard output is not a terminal" in reason
    assert "--plain" in reason
    reason = tui_unavailable_reason(tty, tty, {"TERM": "dumb"})
    assert reason is not None and "TERM=dumb" in reason and "--plain" in reason
    reason = tui_unavailable_reason(pipe, tty, {})
    assert reason is not None and "standard input is not a terminal" in reason
    for command in ("doctor", "plan", "apply", "test-export"):
        assert command in reason
    closed = _Tty(True)
    closed.close()
    assert tui_unavailable_reason(closed, tty, {}) is not None


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert supports_color(_Tty(True), {"TERM": "xterm"})
    assert not supports_color(_Tty(False), {"TERM": "xterm"})
    assert not supports_color(_Tty(True), {"TERM": "xterm", "NO_COLOR": "1"})
    assert not supports_color(_Tty(True), {"TERM": "dumb"})
    stream = io.StringIO()
    Printer(stream, color=False).line("plain", "error")
    Printer(stream, color=True).line("red", "error")
    assert stream.getvalue() == "plain\n\x1b[31mred\x1b[0m\n"
