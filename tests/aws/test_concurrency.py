"""Two applies on one destination at once, and another writer racing with an apply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_KEY, session_for
from tests.conftest import CliRunner, StartSandbox, trial_count
from tests.policies import deny_insecure_transport
from wizard.aws import apply as aws_apply
from wizard.aws import snapshot
from wizard.core import doctor
from wizard.core import plan as core_plan
from wizard.core.findings import is_healthy
from wizard.core.requirements import SID_PUT_OBJECT
from wizard.core.state import Choices
from wizard.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
# Each trial is two applies racing. Without the destination lock about half the trials lose
# a grant or fail (4 of 8 when measured), so the quick default still catches the race with
# about 94% odds in one run, every run of CI adding its own; the soak runs the full count:
# python -m pytest -m slow tests/aws/test_concurrency.py (or CWL_CONCURRENCY_TRIALS=N).
QUICK_TRIALS, FULL_TRIALS = 4, 25
PREFIXES = ("team-a/logs", "team-b/logs")
# A bucket policy with no grant for CloudWatch Logs yet: each apply adds its own prefix to
# one statement, the read-merge-write two concurrent applies could race on.
NO_GRANT = json.dumps(
    {"Version": "2012-10-17", "Statement": [deny_insecure_transport(DEMO_BUCKET)]}
)


class Worker:
    def __init__(self, sandbox: Sandbox, cwd: Path) -> None:
        env = {**os.environ, **sandbox.env(), "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.aws.apply_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )

    def send(self, *args: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(list(args)) + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the worker died"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture
def workers(demo: Sandbox, tmp_path: Path) -> Iterator[tuple[Worker, Worker]]:
    pair = (Worker(demo, tmp_path), Worker(demo, tmp_path))
    yield pair
    for worker in pair:
        worker.close()


def granted_prefixes(sandbox: Sandbox) -> set[str]:
    policy = json.loads(sandbox.client("s3").get_bucket_policy(Bucket=DEMO_BUCKET)["Policy"])
    statement = next(s for s in policy["Statement"] if s.get("Sid") == SID_PUT_OBJECT)
    resources = statement["Resource"]
    resources = [resources] if isinstance(resources, str) else resources
    return {r.removeprefix(f"arn:aws:s3:::{DEMO_BUCKET}/").removesuffix("/*") for r in resources}


def reset(sandbox: Sandbox, original: dict[str, Any]) -> None:
    s3, kms = sandbox.client("s3"), sandbox.client("kms")
    s3.put_bucket_policy(Bucket=DEMO_BUCKET, Policy=NO_GRANT)
    s3.delete_bucket_encryption(Bucket=DEMO_BUCKET)
    if original["encryption"]:
        s3.put_bucket_encryption(
            Bucket=DEMO_BUCKET, ServerSideEncryptionConfiguration=original["encryption"]
        )
    kms.put_key_policy(
        KeyId=original["key_id"], PolicyName="default", Policy=original["key_policy"]
    )


@pytest.fixture
def trials(request: pytest.FixtureRequest) -> int:
    return trial_count(
        request.config, quick=QUICK_TRIALS, full=FULL_TRIALS, env="CWL_CONCURRENCY_TRIALS"
    )


@pytest.mark.slow
def test_two_applies_at_once_never_lose_a_grant(
    demo: Sandbox, workers: tuple[Worker, Worker], trials: int
) -> None:
    s3, kms = demo.client("s3"), demo.client("kms")
    key_id = kms.describe_key(KeyId=DEMO_KEY)["KeyMetadata"]["KeyId"]
    encryption = s3.get_bucket_encryption(Bucket=DEMO_BUCKET)
    original = {
        "encryption": encryption["ServerSideEncryptionConfiguration"],
        "key_id": key_id,
        "key_policy": kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
    }
    outcomes: list[tuple[int, int]] = []
    for _ in range(trials):
        reset(demo, original)
        for worker, prefix in zip(workers, PREFIXES, strict=True):
            worker.send(
                "apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--prefix", prefix, "--yes"
            )
        answers = [worker.answer() for worker in workers]
        codes = tuple(a["code"] for a in answers)
        outcomes.append((codes[0], codes[1]))
        for answer in answers:
            assert "Traceback" not in answer["err"] and "unexpected" not in answer["err"]
        succeeded = {p for p, code in zip(PREFIXES, codes, strict=True) if code == 0}
        assert succeeded, answers
        assert succeeded <= granted_prefixes(demo), (answers, granted_prefixes(demo))
    # With the lock, the second apply waits and plans from the first one's result.
    assert outcomes.count((0, 0)) == trials


def test_a_grant_removed_by_another_writer_meanwhile_is_merged_again(
    start_sandbox: StartSandbox,
) -> None:
    sandbox = start_sandbox(scenario="demo")
    session = session_for(sandbox)
    choices = Choices(region=sandbox.region, bucket=DEMO_BUCKET, key=DEMO_KEY, prefix="mine")
    sandbox.client("s3").put_bucket_policy(Bucket=DEMO_BUCKET, Policy=NO_GRANT)
    plan = core_plan.build(snapshot.read(session, choices), choices)
    original = NO_GRANT
    # GetBucketPolicy: the plan above (1), the check before the write (2), the check of the
    # result after the last write (3). Before (3) another writer puts back the old policy,
    # as a read-merge-write that raced with ours would.
    gate = sandbox.gate("GetBucketPolicy", 3)

    def other_writer() -> None:
        assert gate.arrived.wait(60)
        sandbox.client("s3").put_bucket_policy(Bucket=DEMO_BUCKET, Policy=original)
        gate.release()

    thread = threading.Thread(target=other_writer)
    thread.start()
    result = aws_apply.run(session, plan)
    thread.join()
    assert result.rounds == 2
    assert "mine" in granted_prefixes(sandbox)
    after = snapshot.read(session, choices)
    assert is_healthy(doctor.diagnose(after, choices))


def test_an_apply_waits_for_another_and_names_it(
    demo: Sandbox, cli: CliRunner, journal_dir: Path
) -> None:
    session = session_for(demo)
    identity = session.identity()
    lock = aws_apply.destination_lock(journal_dir, identity.account, demo.region)
    lock.acquire(journal="/tmp/their-journal.json")
    try:
        run = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes", "--lock-wait", "0")
    finally:
        lock.release()
    assert run.code == 2
    assert (
        f"Waiting for another apply on this account and region to finish: process "
        f"{os.getpid()}" in run.err
    )
    (error,) = run.error_lines
    assert "Another apply on this account and region is still running" in error
    assert "/tmp/their-journal.json" in error
    assert not list(journal_dir.glob("apply-*.json"))  # nothing was read or written


def test_a_lock_left_by_a_killed_apply_is_taken_and_its_journal_named(
    demo: Sandbox, cli: CliRunner, journal_dir: Path, tmp_path: Path
) -> None:
    session = session_for(demo)
    identity = session.identity()
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from wizard.aws.apply import destination_lock\n"
        f"lock = destination_lock(Path({str(journal_dir)!r}), {identity.account!r}, "
        f"{demo.region!r})\n"
        "lock.acquire(journal='/tmp/crashed-journal.json')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.kill()  # kill -9 while holding the lock: the kernel releases the flock
    holder.wait(timeout=60)
    run = cli("apply", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--yes")
    assert run.code == 0, run.err
    assert "An earlier apply (process" in run.err
    assert "cwl-export-wizard undo /tmp/crashed-journal.json" in run.err
