"""One view, the same words in every face: the renderer paints a view's lines as ANSI text
(plain mode, the commands) and as Textual Content (the TUI), and each face shows the views of
the flow, not words of its own.

The faces are driven through their own code paths (the commands' test export, plain mode's
export step, the TUI's Export step) over a flow that reports another export task and a policy
change still propagating; what each face shows is compared, line by line, with the view.
Names in the views are hostile (an escape sequence, a bidi override): every face shows them
escaped the same way.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from wizard import render, views
from wizard.asking import Option
from wizard.aws.export import ExportRequest
from wizard.commands import test_export
from wizard.core import wording
from wizard.core.errors import ExportBusy
from wizard.core.state import ExportTaskInfo, ExportTaskStatus, KeyState
from wizard.flow import BusyChoice, PropagationWait, WizardState
from wizard.plain import PlainWizard, Printer

REGION = "eu-west-1"
HOSTILE_TASK = "task-\x1b[31m-1"
HOSTILE_GROUP = "/ecs/\u202eweb"
ACTIVE = ExportTaskInfo(HOSTILE_TASK, HOSTILE_GROUP, ExportTaskStatus.RUNNING)
WAIT = PropagationWait(
    "GetBucketAcl call on the given bucket failed. Please check if CloudWatch Logs has been "
    "granted permission to perform this operation.",
    waited=2.0,
    limit=120.0,
    retry_in=4.0,
)
REQUEST = ExportRequest(
    region=REGION,
    log_group="/ecs/web",
    bucket="exports",
    prefix="exportedlogs",
    from_ms=0,
    to_ms=1,
)


def painted(lines: Sequence[views.Line]) -> list[str]:
    return [render.paint(line, colour=False) for line in lines]


class BusyThenPropagating:
    """The flow's export API: busy ``busy_rounds`` times, then a wait for propagation, then
    the task starts."""

    def __init__(self, busy_rounds: int = 1) -> None:
        self.busy_rounds = busy_rounds
        self.cleared: list[BusyChoice] = []

    def start_export(self, request: ExportRequest, **options: Any) -> str:
        if self.busy_rounds:
            self.busy_rounds -= 1
            raise ExportBusy(ACTIVE, request.region)
        on_wait = options.get("on_wait")
        if on_wait is not None:
            on_wait(WAIT)
        return "task-2"

    def clear_busy(self, region: str, active: ExportTaskInfo, choice: BusyChoice, **_: Any) -> None:
        if choice is BusyChoice.STOP:
            raise ExportBusy(active, region)
        self.cleared.append(choice)


class FirstOption:
    """Plain mode's questions answered with the first option offered (and noted)."""

    def __init__(self) -> None:
        self.offered: list[list[str]] = []

    def select(self, question: str, options: Sequence[Option], default: str | None) -> str:
        self.offered.append([o.title for o in options])
        return options[0].value

    def text(self, question: str, default: str, *_: Any, **__: Any) -> str:
        return default

    def confirm(self, question: str, default: bool = False) -> bool:
        return default


def expected_export_words() -> list[str]:
    return painted(
        [
            *views.export_busy(REGION, ACTIVE),
            views.clearing_busy(BusyChoice.WAIT, ACTIVE),
            *views.propagation(WAIT),
        ]
    )


def test_the_renderer_gives_both_outputs_the_same_escaped_words() -> None:
    state = WizardState(region=REGION)
    shown = [
        *views.export_busy(REGION, ACTIVE),
        *views.propagation(WAIT),
        *views.farewell(state, sandbox=False),
        views.clearing_busy(BusyChoice.CANCEL, ACTIVE),
    ]
    ansi = painted(shown)
    textual = render.content(shown).plain.split("\n")
    assert ansi == textual
    joined = "\n".join(ansi)
    assert "\x1b" not in joined and "\u202e" not in joined  # shown escaped, never obeyed
    assert "\\x1b[31m" in joined and "\\u202e" in joined


def test_the_commands_say_the_views(capsys: pytest.CaptureFixture[str]) -> None:
    flow = BusyThenPropagating()
    task_id = test_export._start_export(
        flow,  # type: ignore[arg-type]
        REQUEST,
        "wait",
        None,
        threading.Event(),
    )
    assert task_id == "task-2" and flow.cleared == [BusyChoice.WAIT]
    said = capsys.readouterr().err.splitlines()
    assert said == expected_export_words()


def test_plain_mode_says_the_views() -> None:
    flow = BusyThenPropagating()
    stream = io.StringIO()
    ask = FirstOption()
    wizard = PlainWizard(flow, sandbox=True, ask=ask, out=Printer(stream, color=False))  # type: ignore[arg-type]
    assert wizard._start_export(REQUEST) == "task-2"
    said = [line for line in stream.getvalue().splitlines() if line]
    assert said == expected_export_words()
    assert ask.offered == [[label for label, _ in views.busy_options()]]


