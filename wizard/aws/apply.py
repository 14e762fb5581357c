"""Apply a core Plan: journal first, drift check before every write, rollback on failure.

The journal (JSON under ``$XDG_STATE_HOME/cwl-export-wizard/``) is written before the first
write and after every step, so ``undo`` knows exactly what was done, even after a crash.
Before each write the target is read again and compared with the change's ``before``: a
document someone changed since the preview is never overwritten.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard import __version__
from wizard.aws.session import AwsSession, aws_call, translate
from wizard.aws.snapshot import read_bucket, read_key
from wizard.core.plan import NEW_KEY_ARN, Action, Change, Plan, current_document
from wizard.core.policy import compact_json
from wizard.core.state import BucketState, KeyState
from wizard.errors import ApplyError, Cancelled, DriftError, UsageError, WizardError

JOURNAL_FORMAT = 1
KEY_DELETION_WINDOW_DAYS = 7  # the minimum KMS allows: the shortest way back
_NO_BUCKET = BucketState(name="", exists=False)

_BUCKET_DOCUMENT_NAMES: dict[Action, str] = {
    Action.PUT_PUBLIC_ACCESS_BLOCK: "public access block",
    Action.PUT_OWNERSHIP_CONTROLS: "object ownership setting",
    Action.PUT_BUCKET_ENCRYPTION: "default encryption",
    Action.PUT_BUCKET_POLICY: "bucket policy",
}


@dataclass(frozen=True)
class StepResult:
    change: Change
    status: str  # "applied" | "unchanged" | "failed" | "rolled back" | "not started"
    message: str


@dataclass(frozen=True)
class ApplyResult:
    journal_path: Path
    steps: tuple[StepResult, ...]
    key_arn: str | None


def default_journal_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cwl-export-wizard"


# --- the journal --------------------------------------------------------------------------


@dataclass
class _Journal:
    path: Path
    data: dict[str, Any]

    def save(self) -> None:
        """Atomically: a crash leaves the previous version, never half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    @property
    def steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self.data["changes"]
        return steps

    @classmethod
    def load(cls, path: Path) -> _Journal:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"No journal at {path}.", fix="Pass the path apply printed.") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path} is not a readable journal: {exc}") from None
        if not isinstance(data, dict) or data.get("tool") != "cwl-export-wizard":
            raise UsageError(f"{path} is not a cwl-export-wizard journal.")
        if not isinstance(data.get("changes"), list):
            raise UsageError(f"{path} has no list of changes.")
        return cls(path, data)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _new_journal(directory: Path, session: AwsSession, plan: Plan) -> _Journal:
    identity = session.identity()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"apply-{stamp}-{secrets.token_hex(3)}.json"
    data: dict[str, Any] = {
        "tool": "cwl-export-wizard",
        "format": JOURNAL_FORMAT,
        "version": __version__,
        "time": _now(),
        "account": identity.account,
        "identity": identity.arn,
        "partition": identity.partition,
        "region": session.region,
        "status": "started",
        "created": {},
        "changes": [
            {
                "index": i,
                "action": change.action.value,
                "target": change.target,
                "summary": change.summary,
                "params": dict(change.params),
                "before": change.before,
                "after": change.after,
                "status": "pending",
                "message": "",
            }
            for i, change in enumerate(plan.changes)
        ],
    }
    return _Journal(path, data)


# --- the steps ----------------------------------------------------------------------------


@dataclass
class _Context:
    session: AwsSession
    key_arn: str | None = None
    key_id: str | None = None
    created_bucket: str | None = None
    done: list[int] = field(default_factory=list)  # journal indexes applied, in order


def _resolve(text: str | None, key_arn: str | None) -> str | None:
    if text is None or key_arn is None:
        return text
    return text.replace(NEW_KEY_ARN, key_arn)


def _region(ctx_session: AwsSession, params: Mapping[str, Any]) -> AwsSession:
    region = params.get("region")
    return ctx_session.for_region(region) if region else ctx_session


def _document(text: str | None) -> Any:
    if text is None:
        raise ValueError("a write without a document")  # a plan bug, not a user error
    return json.loads(text)


def _target_name(action: Action, params: Mapping[str, Any], target: str) -> str:
    if action in _BUCKET_DOCUMENT_NAMES:
        return f"the {_BUCKET_DOCUMENT_NAMES[action]} of s3://{params.get('bucket', '?')}"
    if action is Action.PUT_KEY_POLICY:
        return f"the key policy of {target}"
    if action is Action.CREATE_BUCKET:
        return f"s3://{params.get('bucket', '?')}"
    return target


