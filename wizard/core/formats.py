"""The formats a plan is given out in: shown, as a script, or as code (``plan --format``)."""

from __future__ import annotations

from wizard.core.strenum import StrEnum


class PlanFormat(StrEnum):
    TEXT = "text"  # the plan for a person (the default)
    JSON = "json"  # the plan as JSON (= --json)
    CLI = "cli"  # a runnable AWS CLI script
    TERRAFORM = "terraform"  # HCL with import blocks
    CLOUDFORMATION = "cloudformation"  # YAML, with a resource import where needed
    DOCUMENTS = "documents"  # each document the plan writes, as JSON


# The infrastructure-as-code formats (core/iac.py writes them).
CODE_FORMATS = (PlanFormat.TERRAFORM, PlanFormat.CLOUDFORMATION, PlanFormat.DOCUMENTS)
