"""A plan as infrastructure as code: Terraform (HCL), CloudFormation (YAML), or the documents.

Where buckets and keys are owned by Terraform or CloudFormation, a change made by hand is drift
that the next pipeline run reverts. These renderings hold exactly the plan (its "after"
documents are the truth, every foreign statement kept) and nothing more: new resources in full;
what exists and the plan changes is imported, never created, exactly as the snapshot saw it
(one table, ``existing``, read by both languages): Terraform ``import`` blocks with
``prevent_destroy``, or a CloudFormation resource import with ``DeletionPolicy: Retain``. What
the plan leaves alone is said as it is. Each file says what was diagnosed, where, and the
``test-export`` command that proves the destination once the pipeline has applied it.

Pure: text in, text out (no YAML or HCL library: both are written by hand, Terraform laid out
as ``terraform fmt`` does; the tests parse them with python-hcl2 and cfn-lint, and check them
with Terraform's own fmt and moto's CloudFormation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wizard.core.actions import NEW_KEY_ARN, current_document
from wizard.core.arn import parse_arn
from wizard.core.change import Action, Change, Plan
from wizard.core.findings import FindingCode
from wizard.core.formats import CODE_FORMATS, PlanFormat
from wizard.core.state import CREATED_BY_TAG, CREATED_BY_VALUE, BucketState, KeyState
from wizard.core.text import escaped, json_escaped, shell_command, visible

FORMATS = CODE_FORMATS
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
    diagnosed: tuple[FindingCode, ...]  # the codes of the findings that made the plan
    version: str = ""
    # The bucket and the key as they are now: a CloudFormation import describes them so, and
    # the template keeps what the plan does not change (rotation, public access, ownership).
    bucket: BucketState | None = None
    key: KeyState | None = None


# --- what exists: adopted, never created ------------------------------------------------------


@dataclass(frozen=True)
class Adoption:
    """How the files adopt one kind of existing document the plan changes.

    Terraform holds the document itself (``terraform``, imported by ``id``); CloudFormation
    holds it inside a resource (``cloudformation``, imported by its primary identifier
    ``identifier``) that may exist while the document does not (a bucket without encryption).
    """

    action: Action
    terraform: str
    cloudformation: str
    logical: str
    identifier: str  # the CloudFormation type's primary identifier
    holder_is_document: bool  # the CloudFormation resource exists exactly when the document does
    # Why destroying the imported Terraform resource would delete more than the wizard wrote.
    destroys: str


ADOPTIONS: tuple[Adoption, ...] = (
    Adoption(
        Action.PUT_KEY_POLICY,
        "aws_kms_key_policy",
        "AWS::KMS::Key",
        "key",
        "KeyId",
        False,
        "gives the key AWS's default key policy: every statement in it goes",
    ),
    Adoption(
        Action.PUT_BUCKET_ENCRYPTION,
        "aws_s3_bucket_server_side_encryption_configuration",
        "AWS::S3::Bucket",
        "bucket",
        "BucketName",
        False,
        "resets the bucket's default encryption, which was there before the wizard",
    ),
    Adoption(
        Action.PUT_BUCKET_POLICY,
        "aws_s3_bucket_policy",
        "AWS::S3::BucketPolicy",
        "policy",
        "Bucket",
        True,
        "deletes the whole bucket policy: every statement in it, not only the wizard's",
    ),
)


@dataclass(frozen=True)
class Existing:
    """One existing document the plan changes, as the snapshot saw it."""

    adoption: Adoption
    identifier: str  # the key id or the bucket name
    document_seen: bool  # the document itself exists: Terraform imports it
    holder_seen: bool  # CloudFormation's resource holding it exists: CloudFormation imports it
    before: str | None  # the document as it is now (canonical JSON)


def existing(plan: Plan, context: Context) -> tuple[Existing, ...]:
    """The one table both languages read: which documents the plan changes exist already
    (so are imported, never created), decided from the snapshot's bucket and key alone."""
    changes = _changes(plan)
    name = plan.choices.bucket if plan.choices else ""
    bucket = context.bucket or BucketState(name, exists=False)
    key = context.key if context.key is not None and context.key.exists else None
    found: list[Existing] = []
    for adoption in ADOPTIONS:
        change = changes.get(adoption.action)
        if change is None:
            continue
        before = current_document(adoption.action, bucket, key)
        if adoption.action is Action.PUT_KEY_POLICY:
            wanted = change.params.get("key_id", "")
            seen = key is not None and wanted in (key.arn, key.key_id)
            identifier = _key_id(wanted)
        else:
            seen = bucket.exists and bucket.name == name
            identifier = name
        if not seen:
            if adoption.action is Action.PUT_KEY_POLICY or Action.CREATE_BUCKET not in changes:
                # The plan changes what exists: the files cannot be right without seeing it.
                raise ValueError(
                    f"the plan changes an existing {adoption.logical}, but the context does not "
                    "hold it as the snapshot saw it"
                )
            continue  # the plan creates the bucket: nothing of it exists to import
        document = before is not None
        holder = document if adoption.holder_is_document else True
        found.append(Existing(adoption, identifier, document, holder, before))
    return tuple(found)


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
    """``#`` comment lines (both languages), a line break inside a text included. Any other
    character a reader could take for a line end (YAML takes U+0085, U+2028 and U+2029 for
    one) or that a terminal would act on is shown escaped: a comment never ends early."""
    return [f"# {visible(part)}".rstrip() for line in lines for part in (line.split("\n") or [""])]


