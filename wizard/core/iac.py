"""A plan as infrastructure as code: Terraform (HCL), CloudFormation (YAML), or the documents.

Where buckets and keys are owned by Terraform or CloudFormation, a change made by hand is drift
that the next pipeline run reverts. These renderings hold exactly the plan (its "after"
documents are the truth, every foreign statement kept) and nothing more: new resources in full;
existing ones the plan changes as Terraform ``import`` blocks, or as a CloudFormation resource
import with ``DeletionPolicy: Retain``. Each file says what was diagnosed, where, and the
``test-export`` command that proves the destination once the pipeline has applied it.

Pure: text in, text out (no YAML or HCL library: both are written by hand, and the tests
parse them with python-hcl2 and cfn-lint).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wizard.core.actions import NEW_KEY_ARN, Action
from wizard.core.arn import parse_arn
from wizard.core.plan import Change, Plan
from wizard.core.state import CREATED_BY_TAG, CREATED_BY_VALUE, BucketState, KeyState
from wizard.core.text import shell_command

FORMATS = ("terraform", "cloudformation", "documents")
NAME = "exports"  # Terraform's local name of every resource
LOGICAL = {  # CloudFormation's logical ids
    "key": "ExportsKey",
    "alias": "ExportsKeyAlias",
    "bucket": "ExportsBucket",
    "policy": "ExportsBucketPolicy",
}


@dataclass(frozen=True)
class Context:
    """What the files say around the plan."""

    account: str
    region: str
    diagnosed: tuple[str, ...]  # the codes of the findings that made the plan
    version: str = ""
    # The bucket and the key as they are now: a CloudFormation import describes them so, and
    # the template keeps what the plan does not change (rotation, public access, ownership).
    bucket: BucketState | None = None
    key: KeyState | None = None


def proving_command(plan: Plan, region: str) -> str:
    choices = plan.choices
    bucket = choices.bucket if choices else "BUCKET"
    prefix = choices.prefix if choices else "exportedlogs"
    group = (choices.log_group if choices else None) or "LOG_GROUP"
    command = shell_command(
        "cwl-export-wizard", "test-export", "--region", region, "--bucket", bucket,
        "--prefix", prefix, "--log-group", group,
    )  # fmt: skip
    if choices is not None and choices.source_accounts:
        # The export runs in the account that owns the log group.
        command += " --source-profile SOURCE_PROFILE"
    return command


def header(plan: Plan, context: Context) -> list[str]:
    """The lines every file starts with (without comment marks)."""
    choices = plan.choices
    where = f"s3://{choices.bucket}/{choices.prefix}/" if choices else "the destination"
    lines = [
        f"Made by cwl-export-wizard {context.version}".rstrip() + f" for {where} in account "
        f"{context.account}, {context.region}.",
        "Diagnosed: " + (", ".join(context.diagnosed) if context.diagnosed else "nothing to fix."),
        "These are the wizard's plan and nothing more: every statement already in a policy stays.",
    ]
    for blocker in plan.blockers:
        lines.append(f"BLOCKER (this code alone cannot make exports work): {blocker}")
    lines += [
        "Once your pipeline has applied it, prove the destination works with:",
        f"  {proving_command(plan, context.region)}",
    ]
    return lines


def comment(lines: Iterable[str]) -> list[str]:
    """``#`` comment lines (both languages), a line break inside a text included."""
    return [f"# {part}".rstrip() for line in lines for part in (line.split("\n") or [""])]


def _changes(plan: Plan) -> dict[Action, Change]:
    return {change.action: change for change in plan.changes}


def _document(change: Change) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(change.after or "{}")
    return loaded


def _key_id(arn: str) -> str:
    parsed = parse_arn(arn)
    return parsed.resource.removeprefix("key/") if parsed is not None else arn


def render(fmt: str, plan: Plan, context: Context) -> dict[str, str]:
    """The files (name -> text) of ``fmt``: terraform, cloudformation or documents."""
    if fmt == "terraform":
        return terraform(plan, context)
    if fmt == "cloudformation":
        return cloudformation(plan, context)
    if fmt == "documents":
        return documents(plan, context)
    raise ValueError(f"unknown format {fmt!r}")


# --- the documents -------------------------------------------------------------------------