async def test_the_tui_says_the_views() -> None:
    from textual.widgets import Button, Static

    from tests.tui.fakes import FakeFlow, fake_app
    from tests.tui.pilot_helpers import at_step, wait_until
    from wizard.flow import Step

    class Flow(FakeFlow):
        def __init__(self) -> None:
            super().__init__()
            self.export = BusyThenPropagating()

        def start_export(self, request: ExportRequest, **options: Any) -> str:
            self.export.start_export(request, **options)
            return "task-2"

    flow = Flow()
    state = WizardState(region=REGION, key="arn:aws:kms:eu-west-1:1:key/k", bucket="exports")
    app = fake_app(Step.EXPORT, state, flow=flow)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await at_step(pilot, Step.EXPORT)
        await pilot.press("enter")
        panel = screen.query_one("#other-task")
        await wait_until(pilot, lambda: panel.display, "the other task is shown")
        busy = str(screen.query_one("#other-text", Static).content).split("\n")
        assert busy == painted(views.export_busy(REGION, ACTIVE))
        labels = [str(b.label) for b in screen.query_one("#other-task").query(Button)]
        offered = dict((choice, label) for label, choice in views.busy_options())
        assert labels == [offered[BusyChoice.WAIT], offered[BusyChoice.CANCEL]]
        # The propagation view, as the worker reports it (the fake waits for nothing).
        from wizard.tui.screens.export import PropagationProgress

        screen.post_message(PropagationProgress(WAIT))
        status = screen.query_one("#task-status", Static)
        await wait_until(
            pilot, lambda: views.PROPAGATING in str(status.content), "the propagation view"
        )
        shown = str(status.content).split("\n")
        assert shown[:2] == painted(views.propagation(WAIT))


def test_the_busy_limit_is_the_flows_in_the_commands_and_plain_mode(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wizard.flow import BUSY_RETRIES

    with pytest.raises(ExportBusy) as caught:
        test_export._start_export(
            BusyThenPropagating(busy_rounds=BUSY_RETRIES + 1),  # type: ignore[arg-type]
            REQUEST,
            "wait",
            None,
            threading.Event(),
        )
    assert caught.value.rounds == BUSY_RETRIES
    assert f"after {BUSY_RETRIES} rounds" in caught.value.message
    wizard = PlainWizard(
        BusyThenPropagating(busy_rounds=BUSY_RETRIES + 1),  # type: ignore[arg-type]
        sandbox=True,
        ask=FirstOption(),
        out=Printer(io.StringIO(), color=False),
    )
    with pytest.raises(ExportBusy) as plain_caught:
        wizard._start_export(REQUEST)
    assert plain_caught.value.message == caught.value.message


@pytest.mark.parametrize(
    ("create", "known", "chosen", "read", "words"),
    [
        ("alias/new", None, None, False, "a new key alias/new"),
        ("alias/new", KeyState("alias/new", exists=False), None, True, "a new key alias/new"),
        (None, KeyState("k", exists=True, key_id="k", aliases=("alias/a",)), None, True, "alias/a"),
        (None, KeyState("alias/gone", exists=False), None, True, "alias/gone (not found)"),
        (None, None, "alias/picked", False, "alias/picked"),
        (None, None, None, True, "no KMS key"),
        (None, None, None, False, "the bucket's current key"),
    ],
)
def test_the_key_is_named_in_one_place(
    create: str | None, known: KeyState | None, chosen: str | None, read: bool, words: str
) -> None:
    assert wording.key_words(create, known, chosen, read=read) == words


def test_the_farewell_of_one_change_undone_says_it() -> None:
    """Found from outside: "1 change made in AWS, then undone: nothing of them remains"."""
    from pathlib import Path
    from types import SimpleNamespace

    from wizard.core.outcomes import StepStatus

    for made, words in (
        (1, "1 change made in AWS, then undone: nothing of it remains"),
        (2, "2 changes made in AWS, then undone: nothing of them remains"),
    ):
        state = WizardState(region=REGION)
        steps = [SimpleNamespace(status=StepStatus.APPLIED)] * made
        state.applied = SimpleNamespace(journal_path=Path("j.json"), steps=steps)  # type: ignore[assignment]
        state.undone = SimpleNamespace(complete=True, remaining=())  # type: ignore[assignment]
        said = [line.text for line in views.farewell(state, sandbox=False)]
        assert any(text.startswith(words) for text in said), said
