"""``plan --format terraform|cloudformation|documents`` against the sandbox's accounts.

For the broken, empty and demo scenarios: every output parses (python-hcl2) or lints clean
(cfn-lint), holds the documents ``apply`` writes, and the documents applied by hand through the
AWS API (what a pipeline does) make ``doctor`` healthy and ``test-export`` COMPLETED.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import DEMO_BUCKET, DEMO_GROUP, DEMO_KEY
from tests.aws.test_apply import add_log_group
from tests.conftest import REGION, CliRunner, StartSandbox
from tests.iac_files import (
    cloudformation,
    lint_errors,
    terraform,
    terraform_documents,
    with_key,
)
from tests.iac_plans import PLANS, audit, aws_config
from wizard.core.actions import NEW_KEY_ARN
from wizard.sandbox.server import Sandbox

NEW_BUCKET = "iac-new-exports"
NEW_ALIAS = "alias/iac-exports"
# scenario -> (the plan's options, the log group of the test export)
CASES: dict[str, tuple[tuple[str, ...], str]] = {
    "broken": (("--bucket", DEMO_BUCKET, "--key", DEMO_KEY), DEMO_GROUP),
    "demo": (("--bucket", "demo-sse-s3", "--key", DEMO_KEY, "--prefix", "iac"), DEMO_GROUP),
    "empty": (
        ("--bucket", NEW_BUCKET, "--create-bucket", "--create-key", NEW_ALIAS),
        "/app/orders",
    ),
}


def start(start_sandbox: StartSandbox, scenario: str) -> Sandbox:
    sandbox = start_sandbox(scenario=scenario)
    if scenario == "empty":
        add_log_group(sandbox)
    return sandbox


def printed_files(text: str) -> dict[str, str]:
    """What ``plan --format X`` printed, split back into files at ``# ==> name <==``."""
    if not text.startswith("# ==> "):
        return {"": text}
    files: dict[str, str] = {}
    for part in text.split("# ==> ")[1:]:
        name, body = part.split(" <==\n", 1)
        files[name] = body.removesuffix("\n") if body.endswith("\n\n") else body
    return files


def generate(cli: CliRunner, options: tuple[str, ...], fmt: str, folder: Path) -> dict[str, str]:
    """The files of one format, written with --out; printed without it, the same text."""
    printed = cli("plan", *options, "--format", fmt)
    assert printed.code == 1, printed.err  # 1: there are changes to make
    written = cli("plan", *options, "--format", fmt, "--out", str(folder))
    assert written.code == 1, written.err
    files = {path.name: path.read_text() for path in sorted(folder.iterdir())}
    for name in files:
        assert f"Wrote {folder / name}" in written.out
    assert "Next:" in written.out and "cwl-export-wizard test-export" in written.out
    shown = printed_files(printed.out)
    if "" in shown:
        assert list(files.values()) == [shown[""]]
    else:
        assert shown == files
    return files


def apply_by_hand(sandbox: Sandbox, folder: Path) -> str | None:
    """The documents applied through the AWS API, in plan.json's order, as a pipeline would;
    returns the new key's ARN, if one was created."""
    index = json.loads((folder / "plan.json").read_text())
    kms, s3 = sandbox.client("kms"), sandbox.client("s3")
    key_arn: str | None = None

    def document(name: str) -> Any:
        text = (folder / name).read_text()
        return json.loads(text.replace(NEW_KEY_ARN, key_arn) if key_arn else text)

    for step in index["steps"]:
        doc, params = document(step["file"]), step["params"]
        bucket = params.get("bucket")
        action = step["action"]
        if action == "CreateKey":
            meta = kms.create_key(Policy=json.dumps(doc), Description=params["description"])
            key_arn = meta["KeyMetadata"]["Arn"]
        elif action == "EnableKeyRotation":
            kms.enable_key_rotation(KeyId=key_arn)
        elif action == "CreateAlias":
            kms.create_alias(AliasName=doc["AliasName"], TargetKeyId=doc["TargetKeyId"])
        elif action == "PutKeyPolicy":
            kms.put_key_policy(KeyId=params["key_id"], PolicyName="default", Policy=json.dumps(doc))
        elif action == "CreateBucket":
            s3.create_bucket(**doc)
        elif action == "PutPublicAccessBlock":
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=doc)
        elif action == "PutBucketOwnershipControls":
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=doc)
        elif action == "PutBucketEncryption":
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=doc)
        elif action == "PutBucketPolicy":
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))
        else:
            raise AssertionError(f"a step the documents do not say how to apply: {action}")
    return key_arn