def documents(plan: Plan, context: Context) -> dict[str, str]:
    """Each change's after-document as plain JSON, and ``plan.json`` naming them in order:
    for CDK, Pulumi, a ticket, or calls made by hand."""
    files: dict[str, str] = {}
    steps = []
    for number, change in enumerate(plan.changes, 1):
        name = f"{number:02d}-{change.action.value}.json"
        # The plan's own text (canonical JSON): byte for byte what the diff showed.
        files[name] = (change.after or "{}") + "\n"
        steps.append(
            {
                "file": name,
                "action": change.action.value,
                "target": change.target,
                "summary": change.summary,
                "params": dict(change.params),
            }
        )
    choices = plan.choices
    index = {
        "about": header(plan, context),
        "account": context.account,
        "region": context.region,
        "bucket": choices.bucket if choices else None,
        "prefix": choices.prefix if choices else None,
        "diagnosed": list(context.diagnosed),
        "blockers": list(plan.blockers),
        "new_key_arn_placeholder": NEW_KEY_ARN,
        "steps": steps,
        "test_export": proving_command(plan, context.region),
    }
    files["plan.json"] = json.dumps(index, indent=2) + "\n"
    return files


# --- Terraform -----------------------------------------------------------------------------


def _hcl_string(text: str) -> str:
    """A quoted HCL string: JSON's escapes, and ${ and %{ kept literal."""
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def _heredoc(document: dict[str, Any], indent: str) -> str:
    """A JSON document as an indented heredoc (``<<-JSON``), template sequences escaped."""
    body = (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
        .replace("${", "$${")
        .replace("%{", "%%{")
    )
    # split("\n"), not splitlines(): a U+2028 inside a string is text, not a line break.
    inner = "\n".join(f"{indent}  {line}" for line in body.split("\n"))
    return f"<<-JSON\n{inner}\n{indent}JSON"


def _block(kind: str, labels: Iterable[str], body: list[str]) -> list[str]:
    head = " ".join([kind, *(f'"{label}"' for label in labels)])
    return [f"{head} {{", *(f"  {line}" if line else "" for line in body), "}", ""]


def _hcl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith("@ref:"):
        return value.removeprefix("@ref:")
    return _hcl_string(str(value))


def _attributes(values: dict[str, Any]) -> list[str]:
    width = max(len(k) for k in values)
    return [f"{k.ljust(width)} = {_hcl_value(v)}" for k, v in values.items()]


