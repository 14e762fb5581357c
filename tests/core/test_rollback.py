"""The rollback judge (wizard.core.rollback), without an account: what one reading means.

A target is put back only when it holds exactly what the apply wrote; anything else someone
changed since (a foreign statement that reuses a wizard Sid too) is left as it is and named;
a step the journal says was put back already is never written again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.core.test_plan import BUCKET, bucket, choose, doc, healthy_key, snap
from wizard.core import requirements as req
from wizard.core import rollback as judge
from wizard.core.change import Action, Change
from wizard.core.outcomes import Outcome, StepStatus
from wizard.core.plan import build
from wizard.core.policy import canonical_json

WHAT = f"the bucket policy of s3://{BUCKET}"
LATER = judge.Later("/j/apply-2.json", "apply-2.json", "2026-01-02T03:04:05Z")
READERS = {
    "Sid": "Readers",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/*",
}


def bucket_policy_change() -> Change:
    """A real change the planner makes: the wizard's statements added beside a foreign one."""
    plan = build(snap(bucket(doc(READERS)), healthy_key()), choose())
    [change] = [c for c in plan.changes if c.action is Action.PUT_BUCKET_POLICY]
    assert change.before is not None and change.after is not None
    return change


def with_statements(text: str | None, *extra: dict[str, Any]) -> str:
    assert text is not None
    body = json.loads(text)
    return canonical_json({**body, "Statement": [*body["Statement"], *extra]})


def replaced(text: str | None, sid: str, statement: dict[str, Any]) -> str:
    """The document with the statement of ``sid`` swapped for ``statement``."""
    assert text is not None
    body = json.loads(text)
    swapped = [statement if s.get("Sid") == sid else s for s in body["Statement"]]
    assert swapped != body["Statement"]
    return canonical_json({**body, "Statement": swapped})


def foreign_deny(sid: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }


# --- a document the apply changed ------------------------------------------------------------


def test_live_as_the_apply_left_it_is_put_back() -> None:
    change = bucket_policy_change()
    decision = judge.document(WHAT, change.before, change.after, change.after, None)
    assert decision == judge.PutBack()


def test_live_as_before_needs_nothing() -> None:
    change = bucket_policy_change()
    decision = judge.document(WHAT, change.before, change.after, change.before, None)
    assert decision == judge.Verdict(Outcome.AS_BEFORE, f"{WHAT} is as it was before")


def test_a_configuration_that_did_not_exist_before_and_is_gone_needs_nothing() -> None:
    decision = judge.document(WHAT, None, '{"a": 1}', None, None)
    assert isinstance(decision, judge.Verdict) and decision.outcome is Outcome.AS_BEFORE


def test_live_changed_since_is_left_as_it_is_with_the_command_to_restore() -> None:
    change = bucket_policy_change()
    live = with_statements(change.after, {**READERS, "Sid": "AddedByHand"})
    decision = judge.document(WHAT, change.before, change.after, live, None)
    assert isinstance(decision, judge.Verdict)
    assert decision.outcome is Outcome.LEFT_CHANGED
    assert decision.outcome.remains
    assert decision.manual is judge.Manual.RESTORE
    assert "was changed by someone else after the apply; it was left as it is" in (decision.message)


@pytest.mark.parametrize("sid", [req.SID_PUT_OBJECT, req.SID_GET_BUCKET_ACL])
def test_a_foreign_statement_that_reuses_a_wizard_sid_is_never_put_back(sid: str) -> None:
    """Same Sids as the apply wrote, other content: someone else's, so nothing is written."""
    change = bucket_policy_change()
    for live in (
        replaced(change.after, sid, foreign_deny(sid)),  # the wizard's grant swapped for a Deny
        with_statements(change.after, foreign_deny(sid)),  # a Deny added under the same Sid
    ):
        decision = judge.document(WHAT, change.before, change.after, live, None)
        assert isinstance(decision, judge.Verdict), live
        assert decision.outcome is Outcome.LEFT_CHANGED
        assert decision.manual is judge.Manual.RESTORE


