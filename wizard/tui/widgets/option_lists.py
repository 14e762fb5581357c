"""The lists the user picks from: keys, buckets, regions, log groups.

A single click only highlights (mouse users confirm with Next); Enter or a double click
selects, which the screens treat as "take this and go on".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.css.query import NoMatches
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets.input import Selection
from textual.widgets.option_list import Option, OptionDoesNotExist

from wizard.core.text import visible
from wizard.tui.styles import MUTED

if TYPE_CHECKING:
    from wizard.aws.inventory import KeyOption, LogGroupSummary
    from wizard.flow import BucketHealth, BucketOption

CREATE_ID = "create"
KEY_PREFIX = "key:"
BUCKET_PREFIX = "bucket:"
GROUP_PREFIX = "group:"
OTHERS_ID = "other-regions"
OTHERS_LISTED = 10  # up to this many other-region buckets are listed one by one


class Row(Visual):
    """A list row: Content that knows it is one line high when it fits.

    OptionList measures every option's height (by wrapping its text) whenever its options
    change: at 1,000 rows that takes a quarter of a second. A row that fits the width is one
    line, found from its length alone; a longer one (a long reason) still wraps as before.
    """

    def __init__(self, content: Content) -> None:
        self.content = content
        self._one_line = "\n" not in content.plain

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        return self.content.render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_minimal_width(self, rules: RulesMap) -> int:
        return self.content.get_minimal_width(rules)

    def get_height(self, rules: RulesMap, width: int) -> int:
        pad = int(rules.get("line_pad", 0)) * 2
        if self._one_line and self.content.cell_length <= width - pad:
            return 1
        return self.content.get_height(rules, width)


class ChoiceList(OptionList):
    """An OptionList whose single click highlights and whose double click selects."""

    DEFAULT_CSS = """
    ChoiceList {
        height: auto;
        max-height: 100%;
    }
    """

    # Priority bindings run as the App takes each key, in the order they were typed; the
    # list's own (non-priority) ones would run only when the key has bubbled back to the App,
    # after the keys typed behind it were dispatched to whatever had the focus then. So Enter
    # on "Create a new ..." moves the focus to the field before a fast typist's next key is
    # dispatched, and the key lands in the field.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(binding.key, binding.action, binding.description, show=False, priority=True)
        for binding in OptionList.BINDINGS
        if isinstance(binding, Binding)
    ]

    # The field "Create a new ..." leads to (a selector on the screen), if any.
    create_field: str | None = None

    def _create_field(self) -> Widget | None:
        if not self.create_field or self.highlighted_id != CREATE_ID:
            return None
        try:
            return self.screen.query_one(self.create_field)
        except NoMatches:
            return None

    def action_select(self) -> None:
        field = self._create_field()
        if field is not None:
            field.disabled = False
            self.screen.set_focus(field)  # now, not after the OptionSelected message
            if isinstance(field, Input):
                # As its Focus event would (select on focus), but now: what is typed next
                # replaces the suggested name, however soon it comes.
                field.selection = Selection(0, len(field.value))
        super().action_select()

    async def _on_click(self, event: events.Click) -> None:
        index = event.style.meta.get("option")
        if index is None or self.options[index].disabled:
            return
        self.highlighted = index
        if event.chain >= 2:
            self.action_select()

    @property
    def highlighted_id(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None else None

    def highlight_id(self, option_id: str | None) -> bool:
        """Highlight the option with this id when it exists and is enabled."""
        if option_id is None:
            return False
        try:
            index = self.get_option_index(option_id)
        except OptionDoesNotExist:
            return False
        if self.options[index].disabled:
            return False
        self.highlighted = index
        return True


def _pad(text: str, width: int) -> str:
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)


# Keys -------------------------------------------------------------------------------------


def key_name(option: KeyOption) -> str:
    key = option.key
    name = key.display_name
    if len(key.aliases) > 1:
        name += f" (+{len(key.aliases) - 1})"
    return name


def rotation_text(rotation: bool | None, read: bool) -> str:
    """The rotation column: on, off, "…" while it is being read, "?" when it could not be."""
    if rotation is None:
        return "rotation ?" if read else "rotation …"
    return "rotation on" if rotation else "rotation off"


def key_prompt(option: KeyOption, name_width: int, rotation_read: bool = False) -> Content:
    key = option.key
    name = _pad(visible(key_name(option)), name_width)
    if not option.usable:
        return Content.assemble(
            name, "  ", visible(f"not usable: {option.reason or 'unknown reason'}")
        )
    key_id = key.key_id or ""
    # Named by alias: the id's start tells keys apart; named by id: it is in the name already.
    short_id = "" if not key.aliases else f"{key_id[:8]}…" if len(key_id) > 9 else key_id
    return Content.assemble(
        (name, "bold"),
        "  ",
        (_pad(visible(key.state or "?"), 9), "$text-success" if key.state == "Enabled" else ""),
        _pad(rotation_text(key.rotation_enabled, rotation_read), 14),
        (short_id, MUTED),
    )


class KeyList(ChoiceList):
    """Customer managed keys; unusable ones greyed with the reason; "Create a new key" first.

    Rows come in batches while the keys are described (``add_keys``), then all at once in
    their final order (``show_keys``); the rotation column fills in last (``set_rotation``).
    """

    create_field = "#alias"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._width = 12
        self._shown: dict[str, KeyOption] = {}  # row id -> the key it shows
        self._rotation: dict[str, bool | None] = {}  # key id -> rotation, once read

    @staticmethod
    def _row_id(option: KeyOption) -> str:
        return KEY_PREFIX + (option.key.arn or option.key.reference)

    def _prompt(self, option: KeyOption) -> Row:
        key_id = option.key.key_id or ""
        read = key_id in self._rotation
        if read:
            key = replace(option.key, rotation_enabled=self._rotation[key_id])
            option = replace(option, key=key)
        return Row(key_prompt(option, self._width, rotation_read=read))

    def _rows(
        self,
        options: Iterable[KeyOption],
        kept: Mapping[str | None, Option] | None = None,
        shown_before: Mapping[str, KeyOption] | None = None,
    ) -> list[Option]:
        """Rows for the keys not shown yet; a ``kept`` row is reused where it showed the
        same key before (``shown_before``)."""
        kept, shown_before = kept or {}, shown_before or {}
        rows: list[Option] = []
        for option in options:
            option_id = self._row_id(option)
            if option_id in self._shown:
                continue
            self._shown[option_id] = option
            row = kept.get(option_id) if shown_before.get(option_id) == option else None
            rows.append(
                row or Option(self._prompt(option), id=option_id, disabled=not option.usable)
            )
        return rows

    def show_keys(self, options: Sequence[KeyOption]) -> None:
        """All the keys, at once (one re-layout), in their order.

        A row already showing the same key in the same column width is kept as it is: the
        sorted list that replaces the batches of a 1,000-key listing builds no row again.
        """
        width = min(32, max([len(key_name(o)) for o in options] + [12]))
        kept: dict[str | None, Option] = {}
        if width == self._width:
            kept = {option.id: option for option in self.options}
        self._width = width
        shown_before, self._shown = self._shown, {}
        items = [
            kept.get(CREATE_ID)
            or Option(Content.styled("+ Create a new key", "bold"), id=CREATE_ID)
        ]
        items += self._rows(options, kept, shown_before)
        current = self.highlighted_id
        self.set_options(items)
        if not self.highlight_id(current):
            self.highlighted = 0

    def add_keys(self, options: Sequence[KeyOption]) -> None:
        """A batch of keys while they load: new keys appended, keys sent again (now with
        their aliases) re-drawn in place; the other rows stay as they are.

        The name column takes its width from the first batch; ``show_keys`` realigns it.
        """
        if not self.option_count:
            self.show_keys(options)
            return
        for option in options:
            option_id = self._row_id(option)
            if option_id in self._shown:
                self._shown[option_id] = option
                self.replace_option_prompt(option_id, self._prompt(option))
        self.add_options(self._rows(options))

    def set_rotation(self, rotation: Mapping[str, bool | None]) -> None:
        """Rotation statuses that arrived (key id -> on/off/unreadable): only their rows."""
        self._rotation.update(rotation)
        for option_id, option in self._shown.items():
            if option.key.key_id in rotation:
                with contextlib.suppress(OptionDoesNotExist):
                    self.replace_option_prompt(option_id, self._prompt(option))


# Buckets ----------------------------------------------------------------------------------


def health_badge(health: BucketHealth | None, width: int = 24) -> Content:
    """The bucket's encryption (padded to ``width``) and the doctor's verdict."""
    if health is None:
        return Content.styled("… checking", MUTED)
    encryption = visible(health.encryption).ljust(width)
    if health.healthy:
        return Content.assemble(encryption, "  ", ("✓ ready", "$text-success"))
    style = "$text-error" if health.blockers else "$text-warning"
    return Content.assemble(encryption, "  ", (visible(f"✗ {health.verdict}"), style))


def bucket_prompt(
    option: BucketOption, width: int, health: BucketHealth | None, encryption_width: int = 24
) -> Content:
    name = _pad(visible(option.name), width)
    if not option.usable:
        return Content.assemble(name, "  ", visible(option.reason or "not usable"))
    return Content.assemble((name, "bold"), "  ", health_badge(health, encryption_width))


def others_prompt(others: Sequence[BucketOption], region: str) -> Content:
    """One line for many buckets of other regions."""
    return Content(
        f"{len(others):,} buckets in other regions (not usable: exports need a bucket in {region})"
    )


class BucketList(ChoiceList):
    """ "Create a new bucket" first, the region's buckets with a health badge, then the rest.

    The rest (other regions) come later (``show_others``): one by one when they are few,
    else as one line. A health badge changes only its own row (``set_health``).
    """

    create_field = "#bucket-name"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._buckets: dict[str, BucketOption] = {}
        self._health: dict[str, BucketHealth] = {}
        self._width = 20
        self._encryption_width = 12

    def _prompt(self, bucket: BucketOption) -> Row:
        return Row(
            bucket_prompt(
                bucket, self._width, self._health.get(bucket.name), self._encryption_width
            )
        )

    def show_buckets(self, buckets: Sequence[BucketOption]) -> None:
        """The region's buckets (and any others given), replacing the list."""
        self._buckets = {b.name: b for b in buckets}
        self._width = min(40, max([len(b.name) for b in buckets] + [20]))
        items: list[Option] = [
            Option(Content.styled("+ Create a new bucket", "bold"), id=CREATE_ID)
        ]
        items += [
            Option(self._prompt(b), id=BUCKET_PREFIX + b.name, disabled=not b.usable)
            for b in buckets
        ]
        current = self.highlighted_id
        self.set_options(items)
        if not self.highlight_id(current):
            self.highlighted = 0

    def show_others(self, others: Sequence[BucketOption], region: str) -> None:
        """The other regions' buckets, after the region's: listed when few, else one line."""
        others = [b for b in others if b.name not in self._buckets]
        if not others:
            return
        if len(others) <= OTHERS_LISTED:
            for bucket in others:
                self._buckets[bucket.name] = bucket
            self.add_options(
                Option(self._prompt(b), id=BUCKET_PREFIX + b.name, disabled=True) for b in others
            )
        else:
            with contextlib.suppress(OptionDoesNotExist):
                self.remove_option(OTHERS_ID)
            self.add_option(Option(Row(others_prompt(others, region)), id=OTHERS_ID, disabled=True))

    def health_of(self, name: str) -> BucketHealth | None:
        return self._health.get(name)

    def set_health(self, results: Mapping[str, BucketHealth]) -> None:
        """Badges that arrived (in a batch): only rows with a badge change."""
        self._health.update(results)
        widest = max([len(h.encryption) for h in results.values()] + [0])
        wider = widest > self._encryption_width
        self._encryption_width = max(self._encryption_width, widest)
        # A wider encryption column re-aligns the rows with a badge ("checking" has none).
        names = set(self._health) if wider else set(results)
        for name in names:
            bucket = self._buckets.get(name)
            if bucket is not None and bucket.usable:
                with contextlib.suppress(OptionDoesNotExist):
                    self.replace_option_prompt(BUCKET_PREFIX + name, self._prompt(bucket))


# Log groups -------------------------------------------------------------------------------


def human_size(size: int | None) -> str:
    if size is None:
        return ""  # not said (a filtered listing)
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def ago(ms: int, now_ms: int) -> str:
    seconds = max(0, (now_ms - ms) // 1000)
    if seconds < 90:
        return "just now"
    minutes = seconds // 60
    if minutes < 90:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


def group_age(group: LogGroupSummary, now_ms: int) -> str:
    if group.last_event_ms is not None:
        return f"last event {ago(group.last_event_ms, now_ms)}"
    return f"created {ago(group.created_ms, now_ms)}"


class LogGroupList(ChoiceList):
    def show_groups(self, groups: Sequence[LogGroupSummary], now_ms: int) -> None:
        width = min(44, max([len(g.name) for g in groups] + [16]))
        items = [
            Option(
                Content.assemble(
                    (_pad(visible(group.name), width), "bold"),
                    "  ",
                    _pad(group_age(group, now_ms), 24),
                    (human_size(group.stored_bytes), MUTED),
                ),
                id=GROUP_PREFIX + group.name,
            )
            for group in groups
        ]
        current = self.highlighted_id
        self.set_options(items)
        if items and not self.highlight_id(current):
            self.highlighted = 0