def terraform(plan: Plan, context: Context) -> dict[str, str]:
    """``main.tf``: Terraform 1.5+ with the AWS provider 5.x."""
    changes = _changes(plan)
    lines = comment(header(plan, context))
    lines.append("")
    lines += _block(
        "terraform",
        [],
        [
            'required_version = ">= 1.5"  # import blocks',
            "required_providers {",
            "  aws = {",
            '    source  = "hashicorp/aws"',
            '    version = ">= 5.0"',
            "  }",
            "}",
        ],
    )
    lines += _block("provider", ["aws"], [f"region = {_hcl_string(context.region)}"])

    key_arn: str | None = None  # the key the bucket encrypts with, as HCL
    if Action.CREATE_KEY in changes:
        create = changes[Action.CREATE_KEY]
        policy = _heredoc(_document(create), "  ")
        lines += _block(
            "resource",
            ["aws_kms_key", NAME],
            [
                *_attributes(
                    {
                        "description": create.params.get("description", ""),
                        "enable_key_rotation": Action.ENABLE_KEY_ROTATION in changes,
                    }
                ),
                f"policy = {policy}",
                "tags = {",
                f"  {_hcl_string(CREATED_BY_TAG)} = {_hcl_string(CREATED_BY_VALUE)}",
                "}",
            ],
        )
        key_arn = f"@ref:aws_kms_key.{NAME}.arn"
    if Action.CREATE_ALIAS in changes:
        alias = changes[Action.CREATE_ALIAS].params.get("alias", "")
        lines += _block(
            "resource",
            ["aws_kms_alias", NAME],
            _attributes({"name": alias, "target_key_id": f"@ref:aws_kms_key.{NAME}.key_id"}),
        )
    if Action.PUT_KEY_POLICY in changes:
        change = changes[Action.PUT_KEY_POLICY]
        key_id = _key_id(change.params.get("key_id", ""))
        lines += ["# The existing key: its policy, merged (every statement already there stays)."]
        lines += _block(
            "import", [], _attributes({"to": f"@ref:aws_kms_key_policy.{NAME}", "id": key_id})
        )
        lines += _block(
            "resource",
            ["aws_kms_key_policy", NAME],
            [
                *_attributes({"key_id": key_id}),
                f"policy = {_heredoc(_document(change), '  ')}",
            ],
        )

    new_bucket = Action.CREATE_BUCKET in changes
    bucket_name = plan.choices.bucket if plan.choices else ""
    bucket_ref: str = f"@ref:aws_s3_bucket.{NAME}.id" if new_bucket else bucket_name
    if new_bucket:
        lines += _block("resource", ["aws_s3_bucket", NAME], _attributes({"bucket": bucket_name}))
    if Action.PUT_OWNERSHIP_CONTROLS in changes:
        ownership = _document(changes[Action.PUT_OWNERSHIP_CONTROLS])["Rules"][0]
        lines += _block(
            "resource",
            ["aws_s3_bucket_ownership_controls", NAME],
            [
                *_attributes({"bucket": bucket_ref}),
                "rule {",
                f"  object_ownership = {_hcl_string(ownership['ObjectOwnership'])}",
                "}",
            ],
        )
    if Action.PUT_PUBLIC_ACCESS_BLOCK in changes:
        block = _document(changes[Action.PUT_PUBLIC_ACCESS_BLOCK])
        lines += _block(
            "resource",
            ["aws_s3_bucket_public_access_block", NAME],
            _attributes(
                {
                    "bucket": bucket_ref,
                    "block_public_acls": block["BlockPublicAcls"],
                    "block_public_policy": block["BlockPublicPolicy"],
                    "ignore_public_acls": block["IgnorePublicAcls"],
                    "restrict_public_buckets": block["RestrictPublicBuckets"],
                }
            ),
        )
    if Action.PUT_BUCKET_ENCRYPTION in changes:
        rule = _document(changes[Action.PUT_BUCKET_ENCRYPTION])["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        kms_key = default.get("KMSMasterKeyID")
        if kms_key == NEW_KEY_ARN:
            kms_key = key_arn
        if not new_bucket:
            lines += ["# The existing bucket's default encryption."]
            lines += _block(
                "import",
                [],
                _attributes(
                    {
                        "to": f"@ref:aws_s3_bucket_server_side_encryption_configuration.{NAME}",
                        "id": bucket_name,
                    }
                ),
            )
        by_default = {"sse_algorithm": default["SSEAlgorithm"]}
        if kms_key:
            by_default["kms_master_key_id"] = kms_key
        lines += _block(
            "resource",
            ["aws_s3_bucket_server_side_encryption_configuration", NAME],
            [
                *_attributes({"bucket": bucket_ref}),
                "rule {",
                "  apply_server_side_encryption_by_default {",
                *(f"    {line}" for line in _attributes(by_default)),
                "  }",
                f"  bucket_key_enabled = {_hcl_value(bool(rule.get('BucketKeyEnabled')))}",
                "}",
            ],
        )
    if Action.PUT_BUCKET_POLICY in changes:
        change = changes[Action.PUT_BUCKET_POLICY]
        if not new_bucket:
            lines += [
                "# The existing bucket's policy, merged (every statement already there stays)."
            ]
            lines += _block(
                "import",
                [],
                _attributes({"to": f"@ref:aws_s3_bucket_policy.{NAME}", "id": bucket_name}),
            )
        body = [
            *_attributes({"bucket": bucket_ref}),
            f"policy = {_heredoc(_document(change), '  ')}",
        ]
        if Action.PUT_PUBLIC_ACCESS_BLOCK in changes:
            body.append(f"depends_on = [aws_s3_bucket_public_access_block.{NAME}]")
        lines += _block("resource", ["aws_s3_bucket_policy", NAME], body)
    return {"main.tf": "\n".join(lines).rstrip() + "\n"}


# --- CloudFormation --------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9:._/-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if value is None:
        return "null"
    text = str(value)
    # No spaces (so no ": "), and no ":" at the end: either would start a mapping.
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS and not text.endswith(":"):
        return text
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


def _yaml(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML for dicts and lists; scalars plain or double-quoted."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_yaml_scalar(key)}:")
                lines += _yaml(item, indent + 2)
            else:
                shown = _yaml(item, 0)[0] if isinstance(item, dict | list) else _yaml_scalar(item)
                lines.append(f"{pad}{_yaml_scalar(key)}: {shown}")
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        for item in value:
            nested = _yaml(item, indent + 2)
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines += nested[1:]
            else:
                shown = _yaml(item, 0)[0] if isinstance(item, dict | list) else _yaml_scalar(item)
                lines.append(f"{pad}- {shown}")
        return lines
    return [pad + _yaml_scalar(value)]


def _template(description: str, resources: dict[str, Any], comments: list[str]) -> str:
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Resources": resources,
    }
    lines = comment(comments)
    return "\n".join([*lines, *_yaml(body)]) + "\n"