def _read_current(
    session: AwsSession, action: Action, params: Mapping[str, Any], key_arn: str | None
) -> tuple[BucketState, KeyState | None]:
    if action is Action.PUT_KEY_POLICY:
        key_ref = _resolve(str(params.get("key_id") or ""), key_arn) or ""
        return _NO_BUCKET, read_key(session, key_ref, session.region)
    if action in (Action.CREATE_KEY, Action.CREATE_ALIAS):
        return _NO_BUCKET, None
    return read_bucket(session, str(params["bucket"])), None


def _alias_exists(session: AwsSession, alias: str) -> bool:
    return read_key(session, alias, session.region).exists


def _write(ctx: _Context, action: Action, params: Mapping[str, Any], after: str | None) -> str:
    """One write; returns what was done, in words."""
    session = _region(ctx.session, params)
    if action is Action.CREATE_KEY:
        kms = session.client("kms")
        kwargs: dict[str, Any] = {
            "Policy": compact_json(_document(after)),
            "Description": str(params.get("description") or "CloudWatch Logs exports"),
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "Tags": [{"TagKey": "created-by", "TagValue": "cwl-export-wizard"}],
        }
        # BypassPolicyLockoutSafetyCheck is never set: KMS must refuse a lock-out policy.
        with aws_call("CreateKey"):
            meta = kms.create_key(**kwargs)["KeyMetadata"]
        ctx.key_arn, ctx.key_id = meta["Arn"], meta["KeyId"]
        return f"created KMS key {ctx.key_arn}"
    if action is Action.CREATE_ALIAS:
        doc = _document(after)
        alias = str(params.get("alias") or doc["AliasName"])
        target = _resolve(str(doc.get("TargetKeyId") or NEW_KEY_ARN), ctx.key_arn)
        with aws_call("CreateAlias"):
            session.client("kms").create_alias(AliasName=alias, TargetKeyId=target)
        return f"named the key {alias}"
    if action is Action.PUT_KEY_POLICY:
        key_id = _resolve(str(params["key_id"]), ctx.key_arn)
        with aws_call("PutKeyPolicy"):
            session.client("kms").put_key_policy(
                KeyId=key_id, PolicyName="default", Policy=compact_json(_document(after))
            )
        return f"updated the key policy of {key_id}"
    bucket = str(params["bucket"])
    s3 = session.client("s3")
    if action is Action.CREATE_BUCKET:
        create: dict[str, Any] = {"Bucket": bucket}
        if session.region != "us-east-1":  # us-east-1 refuses a LocationConstraint
            create["CreateBucketConfiguration"] = {"LocationConstraint": session.region}
        with aws_call("CreateBucket"):
            s3.create_bucket(**create)
        ctx.created_bucket = bucket
        return f"created s3://{bucket} in {session.region}"
    if action is Action.PUT_PUBLIC_ACCESS_BLOCK:
        with aws_call("PutPublicAccessBlock"):
            s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=_document(after)
            )
        return f"blocked public access to s3://{bucket}"
    if action is Action.PUT_OWNERSHIP_CONTROLS:
        with aws_call("PutBucketOwnershipControls"):
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=_document(after))
        return f"set object ownership of s3://{bucket}"
    if action is Action.PUT_BUCKET_ENCRYPTION:
        with aws_call("PutBucketEncryption"):
            s3.put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration=_document(after)
            )
        return f"set the default encryption of s3://{bucket}"
    if action is Action.PUT_BUCKET_POLICY:
        with aws_call("PutBucketPolicy"):
            s3.put_bucket_policy(Bucket=bucket, Policy=compact_json(_document(after)))
        return f"updated the bucket policy of s3://{bucket}"
    raise ValueError(f"unknown action {action!r}")  # pragma: no cover


def _created_by(ctx: _Context, action: Action, params: Mapping[str, str]) -> bool:
    """Whether this run created the step's target (a new bucket, the new key)."""
    if action is Action.PUT_KEY_POLICY:
        return ctx.key_arn is not None and params.get("key_id") == ctx.key_arn
    if action is Action.CREATE_BUCKET:
        return False
    return ctx.created_bucket is not None and params.get("bucket") == ctx.created_bucket