def written_state(sandbox: Sandbox, bucket: str, key: str) -> dict[str, Any]:
    """What the account holds now: the documents the plan writes, read back."""
    kms, s3 = sandbox.client("kms"), sandbox.client("s3")
    key_id = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    return {
        "PutBucketPolicy": json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]),
        "key policy": json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
        "PutBucketEncryption": encryption,
    }


def documents_by_action(folder: Path, key_arn: str | None = None) -> dict[str, Any]:
    index = json.loads((folder / "plan.json").read_text())
    found = {}
    for step in index["steps"]:
        document = json.loads((folder / step["file"]).read_text())
        action = step["action"]
        found[action] = with_key(document, key_arn) if key_arn else document
        if action in ("CreateKey", "PutKeyPolicy"):
            found["key policy"] = found[action]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(CASES))
def test_every_format_holds_the_plan_and_its_documents_applied_by_hand_prove_the_destination(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path, scenario: str
) -> None:
    options, group = CASES[scenario]
    sandbox = start(start_sandbox, scenario)
    plan = cli("plan", *options, "--json").json()
    plan_documents = {c["action"]: json.loads(c["after"]) for c in plan["changes"]}

    files = {fmt: generate(cli, options, fmt, tmp_path / fmt) for fmt in CASE_FORMATS}
    # Terraform: parses; its documents are the plan's.
    main_tf = files["terraform"]["main.tf"]
    terraform(main_tf)
    for kind, document in terraform_documents(main_tf).items():
        action = TERRAFORM_DOCUMENT[kind]
        assert document == plan_documents[action], kind
    # CloudFormation: lints with no error; its documents are the plan's.
    for name, text in files["cloudformation"].items():
        if name.endswith(".yaml"):
            assert lint_errors(text, REGION) == [], name
    resources = cloudformation(files["cloudformation"]["template.yaml"])["Resources"]
    if "PutBucketPolicy" in plan_documents:
        written = resources["ExportsBucketPolicy"]["Properties"]["PolicyDocument"]
        assert written == plan_documents["PutBucketPolicy"]
    for action in ("CreateKey", "PutKeyPolicy"):
        if action in plan_documents:
            assert resources["ExportsKey"]["Properties"]["KeyPolicy"] == plan_documents[action]
    # The documents: the plan's, byte for byte.
    for change in plan["changes"]:
        [name] = [n for n in files["documents"] if n.endswith(f"-{change['action']}.json")]
        assert files["documents"][name] == change["after"] + "\n"

    # Nothing was changed by any of it; then the pipeline applies the documents.
    bucket, prefix = options[1], prefix_of(options)
    assert cli("doctor", "--bucket", bucket, "--prefix", prefix).code != 0
    key_arn = apply_by_hand(sandbox, tmp_path / "documents")
    assert cli("doctor", "--bucket", bucket, "--prefix", prefix_of(options)).code == 0
    export = cli(
        "test-export",
        "--bucket",
        bucket,
        "--prefix",
        prefix_of(options),
        "--log-group",
        group,
        "--json",
    )
    assert export.code == 0, export.out + export.err
    result = export.json()
    assert result["status"] == "COMPLETED" and result["objects"]
    assert cli("plan", "--bucket", bucket, "--prefix", prefix).code == 0  # nothing left
    # What the pipeline wrote is the plan's documents.
    key = key_arn or DEMO_KEY
    state = written_state(sandbox, bucket, key)
    expected = documents_by_action(tmp_path / "documents", key_arn)
    for name, document in state.items():
        if name in expected:
            assert document == expected[name], name


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(CASES))
def test_the_documents_are_what_apply_writes(
    start_sandbox: StartSandbox, cli: CliRunner, tmp_path: Path, scenario: str
) -> None:
    options, _ = CASES[scenario]
    sandbox = start(start_sandbox, scenario)
    generate(cli, options, "documents", tmp_path)
    applied = cli("apply", *options, "--yes")
    assert applied.code == 0, applied.out + applied.err
    key_arn = None
    if "--create-key" in options:
        key_arn = sandbox.client("kms").describe_key(KeyId=NEW_ALIAS)["KeyMetadata"]["Arn"]
    state = written_state(sandbox, options[1], key_arn or DEMO_KEY)
    expected = documents_by_action(tmp_path, key_arn)
    compared = [name for name in state if name in expected]
    assert "PutBucketPolicy" in compared and "key policy" in compared
    for name in compared:
        assert state[name] == expected[name], name


