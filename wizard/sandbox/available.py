"""Whether the sandbox can run here: its extra (moto, flask) installed. Light: no moto."""

from __future__ import annotations

# What the sandbox runs on, installed by the "sandbox" extra (a real account needs none).
SANDBOX_MODULES = ("moto", "flask", "flask_cors")
SANDBOX_INSTALL = "pip install 'cwl-export-wizard[sandbox]' (in a clone: pip install '.[sandbox]')"


def sandbox_missing() -> str | None:
    """Why the sandbox cannot start here (its extra is not installed), or None."""
    import importlib.util

    missing = [name for name in SANDBOX_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"the sandbox needs {', '.join(missing)}, which this installation lacks: {SANDBOX_INSTALL}."
    )