def _snake(operation: str) -> str:
    """DeleteBucketPolicy -> delete_bucket_policy (boto3's method name)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def _bucket_is_empty(s3: Any, bucket: str) -> bool:
    with aws_call("ListObjectsV2"):
        reply = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    return not reply.get("KeyCount") and not reply.get("Contents")


def _restore(session_root: AwsSession, step: Mapping[str, Any], created: Mapping[str, Any]) -> str:
    """Put one step's target back as it was before; returns what was done, in words."""
    action = Action(step["action"])
    params: Mapping[str, Any] = step["params"]
    session = _region(session_root, params)
    before: str | None = step.get("before")
    key_id = created.get("key_id")
    if action is Action.CREATE_KEY:
        if not key_id:
            return "the new key was never created"
        with aws_call("ScheduleKeyDeletion"):
            session.client("kms").schedule_key_deletion(
                KeyId=key_id, PendingWindowInDays=KEY_DELETION_WINDOW_DAYS
            )
        return (
            f"scheduled the new key {created.get('key_arn') or key_id} for deletion in "
            f"{KEY_DELETION_WINDOW_DAYS} days (aws kms cancel-key-deletion --key-id {key_id} "
            "keeps it)"
        )
    if action is Action.CREATE_ALIAS:
        alias = str(params.get("alias") or json.loads(step["after"])["AliasName"])
        with aws_call("DeleteAlias"):
            session.client("kms").delete_alias(AliasName=alias)
        return f"deleted the alias {alias}"
    if action is Action.PUT_KEY_POLICY:
        key_ref = _resolve(str(params["key_id"]), created.get("key_arn"))
        if before is None:
            return f"could not restore the key policy of {key_ref}: it was not readable before"
        with aws_call("PutKeyPolicy"):
            session.client("kms").put_key_policy(
                KeyId=key_ref, PolicyName="default", Policy=compact_json(json.loads(before))
            )
        return f"restored the key policy of {key_ref}"
    bucket = str(params["bucket"])
    s3 = session.client("s3")
    if action is Action.CREATE_BUCKET:
        if not _bucket_is_empty(s3, bucket):
            return f"kept s3://{bucket}: it is not empty (delete its objects, then the bucket)"
        with aws_call("DeleteBucket"):
            s3.delete_bucket(Bucket=bucket)
        return f"deleted the new bucket s3://{bucket}"
    name = _BUCKET_DOCUMENT_NAMES[action]
    if before is None:
        operation = {
            Action.PUT_PUBLIC_ACCESS_BLOCK: "DeletePublicAccessBlock",
            Action.PUT_OWNERSHIP_CONTROLS: "DeleteBucketOwnershipControls",
            Action.PUT_BUCKET_ENCRYPTION: "DeleteBucketEncryption",
            Action.PUT_BUCKET_POLICY: "DeleteBucketPolicy",
        }[action]
        with aws_call(operation):
            getattr(s3, _snake(operation))(Bucket=bucket)
        return f"removed the {name} of s3://{bucket} (there was none before)"
    document = json.loads(before)
    if action is Action.PUT_PUBLIC_ACCESS_BLOCK:
        with aws_call("PutPublicAccessBlock"):
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=document)
    elif action is Action.PUT_OWNERSHIP_CONTROLS:
        with aws_call("PutBucketOwnershipControls"):
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=document)
    elif action is Action.PUT_BUCKET_ENCRYPTION:
        with aws_call("PutBucketEncryption"):
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=document)
    else:
        with aws_call("PutBucketPolicy"):
            s3.put_bucket_policy(Bucket=bucket, Policy=compact_json(document))
    return f"restored the {name} of s3://{bucket}"


# --- run ----------------------------------------------------------------------------------


def _rollback(
    ctx: _Context,
    journal: _Journal,
    plan: Plan,
    on_step: Callable[[StepResult], None] | None,
) -> tuple[list[str], list[str]]:
    """Undo the steps done so far, newest first: (what was restored, what could not be)."""
    restored: list[str] = []
    failed: list[str] = []
    for index in reversed(ctx.done):
        step = journal.steps[index]
        try:
            message = _restore(ctx.session, step, journal.data["created"])
        except WizardError as exc:
            message = f"could not undo {step['action']} on {step['target']}: {exc.message}"
            failed.append(message)
            step["status"] = "rollback failed"
        else:
            (failed if message.startswith(("kept ", "could not")) else restored).append(message)
            step["status"] = "rolled back"
        step["message"] = message
        journal.save()
        if on_step is not None:
            on_step(StepResult(plan.changes[index], "rolled back", message))
    ctx.done.clear()
    return restored, failed


