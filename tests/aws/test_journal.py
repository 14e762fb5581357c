"""The journal on disk: private, atomic, and refused when it cannot be trusted or read."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY, session_for
from tests.conftest import REGION, CliRunner
from wizard.aws import apply, journal, snapshot
from wizard.core import plan as core_plan
from wizard.core.errors import UsageError
from wizard.core.state import Choices
from wizard.sandbox.server import Sandbox

REPAIR = Choices(region=REGION, bucket=DEMO_BUCKET, key=DEMO_KEY)


def applied_journal(sandbox: Sandbox) -> Path:
    session = session_for(sandbox)
    plan = core_plan.build(snapshot.read(session, REPAIR), REPAIR)
    return apply.run(session, plan).journal_path


def test_files_are_private_and_an_open_folder_is_tightened(
    demo: Sandbox, journal_dir: Path
) -> None:
    journal_dir.mkdir(parents=True)
    journal_dir.chmod(0o755)  # as a umask of 022 would have made it
    path = applied_journal(demo)
    assert stat.S_IMODE(journal_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in journal_dir.iterdir() if p.name.endswith(".tmp")]  # atomic writes


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root")
def test_a_journal_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(UsageError, match="belongs to another user"):
        journal.private_dir(folder)


def test_a_journal_others_may_write_is_not_trusted(demo: Sandbox, cli: CliRunner) -> None:
    path = applied_journal(demo)
    path.chmod(0o666)
    run = cli("undo", str(path), "--yes")
    assert run.code == 2
    (error,) = run.error_lines
    assert str(path) in error and "may be changed by other users" in error
    assert f"chmod 600 {path}" in run.err


def _changes(path: Path) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = json.loads(path.read_text())["changes"]
    return changes


BROKEN: dict[str, Any] = {
    "not JSON": "{ this is not json",
    "an array": "[]",
    "another tool": {"set": {"tool": "something-else"}},
    "no changes": {"drop": "changes"},
    "changes not a list": {"set": {"changes": {"a": 1}}},
    "a change not an object": {"set": {"changes": [17]}},
    "unknown action": {"change": {"action": "DeleteEverything"}},
    "unknown status": {"change": {"status": "maybe"}},
    "params not text": {"change": {"params": {"bucket": 5}}},
    "before not text": {"change": {"before": {"Statement": []}}},
    "part_of out of range": {"change": {"part_of": 99}},
    "no account": {"drop": "account"},
    "old format": {"set": {"format": 1}},
    "empty file": "",
}


@pytest.mark.parametrize("shape", list(BROKEN), ids=list(BROKEN))
def test_a_malformed_journal_is_one_line_naming_it(
    demo: Sandbox, cli: CliRunner, shape: str
) -> None:
    path = applied_journal(demo)
    damage = BROKEN[shape]
    if isinstance(damage, str):
        text = damage
    else:
        data = json.loads(path.read_text())
        if "drop" in damage:
            data.pop(damage["drop"])
        data.update(damage.get("set", {}))
        if "change" in damage:
            data["changes"][0].update(damage["change"])
        text = json.dumps(data)
    path.write_text(text)
    path.chmod(0o600)
    for args in (("undo", str(path), "--yes"), ("undo", str(path), "--yes", "--json")):
        run = cli(*args)
        assert run.code == 2, run.err
        (error,) = run.error_lines
        assert str(path) in error
        assert "unexpected" not in run.err and "Traceback" not in run.err
        if "--json" in args:
            assert run.json()["error"]["message"] == error.removeprefix("error: ")


def test_a_folder_given_as_journal(cli: CliRunner, tmp_path: Path) -> None:
    run = cli("undo", str(tmp_path), "--yes")
    assert run.code == 2 and run.error_lines == [
        f"error: {tmp_path} is a folder, not a journal file."
    ]