def _changes(plan: Plan) -> dict[Action, Change]:
    return {change.action: change for change in plan.changes}


def _document(change: Change) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(change.after or "{}")
    return loaded


def _key_id(arn: str) -> str:
    parsed = parse_arn(arn)
    return parsed.resource.removeprefix("key/") if parsed is not None else arn


def render(fmt: PlanFormat, plan: Plan, context: Context) -> dict[str, str]:
    """The files (name -> text) of ``fmt``: terraform, cloudformation or documents. Whatever
    text from AWS they carry (a foreign statement's Sid or condition), no file holds a control,
    bidi or separator character: JSON and HCL strings carry it as its ``\\u`` escape (the same
    document to every parser), YAML scalars as theirs, comments visibly."""
    if fmt is PlanFormat.TERRAFORM:
        files = terraform(plan, context)
    elif fmt is PlanFormat.CLOUDFORMATION:
        files = cloudformation(plan, context)
    elif fmt is PlanFormat.DOCUMENTS:
        files = documents(plan, context)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return {
        name: text if name.endswith((".yaml", ".yml")) else json_escaped(text)
        for name, text in files.items()
    }


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
    """``name = value`` lines (aligned by ``terraform_format``)."""
    return [f"{k} = {_hcl_value(v)}" for k, v in values.items()]


# terraform fmt's layout rules, as hclwrite applies them (format.go): consecutive lines that
# assign a whole value (its brackets balanced, or a heredoc) align their "="; any other line
# (a blank, a comment alone, a block's brace) ends the run. Trailing comments get one space
# after the longest code of their own run of consecutive lines with one.
_HEREDOC_OPEN = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)$")
_OPENING, _CLOSING = "([{", ")]}"


def _code_and_comment(line: str) -> tuple[str, str]:
    """A line's code (right-stripped) and its trailing comment, strings respected."""
    in_string = escaped = False
    for index, char in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "#" or line.startswith("//", index):
            return line[:index].rstrip(), line[index:]
    return line.rstrip(), ""


