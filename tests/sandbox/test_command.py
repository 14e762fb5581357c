"""``cwl-export-wizard sandbox`` as a process: first line, serving, clean SIGINT/SIGTERM exit."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from wizard.core.errors import UsageError
from wizard.sandbox import command
from wizard.sandbox.scenarios import SCENARIO_NAMES

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "wizard.sandbox.command", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_lines(process: subprocess.Popen[str], count: int, timeout: float = 30) -> list[str]:
    """The first ``count`` stdout lines, without blocking forever on a silent process."""
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str] = queue.Queue()

    def reader() -> None:
        for _ in range(count):
            lines.put(stdout.readline().rstrip("\n"))

    threading.Thread(target=reader, daemon=True).start()
    return [lines.get(timeout=timeout) for _ in range(count)]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_prints_environment_serves_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    running = spawn("--port", "0", "--scenario", "empty", "--region", "eu-west-1")
    try:
        lines = read_lines(running, 6)
        assert lines[0].startswith("export AWS_ENDPOINT_URL=http://127.0.0.1:")
        url = lines[0].split("=", 1)[1]
        assert lines[1:5] == [
            "export AWS_REGION=eu-west-1",
            "export AWS_DEFAULT_REGION=eu-west-1",
            "export AWS_ACCESS_KEY_ID=testing",
            "export AWS_SECRET_ACCESS_KEY=testing",
        ]
        assert lines[5].startswith("# account 123456789012")
        sts = boto3.client(
            "sts",
            endpoint_url=url,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert sts.get_caller_identity()["Account"] == "123456789012"
        running.send_signal(stop_signal)
        _, stderr = running.communicate(timeout=30)
        assert running.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()


@pytest.mark.parametrize(
    "args",
    [
        ["--fail", "PutKeyPolicy"],
        ["--fail", "A:B:0"],
        ["--scenario", "nope"],
        ["--region", "nowhere"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str]) -> None:
    running = spawn(*args)
    stdout, stderr = running.communicate(timeout=30)
    assert running.returncode == 2
    assert stdout == ""
    assert len(stderr.strip().splitlines()) == 1
    assert "error" in stderr


def test_run_raises_usage_error_for_the_cli() -> None:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    with pytest.raises(UsageError):
        command.run(parser.parse_args(["--fail", "nonsense"]))
    with pytest.raises(UsageError):
        command.run(parser.parse_args(["--scenario", "nope"]))


def test_parser_defaults_and_scenario_names() -> None:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(["--fail", "A:B", "--fail", "C:D:2"])
    # Not given: None (an option before the command may still fill it), then the defaults.
    assert (args.scenario, args.region, args.export_delay) == (None, None, None)
    config = command._config(args)
    assert (config.port, config.scenario, config.region, config.export_delay) == (
        0,
        "demo",
        "ap-northeast-1",
        2.0,
    )
    assert config.latency_ms == 0
    assert args.fail == ["A:B", "C:D:2"]
    assert command.SCENARIOS == SCENARIO_NAMES


def test_command_module_imports_no_moto() -> None:
    code = (
        "import sys, wizard.sandbox.command\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'boto3', 'botocore')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


# ``--write-profiles`` then ``AWS_CONFIG_FILE=FILE doctor --all-profiles --regions all`` in
# another process, with nothing else set: tests/test_readme.py runs the README's own blocks for
# it and compares every line the survey prints (one run of the whole fleet survey, not two).


def test_write_profiles_refuses_a_folder(tmp_path: Path) -> None:
    running = spawn("--write-profiles", str(tmp_path))
    stdout, stderr = running.communicate(timeout=30)
    assert running.returncode == 2 and stdout == ""
    assert stderr.strip().splitlines() == [
        "cwl-export-wizard sandbox: error: --write-profiles: give the path of a file to write."
    ]
