"""Session: credential chain, region, clients, identity, and one-line error texts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore import exceptions as bce

from tests.aws.conftest import session_for
from tests.conftest import CliRunner
from wizard.aws.session import (
    AwsSession,
    ConnectionOptions,
    aws_call,
    known_regions_problem,
    translate,
)
from wizard.core.errors import AwsError, UsageError
from wizard.core.permissions import permission_for
from wizard.sandbox.server import Sandbox


def client_error(code: str, message: str, status: int = 400, op: str = "Op") -> bce.ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return bce.ClientError(response, op)


def one_line(error: BaseException) -> None:
    assert isinstance(error, AwsError | UsageError)
    assert "\n" not in error.message
    assert error.fix is None or "\n" not in error.fix


# --- translate ----------------------------------------------------------------------------


def test_access_denied_names_the_missing_permission_from_the_message() -> None:
    exc = client_error(
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
        's3:PutBucketPolicy on resource: "arn:aws:s3:::my-bucket" because no identity-based '
        "policy allows the s3:PutBucketPolicy action",
        403,
        "PutBucketPolicy",
    )
    error = translate(exc)
    one_line(error)
    assert isinstance(error, AwsError) and error.code == "AccessDenied"
    assert "s3:PutBucketPolicy" in error.message
    assert "arn:aws:s3:::my-bucket" in error.message
    assert error.fix and "s3:PutBucketPolicy" in error.fix


def test_access_denied_without_action_uses_the_operation_permission() -> None:
    error = translate(client_error("AccessDenied", "Access Denied", 403, "PutBucketEncryption"))
    one_line(error)
    assert "s3:PutEncryptionConfiguration" in error.message


def test_access_denied_explicit_deny_says_so() -> None:
    error = translate(
        client_error(
            "AccessDeniedException",
            "User: arn:aws:iam::1:user/a is not authorized to perform: kms:PutKeyPolicy on "
            "resource: arn:aws:kms:x with an explicit deny in a service control policy",
            400,
            "PutKeyPolicy",
        )
    )
    assert "kms:PutKeyPolicy" in error.message
    assert "explicit deny in service control policy" in error.message
    assert error.fix and "deny" in error.fix


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("ThrottlingException", "throttling"),
        ("SlowDown", "throttling"),
        ("ExpiredToken", "expired"),
        ("ExpiredTokenException", "expired"),
        ("InvalidClientTokenId", "does not accept these credentials"),
        ("UnrecognizedClientException", "does not accept these credentials"),
    ],
)
def test_client_errors_become_one_line_with_a_fix(code: str, words: str) -> None:
    error = translate(client_error(code, "whatever\nspans lines"), "DescribeKey")
    one_line(error)
    assert words in error.message
    assert error.fix


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (bce.NoCredentialsError(), "No AWS credentials"),
        (bce.UnauthorizedSSOTokenError(), "SSO session has expired"),
        (bce.SSOTokenLoadError(error_msg="expired"), "SSO session has expired"),
        (bce.TokenRetrievalError(provider="sso", error_msg="x"), "SSO session has expired"),
        (bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "Could not reach AWS"),
        (
            bce.ConnectTimeoutError(endpoint_url="https://sts.amazonaws.com/"),
            "Could not connect to https://sts.amazonaws.com within 3 s",
        ),
        (
            bce.ReadTimeoutError(endpoint_url="https://s3.amazonaws.com/b?x=1"),
            "https://s3.amazonaws.com accepted",
        ),
    ],
)
def test_botocore_errors_become_one_line_with_a_fix(exc: Exception, words: str) -> None:
    error = translate(exc, "GetCallerIdentity")
    one_line(error)
    assert words in error.message
    assert error.fix


def test_profile_not_found_is_a_usage_error() -> None:
    error = translate(bce.ProfileNotFound(profile="nope"))
    assert isinstance(error, UsageError)
    assert "'nope'" in error.message


def test_unknown_errors_keep_code_and_operation() -> None:
    error = translate(client_error("KMSInvalidStateException", "Key is pending deletion"), "X")
    assert isinstance(error, AwsError)
    assert error.code == "KMSInvalidStateException"
    assert "Key is pending deletion" in error.message


def test_aws_call_reraises_as_wizard_error() -> None:
    with pytest.raises(AwsError) as caught, aws_call("PutBucketPolicy"):
        raise client_error("AccessDenied", "Access Denied", 403)
    assert "s3:PutBucketPolicy" in caught.value.message


def test_permission_names() -> None:
    assert permission_for("HeadBucket") == "s3:ListBucket"
    assert permission_for("PutKeyPolicy") == "kms:PutKeyPolicy"
    assert permission_for("CreateExportTask") == "logs:CreateExportTask"
    assert permission_for("s3:GetObject") == "s3:GetObject"
    assert permission_for("Mystery") is None


def test_known_regions_problem_suggests() -> None:
    problem = known_regions_problem("ap-northeast-9", ["ap-northeast-1", "us-east-1"])
    assert problem and "ap-northeast-1" in problem
    assert known_regions_problem("us-east-1", ["us-east-1"]) is None


# --- the session --------------------------------------------------------------------------


def test_no_region_anywhere_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        AwsSession(ConnectionOptions())
    assert "--region" in (caught.value.fix or "")


def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        AwsSession(ConnectionOptions(profile="does-not-exist", region="us-east-1"))


def test_identity_over_http_and_region_sessions_share_clients(demo: Sandbox) -> None:
    session = session_for(demo)
    identity = session.identity()
    assert identity.account == demo.account
    assert identity.partition == "aws"
    assert identity.arn.startswith("arn:aws:")
    other = session.for_region("us-west-2")
    assert other.region == "us-west-2"
    assert other.identity() is identity
    assert other.client("s3", "ap-northeast-1") is session.client("s3")


def test_aws_endpoint_url_from_the_environment_is_honoured(demo: Sandbox) -> None:
    session = AwsSession(ConnectionOptions(region=demo.region))  # AWS_ENDPOINT_URL only
    assert session.endpoint_url == demo.endpoint_url
    assert session.identity().account == demo.account


def test_clients_are_created_once_across_threads(demo: Sandbox) -> None:
    session = session_for(demo)
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        seen.append(session.client("kms"))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in seen}) == 1


def test_a_made_client_does_not_wait_while_another_is_made(
    demo: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key step's KMS client is ready while the S3 client is still being made (loading
    S3's model takes a few hundred milliseconds on a busy machine)."""
    session = session_for(demo)
    kms = session.client("kms")
    boto = session._shared.boto
    making_s3, go_on = threading.Event(), threading.Event()
    real = boto.client

    def slow_client(service: str, **kwargs: Any) -> Any:
        if service == "s3":
            making_s3.set()
            go_on.wait(30)
        return real(service, **kwargs)

    monkeypatch.setattr(boto, "client", slow_client)
    maker = threading.Thread(target=session.client, args=("s3",))
    got: list[Any] = []
    getter = threading.Thread(target=lambda: got.append(session.client("kms")))
    maker.start()
    try:
        assert making_s3.wait(120)  # bounds for a hang, not timings
        getter.start()
        getter.join(120)
        assert got == [kms], "the KMS client waited for the S3 client to be made"
    finally:
        go_on.set()
        maker.join()
        getter.join()