def _assignment(code: str) -> tuple[str, str] | None:
    """``(name, value)`` when ``code`` assigns a whole value; else None."""
    in_string = escaped = False
    equals = -1
    depth = 0
    for index, char in enumerate(code):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif equals < 0 and char == "=" and index > 0:
            if code[index - 1] in "=!<>" or code[index + 1 : index + 2] in ("=", ">"):
                continue  # ==, !=, <=, >=, =>: not an assignment
            equals = index
        elif equals >= 0 and char in _OPENING:
            depth += 1
        elif equals >= 0 and char in _CLOSING:
            depth -= 1
    if equals < 0 or not code[:equals].strip():
        return None
    value = code[equals + 1 :].strip()
    if depth != 0 and not _HEREDOC_OPEN.search(value):
        return None
    return code[:equals].rstrip(), value


def terraform_format(text: str) -> str:
    """``text`` laid out as ``terraform fmt`` would: "=" aligned in each run of assignments,
    one space before a trailing comment (aligned in each run of them)."""
    source = text.split("\n")
    logical: list[list[str]] = []  # a heredoc is one logical line with its body
    index = 0
    while index < len(source):
        group = [source[index]]
        opened = _HEREDOC_OPEN.search(_code_and_comment(source[index])[0])
        index += 1
        if opened:
            while index < len(source):
                group.append(source[index])
                index += 1
                if group[-1].strip() == opened.group(1):
                    break
        logical.append(group)

    heads: list[tuple[str, str]] = [_code_and_comment(group[0]) for group in logical]
    assigned = [_assignment(code) for code, _ in heads]
    codes = [code for code, _ in heads]
    run: list[int] = []
    for position in [*range(len(logical)), -1]:
        found = assigned[position] if position >= 0 else None
        if found is not None:
            run.append(position)
            continue
        pairs = {i: pair for i in run if (pair := assigned[i]) is not None}
        width = max((len(name) for name, _ in pairs.values()), default=0)
        for i, (name, value) in pairs.items():
            codes[i] = f"{name.ljust(width)} = {value}"
        run = []
    for position in [*range(len(logical)), -1]:
        if position >= 0 and heads[position][1] and codes[position].strip():
            run.append(position)
            continue
        width = max((len(codes[i]) for i in run), default=0)
        for i in run:
            codes[i] = f"{codes[i].ljust(width)} {heads[i][1]}"
        run = []
    lines: list[str] = []
    for position, group in enumerate(logical):
        first = codes[position] if heads[position][0].strip() else group[0]
        lines += [first, *group[1:]]
    return "\n".join(lines)


def _lifecycle(adopted: Existing) -> list[str]:
    return [
        f"# Kept on destroy: destroying it {adopted.adoption.destroys}.",
        "lifecycle {",
        "  prevent_destroy = true",
        "}",
    ]


def _detach_lines(adopted: tuple[Existing, ...]) -> list[str]:
    """The header's word on the imported resources: why they are kept, how to let go."""
    if not adopted:
        return []
    first = f"{adopted[0].adoption.terraform}.{NAME}"
    return [
        "Imported, as they existed before the wizard:",
        *(f"  {a.adoption.terraform}.{NAME}" for a in adopted),
        "Each is a shared document with lifecycle { prevent_destroy = true }: destroying it",
        "would delete all of it, not only what the wizard wrote. To stop managing one and keep",
        f"it, run terraform state rm {first} and delete its blocks, or",
        "(Terraform 1.7+) replace its resource and import blocks with:",
        "  removed {",
        f"    from = {first}",
        "    lifecycle {",
        "      destroy = false",
        "    }",
        "  }",
    ]


