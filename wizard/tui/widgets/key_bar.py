"""The bottom line of keys: Textual's Footer, drawn as one widget.

Footer re-composes on every bindings change (each step, and each time Next turns on or
off): a widget per key, mounted and styled, two style updates each. That was the largest
single share of a step change on the UI thread. This draws the same line as one Content,
and a click on a key presses it, as on Footer.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widgets import Static

KEY_STYLE = "bold $footer-key-foreground"
DESCRIPTION_STYLE = "$footer-description-foreground"


class KeyBar(Static):
    """The screen's shown bindings: key and description, dimmed where disabled."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.show_keys()

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen:
            self.show_keys()

    def show_keys(self) -> None:
        parts: list[Content] = []
        seen: set[str] = set()  # one key per action, the first bound, as Footer shows it
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            part = Content.assemble(
                (f" {self.app.get_key_display(binding)}", KEY_STYLE),
                (f" {binding.description} ", DESCRIPTION_STYLE),
            )
            if not enabled:
                part = part.stylize("dim")
            parts.append(part.stylize(Style.from_meta({"key": binding.key, "on": enabled})))
        self.update(Content("").join(parts))

    async def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "key" not in meta:
            return
        if meta.get("on"):
            self.app.simulate_key(meta["key"])
        else:
            self.app.bell()
