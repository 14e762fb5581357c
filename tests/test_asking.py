"""The terminal's questions (questionary over prompt_toolkit) as a narrow terminal shows them."""

from __future__ import annotations

import threading

from tests.test_plain import keyboard
from wizard.asking import TerminalAsker

REFUSAL = (
    "The prefix must not have a '..' folder: S3 keeps it as a name, while paths, consoles "
    "and tools read it as a relative folder."
)


def test_a_refusal_longer_than_the_terminal_is_shown_whole() -> None:
    """Found from outside: prompt_toolkit's one-line toolbar cut a refusal at the terminal's
    width ("...read it as a relative fol")."""
    with keyboard(columns=40) as terminal:

        def correct_once_refused() -> None:
            terminal.screen.wait_for("The prefix must not")
            terminal.type("\x15ok\r")  # Ctrl+U, then a prefix that is fine

        fixer = threading.Thread(target=correct_once_refused, daemon=True)
        terminal.type("a/../b\r")
        fixer.start()
        answer = TerminalAsker().text("Prefix:", "", lambda text: REFUSAL if ".." in text else None)
        fixer.join()
    assert answer == "ok"
    shown = "".join(terminal.screen.text.replace("\r \r\n", "").split())
    assert "".join(REFUSAL.split()) in shown, terminal.screen.text