def _summary(restored: list[str], failed: list[str]) -> str:
    parts = []
    if restored:
        parts.append("rolled back: " + "; ".join(restored))
    if failed:
        parts.append("NOT rolled back: " + "; ".join(failed))
    return ". ".join(parts) if parts else "nothing had been changed"


def run(
    session: AwsSession,
    plan: Plan,
    *,
    journal_dir: Path | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    cancel: threading.Event | None = None,
) -> ApplyResult:
    """Execute ``plan`` in order. Raises DriftError, ApplyError or Cancelled after rolling back."""
    if plan.blockers:
        raise UsageError(
            "The plan has blockers; nothing was applied: " + " ".join(plan.blockers),
            fix="Resolve the blockers, then run plan again.",
        )
    journal = _new_journal(journal_dir or default_journal_dir(), session, plan)
    journal.save()  # before the first write
    ctx = _Context(session)
    results: list[StepResult] = []
    total = len(plan.changes)

    def fail(exc: WizardError, index: int, change: Change, stage: str) -> ApplyError:
        journal.steps[index]["status"] = "failed"
        journal.steps[index]["message"] = exc.message
        journal.save()
        if on_step is not None:
            on_step(StepResult(change, "failed", exc.message))
        restored, failed = _rollback(ctx, journal, plan, on_step)
        journal.data["status"] = "rolled back"
        journal.save()
        message = (
            f"Step {index + 1} of {total} ({change.action.value} on {change.target}) failed"
            f"{stage}: {exc.message.rstrip('.')}. {_summary(restored, failed).capitalize()}."
        )
        return ApplyError(
            message,
            fix=exc.fix,
            details=exc.details,
            rolled_back=tuple(restored),
            journal_path=str(journal.path),
        )

    for index, change in enumerate(plan.changes):
        if cancel is not None and cancel.is_set():
            restored, failed = _rollback(ctx, journal, plan, on_step)
            journal.data["status"] = "cancelled"
            journal.save()
            raise Cancelled(
                f"Cancelled after {index} of {total} steps; {_summary(restored, failed)}.",
                details=str(journal.path),
            )
        step = journal.steps[index]
        params = {k: _resolve(str(v), ctx.key_arn) or "" for k, v in change.params.items()}
        after = _resolve(change.after, ctx.key_arn)
        step["params"], step["after"] = params, after
        action = change.action
        regional = _region(session, params)
        try:
            if action is Action.CREATE_KEY and params.get("alias"):
                if _alias_exists(regional, params["alias"]):
                    raise DriftError(
                        f"The alias {params['alias']} was created since the preview; no key "
                        "was created. Run plan again."
                    )
            elif action is not Action.CREATE_ALIAS and not _created_by(ctx, action, params):
                # A target this run created has no foreign writer whose change could be lost.
                bucket_state, key_state = _read_current(regional, action, params, ctx.key_arn)
                current = current_document(action, bucket_state, key_state)
                if current != change.before:
                    if current is not None and current == after:
                        step["status"], step["message"] = "unchanged", "already as planned"
                        journal.save()
                        result = StepResult(change, "unchanged", "already as planned")
                        results.append(result)
                        if on_step is not None:
                            on_step(result)
                        continue
                    what = _target_name(action, params, change.target)
                    raise DriftError(
                        f"{what[0].upper()}{what[1:]} changed since the preview; nothing was "
                        "overwritten. Run plan again."
                    )
        except DriftError as exc:
            restored, failed = _rollback(ctx, journal, plan, on_step)
            step["status"] = "drift"
            step["message"] = exc.message
            journal.data["status"] = "drift"
            journal.save()
            if restored or failed:
                exc.message = f"{exc.message} Earlier steps {_summary(restored, failed)}."
                exc.args = (exc.message,)
            exc.details = str(journal.path)
            raise
        except WizardError as exc:
            raise fail(exc, index, change, " while reading the current state") from exc
        try:
            message = _write(ctx, action, params, after)
        except WizardError as exc:
            raise fail(exc, index, change, "") from exc
        except Exception as exc:  # a botocore surprise: still roll back
            raise fail(translate(exc, action.value), index, change, "") from exc
        ctx.done.append(index)
        step["status"], step["message"] = "applied", message
        if action is Action.CREATE_KEY:
            journal.data["created"].update({"key_arn": ctx.key_arn, "key_id": ctx.key_id})
            journal.data["key_arn"] = ctx.key_arn
        elif action is Action.CREATE_BUCKET:
            journal.data["created"]["bucket"] = ctx.created_bucket
        elif action is Action.CREATE_ALIAS:
            journal.data["created"]["alias"] = params.get("alias")
        journal.save()
        result = StepResult(change, "applied", message)
        results.append(result)
        if on_step is not None:
            on_step(result)
    journal.data["status"] = "applied"
    journal.data["finished"] = _now()
    journal.save()
    return ApplyResult(journal.path, tuple(results), ctx.key_arn)


