"""The AWS CLI commands that do what a plan does: for review, audits and runbooks.

Documents go into files (``file://NAME.json``) exactly as the wizard would send them.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from wizard.core.plan import NEW_KEY_ARN, Action, Change, Plan


@dataclass(frozen=True)
class CliStep:
    comment: str
    command: str
    files: tuple[tuple[str, str], ...] = ()  # (file name, content)


def _quote(*parts: str) -> str:
    return " ".join(shlex.quote(p) for p in parts)


def _compact(document: str | None) -> str:
    return json.dumps(json.loads(document or "{}"), separators=(",", ":"), sort_keys=True)


def _step(change: Change, region: str, key_ref: str) -> CliStep:
    params = change.params
    bucket = params.get("bucket", "")
    key_id = params.get("key_id") or key_ref
    after = change.after or "{}"
    action = change.action
    if action is Action.CREATE_KEY:
        description = params.get("description", "CloudWatch Logs exports")
        return CliStep(
            change.summary,
            _quote("aws", "kms", "create-key", "--region", region, "--description", description,
                   "--key-spec", "SYMMETRIC_DEFAULT", "--key-usage", "ENCRYPT_DECRYPT")
            + " --policy file://key-policy.json"
            + " --query KeyMetadata.Arn --output text  # note the ARN: KEY_ARN",
            (("key-policy.json", after),),
        )
    if action is Action.CREATE_ALIAS:
        return CliStep(
            change.summary,
            _quote("aws", "kms", "create-alias", "--region", region, "--alias-name",
                   params.get("alias", ""), "--target-key-id", key_id),
        )
    if action is Action.PUT_KEY_POLICY:
        return CliStep(
            change.summary,
            _quote("aws", "kms", "put-key-policy", "--region", region, "--key-id", key_id,
                   "--policy-name", "default") + " --policy file://key-policy.json",
            (("key-policy.json", after),),
        )
    if action is Action.CREATE_BUCKET:
        command = _quote("aws", "s3api", "create-bucket", "--region", region, "--bucket", bucket)
        if region != "us-east-1":  # us-east-1 refuses a LocationConstraint
            command += " " + _quote("--create-bucket-configuration", f"LocationConstraint={region}")
        return CliStep(change.summary, command)
    if action is Action.PUT_PUBLIC_ACCESS_BLOCK:
        return CliStep(
            change.summary,
            _quote("aws", "s3api", "put-public-access-block", "--bucket", bucket,
                   "--public-access-block-configuration", _compact(change.after)),
        )
    if action is Action.PUT_OWNERSHIP_CONTROLS:
        return CliStep(
            change.summary,
            _quote("aws", "s3api", "put-bucket-ownership-controls", "--bucket", bucket,
                   "--ownership-controls", _compact(change.after)),
        )
    if action is Action.PUT_BUCKET_ENCRYPTION:
        return CliStep(
            change.summary,
            _quote("aws", "s3api", "put-bucket-encryption", "--bucket", bucket)
            + " --server-side-encryption-configuration file://encryption.json",
            (("encryption.json", after.replace(NEW_KEY_ARN, "KEY_ARN")),),
        )
    if action is Action.PUT_BUCKET_POLICY:
        return CliStep(
            change.summary,
            _quote("aws", "s3api", "put-bucket-policy", "--bucket", bucket)
            + " --policy file://bucket-policy.json",
            (("bucket-policy.json", after),),
        )
    raise ValueError(f"no CLI equivalent for {action}")  # pragma: no cover


def aws_cli_commands(plan: Plan, region: str) -> list[CliStep]:
    """One step per change, in the plan's order. A new key is referred to as KEY_ARN."""
    return [_step(change, region, "KEY_ARN") for change in plan.changes]


def export_command(
    region: str, log_group: str, bucket: str, prefix: str, from_ms: int, to_ms: int,
    stream_prefix: str | None = None,
) -> str:
    parts = ["aws", "logs", "create-export-task", "--region", region,
             "--log-group-name", log_group, "--from", str(from_ms), "--to", str(to_ms),
             "--destination", bucket, "--destination-prefix", prefix]
    if stream_prefix:
        parts += ["--log-stream-name-prefix", stream_prefix]
    return _quote(*parts)


def render(steps: list[CliStep]) -> str:
    """Plain text for a terminal or a runbook: files first, then the command."""
    lines: list[str] = []
    for number, step in enumerate(steps, 1):
        lines.append(f"# {number}. {step.comment}")
        for name, content in step.files:
            lines.append(f"cat > {name} <<'JSON'")
            lines.append(content)
            lines.append("JSON")
        lines.append(step.command)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
