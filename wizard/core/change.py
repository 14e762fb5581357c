"""A change (one write to the account, with its documents before and after) and a plan
(the changes in order, and what stops them): the leaf the planner, the renderers and the
AWS layer share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from wizard.core.state import Choices


class Action(str, Enum):
    CREATE_KEY = "CreateKey"
    ENABLE_KEY_ROTATION = "EnableKeyRotation"
    CREATE_ALIAS = "CreateAlias"
    PUT_KEY_POLICY = "PutKeyPolicy"
    CREATE_BUCKET = "CreateBucket"
    PUT_PUBLIC_ACCESS_BLOCK = "PutPublicAccessBlock"
    PUT_OWNERSHIP_CONTROLS = "PutBucketOwnershipControls"
    PUT_BUCKET_ENCRYPTION = "PutBucketEncryption"
    PUT_BUCKET_POLICY = "PutBucketPolicy"


@dataclass(frozen=True)
class Change:
    action: Action
    target: str  # what is changed, for people: "s3://BUCKET" or "KMS key alias/x (arn...)"
    summary: str  # one line, plain words
    before: str | None  # canonical JSON of the document before (None: absent / nothing)
    after: str | None  # canonical JSON after
    diff: str  # unified diff of before -> after
    params: Mapping[str, str]  # what apply needs besides documents
    notes: tuple[str, ...] = ()  # why the change is written the way it is (shown by the diff)
    # A policy's text as AWS returned it (written back as it was by undo), and the text to
    # send (the document's own key and statement order, compact): ``before``/``after`` are
    # canonical forms, for comparing and diffing only.
    before_text: str | None = None
    after_text: str | None = None


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    blockers: tuple[str, ...] = ()  # why the plan cannot make the destination work by itself
    choices: Choices | None = None  # what the plan was built for (apply checks its result)

    @property
    def empty(self) -> bool:
        return not self.changes
