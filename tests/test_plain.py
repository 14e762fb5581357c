"""The plain face, driven by real key presses through prompt_toolkit's pipe input.

Each test types into the same questionary prompts a person would see, against the sandbox,
and checks both what was printed and (with boto3) what the sandbox now holds.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output
from textual.pilot import Pilot

from wizard import launch, plain
from wizard.asking import TerminalAsker
from wizard.core.errors import ApplyCancelled
from wizard.core.requirements import SID_GET_BUCKET_ACL, SID_KEY_USE, SID_PUT_OBJECT
from wizard.core.validate import normalize_alias
from wizard.flow import Flow, Step, WizardState
from wizard.launch import LaunchOptions
from wizard.plain import PlainWizard, Printer, tui_unavailable_reason
from wizard.sandbox.server import Fault, Sandbox, SandboxConfig
from wizard.terminal import supports_color

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
def keyboard(columns: int = 250) -> Iterator[Keyboard]:
    """A terminal of ``columns`` for prompt_toolkit: keys typed in, what it draws kept."""
    screen = Screen()
    with create_pipe_input() as pipe:
        output = Vt100_Output(
            screen,  # type: ignore[arg-type]
            lambda: Size(rows=50, columns=columns),
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
            encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
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
            return plain.run(options, asker=TerminalAsker())
        driver = threading.Thread(target=during, args=(kb,), daemon=True)
        driver.start()
        try:
            return plain.run(options, asker=TerminalAsker())
        finally:
            driver.join(5)


# ------------------------------------------------------------------------------ whole runs

# Region, key (alias/demo-exports), bucket (create new), its name, prefix, other source
# accounts (none): all defaults.
CHOOSE_DEFAULTS = ENTER * 6


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
    assert re.search(r"^\[1/\d\] applied: PutKeyPolicy ", text, re.M)
    # One line of status changes; PENDING/RUNNING show when a poll lands before the end.
    assert re.search(r"^export task [\w-]+: (\w+ \d+\.\ds / )*COMPLETED \d+\.\ds$", text, re.M)
    uri = re.search(rf"s3://{NEW_BUCKET}/exportedlogs/[\w-]+/\S+/000000\.gz", text)
    assert uri, text
    assert re.search(r"^  Algorithm +aws:kms$", text, re.M)
    assert re.search(r"^  KMS key +arn:aws:kms:", text, re.M)
    sample = text.split("First decrypted lines of", 1)[1]
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
    code = run_plain(options, "n" + "y" + ENTER * 3)  # no probe export; apply
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    text = out.out
    assert "Step 1 of 7" not in text  # the choices come from the bucket
    assert "Step 4 of 7 - Review" in text and "ERROR  " in text.split("Step 5", 1)[0]
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
        kb.screen.wait_for("may contain only lowercase a-z, 0-9, '.' and '-'; not '_'")
        kb.type(CTRL_U, "my-logs-2026", ENTER, ENTER, ENTER)  # name, prefix, no other accounts
        kb.screen.wait_for("Apply these")
        kb.type("n", DOWN, ENTER)  # don't apply; then "Quit without changes"

    code = run_plain(
        LaunchOptions(demo=True, export_delay=EXPORT_DELAY), ENTER * 3, during=type_like_a_person
    )
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "Destination: a new bucket s3://my-logs-2026/exportedlogs/ with " in out.out
    assert "Stopped.\nNothing was changed." in out.out
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
    assert out.out.rstrip().endswith("Cancelled.\nNothing was changed.")  # ...and not applied
    assert "Traceback" not in out.out + out.err
    assert account_state(demo) == before
    assert demo.stops == [True]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ apply


@pytest.fixture
def apply_sandbox(journal_dir: Any) -> Iterator[Sandbox]:
    sandbox = _sandbox()
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

    def write(self, text: str, style: str | None = None, end: str = "") -> None:
        super().write(text, style, end)
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
    apply_sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = Flow(launch.sandbox_session(apply_sandbox))
    before = account_state(apply_sandbox)
    printer = _Watch("[1/")
    wizard = PlainWizard(flow, sandbox=True, ask=TerminalAsker(), out=printer)
    state = _fresh_state(flow)
    plan = flow.review(state.choices()).plan
    assert len(plan.changes) >= 3
    # The second write is held in flight until the cancel is set: it lands between two
    # steps however fast or loaded the machine.
    held = apply_sandbox.gate(plan.changes[1].action.value)
    cancel = threading.Event()

    def press_ctrl_c_after_the_first_step() -> None:
        printer.seen.wait()
        cancel.set()
        held.release()

    presser = threading.Thread(target=press_ctrl_c_after_the_first_step, daemon=True)
    presser.start()
    with pytest.raises(ApplyCancelled) as cancelled:
        wizard.apply_plan(plan, cancel)
    presser.join()
    assert cancelled.value.restored_everything
    assert "[1/" in capsys.readouterr().out
    assert account_state(apply_sandbox) == before


# ------------------------------------------------------------------------------ both faces


def _plain_choices(sandbox: Sandbox, keys: str) -> WizardState:
    """Drive the plain face to the confirmation, decline, quit: the state it built."""
    flow = Flow(launch.sandbox_session(sandbox))
    wizard = PlainWizard(
        flow, sandbox=True, ask=TerminalAsker(), out=Printer(io.StringIO(), color=False)
    )
    with keyboard() as kb:
        kb.type(keys, "n", DOWN, ENTER)  # don't apply; "Quit without changes"
        assert wizard.run() == 0
    return wizard.state


async def _tui_review(demo: Sandbox, drive: Callable[[Pilot[Any]], Awaitable[None]]) -> Any:
    """The real TUI on the same sandbox, driven by ``drive`` up to Review: (state, review)."""
    from tests.tui.pilot_helpers import at_step
    from wizard.tui.app import WizardApp
    from wizard.tui.connection import Connection

    flow = Flow(launch.sandbox_session(demo))
    connection = Connection(flow, flow.identity(), tuple(flow.regions()), "sandbox", True)
    app = WizardApp(LaunchOptions(demo=True), connection=connection)
    async with app.run_test(size=(120, 40)) as pilot:
        await drive(pilot)
        await at_step(pilot, Step.REVIEW)
        return app.state


@pytest.mark.slow
async def test_plain_defaults_and_tui_defaults_make_the_same_plan(demo: Sandbox) -> None:
    """Both real faces, Enter at every step up to Review: the same choices and plan."""
    from tests.tui.pilot_helpers import at_step

    async def enter_only(pilot: Pilot[Any]) -> None:
        for step in (Step.REGION, Step.KEY, Step.BUCKET):
            await at_step(pilot, step)
            await pilot.press("enter")
        await pilot.press("enter")  # the new bucket's name, as suggested

    # questionary runs its own event loop: give it a thread of its own.
    plain_state = await asyncio.to_thread(_plain_choices, demo, CHOOSE_DEFAULTS)
    tui_state = await _tui_review(demo, enter_only)
    assert plain_state.review is not None and tui_state.review is not None
    assert tui_state.choices() == plain_state.choices()
    assert tui_state.review.plan == plain_state.review.plan


@pytest.mark.slow
async def test_plain_and_tui_given_the_same_answers_make_the_same_plan(demo: Sandbox) -> None:
    """Typed answers in both real faces: a new key "team-exports", the existing bucket
    demo-sse-s3, the prefix app/logs."""
    from tests.tui.pilot_helpers import at_step, highlight, type_into
    from wizard.tui.widgets.option_lists import BUCKET_PREFIX, CREATE_ID

    flow = Flow(launch.sandbox_session(demo))
    buckets = [b.name for b in flow.buckets(REGION)]
    downs = DOWN * (1 + buckets.index("demo-sse-s3"))  # "Create a new bucket" comes first
    typed = (
        ENTER  # region
        + "\x1b[A"
        + ENTER
        + CTRL_U
        + "team-exports"
        + ENTER  # up to "Create a new key"
        + downs
        + ENTER  # the bucket
        + CTRL_U
        + "app/logs"
        + ENTER  # prefix
        + ENTER  # no other source accounts
        + "n"  # the bucket has findings: no probe export
    )

    async def type_the_answers(pilot: Pilot[Any]) -> None:
        await at_step(pilot, Step.REGION)
        await pilot.press("enter")
        await at_step(pilot, Step.KEY)
        await highlight(pilot, "#keys", CREATE_ID)
        await pilot.press("enter")
        await type_into(pilot, "#alias", "team-exports")
        await pilot.press("enter")
        await at_step(pilot, Step.BUCKET)
        await highlight(pilot, "#buckets", BUCKET_PREFIX + "demo-sse-s3")
        await type_into(pilot, "#prefix", "app/logs")
        await pilot.press("enter")

    plain_state = await asyncio.to_thread(_plain_choices, demo, typed)
    tui_state = await _tui_review(demo, type_the_answers)
    assert plain_state.review is not None and tui_state.review is not None
    assert tui_state.choices() == plain_state.choices()
    assert plain_state.choices().create_key_alias == normalize_alias("team-exports")
    assert (plain_state.bucket, plain_state.prefix) == ("demo-sse-s3", "app/logs")
    assert tui_state.review.plan == plain_state.review.plan
    assert [c.action.value for c in plain_state.review.plan.changes][:3] == [
        "CreateKey",
        "EnableKeyRotation",
        "CreateAlias",
    ]


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
        assert re.search(r"^\[6/6\] failed: PutBucketPolicy ", out.out, re.M)
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


@pytest.mark.slow
def test_the_review_asks_aws_and_shows_its_answer_beside_the_prediction(
    demo: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Yes to "Reproduce the failure now?": AWS's own words, verbatim, then the Review goes on
    (not applied, quit: nothing changed)."""
    from wizard.core.requirements import ERR_GET_BUCKET_ACL

    before = account_state(demo)
    options = LaunchOptions(demo=True, export_delay=EXPORT_DELAY, repair="demo-broken-exports")
    code = run_plain(options, "y" + "n" + DOWN + ENTER)  # reproduce; don't apply; quit
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    text = out.out
    assert "The diagnosis matched: AWS refused the export with exactly the predicted error." in text
    assert f"AWS said:  refused: {ERR_GET_BUCKET_ACL}" in text
    assert account_state(demo) == before  # the refused probe wrote nothing


