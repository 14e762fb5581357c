"""Widgets of the wizard's TUI: step indicator, lists, findings, diffs, errors, loading."""

from wizard.tui.widgets.busy import BusyLine
from wizard.tui.widgets.diff_view import DiffView
from wizard.tui.widgets.error_panel import ErrorPanel
from wizard.tui.widgets.findings import FindingsList
from wizard.tui.widgets.step_indicator import StepIndicator

__all__ = ["BusyLine", "DiffView", "ErrorPanel", "FindingsList", "StepIndicator"]
