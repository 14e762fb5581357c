"""Plain mode's questionary prompts (through prompt_toolkit's pipe input) with AWS text in
their choices: a key's alias, a bucket's reason, drawn visibly, never obeyed."""

from __future__ import annotations

from tests.hostile import CORPUS
from tests.test_plain import ENTER, keyboard
from wizard.asking import Option, TerminalAsker
from wizard.core.text import visible


def test_select_titles_from_aws_are_drawn_visibly() -> None:
    title = CORPUS[1] + CORPUS[11]  # an OSC title sequence, a right-to-left override
    options = [Option(title, "hostile"), Option("plain", "plain", disabled=CORPUS[0])]
    with keyboard() as kb:
        kb.type(ENTER)
        chosen = TerminalAsker().select("KMS key that encrypts the exported logs:", options, None)
        drawn = kb.screen.text  # what reached the terminal, colour codes removed
        raw = "".join(kb.screen._parts)
    assert chosen == "hostile"
    assert visible(title) in drawn
    assert "\x1b]0;PWNED" not in raw and "\x1b[2J done" not in raw and "\u202e" not in raw
