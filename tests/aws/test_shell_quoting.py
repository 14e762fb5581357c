"""Every command the tool prints for a person to run does exactly what it says in a real shell,
whatever the values hold: each is run by bash with the tools it names (cwl-export-wizard, aws,
terraform) replaced by a recorder of the arguments they receive."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.aws.conftest import DEMO_GROUP, DEMO_KEY
from tests.conftest import CliRunner
from wizard.sandbox.server import Sandbox

BUCKET = "demo-sse-s3"


def hostile_prefixes(tmp: Path) -> list[str]:
    """Prefixes S3 and the validator accept that a shell would run, split or expand."""
    return [
        f"it's a;touch {tmp}/x",
        f"`touch {tmp}/x` (id) & echo",
        f'tab "quoted" {tmp}/x|cat > {tmp}/x',
    ]


def recorders(folder: Path) -> Path:
    """Executables that append their name and arguments (and their folder) to calls.jsonl."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    log = folder / "calls.jsonl"
    for tool in ("cwl-export-wizard", "aws", "terraform"):
        script = bin_dir / tool
        script.write_text(
            "#!/usr/bin/env python3\n"
            "import json, os, sys\n"
            f"with open({str(log)!r}, 'a') as f:\n"
            "    f.write(json.dumps([os.path.basename(sys.argv[0]), os.getcwd(), sys.argv[1:]]))\n"
            "    f.write('\\n')\n"
        )
        script.chmod(0o755)
    return bin_dir


def run_in_bash(command: str, bin_dir: Path) -> list[tuple[str, str, list[str]]]:
    log = bin_dir.parent / "calls.jsonl"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if not log.exists():
        return []
    return [tuple(json.loads(line)) for line in log.read_text().splitlines()]


def test_export_args(region: str, prefix: str) -> list[str]:
    return [
        "test-export",
        "--region",
        region,
        "--bucket",
        BUCKET,
        "--prefix",
        prefix,
        "--log-group",
        "LOG_GROUP",
    ]


test_export_args.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.mark.parametrize("fmt", ["terraform", "documents", "cloudformation"])
def test_next_lines_file_headers_and_plan_json_run_as_they_read(
    demo: Sandbox, cli: CliRunner, tmp_path: Path, fmt: str
) -> None:
    bin_dir = recorders(tmp_path / "shell")
    for number, prefix in enumerate(hostile_prefixes(tmp_path)):
        # The folder's name is hostile too: "cd FOLDER" is printed.
        out = tmp_path / f"out {number} $(touch {tmp_path}/x) it's"
        run = cli(
            "plan", "--bucket", BUCKET, "--key", DEMO_KEY, "--prefix", prefix,
            "--format", fmt, "--out", str(out),
        )  # fmt: skip
        assert run.code == 1, run.err
        next_lines = run.out.split("Next:\n", 1)[1].splitlines()
        proving = [line.strip() for line in next_lines if "cwl-export-wizard" in line]
        assert len(proving) == 1
        calls = run_in_bash(proving[0], bin_dir)
        assert [(name, args) for name, _, args in calls] == [
            ("cwl-export-wizard", test_export_args(demo.region, prefix))
        ]
        if fmt == "terraform":
            first = next_lines[0].split("#")[0]
            calls = run_in_bash(first, bin_dir)
            assert [(name, Path(where), args) for name, where, args in calls] == [
                ("terraform", out, ["init"]),
                ("terraform", out, ["plan"]),
            ]
            header = (out / "main.tf").read_text().split("cwl-export-wizard test-export", 1)[1]
            command = "cwl-export-wizard test-export" + header.split("\n", 1)[0]
        elif fmt == "documents":
            command = json.loads((out / "plan.json").read_text())["test_export"]
        else:
            command = proving[0]
        calls = run_in_bash(command, bin_dir)
        assert [args for _, _, args in calls] == [test_export_args(demo.region, prefix)]
        assert not (tmp_path / "x").exists()


def test_the_cli_script_runs_as_it_reads(demo: Sandbox, cli: CliRunner, tmp_path: Path) -> None:
    bin_dir = recorders(tmp_path / "shell")
    for number, prefix in enumerate(hostile_prefixes(tmp_path)):
        out = tmp_path / f"cli {number}"
        run = cli(
            "plan", "--bucket", BUCKET, "--key", DEMO_KEY, "--prefix", prefix,
            "--format", "cli", "--out", str(out),
        )  # fmt: skip
        assert run.code == 1, run.err
        (script,) = out.glob("*.sh")
        calls = run_in_bash(
            f"cd {shlex.quote(str(out))} && bash {shlex.quote(script.name)}", bin_dir
        )
        assert calls and {name for name, _, _ in calls} == {"aws"}
        assert not (tmp_path / "x").exists()
        # The bucket policy the script puts names the prefix exactly, as the plan does.
        policy = next(args for _, _, args in calls if "put-bucket-policy" in args)
        document = (out / policy[policy.index("--policy") + 1].removeprefix("file://")).read_text()
        assert f"{BUCKET}/{prefix}/" in "".join(json.loads(document)["Statement"][1]["Resource"])


def test_undo_and_repeat_export_commands_run_as_they_read(
    demo: Sandbox, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The journal lives under a hostile folder name: "Undo with: ..." quotes it.
    state = tmp_path / f"state $(touch {tmp_path}/x) it's"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    bin_dir = recorders(tmp_path / "shell")
    prefix = hostile_prefixes(tmp_path)[0]
    run = cli("apply", "--bucket", BUCKET, "--key", DEMO_KEY, "--prefix", prefix, "--yes")
    assert run.code == 0, run.err
    undo = next(line for line in run.out.splitlines() if line.startswith("Undo with: "))
    journal = next(line for line in run.out.splitlines() if line.startswith("Journal: "))
    calls = run_in_bash(undo.removeprefix("Undo with: "), bin_dir)
    assert [args for _, _, args in calls] == [["undo", journal.removeprefix("Journal: ")]]
    assert Path(journal.removeprefix("Journal: ")).is_file()
    # The destination now works with that prefix: the test export's "Repeat this export".
    run = cli(
        "test-export", "--bucket", BUCKET, "--prefix", prefix, "--log-group", DEMO_GROUP,
        "--lines", "1",
    )  # fmt: skip
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    repeat = lines[lines.index("Repeat this export:") + 1].strip()
    ((name, _, args),) = run_in_bash(repeat, bin_dir)
    assert name == "aws" and args[:2] == ["logs", "create-export-task"]
    assert args[args.index("--destination-prefix") + 1] == prefix
    assert args[args.index("--log-group-name") + 1] == DEMO_GROUP
    assert not (tmp_path / "x").exists()
