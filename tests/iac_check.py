"""checkov on the plan as Terraform and CloudFormation: the quality check of issue 17.

    pip install -e '.[iac-check]'      # checkov: about 90 packages, kept out of the test extra
    python -m tests.iac_check          # or: --checkov /path/to/checkov (another virtualenv)

Renders the shapes of tests/core/test_iac.py (a fresh setup, a repair, foreign statements with
an organisation Deny, a second prefix, a new key for an existing bucket) as Terraform and
CloudFormation into a temporary folder, runs checkov (frameworks terraform and cloudformation,
offline) and sorts its checks: those about what the wizard writes (KMS rotation and key
policy, default encryption with KMS, public access, ACLs, the bucket policy's principals) must
all pass, and each must have been evaluated at least once; the others (access logging,
versioning, replication, lifecycle, event notifications: choices a team makes for its archive,
not needs of an export) are listed. Exit 1 when a check about the wizard's writes failed or did
not run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.core.test_iac import SHAPES

# The checks about what the wizard writes, by framework (checkov 3.x ids).
WIZARD_CHECKS: dict[str, frozenset[str]] = {
    "terraform": frozenset(
        {
            "CKV_AWS_7",  # KMS key rotation
            "CKV_AWS_33",  # no wildcard principal in the key policy
            "CKV2_AWS_64",  # the key has a policy
            "CKV_AWS_227",  # the key is enabled
            "CKV_AWS_145",  # default encryption with KMS
            "CKV_AWS_19",  # encrypted at rest
            "CKV_AWS_53",  # public access block: the four settings
            "CKV_AWS_54",
            "CKV_AWS_55",
            "CKV_AWS_56",
            "CKV2_AWS_6",  # the bucket has a public access block
            "CKV2_AWS_65",  # ACLs disabled (BucketOwnerEnforced)
            "CKV_AWS_20",  # no public READ
            "CKV_AWS_57",  # no public WRITE
            "CKV_AWS_70",  # no Allow to any principal in the bucket policy
            "CKV_AWS_93",  # the bucket policy does not lock out all but root
        }
    ),
    "cloudformation": frozenset(
        {
            "CKV_AWS_7",
            "CKV_AWS_33",
            "CKV_AWS_19",
            "CKV_AWS_53",
            "CKV_AWS_54",
            "CKV_AWS_55",
            "CKV_AWS_56",
            "CKV_AWS_20",
            "CKV_AWS_57",
        }
    ),
}
FRAMEWORKS = tuple(WIZARD_CHECKS)


@dataclass(frozen=True)
class Check:
    framework: str
    check_id: str
    name: str
    passed: bool
    where: str  # file and resource


@dataclass(frozen=True)
class Verdict:
    failed: tuple[Check, ...]  # about the wizard's writes: must be empty
    missing: tuple[str, ...]  # about the wizard's writes, never evaluated: must be empty
    passed: int  # evaluations about the wizard's writes that passed
    other_failed: tuple[Check, ...]  # not about what the wizard writes

    @property
    def ok(self) -> bool:
        return not self.failed and not self.missing


def checks_of(report: Any) -> list[Check]:
    """checkov's JSON report (one framework, or a list of them) as checks."""
    reports = report if isinstance(report, list) else [report]
    found: list[Check] = []
    for part in reports:
        framework = part.get("check_type", "")
        results = part.get("results", {})
        for key, passed in (("passed_checks", True), ("failed_checks", False)):
            for check in results.get(key, []):
                where = f"{check.get('file_path', '?')} {check.get('resource', '?')}"
                found.append(
                    Check(framework, check["check_id"], check["check_name"], passed, where)
                )
    return found


def judge(checks: Iterable[Check]) -> Verdict:
    checks = list(checks)
    ours = [c for c in checks if c.check_id in WIZARD_CHECKS.get(c.framework, frozenset())]
    evaluated = {(c.framework, c.check_id) for c in ours}
    missing = sorted(
        f"{framework} {check_id}"
        for framework, ids in WIZARD_CHECKS.items()
        for check_id in ids
        if (framework, check_id) not in evaluated
    )
    return Verdict(
        failed=tuple(c for c in ours if not c.passed),
        missing=tuple(missing),
        passed=sum(1 for c in ours if c.passed),
        other_failed=tuple(c for c in checks if c not in ours and not c.passed),
    )


def write_shapes(folder: Path) -> int:
    """The shapes as Terraform and CloudFormation files; returns how many files."""
    from tests.core.test_iac import files_of

    written = 0
    for shape in SHAPES:
        for fmt in FRAMEWORKS:
            target = folder / shape / fmt
            target.mkdir(parents=True)
            for name, text in files_of(fmt, shape).items():
                (target / name).write_text(text)
                written += 1
    return written


def find_checkov(given: str | None) -> str | None:
    if given:
        return given
    beside = shutil.which("checkov", path=str(Path(sys.executable).parent))
    return beside or shutil.which("checkov")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.iac_check", description=__doc__)
    parser.add_argument("--checkov", help="the checkov program (default: beside Python, PATH)")
    args = parser.parse_args(argv)
    program = find_checkov(args.checkov)
    if program is None:
        print(
            "error: checkov is not installed: pip install -e '.[iac-check]' "
            "(or give --checkov PATH)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="cwl-iac-check-") as name:
        folder = Path(name)
        files = write_shapes(folder)
        started = time.perf_counter()
        command = [program, "-d", str(folder), "--framework", *FRAMEWORKS, "-o", "json"]
        ran = subprocess.run(
            [*command, "--skip-download"],  # offline: no guidelines fetched
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
    if ran.returncode not in (0, 1) or not ran.stdout.strip():
        print(f"error: checkov failed ({ran.returncode}):\n{ran.stderr[-2000:]}", file=sys.stderr)
        return 2
    checks = checks_of(json.loads(ran.stdout))
    verdict = judge(checks)
    version = subprocess.run([program, "--version"], capture_output=True, text=True).stdout
    print(
        f"checkov {version.strip()} on {files} files ({len(SHAPES)} shapes x terraform, "
        "cloudformation) "
        f"in {seconds:.1f} s: {len(checks)} evaluations"
    )
    print(f"About what the wizard writes: {verdict.passed} passed, {len(verdict.failed)} failed")
    for check in verdict.failed:
        print(f"  FAILED {check.framework} {check.check_id} {check.name}: {check.where}")
    for missing in verdict.missing:
        print(f"  NOT EVALUATED {missing}")
    others = sorted({(c.framework, c.check_id, c.name) for c in verdict.other_failed})
    print(f"Not about an export destination (the team's choice), failed: {len(others)} checks")
    for framework, check_id, check_name in others:
        print(f"  {framework} {check_id} {check_name}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