def _cfn_encryption(document: dict[str, Any], key: Any) -> dict[str, Any]:
    rule = document["Rules"][0]
    default = dict(rule["ApplyServerSideEncryptionByDefault"])
    if default.get("KMSMasterKeyID") == NEW_KEY_ARN:
        default["KMSMasterKeyID"] = key
    return {
        "ServerSideEncryptionConfiguration": [
            {
                "ServerSideEncryptionByDefault": default,
                "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled")),
            }
        ]
    }


def _key_now(key: KeyState | None) -> dict[str, Any]:
    """What a template says of an existing key besides its policy: its rotation, as it is."""
    if key is None or key.rotation_enabled is None:
        return {}
    return {"EnableKeyRotation": key.rotation_enabled}


def _bucket_now(bucket: BucketState | None) -> dict[str, Any]:
    """What a template says of an existing bucket besides its encryption, as it is now."""
    if bucket is None:
        return {}
    now: dict[str, Any] = {}
    if bucket.object_ownership:
        now["OwnershipControls"] = {"Rules": [{"ObjectOwnership": bucket.object_ownership}]}
    block = bucket.public_access_block
    if block is not None:
        now["PublicAccessBlockConfiguration"] = {
            "BlockPublicAcls": block.block_public_acls,
            "BlockPublicPolicy": block.block_public_policy,
            "IgnorePublicAcls": block.ignore_public_acls,
            "RestrictPublicBuckets": block.restrict_public_buckets,
        }
    return now