def test_reproduced_then_repaired_the_result_shows_before_and_after_and_saves_the_proof(
    demo: Sandbox,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wizard.core.requirements import ERR_GET_BUCKET_ACL

    monkeypatch.chdir(tmp_path)
    options = LaunchOptions(demo=True, export_delay=EXPORT_DELAY, repair="demo-broken-exports")
    # reproduce; apply; the export's defaults; save the proof
    code = run_plain(options, "y" + "y" + ENTER * 3 + "y")
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    text = out.out
    before, after = text.split("Before:", 1)[1].split("After:", 1)
    assert ERR_GET_BUCKET_ACL in before and "as the doctor predicted" in before
    assert "s3://demo-broken-exports/exportedlogs/" in after and "aws:kms with" in after
    [saved] = list(tmp_path.glob("cwl-export-proof-demo-broken-exports-*"))
    assert f"Saved the proof: {saved}" in text
    proof = saved.read_text(encoding="utf-8")
    assert ERR_GET_BUCKET_ACL in proof and "## The changes applied" in proof


def test_not_applying_offers_the_plan_as_code_and_changes_nothing(
    demo: Sandbox,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    before = account_state(demo)
    options = LaunchOptions(demo=True, export_delay=EXPORT_DELAY, repair="demo-broken-exports")
    # No probe export ("n"), not applied ("n"), then Terraform (the third choice), then
    # CloudFormation, then quit.
    keys = "n" + "n" + DOWN * 2 + ENTER + DOWN * 3 + ENTER + DOWN + ENTER
    code = run_plain(options, keys)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    text = out.out
    terraform_folder = tmp_path / "cwl-export-wizard-demo-broken-exports-terraform"
    cloudformation_folder = tmp_path / "cwl-export-wizard-demo-broken-exports-cloudformation"
    assert (terraform_folder / "main.tf").exists()
    assert sorted(p.name for p in cloudformation_folder.iterdir()) == [
        "import.yaml",
        "resources-to-import.json",
        "template.yaml",
    ]
    assert f"Saved 1 file in {terraform_folder} (nothing in the account was changed):" in text
    assert "terraform init" in text and "create-change-set" in text
    assert "cwl-export-wizard test-export --region" in text
    assert "Nothing was changed." in text
    assert account_state(demo) == before


def test_a_change_made_outside_the_tool_is_waited_for_then_exported(
    monkeypatch: pytest.MonkeyPatch, journal_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one propagation rule: the policies were put by boto3 (no apply of this run, no
    journal), AWS still refuses for a while; plain mode waits, says why, and completes."""
    from tests.aws.conftest import DEMO_BUCKET
    from tests.outside import make_healthy_by_hand

    sandbox = _sandbox(propagation_delay=5.0)
    monkeypatch.setattr(launch, "start_sandbox", lambda options: sandbox)
    try:
        make_healthy_by_hand(sandbox)
        options = LaunchOptions(demo=True, export_delay=EXPORT_DELAY, repair=DEMO_BUCKET)
        code = run_plain(options, "n" + ENTER * 4)
    finally:
        sandbox.stop()
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "policy changes take seconds, sometimes minutes, to reach CloudWatch Logs" in out.out
    assert f"s3://{DEMO_BUCKET}/exportedlogs/" in out.out and "000000.gz" in out.out
