"""What the README's demo command installs: packages, against the old ``moto[server]``.

pip resolves both sets without installing anything (``--dry-run --ignore-installed``), so
the count is what a fresh virtualenv gets. It asks the package index (cached by pip).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.harness import BenchResult, Row

ROOT = Path(__file__).resolve().parents[2]
MAX_PACKAGES = 40
NAIVE = "moto[server]>=5.1,<6"  # the sandbox's dependency before the lean install


def resolved(*requirements: str) -> list[str]:
    """The distributions ``pip install REQUIREMENTS`` would put into an empty virtualenv."""
    with tempfile.TemporaryDirectory(prefix="cwl-bench-pip-") as folder:
        report = Path(folder) / "report.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--report",
                str(report),
                *requirements,
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        data = json.loads(report.read_text())
    return sorted(item["metadata"]["name"] for item in data["install"])


def bench_install() -> BenchResult:
    result = BenchResult("install")
    demo = resolved(".[sandbox]")
    account = resolved(".")
    naive = resolved(".", NAIVE)
    result.rows.append(
        Row(
            "install: packages of the README demo command [pip]",
            "pkgs",
            float(len(demo)),
            float(len(naive)),
            float(MAX_PACKAGES),
            [
                f"`pip install '.[sandbox]'` into an empty virtualenv, the wizard included; "
                f"naive: the wizard with {NAIVE} ({len(naive)}); for a real account alone "
                f"(`pip install .`, no sandbox): {len(account)}"
            ],
        )
    )
    result.facts.update(demo=demo, account=account, naive=naive)
    return result