def cloudformation(plan: Plan, context: Context) -> dict[str, str]:
    """``template.yaml`` (the desired stack); when the plan changes a key or a bucket the
    stack does not own yet, also ``import.yaml`` and ``resources-to-import.json`` (a resource
    import of them as they are now, ``DeletionPolicy: Retain``) and the steps, in order."""
    changes = _changes(plan)
    choices = plan.choices
    bucket_name = choices.bucket if choices else ""
    retain = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    resources: dict[str, Any] = {}
    imports: dict[str, Any] = {}  # logical id -> the resource as it is now
    identifiers: list[dict[str, Any]] = []
    key_arn: Any = None

    if Action.CREATE_KEY in changes:
        create = changes[Action.CREATE_KEY]
        resources[LOGICAL["key"]] = {
            "Type": "AWS::KMS::Key",
            **retain,
            "Properties": {
                "Description": create.params.get("description", ""),
                "EnableKeyRotation": Action.ENABLE_KEY_ROTATION in changes,
                "KeyPolicy": _document(create),
                "Tags": [{"Key": CREATED_BY_TAG, "Value": CREATED_BY_VALUE}],
            },
        }
        key_arn = {"Fn::GetAtt": [LOGICAL["key"], "Arn"]}
    if Action.CREATE_ALIAS in changes:
        resources[LOGICAL["alias"]] = {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": changes[Action.CREATE_ALIAS].params.get("alias", ""),
                "TargetKeyId": {"Ref": LOGICAL["key"]},
            },
        }
    if Action.PUT_KEY_POLICY in changes:
        change = changes[Action.PUT_KEY_POLICY]
        key_id = _key_id(change.params.get("key_id", ""))
        kept = _key_now(context.key)  # the plan changes the policy alone
        resources[LOGICAL["key"]] = {
            "Type": "AWS::KMS::Key",
            **retain,
            "Properties": {**kept, "KeyPolicy": _document(change)},
        }
        imports[LOGICAL["key"]] = {
            "Type": "AWS::KMS::Key",
            **retain,
            "Properties": {**kept, "KeyPolicy": json.loads(change.before or "{}")},
        }
        identifiers.append(
            {
                "ResourceType": "AWS::KMS::Key",
                "LogicalResourceId": LOGICAL["key"],
                "ResourceIdentifier": {"KeyId": key_id},
            }
        )

    new_bucket = Action.CREATE_BUCKET in changes
    if new_bucket or Action.PUT_BUCKET_ENCRYPTION in changes:
        kept = {} if new_bucket else _bucket_now(context.bucket)
        properties: dict[str, Any] = {"BucketName": bucket_name, **kept}
        if Action.PUT_OWNERSHIP_CONTROLS in changes:
            properties["OwnershipControls"] = _document(changes[Action.PUT_OWNERSHIP_CONTROLS])
        if Action.PUT_PUBLIC_ACCESS_BLOCK in changes:
            properties["PublicAccessBlockConfiguration"] = _document(
                changes[Action.PUT_PUBLIC_ACCESS_BLOCK]
            )
        if Action.PUT_BUCKET_ENCRYPTION in changes:
            properties["BucketEncryption"] = _cfn_encryption(
                _document(changes[Action.PUT_BUCKET_ENCRYPTION]), key_arn
            )
        resources[LOGICAL["bucket"]] = {
            "Type": "AWS::S3::Bucket",
            **retain,
            "Properties": properties,
        }
        if not new_bucket:
            change = changes[Action.PUT_BUCKET_ENCRYPTION]
            now: dict[str, Any] = {"BucketName": bucket_name, **kept}
            if change.before:
                now["BucketEncryption"] = _cfn_encryption(json.loads(change.before), None)
            imports[LOGICAL["bucket"]] = {"Type": "AWS::S3::Bucket", **retain, "Properties": now}
            identifiers.append(
                {
                    "ResourceType": "AWS::S3::Bucket",
                    "LogicalResourceId": LOGICAL["bucket"],
                    "ResourceIdentifier": {"BucketName": bucket_name},
                }
            )
    if Action.PUT_BUCKET_POLICY in changes:
        owns_bucket = LOGICAL["bucket"] in resources
        resources[LOGICAL["policy"]] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": LOGICAL["bucket"]} if owns_bucket else bucket_name,
                "PolicyDocument": _document(changes[Action.PUT_BUCKET_POLICY]),
            },
        }

    steps = cloudformation_steps(plan)
    about = header(plan, context)
    description = f"cwl-export-wizard: s3://{bucket_name} as a CloudWatch Logs export destination"
    files: dict[str, str] = {}
    if not resources:
        resources["NothingToChange"] = {
            "Type": "AWS::CloudFormation::WaitConditionHandle",
            "Properties": {},
        }
    files["template.yaml"] = _template(
        description, resources, [*about, "", "Steps:", *(f"  {s}" for s in steps)]
    )
    if imports:
        files["import.yaml"] = _template(
            description + " (the resources to import, as they are now)",
            imports,
            [
                "Step 1 of the steps in template.yaml: import these resources as they are now.",
                "DeletionPolicy Retain: deleting the stack never deletes them.",
            ],
        )
        files["resources-to-import.json"] = json.dumps(identifiers, indent=2) + "\n"
    return files


def imports_existing(plan: Plan) -> bool:
    """True when the stack must first import an existing key or bucket (a CloudFormation
    resource that changes them must own them)."""
    changes = _changes(plan)
    return Action.PUT_KEY_POLICY in changes or (
        Action.PUT_BUCKET_ENCRYPTION in changes and Action.CREATE_BUCKET not in changes
    )


def stack_name(plan: Plan) -> str:
    return f"cwl-exports-{plan.choices.bucket if plan.choices else 'destination'}"


def cloudformation_steps(plan: Plan) -> list[str]:
    """The commands, in order, that put the templates in place."""
    stack = stack_name(plan)
    steps: list[str] = []
    if imports_existing(plan):
        steps += [
            f"aws cloudformation create-change-set --stack-name {stack} --change-set-name "
            "import --change-set-type IMPORT --resources-to-import file://resources-to-import.json"
            " --template-body file://import.yaml",
            f"aws cloudformation execute-change-set --stack-name {stack} --change-set-name import",
            f"aws cloudformation wait stack-import-complete --stack-name {stack}",
        ]
    steps.append(f"aws cloudformation deploy --stack-name {stack} --template-file template.yaml")
    return steps