def test_a_later_apply_that_wrote_the_target_keeps_it_whatever_it_holds() -> None:
    change = bucket_policy_change()
    for live in (change.after, with_statements(change.after, foreign_deny("X"))):
        decision = judge.document(WHAT, change.before, change.after, live, LATER)
        assert decision == judge.Verdict(
            Outcome.LEFT_CHANGED,
            f"{WHAT} was written again by a later apply (apply-2.json, 2026-01-02T03:04:05Z); "
            "it was left as it is. Undo that apply first, then this one",
            judge.Manual.UNDO_LATER,
            LATER,
        )


def test_a_step_without_an_after_is_never_put_back() -> None:
    decision = judge.document(WHAT, '{"a": 1}', None, None, None)
    assert isinstance(decision, judge.Verdict) and decision.outcome is Outcome.LEFT_CHANGED


def test_an_unreadable_target_fails_and_says_why() -> None:
    change = bucket_policy_change()
    live = judge.Unreadable("AccessDenied")
    decision = judge.document(WHAT, change.before, change.after, live, None)
    assert decision == judge.Verdict(
        Outcome.FAILED, f"could not read {WHAT}: AccessDenied", judge.Manual.RESTORE
    )


def test_restored_only_when_the_account_reads_as_before_again() -> None:
    change = bucket_policy_change()
    ok = judge.document_put_back(WHAT, change.before, change.before, "restored it")
    assert ok == judge.Verdict(Outcome.RESTORED, "restored it")
    for again in (change.after, judge.Unreadable("Throttling")):
        verdict = judge.document_put_back(WHAT, change.before, again, "restored it")
        assert verdict.outcome is Outcome.FAILED
        assert verdict.manual is judge.Manual.RESTORE


# --- a step the journal says was put back already ----------------------------------------------


def already(live: judge.Live, later: judge.Later | None = None) -> judge.Verdict:
    change = bucket_policy_change()
    return judge.already_put_back(
        WHAT, creates=False, before=change.before, after=change.after, live=live, later=later
    )


def test_already_put_back_and_as_before_is_nothing_to_do() -> None:
    verdict = already(bucket_policy_change().before)
    assert verdict == judge.Verdict(Outcome.AS_BEFORE, f"{WHAT} is as it was before")
    assert not verdict.outcome.remains


def test_already_put_back_then_changed_is_done_and_left_alone() -> None:
    live = with_statements(bucket_policy_change().after, foreign_deny(req.SID_PUT_OBJECT))
    verdict = already(live)
    assert verdict.outcome is Outcome.ALREADY_PUT_BACK
    assert verdict.message == (
        f"{WHAT} had already been put back; it has changed since, and is left as it is"
    )
    assert not verdict.outcome.remains


def test_already_put_back_but_holding_the_apply_s_document_is_never_written_again() -> None:
    after = bucket_policy_change().after
    alone = already(after)
    assert alone.outcome is Outcome.LEFT_CHANGED  # journal and account disagree: say so
    assert alone.manual is judge.Manual.RESTORE
    assert alone.message.startswith(f"the journal says {WHAT} was put back, but it holds")
    by_later = already(after, LATER)  # a later apply wrote the same again: that one's
    assert by_later.outcome is Outcome.ALREADY_PUT_BACK
    assert by_later.message.endswith(
        "; it was written again since by the later apply apply-2.json, which is kept"
    )


def test_already_put_back_and_unreadable_trusts_the_journal() -> None:
    verdict = already(judge.Unreadable("AccessDenied"))
    assert verdict.outcome is Outcome.ALREADY_PUT_BACK


def test_already_put_back_create_is_done() -> None:
    verdict = judge.already_put_back(
        "the new key", creates=True, before=None, after="{}", live=None, later=None
    )
    assert verdict == judge.Verdict(
        Outcome.ALREADY_PUT_BACK, "the new key had already been put back"
    )


# --- what the apply created ---------------------------------------------------------------


