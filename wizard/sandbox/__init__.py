"""The sandbox: an embedded local AWS whose CloudWatch Logs export behaves like the real service.

moto's server (S3, KMS, CloudWatch Logs, STS) runs in a thread on 127.0.0.1; ``fidelity`` wraps
it so that CreateExportTask (``export_tasks``) checks bucket and key policies with the core
evaluator, runs asynchronously and writes objects where the real service writes them.

This package imports nothing heavy: ``wizard.sandbox.command`` must stay cheap for ``--help``.
``Sandbox``, ``SandboxConfig`` and ``Fault`` load ``server`` (and moto) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.sandbox.server import Fault, Sandbox, SandboxConfig

__all__ = ["Fault", "Sandbox", "SandboxConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from wizard.sandbox import server

        return getattr(server, name)
    raise AttributeError(f"module 'wizard.sandbox' has no attribute {name!r}")
