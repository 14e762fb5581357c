"""Step 2: the customer managed KMS key that encrypts the exports, or a new one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.worker import get_current_worker

from wizard.core.text import visible
from wizard.core.validate import normalize_alias
from wizard.flow import Step
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.option_lists import CREATE_ID, KEY_PREFIX, KeyList
from wizard.tui.widgets.validators import ProblemValidator

if TYPE_CHECKING:
    from wizard.aws.inventory import KeyOption
    from wizard.core.state import KeyState


class KeyPage(Message, bubble=False):
    """Keys described so far (rows to show before the whole list is in)."""

    def __init__(self, options: list[KeyOption]) -> None:
        super().__init__()
        self.options = options


class KeysListed(Message, bubble=False):
    """Every key of the region, sorted: usable first."""

    def __init__(self, options: list[KeyOption]) -> None:
        super().__init__()
        self.options = options


class RotationRead(Message, bubble=False):
    """Rotation statuses that arrived, by key id."""

    def __init__(self, found: dict[str, bool | None]) -> None:
        super().__init__()
        self.found = found


class KeyScreen(StepScreen):
    STEP = Step.KEY
    CSS_PATH = Path(__file__).with_name("key.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#keys"
    HELP = """\
CloudWatch Logs writes the export into S3, and S3 asks **KMS** for a data key on its behalf.
So the key must let the service principal `logs.REGION.amazonaws.com` use it.

Only a **customer managed**, **symmetric**, **enabled** key of this region can do that:

- the AWS managed key `aws/s3` can never be used: its key policy cannot be changed;
- a disabled key or one pending deletion cannot encrypt;
- an asymmetric key (RSA, ECC, HMAC) cannot encrypt S3 objects.