def test_an_empty_unused_bucket_is_deleted_and_one_with_data_is_kept() -> None:
    empty = judge.BucketFacts(exists=True, objects=0)
    assert judge.bucket(BUCKET, empty, None, None) == judge.PutBack()
    full = judge.bucket(BUCKET, judge.BucketFacts(exists=True, objects=3), None, None)
    assert isinstance(full, judge.Verdict) and full.outcome is Outcome.KEPT
    assert full.manual is judge.Manual.EMPTY_AND_DELETE_BUCKET
    gone = judge.bucket(BUCKET, judge.BucketFacts(exists=False), None, None)
    assert gone == judge.Verdict(Outcome.AS_BEFORE, f"s3://{BUCKET} does not exist")
    kept = judge.bucket(BUCKET, empty, "a reason", None)
    assert kept == judge.Verdict(
        Outcome.KEPT, f"kept the new bucket s3://{BUCKET}: a reason", judge.Manual.DELETE_BUCKET
    )
    used = judge.bucket(BUCKET, empty, None, LATER)
    assert isinstance(used, judge.Verdict) and used.outcome is Outcome.KEPT
    assert used.manual is judge.Manual.UNDO_LATER and used.later == LATER
    unreadable = judge.bucket(BUCKET, judge.Unreadable("Timeout"), None, None)
    assert isinstance(unreadable, judge.Verdict) and unreadable.outcome is Outcome.FAILED


def test_a_bucket_is_restored_only_when_it_is_gone() -> None:
    assert judge.bucket_deleted(BUCKET, True).outcome is Outcome.RESTORED
    assert judge.bucket_deleted(BUCKET, False).outcome is Outcome.FAILED
    assert judge.bucket_deleted(BUCKET, judge.Unreadable("x")).outcome is Outcome.FAILED


def test_an_alias_is_deleted_only_when_it_names_the_key_this_apply_created() -> None:
    alias = "alias/demo"
    assert judge.alias(alias, "new-key", "new-key", None) == judge.PutBack()
    moved = judge.alias(alias, "other-key", "new-key", None)
    assert isinstance(moved, judge.Verdict) and moved.outcome is Outcome.LEFT_CHANGED
    no_key = judge.alias(alias, "other-key", None, None)
    assert isinstance(no_key, judge.Verdict) and no_key.outcome is Outcome.LEFT_CHANGED
    assert judge.alias(alias, None, "new-key", None) == judge.Verdict(
        Outcome.AS_BEFORE, f"the alias {alias} does not exist"
    )
    kept = judge.alias(alias, "new-key", "new-key", judge.alias_kept_for("the key is used"))
    assert kept == judge.Verdict(
        Outcome.KEPT,
        f"kept the alias {alias}: it names the new key, which is kept (the key is used)",
        judge.Manual.DELETE_ALIAS,
    )
    assert judge.alias_kept_for(None) is None


@dataclass(frozen=True)
class Key:
    key_id: str = "new-key"
    arn: str = "arn:aws:kms:r:1:key/new-key"
    state: str = "Enabled"


def test_a_new_key_is_scheduled_for_deletion_only_when_nothing_keeps_it() -> None:
    assert judge.new_key(Key(), None) == judge.PutBack()
    assert judge.new_key(None, None) == judge.Verdict(Outcome.AS_BEFORE, "no key was created")
    pending = judge.new_key(Key(state="PendingDeletion"), None)
    assert isinstance(pending, judge.Verdict) and pending.outcome is Outcome.AS_BEFORE
    kept = judge.new_key(Key(), "a bucket uses it")
    assert isinstance(kept, judge.Verdict) and kept.outcome is Outcome.KEPT
    assert kept.manual is judge.Manual.DELETE_KEY
    lost = judge.new_key(judge.Unreadable("x"), None)
    assert isinstance(lost, judge.Verdict) and lost.manual is judge.Manual.FIND_AND_DELETE_KEY
    done = judge.key_scheduled(Key(), None, 7)
    assert done.outcome is Outcome.RESTORED and "in 7 days" in done.message
    assert judge.key_scheduled(Key(), judge.Unreadable("x"), 7).outcome is Outcome.FAILED


def test_kept_for_names_what_was_left_in_place() -> None:
    assert judge.kept_for([]) is None
    assert judge.kept_for(["a", "b"]) == (
        "what this apply changed and was left in place may still use it (a; b)"
    )