def prefix_of(options: tuple[str, ...]) -> str:
    return options[options.index("--prefix") + 1] if "--prefix" in options else "exportedlogs"


CASE_FORMATS = ("terraform", "cloudformation", "documents")
TERRAFORM_DOCUMENT = {
    "aws_kms_key": "CreateKey",
    "aws_kms_key_policy": "PutKeyPolicy",
    "aws_s3_bucket_policy": "PutBucketPolicy",
}


def test_bad_requests_change_nothing_and_say_why(
    demo: Sandbox, cli: CliRunner, tmp_path: Path
) -> None:
    options = ("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY)
    both = cli(*options, "--json", "--format", "terraform")
    assert both.code == 2 and "--json and --format terraform say two things" in both.err
    (tmp_path / "main.tf").write_text("# mine\n")
    taken = cli(*options, "--format", "terraform", "--out", str(tmp_path))
    assert taken.code == 2 and "main.tf exists already; nothing was written" in taken.err
    assert (tmp_path / "main.tf").read_text() == "# mine\n"
    (tmp_path / "template.yaml").write_text("# mine\n")
    partly = cli(*options, "--format", "cloudformation", "--out", str(tmp_path))
    assert partly.code == 2 and not (tmp_path / "import.yaml").exists()  # all or none
    unknown = cli(*options, "--format", "pulumi")
    assert unknown.code == 2 and "invalid choice: 'pulumi'" in unknown.err
    assert "Traceback" not in both.err + taken.err + partly.err + unknown.err


def test_the_readmes_examples_are_what_the_broken_bucket_gives(
    start_sandbox: StartSandbox, cli: CliRunner
) -> None:
    """Every line of the README's HCL and YAML excerpts is a line of the real output."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Infrastructure as code", 1)[1].split("\n## ", 1)[0]
    start_sandbox(scenario="broken")
    for language, fmt in (("hcl", "terraform"), ("yaml", "cloudformation")):
        [excerpt] = re.findall(rf"```{language}\n(.*?)\n```", section, re.S)
        printed = cli("plan", "--bucket", DEMO_BUCKET, "--key", DEMO_KEY, "--format", fmt)
        lines = set(printed.out.splitlines())
        for line in excerpt.splitlines():
            assert line in lines, (fmt, line)


# --- the fresh template in moto's CloudFormation ----------------------------------------------

# What moto's CloudFormation (5.x) cannot show, each adapted or skipped by name.
MOTO_ADAPTS = {
    "Tags": "moto reads an AWS::KMS::Key's Tags as TagKey/TagValue, not CloudFormation's Key/Value",
    "KeyPolicy": "moto keeps a KeyPolicy given as an object unserialized: given as JSON text "
    "(CloudFormation takes both)",
}
MOTO_SKIPS = {
    "AWS::S3::BucketPolicy": "moto does not deploy the resource type",
    "OwnershipControls": "moto ignores the bucket property",
    "PublicAccessBlockConfiguration": "moto ignores the bucket property",
    "BucketKeyEnabled": "moto ignores it in BucketEncryption",
}


def for_moto(template: dict[str, Any]) -> dict[str, Any]:
    """The template with MOTO_ADAPTS applied (nothing else changed)."""
    adapted = json.loads(json.dumps(template))
    key = adapted["Resources"]["ExportsKey"]["Properties"]
    key["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in key["Tags"]]
    key["KeyPolicy"] = json.dumps(key["KeyPolicy"])
    result: dict[str, Any] = adapted
    return result


@pytest.mark.filterwarnings("ignore:Tried to parse AWS..S3..BucketPolicy:UserWarning")
def test_the_fresh_template_deploys_in_motos_cloudformation_with_the_plans_documents() -> None:
    """moto's own CloudFormation engine (in-process) creates the stack from template.yaml; what
    it made is read back through the APIs and equals the plan's documents, except what moto
    cannot show (MOTO_SKIPS, each proved still missing) or reads otherwise (MOTO_ADAPTS)."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from tests.core.test_iac import shaped
    from tests.iac_files import after
    from wizard.core import iac
    from wizard.core.change import Action
    from wizard.core.formats import PlanFormat

    plan, context = shaped("fresh")
    assert context.account == "123456789012"  # moto's default account
    template = cloudformation(iac.render(PlanFormat.CLOUDFORMATION, plan, context)["template.yaml"])
    bucket = plan.choices.bucket if plan.choices else ""
    with mock_aws():
        region = context.region
        stacks = boto3.client("cloudformation", region_name=region)
        # moto says it skips the bucket policy (MOTO_SKIPS) as it deploys the rest.
        with pytest.warns(UserWarning, match="AWS::S3::BucketPolicy"):
            stacks.create_stack(StackName="exports", TemplateBody=json.dumps(for_moto(template)))
        [stack] = stacks.describe_stacks(StackName="exports")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        made = {
            r["LogicalResourceId"]: r
            for r in stacks.describe_stack_resources(StackName="exports")["StackResources"]
            if "LogicalResourceId" in r
        }
        assert {"ExportsKey", "ExportsKeyAlias", "ExportsBucket"} <= set(made)
        kms = boto3.client("kms", region_name=region)
        s3 = boto3.client("s3", region_name=region)
        key_id = made["ExportsKey"]["PhysicalResourceId"]
        key_arn = f"arn:aws:kms:{region}:{context.account}:key/{key_id}"

        # The key: its policy, rotation, description and tag, as the plan writes them.
        policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
        assert policy == after(plan, Action.CREATE_KEY)
        rotation = kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
        assert rotation is (after(plan, Action.ENABLE_KEY_ROTATION) is not None)
        [create] = [c for c in plan.changes if c.action is Action.CREATE_KEY]
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        assert meta["Description"] == create.params["description"]
        tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
        assert tags == [{"TagKey": "created-by", "TagValue": "cwl-export-wizard"}]
        # The alias names the stack's key (the plan's placeholder, resolved).
        alias = with_key(after(plan, Action.CREATE_ALIAS), key_arn)
        [listed] = kms.list_aliases(KeyId=key_id)["Aliases"]
        assert listed["AliasName"] == alias["AliasName"]
        assert kms.describe_key(KeyId=alias["AliasName"])["KeyMetadata"]["Arn"] == key_arn
        # The bucket, in the plan's region, encrypted by default with the stack's key.
        created = after(plan, Action.CREATE_BUCKET)
        location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
        assert location == created["CreateBucketConfiguration"]["LocationConstraint"]
        [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
        [planned] = with_key(after(plan, Action.PUT_BUCKET_ENCRYPTION), key_arn)["Rules"]
        assert (
            rule["ApplyServerSideEncryptionByDefault"]
            == (planned["ApplyServerSideEncryptionByDefault"])
        )

        # What moto skips, proved still skipped (when moto learns one, compare it above).
        assert planned["BucketKeyEnabled"] is True and not rule.get("BucketKeyEnabled")
        assert template["Resources"]["ExportsBucketPolicy"]["Type"] == "AWS::S3::BucketPolicy"
        for read, missing in (
            (lambda: s3.get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy"),
            (
                lambda: s3.get_bucket_ownership_controls(Bucket=bucket),
                "OwnershipControlsNotFoundError",
            ),
            (
                lambda: s3.get_public_access_block(Bucket=bucket),
                "NoSuchPublicAccessBlockConfiguration",
            ),
        ):
            with pytest.raises(ClientError) as refused:
                read()  # type: ignore[no-untyped-call]  # lambdas of a literal tuple
            assert refused.value.response["Error"]["Code"] == missing


# --- every scenario's plans, audited against the account -----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PLANS))
def test_every_scenarios_plan_as_code_imports_what_exists_and_passes_the_outside_checks(
    start_sandbox: StartSandbox,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    """cfn-lint clean, laid out as terraform fmt leaves it (Terraform's own check too with the
    iac-check extra), every import of something the account holds, every existing document
    imported and never created, every import kept (prevent_destroy, Retain)."""
    scenario, options = PLANS[name]
    sandbox = start(start_sandbox, scenario)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config(tmp_path)))
    planned = cli("plan", *options, "--json")
    assert planned.code == 1, planned.out + planned.err  # changes to make
    files = {
        fmt: generate(cli, options, fmt, tmp_path / fmt) for fmt in ("terraform", "cloudformation")
    }
    verdict = audit(name, sandbox, options, planned.json(), files, tmp_path)
    assert verdict.ok, (verdict.results, verdict.notes)
    assert verdict.results["cfn-lint"] and verdict.results["layout rules"]