Such keys are listed greyed, with the reason. Choose a key, or **Create a new key**: the
wizard creates it with a key policy that keeps your account's administrator access and
adds CloudWatch Logs. Nothing is changed before the Apply step.
"""

    def __init__(self) -> None:
        super().__init__()
        self._loaded = False
        self._options: list[KeyOption] = []
        self._rotation: dict[str, bool | None] = {}
        self._alias_edited = False  # the user typed in the alias field: never overwrite it

    @property
    def aws_region(self) -> str:
        assert self.state.region is not None
        return self.state.region

    def compose_body(self) -> ComposeResult:
        yield Static(id="question")
        yield KeyList(id="keys")
        with Horizontal(id="new-key", classes="field"):
            yield Label("New key alias", classes="field-label")
            yield Input(
                placeholder="alias/cwl-exports",
                id="alias",
                validators=[ProblemValidator(self.alias_problem)],
                valid_empty=False,
            )
        yield Static(id="alias-problem", classes="problem")

    def hint(self) -> str:
        return "Enter: use the highlighted key"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#question", Static).update(
            Content.assemble(
                "Which KMS key encrypts the exported logs? Customer managed keys in ",
                (self.aws_region, "bold"),
                ":",
            )
        )
        alias = self.query_one("#alias", Input)
        alias.disabled = True
        self.busy("keys", f"Loading the KMS keys of {self.aws_region}...")
        self.load_keys(self.aws_region)

    def pause_work(self) -> None:
        pass  # the listing and the rotation read were cancelled; resume_work picks them up

    def resume_work(self) -> None:
        if not self._loaded:
            self.busy("keys", f"Loading the KMS keys of {self.aws_region}...")
            self.load_keys(self.aws_region)
        else:
            self._read_rotation()

    # Loading -------------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="keys", exclusive=True)
    def load_keys(self, region: str) -> None:
        def page(options: list[KeyOption]) -> None:
            self.post_result(KeyPage(options))

        cancel = get_current_worker().cancelled_event  # set when the step is left
        self.post_result(KeysListed(self.flow.keys(region, on_page=page, cancel=cancel)))

    # Not a busy job: the rotation column is a nicety, and Next does not wait for it.
    @work(thread=True, exit_on_error=False, group="rotation", exclusive=True)
    def load_rotation(self, region: str, keys: list[KeyState]) -> None:
        def batch(found: dict[str, bool | None]) -> None:
            self.post_result(RotationRead(found))

        cancel = get_current_worker().cancelled_event
        self.flow.key_rotations(region, keys, on_batch=batch, cancel=cancel)

    def on_key_page(self, message: KeyPage) -> None:
        # Batches are appended as they arrive; the whole sorted list replaces them once.
        if not self._loaded:
            self.query_one(KeyList).add_keys(message.options)

    def on_rotation_read(self, message: RotationRead) -> None:
        self._rotation.update(message.found)
        self.query_one(KeyList).set_rotation(message.found)

    def on_keys_listed(self, message: KeysListed) -> None:
        self._options = message.options
        self.show_keys(message.options)

    def job_failed(self, group: str, error: BaseException) -> None:
        if group == "rotation":  # the rows stay usable: say so without the error panel
            self.notify(
                visible(f"Could not read the keys' rotation status: {error}"),
                severity="warning",
                timeout=6,
                markup=False,
            )
            return
        super().job_failed(group, error)

    def show_keys(self, options: list[KeyOption]) -> None:
        keys = self.query_one(KeyList)
        keys.set_rotation(self._rotation)
        keys.show_keys(options)
        state = self.state
        if state.create_key_alias:
            keys.highlight_id(CREATE_ID)
        elif not (state.key and keys.highlight_id(KEY_PREFIX + state.key)):
            default = self.flow.default_key(options)
            if default is None or not keys.highlight_id(KEY_PREFIX + (default.key.arn or "")):
                keys.highlight_id(CREATE_ID)
        # The rest in a message of its own: with 1,000 rows, one handler for all of it took
        # the UI thread over 100 ms on a busy machine.
        self.call_later(self._keys_shown)

    def _read_rotation(self) -> None:
        unread = [
            o.key
            for o in self._options
            if o.key.rotation_applies and o.key.key_id not in self._rotation
        ]
        if unread:
            self.load_rotation(self.aws_region, unread)

    def _keys_shown(self) -> None:
        if not self.is_mounted:
            return
        self._loaded = True
        self._read_rotation()
        state = self.state
        keys = self.query_one(KeyList)
        alias = self.query_one("#alias", Input)
        # Never over what the user types (focused now, or typed before: see alias_changed).
        if not self._alias_edited and self.focused is not alias:
            alias.value = state.create_key_alias or self.flow.suggested_alias(self.aws_region)
        self._sync_alias(keys.highlighted_id)
        if not isinstance(self.focused, Input):  # never take the cursor from a field
            keys.focus()
        self.update_nav()

    # Choosing ------------------------------------------------------------------------------
    def alias_problem(self, value: str) -> str | None:
        return self.flow.alias_problem(self.aws_region, value)

    def _sync_alias(self, highlighted: str | None) -> None:
        creating = highlighted == CREATE_ID
        alias = self.query_one("#alias", Input)
        alias.disabled = not creating
        self.query_one("#new-key").set_class(not creating, "-inactive")
        self._show_alias_problem()

    def _show_alias_problem(self) -> None:
        alias = self.query_one("#alias", Input)
        self.show_problem(
            "#alias-problem", None if alias.disabled else self.alias_problem(alias.value)
        )

    @on(OptionList.OptionHighlighted, "#keys")
    def key_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The list's highlight now, not the event's: an older event handled after the user
        # moved on must not disable the field they are typing in.
        self._sync_alias(self.query_one(KeyList).highlighted_id)

    @on(OptionList.OptionSelected, "#keys")
    def key_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == CREATE_ID:
            self.query_one("#alias", Input).focus()
        else:
            self.action_next()

    @on(Input.Changed, "#alias")
    def alias_changed(self) -> None:
        if self.query_one("#alias", Input).has_focus:
            self._alias_edited = True
        self._show_alias_problem()

    @on(Input.Submitted, "#alias")
    def alias_submitted(self) -> None:
        self.action_next()

    def can_go_next(self) -> bool:
        return self._loaded and not self.is_busy

    def commit(self) -> bool:
        keys = self.query_one(KeyList)
        chosen = keys.highlighted_id
        if chosen is None:
            return self.refuse("Choose a key, or Create a new key.")
        state = self.state
        if chosen == CREATE_ID:
            alias = self.query_one("#alias", Input)
            problem = self.alias_problem(alias.value)
            if problem:
                self._show_alias_problem()
                return self.refuse(problem, alias)
            state.create_key_alias = normalize_alias(alias.value)
            state.key = None
        else:
            state.key = chosen.removeprefix(KEY_PREFIX)
            state.create_key_alias = None
        return True
