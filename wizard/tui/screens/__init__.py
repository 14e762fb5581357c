"""One screen per step of ``wizard.flow.Step`` (each with its own .tcss), plus dialogs."""

from __future__ import annotations

from wizard.flow import Step
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.bucket import BucketScreen
from wizard.tui.screens.export import ExportScreen
from wizard.tui.screens.key import KeyScreen
from wizard.tui.screens.region import RegionScreen
from wizard.tui.screens.result import ResultScreen
from wizard.tui.screens.review import ReviewScreen

SCREENS: dict[Step, type[StepScreen]] = {
    Step.REGION: RegionScreen,
    Step.KEY: KeyScreen,
    Step.BUCKET: BucketScreen,
    Step.REVIEW: ReviewScreen,
    Step.APPLY: ApplyScreen,
    Step.EXPORT: ExportScreen,
    Step.RESULT: ResultScreen,
}

__all__ = ["SCREENS", "StepScreen"]
