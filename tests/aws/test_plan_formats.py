"""``plan --format``: the plan as something else to run, and what running it proves.

The AWS CLI script is run for real: bash, the AWS CLI (v1, from the test extra) pointed at
the sandbox by the environment the sandbox command prints. After it, the doctor finds the
destination healthy and a test export completes, as after ``apply``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_GROUP, DEMO_KEY
from tests.conftest import CliRunner, StartSandbox
from wizard.commands.plan import PLAN_FORMATS
from wizard.core.formats import PlanFormat
from wizard.sandbox.server import Sandbox

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def aws_cli() -> str:
    """The AWS CLI beside this Python (the test extra installs it)."""
    found = shutil.which("aws", path=str(Path(sys.executable).parent))
    assert found, "the AWS CLI is part of the test extra: pip install -e '.[test]'"
    return found


def run_script(path: Path, sandbox: Sandbox) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **sandbox.env(),
        "PATH": f"{Path(aws_cli()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        ["bash", str(path)],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        ("--bucket", DEMO_BUCKET, "--key", DEMO_KEY),  # repair: patch what is there
        ("--bucket", "iac-fresh-exports", "--create-bucket", "--create-key", "iac-fresh"),
    ],
    ids=["repair", "fresh"],
)
def test_the_cli_script_run_by_the_aws_cli_makes_the_destination_work(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path, options: tuple[str, ...]
) -> None:
    sandbox = start_sandbox(scenario="demo")
    printed = cli("plan", *options, "--format", "cli")
    assert printed.code == 1, printed.err  # 1: there are changes to make
    assert printed.out.startswith("#!/usr/bin/env bash\n")
    written = cli("plan", *options, "--format", "cli", "--out", str(tmp_path))
    assert written.code == 1, written.err
    [script] = tmp_path.glob("cwl-export-wizard-*.sh")
    assert f"Wrote {script}" in written.out
    assert script.read_text() == printed.out  # the same script, printed or written
    assert os.access(script, os.X_OK)

    bucket = options[1]
    assert cli("doctor", *options[:2]).code == 1  # not yet
    done = run_script(script, sandbox)
    assert done.returncode == 0, done.stdout + done.stderr
    assert cli("doctor", "--bucket", bucket).code == 0  # healthy, with the bucket's own key
    export = cli("test-export", "--bucket", bucket, "--log-group", DEMO_GROUP, "--lines", "2")
    assert export.code == 0, export.out + export.err
    assert "aws:kms" in export.out


def test_out_never_overwrites_and_needs_a_file_format(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path
) -> None:
    start_sandbox(scenario="demo")
    options = ("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--format", "cli")
    assert cli(*options, "--out", str(tmp_path)).code == 1
    [script] = tmp_path.glob("*.sh")
    script.write_text("# my edits\n")
    again = cli(*options, "--out", str(tmp_path))
    assert again.code == 2 and "exists already; nothing was written" in again.err
    assert script.read_text() == "# my edits\n"
    for wrong, said in [
        (("--out", str(tmp_path)), "--out writes files"),
        (("--json", "--format", "cli"), "say two things"),
    ]:
        run = cli("plan", "--bucket", DEMO_BUCKET, *wrong)
        assert run.code == 2 and said in run.err, run.err


def test_out_with_a_dangling_link_in_the_way_writes_no_file(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path
) -> None:
    start_sandbox(scenario="demo")
    out = tmp_path / "code"
    out.mkdir()
    (out / "plan.json").symlink_to(tmp_path / "nowhere")  # a link to nothing: exists() is False
    run = cli(
        "plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--format", "documents",
        "--out", str(out),
    )  # fmt: skip
    assert run.code == 2 and "plan.json exists already; nothing was written" in run.err
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"]
    assert not (tmp_path / "nowhere").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left
    fresh = tmp_path / "new-folder"
    done = cli(
        "plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--format", "documents",
        "--out", str(fresh),
    )  # fmt: skip
    assert done.code == 1, done.err
    assert len(list(fresh.iterdir())) >= 2


def test_the_format_choices_are_the_plan_formats() -> None:
    """cli.py lists them as plain words for argparse (its messages show them as written)."""
    assert tuple(PlanFormat) == PLAN_FORMATS
