"""Step 3: the destination bucket (existing, with a health badge, or new) and the prefix."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static

from wizard.core.validate import (
    bucket_name_problem,
    parse_source_accounts,
    prefix_problem,
    source_accounts_problem,
)
from wizard.flow import BucketHealth, BucketOption, Step
from wizard.tui.screens.base import StepScreen
from wizard.tui.styles import MUTED
from wizard.tui.widgets.option_lists import BUCKET_PREFIX, CREATE_ID, BucketList
from wizard.tui.widgets.validators import ProblemValidator


class BucketsListed(Message, bubble=False):
    def __init__(self, buckets: list[BucketOption]) -> None:
        super().__init__()
        self.buckets = buckets


class OtherBucketsListed(Message, bubble=False):
    """The other regions' buckets (listed greyed, with why)."""

    def __init__(self, buckets: list[BucketOption]) -> None:
        super().__init__()
        self.buckets = buckets


class HealthChecked(Message, bubble=False):
    def __init__(self, name: str, key: str | None, health: BucketHealth) -> None:
        super().__init__()
        self.name = name
        self.key = key
        self.health = health


class NameChecked(Message, bubble=False):
    """Whether a new bucket's name is free (None) or why not."""

    def __init__(self, name: str, problem: str | None) -> None:
        super().__init__()
        self.name = name
        self.problem = problem


AVAILABILITY_DELAY = 0.4  # seconds of typing pause before asking S3 whether a name is free
HEALTH_DELAY = 0.25  # seconds a bucket stays highlighted before its health is checked
HEALTH_EAGER = 8  # the first buckets are checked at once (each check: about 12 AWS calls)