# --- undo ---------------------------------------------------------------------------------


def _undo_current(
    session: AwsSession, step: Mapping[str, Any], created: Mapping[str, Any]
) -> tuple[bool, str]:
    """(may undo, why not): the target must still be exactly as this apply left it."""
    action = Action(step["action"])
    params: Mapping[str, Any] = step["params"]
    regional = _region(session, params)
    if action is Action.CREATE_KEY:
        key_id = created.get("key_id")
        if not key_id:
            return False, "the journal does not name the created key"
        key = read_key(regional, key_id, regional.region)
        if not key.exists:
            return False, f"the key {key_id} no longer exists"
        if key.state == "PendingDeletion":
            return False, f"the key {key_id} is already pending deletion"
        return True, ""
    if action is Action.CREATE_ALIAS:
        alias = str(params.get("alias") or "")
        key = read_key(regional, alias, regional.region)
        if not key.exists:
            return False, f"the alias {alias} no longer exists"
        if created.get("key_id") and key.key_id != created.get("key_id"):
            return False, f"the alias {alias} now points to another key ({key.arn})"
        return True, ""
    if action is Action.CREATE_BUCKET:
        state = read_bucket(regional, str(params["bucket"]))
        if not state.exists:
            return False, f"s3://{params['bucket']} no longer exists"
        return True, ""
    bucket_state, key_state = _read_current(regional, action, params, created.get("key_arn"))
    current = current_document(action, bucket_state, key_state)
    if current != step.get("after"):
        what = _target_name(action, params, step["target"])
        return False, f"{what} changed after the apply; it was left as it is now"
    return True, ""


def undo(
    session: AwsSession, journal_path: Path, *, on_step: Callable[[str], None] | None = None
) -> list[str]:
    """Restore a journal's documents, newest first, each only if unchanged since the apply.

    Returns one line per step. A refused step starts with "refused:". When anything was
    refused, the created key and bucket are kept (something may still use them).
    """
    journal = _Journal.load(Path(journal_path))
    created: Mapping[str, Any] = journal.data.get("created") or {}
    lines: list[str] = []
    refused = False

    def say(line: str) -> None:
        lines.append(line)
        if on_step is not None:
            on_step(line)

    applied = [s for s in journal.steps if s.get("status") == "applied"]
    if not applied:
        say("Nothing to undo: the journal records no applied step.")
        return lines
    for step in reversed(applied):
        action = Action(step["action"])
        if refused and action in (Action.CREATE_KEY, Action.CREATE_BUCKET, Action.CREATE_ALIAS):
            why = "kept: something that may still use it was left in place (see above)"
            step["status"], step["message"] = "kept", why
            say(f"refused: {step['target']}: {why}")
            journal.save()
            continue
        try:
            allowed, why = _undo_current(session, step, created)
            if not allowed:
                refused = True
                step["status"], step["message"] = "refused", why
                say(f"refused: {why}")
                journal.save()
                continue
            message = _restore(session, step, created)
        except WizardError as exc:
            refused = True
            step["status"], step["message"] = "undo failed", exc.message
            say(f"refused: {step['action']} on {step['target']}: {exc.message}")
            journal.save()
            continue
        if message.startswith(("kept ", "could not")):
            refused = True
            step["status"] = "kept"
            say(f"refused: {message}")
        else:
            step["status"] = "undone"
            say(message)
        step["message"] = message
        journal.save()
    journal.data["status"] = "partly undone" if refused else "undone"
    journal.data["undone"] = _now()
    journal.save()
    return lines


def journal_summary(path: Path) -> list[str]:
    """The applied steps of a journal, for a confirmation prompt."""
    journal = _Journal.load(Path(path))
    return [
        f"{s['action']} on {s['target']}: {s.get('message') or s.get('summary', '')}"
        for s in journal.steps
        if s.get("status") == "applied"
    ]

