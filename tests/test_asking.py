"""The terminal's questions (questionary over prompt_toolkit) as a narrow terminal shows them."""

from __future__ import annotations

import threading

from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from tests.test_plain import Screen
from wizard.asking import TerminalAsker

REFUSAL = (
    "The prefix must not have a '..' folder: S3 keeps it as a name, while paths, consoles "
    "and tools read it as a relative folder."
)


def test_a_refusal_longer_than_the_terminal_is_shown_whole() -> None:
    """Found from outside: prompt_toolkit's one-line toolbar cut a refusal at the terminal's
    width ("...read it as a relative fol")."""
    screen = Screen()
    with create_pipe_input() as pipe:
        output = Vt100_Output(
            screen,  # type: ignore[arg-type]
            lambda: Size(rows=20, columns=40),
            term="xterm",
            enable_cpr=False,
        )

        def correct_once_refused() -> None:
            screen.wait_for("The prefix must not")
            pipe.send_text("\x15ok\r")  # Ctrl+U, then a prefix that is fine

        fixer = threading.Thread(target=correct_once_refused, daemon=True)
        with create_app_session(input=pipe, output=output):
            pipe.send_text("a/../b\r")
            fixer.start()
            answer = TerminalAsker().text(
                "Prefix:", "", lambda text: REFUSAL if ".." in text else None
            )
        fixer.join()
    assert answer == "ok"
    shown = "".join(screen.text.replace("\r \r\n", "").split())
    assert "".join(REFUSAL.split()) in shown, screen.text
