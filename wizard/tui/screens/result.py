"""Step 7: the proof: where the objects are, how they are encrypted, what they contain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from wizard.core.cli_equivalent import export_command
from wizard.core.text import count as plural
from wizard.flow import Step
from wizard.tui.screens.apply import undo_command
from wizard.tui.screens.base import StepScreen
from wizard.tui.styles import MUTED
from wizard.tui.widgets.facts import Fact, Facts
from wizard.tui.widgets.option_lists import human_size

if TYPE_CHECKING:
    from wizard.aws.export import ExportResult

MAX_OBJECTS_SHOWN = 8


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
**e** runs another test export; **Done** (or q) quits.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "export_again", "Export again", id="wizard.export_again",
                tooltip="Back to the test export step."),
        Binding("enter", "next", "Done", show=False, id="wizard.result_done"),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="result"):
            yield Static(id="verdict")
            yield Static("Objects", classes="section")
            yield Static(id="objects")
            yield Static("Encryption", classes="section")
            yield Facts(id="encryption")
            yield Static("First decrypted lines", classes="section", id="sample-title")
            yield Static(id="sample")
            yield Static("What next", classes="section")
            yield Facts(id="next-steps")
        yield Button("Export again", id="again", compact=True)

    def hint(self) -> str:
        return "e: export again · Done quits"

    def on_mount(self) -> None:
        super().on_mount()
        result = self.state.result
        if result is not None:
            self.show_result(result)

    def key_alias(self, key_arn: str | None) -> str | None:
        """The alias of the key that encrypted the objects, from what the wizard knows."""
        state = self.state
        if state.create_key_alias:
            return state.create_key_alias
        for options in self.wizard.key_cache.values():
            for option in options:
                if key_arn and option.key.arn == key_arn and option.key.aliases:
                    return option.key.aliases[0]
        review = state.review
        key = review.snapshot.key if review else None
        if key is not None and key.aliases and (not key_arn or key.arn == key_arn):
            return key.aliases[0]
        return None

    def show_result(self, result: ExportResult) -> None:
        state = self.state
        count = len(result.objects)
        self.query_one("#verdict", Static).update(
            Content.assemble(
                ("✓ The export worked. ", "bold $text-success"),
                f"CloudWatch Logs wrote {plural(count, 'object')} for "
                f"{result.task.log_group} into ",
                (f"s3://{state.bucket}/{state.prefix}", "bold"),
                ", encrypted with your key." if result.encryption and
                result.encryption.algorithm == "aws:kms" else ".",
            )
        )
        lines = [
            Content.assemble((obj.uri, "bold"), (f"  {human_size(obj.size)}", MUTED))
            for obj in result.objects[:MAX_OBJECTS_SHOWN]
        ]
        if count > MAX_OBJECTS_SHOWN:
            lines.append(Content.styled(f"... and {count - MAX_OBJECTS_SHOWN} more", MUTED))
        self.query_one("#objects", Static).update(Content("\n").join(lines))

        encryption = result.encryption
        proof: list[Fact]
        if encryption is None:
            proof = [("Encryption", "not inspected")]
        else:
            alias = self.key_alias(encryption.kms_key_id)
            proof = [
                ("Algorithm", Content.styled(encryption.algorithm or "none", "bold")),
                ("KMS key", encryption.kms_key_id or "-"),
            ]
            if alias:
                proof.append(("Key alias", alias))
            proof.append(("Bucket key", "enabled" if encryption.bucket_key else "not enabled"))
        self.query_one("#encryption", Facts).show(proof)

        stream = result.objects[0].key.split("/")[-2] if result.objects else ""
        self.query_one("#sample-title", Static).update(
            Content(f"First decrypted lines of {stream}")
        )
        sample = Content("\n").join(Content(line) for line in result.sample) if result.sample \
            else Content.styled(result.explanation or "(no lines)", MUTED)
        self.query_one("#sample", Static).update(sample)

        task = result.task
        command = export_command(
            state.region or "", task.log_group, state.bucket or "", state.prefix,
            task.from_ms or 0, task.to_ms or 0, state.stream_prefix,
        )
        steps: list[Fact] = [("Repeat this export", command)]
        applied = state.applied
        if applied is not None:
            journal = str(applied.journal_path)
            steps.append(("Journal", journal))
            steps.append(("Undo the changes", undo_command(journal)))
        else:
            steps.append(("Journal", "none: the wizard changed nothing"))
        self.query_one("#next-steps", Facts).show(steps)

    @on(Button.Pressed, "#again")
    def again_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_export_again()

    def action_export_again(self) -> None:
        self.wizard.goto(Step.EXPORT)

    def action_back(self) -> None:
        self.wizard.goto(Step.EXPORT)
