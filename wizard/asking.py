"""How plain mode asks: questionary prompts on a terminal, numbered lines otherwise.

A terminal gets questionary's select lists and validated text fields. Piped input (a CI job,
a script, ``yes |``) gets no prompt redraws: each question is written once, with numbered
choices, the answer is read as a line (a number, a value, or nothing for the default) and
echoed as one clean line, so the log reads top to bottom. When the answers run out,
``EndOfInput`` says so (plain mode exits with its own code).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from wizard.core.text import visible, visible_lines

MAX_LISTED = 100  # choices written out for piped input; the others are named by typing them


class EndOfInput(Exception):
    """The input ended before the wizard had every answer."""


@dataclass(frozen=True)
class Option:
    title: str
    value: str
    disabled: str | None = None  # why it cannot be chosen


Validator = Callable[[str], "str | None"]  # the problem with a text, or None


class Asker(Protocol):
    def select(self, question: str, options: Sequence[Option], default: str | None) -> str: ...

    def text(
        self,
        question: str,
        default: str,
        validate: Validator | None = None,
        *,
        check_while_typing: bool = True,
    ) -> str: ...

    def confirm(self, question: str, default: bool = False) -> bool: ...


class TerminalAsker:
    """questionary on the terminal; ``output``: where prompts are drawn when stdout is a file."""

    def __init__(self, output: Any = None) -> None:
        self._extra: dict[str, Any] = {} if output is None else {"output": output}

    def select(self, question: str, options: Sequence[Option], default: str | None) -> str:
        import questionary

        # Titles hold AWS text (key descriptions, bucket names): shown visibly, never obeyed.
        choices = [
            questionary.Choice(
                visible(o.title), o.value, disabled=visible(o.disabled) if o.disabled else None
            )
            for o in options
        ]
        answer: str = questionary.select(
            question, choices=choices, default=default, **self._extra
        ).unsafe_ask()
        return answer

    def text(
        self,
        question: str,
        default: str,
        validate: Validator | None = None,
        *,
        check_while_typing: bool = True,
    ) -> str:
        import questionary

        def check(text: str) -> bool | str:
            problem = validate(text) if validate is not None else None
            return True if problem is None else problem

        asked = questionary.text(
            question,
            default=default,
            validate=check,
            validate_while_typing=check_while_typing,
            **self._extra,
        )
        _wrap_validation_messages(asked.application)
        answer: str = asked.unsafe_ask()
        return answer

    def confirm(self, question: str, default: bool = False) -> bool:
        import questionary

        return bool(questionary.confirm(question, default=default, **self._extra).unsafe_ask())


def _wrap_validation_messages(application: Any) -> None:
    """prompt_toolkit shows a refusal in a toolbar one line high, cut at the terminal's width
    ("...read it as a relative fol"): let that toolbar wrap and grow to the whole message."""
    from prompt_toolkit.filters import to_filter
    from prompt_toolkit.layout import Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.layout.dimension import Dimension
    from prompt_toolkit.widgets.toolbars import ValidationToolbar

    made_by = ValidationToolbar.__init__.__code__
    for window in application.layout.find_all_windows():
        control = window.content
        text = getattr(control, "text", None) if isinstance(control, FormattedTextControl) else None
        code = getattr(text, "__code__", None)
        if isinstance(window, Window) and code is not None and code in made_by.co_consts:
            window.height = Dimension(min=1)
            window.wrap_lines = to_filter(True)


class LineAsker:
    """Questions as plain lines on ``output``, answers read as lines from ``source``."""

    def __init__(self, source: TextIO | None = None, output: TextIO | None = None) -> None:
        self._source = source
        self._output = output

    @property
    def source(self) -> TextIO:
        return self._source if self._source is not None else sys.stdin

    @property
    def output(self) -> TextIO:
        return self._output if self._output is not None else sys.stdout

    def _say(self, text: str) -> None:
        self.output.write(visible_lines(text) + "\n")  # AWS text in it is shown visibly
        self.output.flush()

    def _read(self) -> str:
        line = self.source.readline()
        if not line:
            raise EndOfInput
        return line.rstrip("\r\n")

    def select(self, question: str, options: Sequence[Option], default: str | None) -> str:
        usable = [o for o in options if o.disabled is None]
        self._say(f"? {question}")
        for number, option in enumerate(usable[:MAX_LISTED], 1):
            mark = " (default)" if option.value == default else ""
            self._say(f"  {number}. {option.title}{mark}")
        if len(usable) > MAX_LISTED:
            self._say(f"  ... and {len(usable) - MAX_LISTED} more: type one's name")
        while True:
            answer = self._read().strip()
            chosen = self._choose(answer, usable, default)
            if chosen is not None:
                title = next(o.title for o in usable if o.value == chosen)
                self._say(f"? {question} {title}")
                return chosen
            self._say(f"  ✗ {answer!r} is not one of the choices: give its number or its name.")

    @staticmethod
    def _choose(answer: str, usable: Sequence[Option], default: str | None) -> str | None:
        if not answer:
            return default if default is not None else (usable[0].value if usable else None)
        if answer.isascii() and answer.isdigit() and 1 <= int(answer) <= len(usable):
            return usable[int(answer) - 1].value
        for option in usable:
            if answer in (option.value, option.title):
                return option.value
        return None

    def text(
        self,
        question: str,
        default: str,
        validate: Validator | None = None,
        *,
        check_while_typing: bool = True,
    ) -> str:
        shown = f" [{default}]" if default else ""
        self._say(f"? {question}{shown}")
        while True:
            answer = self._read()
            value = answer if answer else default
            problem = validate(value) if validate is not None else None
            if problem is None:
                self._say(f"? {question} {value}")
                return value
            self._say(f"  ✗ {problem}")

    def confirm(self, question: str, default: bool = False) -> bool:
        self._say(f"? {question} (y/N)" if not default else f"? {question} (Y/n)")
        while True:
            answer = self._read().strip().lower()
            if not answer:
                value = default
            elif answer in ("y", "yes"):
                value = True
            elif answer in ("n", "no"):
                value = False
            else:
                self._say("  ✗ Answer y or n.")
                continue
            self._say(f"? {question} {'yes' if value else 'no'}")
            return value
