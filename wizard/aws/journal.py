"""The apply journal: a write-ahead record of every change, private and crash-safe.

A journal is written before the first write, then before and after every step: a step is
"in flight" on disk before its AWS call starts, so a crash (kill -9, a closed laptop, an SSH
drop) leaves a journal that names everything that may have changed. Each save is atomic
(a private temporary file, fsync, rename, fsync of the folder): a crash leaves the previous
version or the next, never half a file. Files are 0600 and the folder 0700, since a journal
holds whole key and bucket policies and decides what ``undo`` writes back: a journal that
others may write is refused.

Nothing here trusts a journal to say what the account holds: ``wizard.aws.apply`` reads the
account before it judges a step. A journal only says where to look and what "before" was.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard.core.change import Action
from wizard.core.errors import UsageError
from wizard.core.outcomes import JournalStatus, StepStatus

TOOL = "cwl-export-wizard"
FORMAT = 2
FILE_MODE = 0o600
DIR_MODE = 0o700


def default_journal_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / TOOL


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the folder and the files ---------------------------------------------------------------


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may enter: created 0700, or an existing one of
    ours tightened to 0700. Another user's folder is refused: they could edit our journals."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        info = path.stat()
    except OSError as exc:
        raise UsageError(
            f"The journal folder {path} cannot be made: {exc.strerror or exc}.",
            fix="Set XDG_STATE_HOME to a folder of your own that you may write to.",
        ) from None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise UsageError(
            f"The journal folder {path} belongs to another user, who could change what undo "
            "writes back.",
            fix="Set XDG_STATE_HOME to a folder of your own.",
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        try:
            path.chmod(DIR_MODE)
        except OSError as exc:
            raise UsageError(
                f"The journal folder {path} is open to other users and cannot be made "
                f"private ({exc.strerror}).",
                fix=f"chmod 700 {path}, or set XDG_STATE_HOME to a private folder.",
            ) from None
    return path


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot sync a folder
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_private(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (0600), durable once this returns."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


# --- the document -------------------------------------------------------------------------


@dataclass
class JournalStep:
    index: int
    action: Action
    target: str
    summary: str
    params: dict[str, str]
    before: str | None
    after: str | None
    status: StepStatus = StepStatus.PLANNED
    message: str = ""
    uncertain: bool = False  # a FAILED call whose effect is unknown (timeout, 5xx, crash)
    part_of: int | None = None  # the step that created this step's target (a new bucket/key)
    # Set when read back: why this entry cannot be trusted (its documents are not JSON).
    damaged: str | None = None
    # A policy's exact text before (restored as it was) and the text sent: see core.plan.Change.
    before_text: str | None = None
    after_text: str | None = None

    def to_json(self) -> dict[str, Any]:
        texts = {
            name: value
            for name, value in (("before_text", self.before_text), ("after_text", self.after_text))
            if value is not None
        }
        return {
            "index": self.index,
            "action": self.action.value,
            "target": self.target,
            "summary": self.summary,
            "params": self.params,
            "before": self.before,
            "after": self.after,
            "status": self.status.value,
            "message": self.message,
            "uncertain": self.uncertain,
            "part_of": self.part_of,
            **texts,
        }


@dataclass
class Journal:
    path: Path
    journal_id: str
    account: str
    identity: str
    partition: str
    region: str
    endpoint: str | None
    time: str
    version: str
    status: JournalStatus
    steps: list[JournalStep]
    created: dict[str, str]  # key_arn, key_id, bucket, alias: what this apply created
    finished: str | None = None
    undone: str | None = None
    # When it started, in ns since the epoch: orders two journals of the same second.
    started_ns: int = 0
    profile: str | None = None  # the AWS profile the apply ran with: undo uses it too

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tool": TOOL,
            "format": FORMAT,
            "id": self.journal_id,
            "version": self.version,
            "time": self.time,
            "started_ns": self.started_ns,
            "profile": self.profile,
            "account": self.account,
            "identity": self.identity,
            "partition": self.partition,
            "region": self.region,
            "endpoint": self.endpoint,
            "status": self.status.value,
            "created": self.created,
            "changes": [step.to_json() for step in self.steps],
        }
        if self.finished:
            data["finished"] = self.finished
        if self.undone:
            data["undone"] = self.undone
        return data

    def save(self) -> None:
        write_private(self.path, json.dumps(self.to_json(), indent=2) + "\n")

    @property
    def put_back(self) -> bool:
        """Every change that was started has been put back already: nothing to undo."""
        return all(
            s.status is StepStatus.ROLLED_BACK for s in self.steps if s.status.started
        ) and any(s.status.started for s in self.steps)

    def step(self, index: int) -> JournalStep:
        return self.steps[index]

    def mark(self, index: int, status: StepStatus, message: str | None = None) -> None:
        """Record a step's new status, durably, before anything else happens."""
        step = self.steps[index]
        step.status = status
        if message is not None:
            step.message = message
        self.save()


def new_journal_path(directory: Path) -> tuple[Path, str]:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    journal_id = f"{stamp}-{secrets.token_hex(4)}"
    return private_dir(directory) / f"apply-{journal_id}.json", journal_id


