"""The functional core stays pure: importing it loads no AWS SDK, UI or sandbox code."""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import wizard.core

FORBIDDEN = ("boto3", "botocore", "textual", "questionary", "moto", "prompt_toolkit", "rich")


def core_modules() -> list[str]:
    return sorted(f"wizard.core.{info.name}" for info in pkgutil.iter_modules(wizard.core.__path__))


def test_core_has_modules() -> None:
    assert "wizard.core.policy" in core_modules()


def test_core_imports_no_sdk_or_ui() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(FORBIDDEN)!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# --- import contracts: who may import whom (at run time; type-only imports are free) --------

WIZARD = Path(wizard.core.__file__).resolve().parents[1]
FACES = ("wizard.tui", "wizard.plain", "wizard.commands", "wizard.render", "wizard.asking")
UI = ("textual", "questionary", "prompt_toolkit", "rich")
AWS = ("boto3", "botocore", "moto", "wizard.aws", "wizard.sandbox")
CONTRACTS: dict[tuple[str, ...], tuple[str, ...]] = {
    # The functional core: policies, plans, findings. Pure.
    ("wizard.core",): (*UI, *AWS, "wizard.flow", "wizard.launch", *FACES),
    # The flow decides for every face, so it knows none of them.
    ("wizard.flow",): (*UI, "moto", "wizard.sandbox", *FACES),
    # Faces ask and show; AWS only through the flow (and launch, which opens the session).
    FACES: AWS,
    # The AWS layer does what it is told and knows no face and no flow.
    ("wizard.aws",): (*UI, "moto", "wizard.sandbox", "wizard.flow", "wizard.launch", *FACES),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(WIZARD.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import that runs, at module level or inside a function:
    only ``if TYPE_CHECKING:`` blocks are skipped."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    tree: ast.AST = ast.parse(path.read_text(encoding="utf-8"))
    visit(tree)
    return found


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_every_module_keeps_its_import_contract() -> None:
    broken = []
    for path in sorted(WIZARD.rglob("*.py")):
        module = _module_name(path)
        for owners, forbidden in CONTRACTS.items():
            if not _within(module, owners):
                continue
            for line, imported in _runtime_imports(path):
                if _within(imported, forbidden):
                    broken.append(f"{path.relative_to(WIZARD.parent)}:{line} imports {imported}")
    assert not broken, "\n".join(broken)


def test_the_contract_check_sees_lazy_imports_and_skips_type_only_ones(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from wizard.aws.apply import StepResult\n"
        "def later():\n    import boto3\n    from wizard.aws import export\n"
    )
    names = {name for _, name in _runtime_imports(source)}
    assert "boto3" in names and "wizard.aws.export" in names
    assert not any(name.startswith("wizard.aws.apply") for name in names)


def test_every_document_the_code_cites_is_in_the_repository() -> None:
    """A comment that names a Markdown file sends a reader there: the file must be here."""
    root = WIZARD.parent
    missing = []
    for path in sorted([*WIZARD.rglob("*.py"), *(root / "tests").rglob("*.py")]):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for cited in re.findall(r"[\w./-]+\.md\b", line):
                if not (root / cited).exists():
                    missing.append(f"{path.relative_to(root)}:{number} cites {cited}")
    assert not missing, "\n".join(missing)