# --- the journal's side ---------------------------------------------------------------------


def test_a_setting_shares_its_created_parent_s_fate() -> None:
    gone = judge.part_of("its encryption", Outcome.RESTORED, "s3://b")
    assert gone == judge.Verdict(Outcome.WITH_PARENT, "its encryption went with it")
    for parent in (Outcome.KEPT, Outcome.FAILED, None):
        stays = judge.part_of("its encryption", parent, "s3://b")
        assert stays.outcome is Outcome.STAYS_WITH_PARENT
        assert stays.message == "its encryption stays with it (s3://b was kept)"


def test_what_the_journal_records_for_each_outcome() -> None:
    for outcome in Outcome:
        stays = outcome.remains or outcome is Outcome.STAYS_WITH_PARENT
        expected = StepStatus.NOT_ROLLED_BACK if stays else StepStatus.ROLLED_BACK
        assert judge.status_after(outcome) is expected
    assert judge.status_after(Outcome.ALREADY_PUT_BACK) is StepStatus.ROLLED_BACK
    assert judge.status_after(Outcome.LEFT_CHANGED) is StepStatus.NOT_ROLLED_BACK


def test_which_later_steps_still_hold_their_change() -> None:
    holding = {s for s in StepStatus if judge.holds(s, uncertain=False)}
    assert holding == {
        StepStatus.APPLIED,
        StepStatus.IN_FLIGHT,
        StepStatus.ROLLING_BACK,
        StepStatus.NOT_ROLLED_BACK,
    }
    assert judge.holds(StepStatus.FAILED, uncertain=True)
    assert not judge.holds(StepStatus.ROLLED_BACK, uncertain=True)


def test_a_damaged_entry_is_never_trusted() -> None:
    verdict = judge.damaged("its documents are not JSON", "s3://b")
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message.endswith("; s3://b was left as it is")


def test_a_new_key_stays_while_data_may_be_encrypted_with_it() -> None:
    assert judge.key_used_by_bucket(BUCKET, 0) is None
    written = judge.key_used_by_bucket(BUCKET, 2)
    assert written is not None and "would be unreadable without it" in written
    unknown = judge.key_used_by_bucket(BUCKET, judge.Unreadable("AccessDenied"))
    assert unknown is not None and unknown.endswith("could not be read: AccessDenied")
    assert judge.key_used_by_later(LATER) == (
        "a later apply (apply-2.json) uses it; undo that apply first"
    )


@dataclass
class Entry:
    """A journal step as the judge reads it."""

    action: Action
    target: str
    params: dict[str, str]
    after: str | None = None


def test_a_target_a_later_journal_wrote_is_matched_across_journals() -> None:
    from wizard.core.actions import NEW_KEY_ARN

    arn = "arn:aws:kms:r:1:key/abc"
    mine = Entry(Action.PUT_KEY_POLICY, "key", {"key_id": NEW_KEY_ARN})
    theirs = Entry(Action.PUT_KEY_POLICY, "key", {"key_id": arn})
    assert judge.target_identity(mine, arn) == judge.target_identity(theirs)
    assert judge.target_identity(mine, None) != judge.target_identity(theirs)
    rotation = Entry(Action.ENABLE_KEY_ROTATION, "key", {"key_id": arn})
    assert judge.target_identity(rotation) != judge.target_identity(theirs)  # another setting
    policy = Entry(Action.PUT_BUCKET_POLICY, "b", {"bucket": BUCKET})
    assert judge.target_identity(policy) == ("PutBucketPolicy", BUCKET)


def test_a_later_apply_builds_on_a_bucket_or_key_when_it_names_them() -> None:
    later = Entry(Action.PUT_BUCKET_POLICY, "b", {"bucket": BUCKET}, '{"k": "alias/new"}')
    assert judge.builds_on(later, bucket=BUCKET)
    assert not judge.builds_on(later, bucket="other")
    assert judge.builds_on(later, key=("key-id", "alias/new"))  # named in its document
    assert not judge.builds_on(later, key=("key-id", ""))
    assert not judge.builds_on(later, key=("",))  # an empty name matches nothing
