"""The Textual face: ``cwl-export-wizard`` without a subcommand."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.launch import LaunchOptions


def run(options: LaunchOptions) -> int:
    """Run the wizard's TUI until the user quits; the exit code (see wizard.core.errors)."""
    from wizard.tui.app import WizardApp

    app = WizardApp(options)
    try:
        result = app.run()
    finally:
        # After app.run() the worker threads have finished, so none still talks to it.
        app.stop_sandbox()
    # The screen is gone: leave what happened (changes, journal, undo, export) on the terminal,
    # painted like plain mode's (AWS text in it, an object key holds a stream name, is shown
    # visibly, never obeyed).
    import os
    import sys

    from wizard.render import paint
    from wizard.terminal import supports_color

    colour = supports_color(sys.stdout, os.environ)
    for line in app.farewell_lines:
        print(paint(line, colour))
    if app.return_code not in (None, 0):
        return app.return_code
    return result if isinstance(result, int) else app.exit_code