def terraform(plan: Plan, context: Context) -> dict[str, str]:
    """``main.tf``: Terraform 1.5+ with the AWS provider 5.x, as ``terraform fmt`` lays it out."""
    changes = _changes(plan)
    adopted = {e.adoption.action: e for e in existing(plan, context) if e.document_seen}
    lines = comment([*header(plan, context), *_detach_lines(tuple(adopted.values()))])
    lines.append("")
    lines += _block(
        "terraform",
        [],
        [
            'required_version = ">= 1.5" # import blocks',
            "required_providers {",
            "  aws = {",
            '    source  = "hashicorp/aws"',
            '    version = ">= 5.0"',
            "  }",
            "}",
        ],
    )
    lines += _block("provider", ["aws"], [f"region = {_hcl_string(context.region)}"])

    def adopt(action: Action, why: str, body: list[str]) -> list[str]:
        """The resource of ``action``: imported first when it exists, and then kept on destroy."""
        kind = next(a.terraform for a in ADOPTIONS if a.action is action)
        found = adopted.get(action)
        if found is None:
            return _block("resource", [kind, NAME], body)
        to = f"@ref:{kind}.{NAME}"
        return [
            f"# {why}",
            *_block("import", [], _attributes({"to": to, "id": found.identifier})),
            *_block("resource", [kind, NAME], [*body, *_lifecycle(found)]),
        ]

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
        lines += adopt(
            Action.PUT_KEY_POLICY,
            "The existing key: its policy, merged (every statement already there stays).",
            [*_attributes({"key_id": key_id}), f"policy = {_heredoc(_document(change), '  ')}"],
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
        by_default = {"sse_algorithm": default["SSEAlgorithm"]}
        if kms_key:
            by_default["kms_master_key_id"] = kms_key
        lines += adopt(
            Action.PUT_BUCKET_ENCRYPTION,
            "The existing bucket's default encryption.",
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
        body = [
            *_attributes({"bucket": bucket_ref}),
            f"policy = {_heredoc(_document(change), '  ')}",
        ]
        if Action.PUT_PUBLIC_ACCESS_BLOCK in changes:
            body.append(f"depends_on = [aws_s3_bucket_public_access_block.{NAME}]")
        lines += adopt(
            Action.PUT_BUCKET_POLICY,
            "The existing bucket's policy, merged (every statement already there stays).",
            body,
        )
    text = "\n".join(lines).rstrip() + "\n"
    return {"main.tf": terraform_format(text)}


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
    return _yaml_quoted(text)


def _yaml_quoted(text: str) -> str:
    """A double-quoted YAML scalar for ``text``, exactly: JSON's escapes are YAML's, except
    that a character outside the BMP must be one ``\\UXXXXXXXX`` (not a JSON surrogate pair),
    and YAML's line breaks (U+0085, U+2028, U+2029) and non-printable characters are
    escaped rather than written (a double-quoted scalar folds a raw line break)."""
    out: list[str] = []
    for char in json.dumps(text, ensure_ascii=False)[1:-1]:
        code = ord(char)
        printable = (
            code in (0x09, 0x0A, 0x0D)
            or 0x20 <= code <= 0x7E
            or code in range(0xA0, 0xD800)
            or code in range(0xE000, 0xFFFE)
            or 0x10000 <= code <= 0x10FFFF
        ) and not escaped(char)
        if printable:
            out.append(char)
        elif code > 0xFFFF:
            out.append(f"\\U{code:08x}")
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


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
    """What a template says of an existing key besides its policy (its description and
    rotation), as it is."""
    if key is None:
        return {}
    now: dict[str, Any] = {"Description": key.description} if key.description else {}
    if key.rotation_enabled is not None:
        now["EnableKeyRotation"] = key.rotation_enabled
    return now


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
    """``template.yaml`` (the desired stack); when the plan changes a key, a bucket or a
    bucket policy that exists (``existing``: the stack does not own them yet), also
    ``import.yaml`` and ``resources-to-import.json`` (a resource import of them as they are
    now, ``DeletionPolicy: Retain``) and the steps, in order."""
    changes = _changes(plan)
    choices = plan.choices
    bucket_name = choices.bucket if choices else ""
    retain = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    adopted = {e.adoption.action: e for e in existing(plan, context) if e.holder_seen}
    resources: dict[str, Any] = {}
    imports: dict[str, Any] = {}  # logical id -> the resource as it is now
    key_arn: Any = None

    def adopt(action: Action, now: dict[str, Any]) -> None:
        """Import ``action``'s resource as it is now (``now``: its properties)."""
        adoption = adopted[action].adoption
        imports[LOGICAL[adoption.logical]] = {
            "Type": adoption.cloudformation,
            **retain,
            "Properties": now,
        }

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
        kept = _key_now(context.key)  # the plan changes the policy alone
        resources[LOGICAL["key"]] = {
            "Type": "AWS::KMS::Key",
            **retain,
            "Properties": {**kept, "KeyPolicy": _document(change)},
        }
        if Action.PUT_KEY_POLICY in adopted:
            before = json.loads(adopted[Action.PUT_KEY_POLICY].before or "{}")
            adopt(Action.PUT_KEY_POLICY, {**kept, "KeyPolicy": before})

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
        if Action.PUT_BUCKET_ENCRYPTION in adopted:
            now: dict[str, Any] = {"BucketName": bucket_name, **kept}
            before = adopted[Action.PUT_BUCKET_ENCRYPTION].before
            if before:
                now["BucketEncryption"] = _cfn_encryption(json.loads(before), None)
            adopt(Action.PUT_BUCKET_ENCRYPTION, now)
    if Action.PUT_BUCKET_POLICY in changes:
        # A bucket the stack creates is named by reference; an existing one by its name, the
        # same in the import and in the template (Bucket cannot change without replacement).
        bucket: Any = {"Ref": LOGICAL["bucket"]} if new_bucket else bucket_name
        resources[LOGICAL["policy"]] = {
            "Type": "AWS::S3::BucketPolicy",
            **(retain if Action.PUT_BUCKET_POLICY in adopted else {}),
            "Properties": {
                "Bucket": bucket,
                "PolicyDocument": _document(changes[Action.PUT_BUCKET_POLICY]),
            },
        }
        if Action.PUT_BUCKET_POLICY in adopted:
            before = json.loads(adopted[Action.PUT_BUCKET_POLICY].before or "{}")
            adopt(Action.PUT_BUCKET_POLICY, {"Bucket": bucket_name, "PolicyDocument": before})

    identifiers = [
        {
            "ResourceType": found.adoption.cloudformation,
            "LogicalResourceId": LOGICAL[found.adoption.logical],
            "ResourceIdentifier": {found.adoption.identifier: found.identifier},
        }
        for found in adopted.values()
    ]
    steps = cloudformation_steps(plan, context)
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


def imports_existing(plan: Plan, context: Context) -> bool:
    """True when the stack must first import an existing key, bucket or bucket policy (a
    CloudFormation resource that changes them must own them)."""
    return any(e.holder_seen for e in existing(plan, context))


def stack_name(plan: Plan) -> str:
    return f"cwl-exports-{plan.choices.bucket if plan.choices else 'destination'}"


def cloudformation_steps(plan: Plan, context: Context) -> list[str]:
    """The commands, in order, that put the templates in place."""
    stack = stack_name(plan)
    steps: list[str] = []
    if imports_existing(plan, context):
        steps += [
            shell_command(
                "aws",
                "cloudformation",
                "create-change-set",
                "--stack-name",
                stack,
                "--change-set-name",
                "import",
                "--change-set-type",
                "IMPORT",
                "--resources-to-import",
                "file://resources-to-import.json",
                "--template-body",
                "file://import.yaml",
            ),
            shell_command(
                "aws",
                "cloudformation",
                "execute-change-set",
                "--stack-name",
                stack,
                "--change-set-name",
                "import",
            ),
            shell_command(
                "aws", "cloudformation", "wait", "stack-import-complete", "--stack-name", stack
            ),
        ]
    steps.append(
        shell_command(
            "aws",
            "cloudformation",
            "deploy",
            "--stack-name",
            stack,
            "--template-file",
            "template.yaml",
        )
    )
    return steps
