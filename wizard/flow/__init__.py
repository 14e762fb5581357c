"""The wizard itself: its steps and their order, its defaults, validators and policies, and
its result, shared by every face (the TUI, plain mode and the commands).

A face only asks and shows. It asks the flow what comes next (``next_step`` /
``previous_step``, pure), what to offer (defaults), whether an answer will do (the
``*_problem`` validators), and for data (``Flow`` methods, which may block on AWS: call
them from a worker thread); it hands the answers back in a ``WizardState``. The flow holds
no UI code and no policy logic of its own: it joins the AWS layer (what is there) with the
core (what it means and what to change).
"""

from __future__ import annotations

from wizard.flow.destination import PREPARED_SERVICES, DestinationFlow
from wizard.flow.export import (
    BUSY_RETRIES,
    PROPAGATION_FIRST_RETRY,
    PROPAGATION_MAX_RETRY,
    PROPAGATION_WAIT,
    BusyChoice,
    BusyRounds,
    ExportFlow,
    PropagationWait,
)
from wizard.flow.files import (
    CODE_FORMATS,
    CODE_TITLES,
    PROOF_SUFFIX,
    SavedCode,
    cli_header,
    code_context,
    code_files,
    code_next_steps,
    save_code,
    save_proof,
    save_script,
    script_name,
    write_new_files,
)
from wizard.flow.journals import UndoPreview, check_undo_account, undo_preview
from wizard.flow.results import (
    MAX_OBJECTS_SHOWN,
    BeforeAfter,
    ResultView,
    before_after,
    proof_commands,
    result_view,
    undo_command,
)
from wizard.flow.state import (
    CONFIRM_WORD,
    BucketHealth,
    BucketOption,
    Review,
    Step,
    Verified,
    WizardState,
    confirmed,
    next_step,
    previous_step,
    window_problem,
)

__all__ = [
    "BUSY_RETRIES",
    "CODE_FORMATS",
    "CODE_TITLES",
    "CONFIRM_WORD",
    "MAX_OBJECTS_SHOWN",
    "PREPARED_SERVICES",
    "PROOF_SUFFIX",
    "PROPAGATION_FIRST_RETRY",
    "PROPAGATION_MAX_RETRY",
    "PROPAGATION_WAIT",
    "BeforeAfter",
    "BucketHealth",
    "BucketOption",
    "BusyChoice",
    "BusyRounds",
    "DestinationFlow",
    "ExportFlow",
    "Flow",
    "PropagationWait",
    "ResultView",
    "Review",
    "SavedCode",
    "Step",
    "UndoPreview",
    "Verified",
    "WizardState",
    "before_after",
    "check_undo_account",
    "cli_header",
    "code_context",
    "code_files",
    "code_next_steps",
    "confirmed",
    "next_step",
    "previous_step",
    "proof_commands",
    "result_view",
    "save_code",
    "save_proof",
    "save_script",
    "script_name",
    "undo_command",
    "undo_preview",
    "window_problem",
    "write_new_files",
]


class Flow(ExportFlow):
    """One wizard run against one AWS session (real or the sandbox): the destination's steps
    (``wizard.flow.destination``), then the test export's (``wizard.flow.export``)."""