class BucketScreen(StepScreen):
    STEP = Step.BUCKET
    CSS_PATH = Path(__file__).with_name("bucket.tcss")  # absolute: subclasses work too
    AUTO_FOCUS = "#buckets"
    HELP = """\
CloudWatch Logs exports into a bucket **of the same region** as the log group. Buckets of
other regions are listed greyed, with their region.

Beside each bucket: its default encryption and the **doctor's verdict** with your key:
`ready`, or the number of problems the wizard would fix (they are explained on the Review
step, with every change it proposes).

**Create a new bucket**: the name must follow S3's rules (3-63 characters, lowercase
letters, digits, '.' and '-') and be free in all of AWS: the wizard checks as you type.

The **prefix** is the folder the exports go under (CloudWatch Logs' own default is
`exportedlogs`). Nothing is changed before the Apply step.
"""

    def __init__(self) -> None:
        super().__init__()
        self._loaded = False
        self._availability: dict[str, str | None] = {}
        self._checking: str | None = None
        self._timer: Timer | None = None
        self._next_pending = False
        self._health_timer: Timer | None = None
        self._health_asked: set[tuple[str, str | None]] = set()
        self._health: dict[tuple[str, str | None], BucketHealth] = {}
        self._health_arrived: dict[str, BucketHealth] = {}
        self._health_flush = False
        self._buckets: list[BucketOption] | None = None
        self._others: list[BucketOption] | None = None

    @property
    def aws_region(self) -> str:
        assert self.state.region is not None
        return self.state.region

    def compose_body(self) -> ComposeResult:
        yield Static(id="question")
        yield BucketList(id="buckets")
        yield Static(id="bucket-detail")
        with Horizontal(id="new-bucket", classes="field"):
            yield Label("New bucket name", classes="field-label")
            yield Input(id="bucket-name", validators=[ProblemValidator(bucket_name_problem)])
        yield Static(id="name-problem", classes="problem")
        with Horizontal(id="prefix-row", classes="field"):
            yield Label("Prefix", classes="field-label")
            yield Input(id="prefix", validators=[ProblemValidator(prefix_problem)])
        yield Static(id="prefix-problem", classes="problem")
        with Horizontal(id="sources-row", classes="field"):
            yield Label("Other accounts", classes="field-label")
            yield Input(
                id="sources",
                placeholder="none (only this account's log groups), or ids: 111122223333, ...",
                validators=[ProblemValidator(source_accounts_problem)],
                tooltip="A central logging account: log groups of these accounts export here "
                "too; the statements name each of them.",
            )
        yield Static(id="sources-problem", classes="problem")

    def hint(self) -> str:
        return "Enter: use the highlighted bucket"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#question", Static).update(
            Content.assemble(
                "Which bucket receives the exports? Buckets in ", (self.aws_region, "bold"), ":"
            )
        )
        state = self.state
        self.query_one("#prefix", Input).value = state.prefix
        source = self.flow.source_account() if self.flow is not None else None
        given = [a for a in (*state.source_accounts, source or "") if a]
        self.query_one("#sources", Input).value = ", ".join(dict.fromkeys(given))
        name = self.query_one("#bucket-name", Input)
        if state.create_bucket and state.bucket:
            name.value = state.bucket
        else:
            name.value = self.flow.suggested_bucket(self.aws_region)
        self.busy("buckets", f"Listing the buckets of {self.aws_region}...")
        self.load_buckets(self.aws_region)

    def pause_work(self) -> None:
        self._health_asked = set(self._health)  # a check under way was cancelled: ask again
        self._checking = None
        self._next_pending = False

    def resume_work(self) -> None:
        if self._buckets is None:
            self.busy("buckets", f"Listing the buckets of {self.aws_region}...")
            self.load_buckets(self.aws_region)
            return
        if self._others is None:
            self.load_other_buckets(self.aws_region)
        listing = self.query_one(BucketList)
        # The key may have changed on the key step: the badges are the doctor's with it.
        listing.set_health({})
        for name in self._eager(self._buckets, listing.highlighted_id):
            self._check_health(name)
        self._show_health()
        self._sync_new_bucket(listing.highlighted_id)

    # Loading -------------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="buckets", exclusive=True)
    def load_buckets(self, region: str) -> None:
        self.post_result(BucketsListed(self.flow.region_buckets(region)))

    @work(thread=True, exit_on_error=False, group="others", exclusive=True)
    def load_other_buckets(self, region: str) -> None:
        # Started once the region's buckets are shown: parsing every bucket of the account
        # (5,000 in the benchmark) beside the region's would hold up the rows that matter.
        self.post_result(OtherBucketsListed(self.flow.other_region_buckets(region)))

    @work(thread=True, exit_on_error=False, group="health")
    def load_health(self, name: str, key: str | None) -> None:
        self.post_result(
            HealthChecked(name, key, self.flow.bucket_health(self.aws_region, name, key))
        )

    @work(thread=True, exit_on_error=False, group="availability", exclusive=True)
    def check_availability(self, name: str) -> None:
        self.post_result(NameChecked(name, self.flow.bucket_availability(name)))

    def on_buckets_listed(self, message: BucketsListed) -> None:
        self._buckets = message.buckets
        self.show_buckets(message.buckets)
        if self._others is not None:
            self.query_one(BucketList).show_others(self._others, self.aws_region)
        else:
            self.load_other_buckets(self.aws_region)

    def on_other_buckets_listed(self, message: OtherBucketsListed) -> None:
        self._others = message.buckets
        if self._loaded:  # else show_buckets' caller adds them
            self.query_one(BucketList).show_others(message.buckets, self.aws_region)

    def on_health_checked(self, message: HealthChecked) -> None:
        self._health[(message.name, message.key)] = message.health
        if message.key == self._key:
            self._health_arrived[message.name] = message.health
            if not self._health_flush:
                # After the messages already queued: badges that arrived together change
                # the list together.
                self._health_flush = True
                self.call_later(self._show_health)

    def on_name_checked(self, message: NameChecked) -> None:
        self._availability[message.name] = message.problem
        if self._checking == message.name:
            self._checking = None
        self._show_name_problem()
        if self._next_pending:
            self._next_pending = False
            self.action_next()

    def job_failed(self, group: str, error: BaseException) -> None:
        if group == "health":
            return  # a badge that cannot be computed stays "checking"; Review will tell
        if group == "others":
            return  # only explains buckets that cannot be used; the region's are listed
        if group == "availability":
            self._checking = None
            self._next_pending = False
        super().job_failed(group, error)

    @property
    def _key(self) -> str | None:
        """The key the health badges are computed with."""
        state = self.state
        return None if state.create_key_alias else state.key

    def _show_health(self) -> None:
        """The badges that arrived since the last time: one change of the list for all."""
        self._health_flush = False
        arrived, self._health_arrived = self._health_arrived, {}
        if arrived and self.is_mounted:
            listing = self.query_one(BucketList)
            listing.set_health(arrived)
            self._show_detail(listing.highlighted_id)

    def _check_health(self, name: str) -> None:
        """Show the bucket's badge: cached, asked already, or asked now."""
        key = self._key
        health = self._health.get((name, key))
        if health is not None:
            self._health_arrived[name] = health
        elif (name, key) not in self._health_asked:
            self._health_asked.add((name, key))
            self.load_health(name, key)

    def _check_highlighted(self, highlighted: str | None) -> None:
        """Check the highlighted bucket once it stays highlighted (arrow keys run through)."""
        if self._health_timer is not None:
            self._health_timer.stop()
            self._health_timer = None
        if not highlighted or not highlighted.startswith(BUCKET_PREFIX):
            return
        name = highlighted.removeprefix(BUCKET_PREFIX)
        if self.query_one(BucketList).health_of(name) is not None:
            return

        def check() -> None:
            self._health_timer = None
            self._check_health(name)
            self._show_health()

        self._health_timer = self.timer(HEALTH_DELAY, check)

    def show_buckets(self, buckets: list[BucketOption]) -> None:
        self._loaded = True
        listing = self.query_one(BucketList)
        listing.show_buckets(buckets)
        state = self.state
        existing = not state.create_bucket and state.bucket
        wanted = str(state.bucket) if existing else self.story_bucket()
        if not wanted or not listing.highlight_id(BUCKET_PREFIX + wanted):
            listing.highlight_id(CREATE_ID)
        for name in self._eager(buckets, listing.highlighted_id):
            self._check_health(name)
        self._show_health()
        self._sync_new_bucket(listing.highlighted_id)
        if not isinstance(self.focused, Input):  # never take the cursor from a field
            listing.focus()
        self.update_nav()

    def story_bucket(self) -> str | None:
        """In a demo, before any choice: the bucket the demo is about (its broken one)."""
        if not self.wizard.is_sandbox or self.state.create_bucket:
            return None
        from wizard.launch import story_bucket

        return story_bucket(self.wizard.options.scenario)

    @staticmethod
    def _eager(buckets: list[BucketOption], highlighted: str | None) -> list[str]:
        """Health: the first few buckets now, the others when highlighted (1,000 buckets
        would be 12,000 AWS calls, and the checks would starve every other worker)."""
        usable = [b.name for b in buckets if b.usable]
        chosen = (highlighted or "").removeprefix(BUCKET_PREFIX)
        return usable[:HEALTH_EAGER] + ([chosen] if chosen in usable[HEALTH_EAGER:] else [])

    # The new bucket's name -------------------------------------------------------------------
    def _show_detail(self, highlighted: str | None) -> None:
        """A line about the highlighted choice: what the wizard does, or what is wrong."""
        detail = self.query_one("#bucket-detail", Static)
        if highlighted == CREATE_ID:
            detail.update(
                Content.styled(
                    "The wizard creates the bucket with public access blocked, ACLs off, "
                    "SSE-KMS with your key and a policy for CloudWatch Logs.",
                    MUTED,
                )
            )
            return
        name = (highlighted or "").removeprefix(BUCKET_PREFIX)
        health = self.query_one(BucketList).health_of(name)
        if health is None:
            detail.update(Content.styled(f"Checking {name}...", MUTED))
        elif health.healthy:
            detail.update(Content.styled(f"✓ {name} is ready for exports.", "$text-success"))
        else:
            problems = health.problems or (health.summary,)
            detail.update(
                Content.assemble(
                    (f"{name}: ", "bold"),
                    problems[0],
                    (f" (+{len(problems) - 1} more on Review)" if len(problems) > 1 else "", MUTED),
                )
            )

    def _sync_new_bucket(self, highlighted: str | None) -> None:
        self._show_detail(highlighted)
        creating = highlighted == CREATE_ID
        name = self.query_one("#bucket-name", Input)
        name.disabled = not creating
        self.query_one("#new-bucket").set_class(not creating, "-inactive")
        if creating:
            self._schedule_check()
        self._show_name_problem()

    def _schedule_check(self) -> None:
        name = self.query_one("#bucket-name", Input).value
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if bucket_name_problem(name) is not None or name in self._availability:
            return
        self._checking = name

        def check() -> None:
            self._timer = None
            if self.query_one("#bucket-name", Input).value == name:
                self.check_availability(name)

        self._timer = self.timer(AVAILABILITY_DELAY, check)

    def _name_problem(self) -> tuple[str | None, str | None]:
        """(problem, good news) about the typed name."""
        name = self.query_one("#bucket-name", Input).value
        problem = bucket_name_problem(name)
        if problem:
            return problem, None
        if name in self._availability:
            taken = self._availability[name]
            return (taken, None) if taken else (None, f"✓ {name} is available")
        return None, "Checking whether the name is free..."

    def _show_name_problem(self) -> None:
        name = self.query_one("#bucket-name", Input)
        out = self.query_one("#name-problem", Static)
        if name.disabled:
            out.update("")
            return
        problem, news = self._name_problem()
        if problem:
            out.update(Content.styled(problem, "$text-error"))
        else:
            style = "$text-success" if news and news.startswith("✓") else MUTED
            out.update(Content.styled(news or "", style))

    @on(Input.Changed, "#bucket-name")
    def name_changed(self) -> None:
        self._next_pending = False
        self._schedule_check()
        self._show_name_problem()

    @on(Input.Changed, "#prefix")
    def prefix_changed(self, event: Input.Changed) -> None:
        self.show_problem("#prefix-problem", prefix_problem(event.value))

    @on(Input.Changed, "#sources")
    def sources_changed(self, event: Input.Changed) -> None:
        self.show_problem("#sources-problem", source_accounts_problem(event.value))

    @on(OptionList.OptionHighlighted, "#buckets")
    def bucket_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The list's highlight now, not the event's: an older event handled after the user
        # moved on must not disable the field they are typing in.
        highlighted = self.query_one(BucketList).highlighted_id
        self._sync_new_bucket(highlighted)
        self._check_highlighted(highlighted)

    @on(OptionList.OptionSelected, "#buckets")
    def bucket_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == CREATE_ID:
            self.query_one("#bucket-name", Input).focus()
        else:
            self.action_next()

    @on(Input.Submitted, "#bucket-name, #prefix, #sources")
    def field_submitted(self) -> None:
        self.action_next()

    # Next ------------------------------------------------------------------------------------
    def can_go_next(self) -> bool:
        # Next may wait for the availability check: its answer then moves on by itself.
        return self._loaded and not set(self._jobs) - {"availability"}

    def commit(self) -> bool:
        listing = self.query_one(BucketList)
        chosen = listing.highlighted_id
        if chosen is None:
            return self.refuse("Choose a bucket, or Create a new bucket.")
        prefix = self.query_one("#prefix", Input)
        problem = prefix_problem(prefix.value)
        if problem:
            return self.refuse(problem, prefix)
        sources = self.query_one("#sources", Input)
        problem = source_accounts_problem(sources.value)
        if problem:
            self.show_problem("#sources-problem", problem)
            return self.refuse(problem, sources)
        state = self.state
        state.source_accounts = parse_source_accounts(sources.value)
        if chosen == CREATE_ID:
            name = self.query_one("#bucket-name", Input)
            problem, _ = self._name_problem()
            if problem:
                self._show_name_problem()
                return self.refuse(problem, name)
            if name.value not in self._availability:
                # Next waits for the check; its answer moves on (or explains why not).
                self._next_pending = True
                if self._timer is not None:
                    self._timer.stop()
                    self._timer = None
                if self._checking != name.value or "availability" not in self._jobs:
                    self._checking = name.value
                    self.busy("availability", f"Checking whether {name.value} is free...")
                    self.check_availability(name.value)
                return False
            state.bucket = name.value
            state.create_bucket = True
        else:
            state.bucket = chosen.removeprefix(BUCKET_PREFIX)
            state.create_bucket = False
        state.prefix = prefix.value
        return True
