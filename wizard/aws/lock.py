"""One apply at a time per account and region on this machine.

Two applies that patch the same bucket policy at once would each read, merge and write, and
the second write would drop the first one's grant. Every apply therefore holds a lock for
its account and region while it reads the plan's targets and writes them. The lock is an
``flock`` on a file in the journal folder: the kernel releases it when its holder exits, even
by kill -9, so a lock can never be left behind by a dead process. The file also says who
holds it (process, command, journal, since when); a holder that vanished without releasing
leaves that record behind, and the next apply names it (its journal may need ``undo``).

What this does not protect: applies from other machines, or by other users with another
journal folder, and changes made by hand meanwhile. For those, apply checks every target
before it writes (drift) and checks the result after the last write (see ``wizard.aws.apply``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from wizard.aws.journal import now_iso, private_dir
from wizard.core.errors import Cancelled, WizardError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

DEFAULT_WAIT = 300.0  # seconds an apply waits for another one before it gives up
POLL = 0.1


class LockBusy(WizardError):
    """Another apply on the same account and region did not finish in time."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    since: str
    command: str
    journal: str | None

    def describe(self) -> str:
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        journal = f", journal {self.journal}" if self.journal else ""
        return f"process {self.pid}{where} since {self.since} ({self.command}{journal})"


def _read_holder(handle: IO[str]) -> Holder | None:
    handle.seek(0)
    try:
        data = json.loads(handle.read() or "null")
        if not isinstance(data, dict):
            return None
        return Holder(
            int(data["pid"]),
            str(data["host"]),
            str(data["since"]),
            str(data["command"]),
            data.get("journal"),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _write_holder(handle: IO[str], holder: Holder | None) -> None:
    handle.seek(0)
    handle.truncate()
    if holder is not None:
        handle.write(json.dumps(holder.__dict__))
    handle.flush()
    os.fsync(handle.fileno())


def _try_lock(handle: IO[str]) -> bool:
    if fcntl is None:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    if fcntl is None:  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def lock_path(directory: Path, account: str, region: str) -> Path:
    return private_dir(directory / "locks") / f"apply-{account}-{region}.lock"


class DestinationLock:
    """Held while an apply reads and writes one account and region's resources."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None
        self.previous: Holder | None = None  # a holder that died without releasing

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(
        self,
        *,
        wait: float = DEFAULT_WAIT,
        on_wait: Callable[[Holder | None], None] | None = None,
        cancel: threading.Event | None = None,
        journal: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Take the lock, waiting up to ``wait`` seconds; ``on_wait`` hears once who holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        deadline = clock() + wait
        told = False
        try:
            while not _try_lock(handle):
                holder = _read_holder(handle)
                if not told and on_wait is not None:
                    on_wait(holder)
                    told = True
                if clock() >= deadline:
                    raise LockBusy(
                        "Another apply on this account and region is still running: "
                        f"{holder.describe() if holder else 'holder unknown'}.",
                        fix="Wait for it to finish, then run apply again (it re-reads the "
                        "account, so nothing it did is lost).",
                    )
                if cancel is not None and cancel.wait(POLL):
                    raise Cancelled("Stopped waiting for the other apply; nothing was changed.")
                if cancel is None:
                    time.sleep(POLL)
            self.previous = _read_holder(handle)
            command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
            _write_holder(
                handle,
                Holder(os.getpid(), socket.gethostname(), now_iso(), command[:200], journal),
            )
        except BaseException:
            handle.close()
            raise
        self._handle = handle

    def note_journal(self, journal: str) -> None:
        """Say in the lock file which journal the holder writes (for whoever waits)."""
        if self._handle is None:
            return
        holder = _read_holder(self._handle)
        if holder is not None:
            _write_holder(self._handle, Holder(**{**holder.__dict__, "journal": journal}))

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            _write_holder(handle, None)  # a clean end leaves no holder behind
            _unlock(handle)
        handle.close()


@contextlib.contextmanager
def holding(lock: DestinationLock, **kwargs: Any) -> Iterator[DestinationLock]:
    lock.acquire(**kwargs)
    try:
        yield lock
    finally:
        lock.release()
