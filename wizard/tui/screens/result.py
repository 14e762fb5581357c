"""Step 7: the proof: where the objects are, how they are encrypted, what they contain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from wizard.core.proof import markdown
from wizard.flow import Step, before_after, result_view, save_proof
from wizard.tui.screens.base import StepScreen
from wizard.tui.styles import MUTED
from wizard.tui.widgets.facts import Fact, Facts

if TYPE_CHECKING:
    from wizard.aws.export import ExportResult


PROOF_GROUP = "save-proof"


class ProofSaved(Message, bubble=False):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class ResultScreen(StepScreen):
    STEP = Step.RESULT
    CSS_PATH = Path(__file__).with_name("result.tcss")  # absolute: subclasses work too
    SCROLL_BODY = False
    AUTO_FOCUS = "#result"  # arrows scroll the proof; Enter is Done
    NEXT_LABEL = "Done"
    HELP = """\
The export worked when CloudWatch Logs wrote **data objects** under
`s3://BUCKET/PREFIX/TASK_ID/STREAM/000000.gz`, encrypted with **aws:kms** and your key.

The wizard read the first lines of the first object back (S3 decrypted them with your
key, as it does for anyone allowed to use the key) to show the data really is there.

**What next**: the AWS CLI command repeats the same export; the journal records what the
wizard changed, and `cwl-export-wizard undo JOURNAL` restores it.
**e** runs another test export; **p** saves the proof (Markdown, for a change ticket: the
failure reproduced on the Review, the changes, the object, its key and the decrypted lines);
**Done** (or q) quits.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "e",
            "export_again",
            "Export again",
            id="wizard.export_again",
            tooltip="Back to the test export step.",
        ),
        Binding(
            "n",
            "start_over",
            "Start over",
            id="wizard.start_over_result",
            tooltip="A new run from the region step.",
        ),
        Binding(
            "p",
            "save_proof",
            "Save proof",
            id="wizard.save_proof",
            tooltip="Save the proof as Markdown in the current folder, for a change ticket.",
        ),
        Binding("enter", "next", "Done", show=False, id="wizard.result_done"),
    ]

    proof_alias: str | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="result"):
            yield Static(id="verdict")
            with Horizontal(id="before-after"):
                yield Static(id="before", classes="card")
                yield Static(id="after", classes="card")
            yield Static("Objects", classes="section")
            yield Static(id="objects")
            yield Static("Encryption", classes="section")
            yield Facts(id="encryption")
            yield Static("First decrypted lines", classes="section", id="sample-title")
            yield Static(id="sample")
            yield Static("What next", classes="section")
            yield Facts(id="next-steps")
        yield Button("Export again", id="again", compact=True)

    def nav_buttons(self) -> ComposeResult:
        yield Button("Save the proof", id="save-proof", compact=True)

    def hint(self) -> str:
        return "e: export again · Done quits"

    def on_mount(self) -> None:
        super().on_mount()
        self.resume_work()

    def resume_work(self) -> None:
        result = self.state.result
        if result is not None:
            self.show_result(result)

    def show_result(self, result: ExportResult) -> None:
        state = self.state
        encryption = result.encryption
        key = encryption.kms_key_id if encryption is not None else None
        alias = state.create_key_alias or self.flow.key_alias(state.region, key)
        view = result_view(
            state,
            result,
            sandbox=self.wizard.is_sandbox,
            key_alias=alias,
            source_account=self.flow.source_account(),
            profile=self.flow.export_profile(),
        )
        mark = ("✓ ", "bold $text-success") if view.succeeded else ("✗ ", "bold $text-error")
        self.query_one("#verdict", Static).update(Content.assemble(mark, view.verdict))
        lines = [Content(line) for line in view.objects]
        if view.more_objects:
            lines.append(Content.styled(f"... and {view.more_objects} more", MUTED))
        self.query_one("#objects", Static).update(Content("\n").join(lines))
        self.query_one("#encryption", Facts).show(list(view.proof))
        self.query_one("#sample-title", Static).update(Content(view.sample_title))
        sample = (
            Content("\n").join(Content(line) for line in view.sample)
            if view.sample
            else Content.styled(view.explanation or "(no lines)", MUTED)
        )
        self.query_one("#sample", Static).update(sample)
        steps: list[Fact] = [("Repeat this export", view.repeat)]
        if view.journal:
            steps.append(("Journal", view.journal))
        if view.undo:
            steps.append(("Undo the changes", view.undo))
        if not view.journal:
            steps.append(("Journal", "none: the wizard changed nothing"))
        self.query_one("#next-steps", Facts).show(steps)
        card = before_after(state, view)
        holder = self.query_one("#before-after", Horizontal)
        holder.display = card is not None
        if card is not None:
            before, after = self.query_one("#before", Static), self.query_one("#after", Static)
            before.border_title = "Before"
            after.border_title = "After"
            before.update(Content("\n").join(Content(line) for line in card.before))
            after.update(Content("\n").join(Content(line) for line in card.after))
        self.proof_alias = alias

    @on(Button.Pressed, "#save-proof")
    def save_proof_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save_proof()

    def action_save_proof(self) -> None:
        if self.state.result is None or self.is_busy:
            return
        self.busy(PROOF_GROUP, "Saving the proof...")
        self.write_proof(self.state.result, self.proof_alias)

    @work(thread=True, exit_on_error=False, group=PROOF_GROUP)
    def write_proof(self, result: ExportResult, alias: str | None) -> None:
        """Reads the journal (and maybe AWS) and writes a file: never on the UI thread."""
        proof = self.flow.proof(self.state, result, key_alias=alias)
        self.post_result(ProofSaved(save_proof(markdown(proof), self.state)))

    def on_proof_saved(self, message: ProofSaved) -> None:
        self.notify(f"Saved the proof: {message.path}", timeout=8, markup=False)

    def job_failed(self, group: str, error: BaseException) -> None:
        if group == PROOF_GROUP:  # said, and the Result stays
            self.notify(f"Could not save the proof: {error}", severity="error", markup=False)
            return
        super().job_failed(group, error)

    @on(Button.Pressed, "#again")
    def again_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_export_again()

    def action_export_again(self) -> None:
        self.wizard.goto(Step.EXPORT)

    def action_back(self) -> None:
        self.wizard.goto(Step.EXPORT)

    def action_start_over(self) -> None:
        self.wizard.start_over()
