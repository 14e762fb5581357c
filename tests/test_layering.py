"""The functional core stays pure: importing it loads no AWS SDK, UI or sandbox code."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import wizard.core

FORBIDDEN = ("boto3", "botocore", "textual", "questionary", "moto", "prompt_toolkit", "rich")


def core_modules() -> list[str]:
    return sorted(
        f"wizard.core.{info.name}" for info in pkgutil.iter_modules(wizard.core.__path__)
    )


def test_core_has_modules() -> None:
    assert "wizard.core.policy" in core_modules()


def test_core_imports_no_sdk_or_ui() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(FORBIDDEN)!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