def test_retry_and_timeout_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CWL_WIZARD_MAX_ATTEMPTS", "3")
    config = AwsSession(ConnectionOptions(region="us-east-1")).client("sts").meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert config.connect_timeout == 3 and config.read_timeout == 10
    explicit = AwsSession(ConnectionOptions(region="us-east-1", max_attempts=1))
    assert explicit.client("sts").meta.config.retries["total_max_attempts"] == 1


# --- through the CLI ----------------------------------------------------------------------


def test_no_credentials_is_one_line_with_the_fix(cli: CliRunner) -> None:
    run = cli("doctor", "--bucket", "some-bucket", "--region", "ap-northeast-1")
    assert run.code == 2
    assert run.error_lines == ["error: No AWS credentials were found."]
    assert "fix: " in run.err and "aws configure" in run.err
    assert "Traceback" not in run.err
    assert run.out == ""


def test_no_credentials_in_a_clean_process(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",  # the chain's last resort; no network in tests
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "plan",
            "--bucket",
            "some-bucket",
            "--key",
            "alias/x",
            "--region",
            "ap-northeast-1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == "error: No AWS credentials were found."
    assert done.stderr.splitlines()[1].startswith("fix: ")
    assert "Traceback" not in done.stderr


def test_unreachable_endpoint_is_one_line_network_error(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("CWL_WIZARD_MAX_ATTEMPTS", "1")
    run = cli(
        "doctor",
        "--bucket",
        "some-bucket",
        "--region",
        "ap-northeast-1",
        "--endpoint-url",
        "http://127.0.0.1:1",
    )
    assert run.code == 2
    assert len(run.error_lines) == 1
    assert "Could not reach AWS (http://127.0.0.1:1" in run.error_lines[0]
    assert "fix: " in run.err and "Traceback" not in run.err


def test_debug_shows_details(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    run = cli("doctor", "--bucket", "some-bucket", "--region", "ap-northeast-1", "--debug")
    assert run.code == 2
    assert "details: NoCredentialsError" in run.err
    assert "Traceback" in run.err


def test_aws_region_is_honoured_like_the_aws_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.aws.session import AwsSession

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    session = AwsSession(credentials=("testing", "testing"))
    assert session.region == "eu-west-3"


# --- the region and the profile, as the AWS CLI v2 finds them ---------------------------


def test_aws_region_comes_before_aws_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    session = AwsSession()
    assert session.region == "eu-west-1" and session.region_source == "AWS_REGION"
    assert AwsSession(ConnectionOptions(region="ap-south-1")).region_source == "--region"
    monkeypatch.delenv("AWS_REGION")
    assert AwsSession().region == "us-east-1"


def test_a_mistyped_aws_profile_is_one_line_in_every_command(
    monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nope")
    for args in (
        ("doctor", "--bucket", "abc"),
        ("plan", "--bucket", "abc", "--region", "eu-west-1"),
    ):
        run = cli(*args)
        assert run.code == 2
        assert run.error_lines == [
            "error: The AWS profile 'nope' (from AWS_PROFILE) is not in your AWS config."
        ]
        as_json = cli(*args, "--json")
        assert as_json.code == 2 and "AWS_PROFILE" in as_json.json()["error"]["message"]


def test_a_mistyped_aws_profile_in_plain_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from wizard import plain
    from wizard.launch import LaunchOptions

    monkeypatch.setenv("AWS_PROFILE", "nope")
    code = plain.run(LaunchOptions())
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "Error: The AWS profile 'nope' (from AWS_PROFILE)" in err


def test_the_sandbox_ignores_the_users_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nope")
    session = AwsSession(
        ConnectionOptions(region="ap-northeast-1", endpoint_url="http://127.0.0.1:1"),
        credentials=("testing", "testing"),
    )
    assert session.profile is None
    assert session.describe() == "ap-northeast-1 (from --region), endpoint http://127.0.0.1:1"


def test_a_credential_process_that_fails_silently_is_said_in_words() -> None:
    """Found from outside: the reason read "... from custom-process: ." (its stderr empty)."""
    from botocore.exceptions import CredentialRetrievalError

    from wizard.aws.session import translate

    silent = translate(CredentialRetrievalError(provider="custom-process", error_msg=" \n"))
    assert silent.message == (
        "Could not get AWS credentials: the profile's credential_process failed and wrote no "
        "reason on stderr."
    )
    said = translate(CredentialRetrievalError(provider="custom-process", error_msg="token gone"))
    assert "token gone" in said.message