# --- reading one back ---------------------------------------------------------------------


class _Bad(Exception):
    pass


def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise _Bad(f'{where} has no "{name}"')
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise _Bad(f'{where}: "{name}" has the wrong type ({type(value).__name__})')
    return value


def _optional(data: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    if data.get(name) is None:
        return None
    return _field(data, name, kind, where)


def _step(raw: Any, position: int) -> JournalStep:
    where = f"change {position + 1}"
    if not isinstance(raw, dict):
        raise _Bad(f"{where} is not an object")
    try:
        action = Action(_field(raw, "action", str, where))
    except ValueError:
        raise _Bad(f'{where}: unknown action "{raw.get("action")}"') from None
    try:
        status = StepStatus(_field(raw, "status", str, where))
    except ValueError:
        raise _Bad(f'{where}: unknown status "{raw.get("status")}"') from None
    params = _field(raw, "params", dict, where)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        raise _Bad(f"{where}: params must map text to text")
    damaged = None
    for name in ("before", "after"):  # the documents undo writes back and compares with
        if isinstance(raw.get(name), str):
            try:
                json.loads(raw[name])
            except ValueError as exc:
                # This entry cannot be judged; the others can: undo names it and goes on.
                damaged = f'change {position + 1} ({action.value}): "{name}" is not JSON ({exc})'
    part_of = raw.get("part_of")
    if part_of is not None and (not isinstance(part_of, int) or isinstance(part_of, bool)):
        raise _Bad(f'{where}: "part_of" must be a step number')
    return JournalStep(
        index=position,
        action=action,
        target=_field(raw, "target", str, where),
        summary=str(raw.get("summary") or ""),
        params=dict(params),
        before=_optional(raw, "before", str, where),
        after=_optional(raw, "after", str, where),
        damaged=damaged,
        before_text=_optional(raw, "before_text", str, where),
        after_text=_optional(raw, "after_text", str, where),
        status=status,
        message=str(raw.get("message") or ""),
        uncertain=bool(raw.get("uncertain", False)),
        part_of=part_of,
    )


def _check_private(path: Path) -> None:
    """Refuse a journal that others could have edited (as ssh refuses an open key file)."""
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise UsageError(
            f"{path} belongs to another user; undo only trusts your own journals.",
            fix="Run undo as the user who ran apply.",
        )
    if stat.S_IMODE(info.st_mode) & 0o022:
        raise UsageError(
            f"{path} may be changed by other users (mode {stat.S_IMODE(info.st_mode):o}), so "
            "it cannot be trusted to say what to write back.",
            fix=f"Check its content, then: chmod 600 {path}",
        )


def load(path: Path) -> Journal:
    """Read and check a journal; a UsageError names the file and what is wrong with it."""
    path = Path(path).expanduser()
    try:
        _check_private(path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"No journal at {path}.", fix="Pass the path apply printed.") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a journal file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} cannot be read: {exc}.") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not a journal: not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("tool") != TOOL:
        raise UsageError(f"{path} is not a cwl-export-wizard journal.")
    try:
        if data.get("format") != FORMAT:
            raise _Bad(
                f"format {data.get('format')!r} is not {FORMAT} (written by another version)"
            )
        changes = _field(data, "changes", list, "the journal")
        steps = [_step(raw, i) for i, raw in enumerate(changes)]
        for step in steps:
            if step.part_of is not None and not 0 <= step.part_of < len(steps):
                raise _Bad(f'change {step.index + 1}: "part_of" names no change')
        created = _field(data, "created", dict, "the journal")
        if not all(isinstance(v, str) for v in created.values()):
            raise _Bad('"created" must map names to text')
        try:
            status = JournalStatus(_field(data, "status", str, "the journal"))
        except ValueError:
            raise _Bad(f'unknown status "{data.get("status")}"') from None
        return Journal(
            path=path,
            journal_id=_field(data, "id", str, "the journal"),
            account=_field(data, "account", str, "the journal"),
            identity=str(data.get("identity") or ""),
            partition=str(data.get("partition") or "aws"),
            region=_field(data, "region", str, "the journal"),
            endpoint=_optional(data, "endpoint", str, "the journal"),
            time=str(data.get("time") or ""),
            version=str(data.get("version") or ""),
            status=status,
            steps=steps,
            created=dict(created),
            finished=data.get("finished"),
            undone=data.get("undone"),
            started_ns=data["started_ns"] if isinstance(data.get("started_ns"), int) else 0,
            profile=_optional(data, "profile", str, "the journal"),
        )
    except _Bad as exc:
        raise UsageError(f"{path} is not a usable journal: {exc}.") from None


def order(journal: Journal) -> tuple[str, int, str]:
    """Sorts journals by when they started (older journals have no ns: then by name)."""
    return (journal.time, journal.started_ns, journal.path.name)


def journals(directory: Path) -> Iterator[Path]:
    """The journals in a folder, newest first."""
    if directory.is_dir():
        yield from sorted(directory.glob("apply-*.json"), reverse=True)
