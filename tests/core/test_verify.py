"""The prediction set beside AWS's answer: pure rules (wizard.core.verify)."""

from __future__ import annotations

from wizard.core import requirements as req
from wizard.core.findings import Finding, FindingCode, Severity
from wizard.core.verify import (
    Kind,
    Observation,
    Outcome,
    compare,
    describe,
    predict,
    same_error,
)

ACL = Finding(
    FindingCode.BUCKET_POLICY_BLOCKS_GETBUCKETACL, Severity.ERROR, "m", "f", req.ERR_GET_BUCKET_ACL
)
KMS = Finding(FindingCode.KEY_POLICY_BLOCKS_LOGS, Severity.ERROR, "m", "f", req.ERR_PUT_OBJECT_KMS)
NOTE = Finding(FindingCode.KEY_ROTATION_OFF, Severity.INFO, "m", "f")
UNSURE = Finding(
    FindingCode.KEY_CONDITION_UNCONFIRMED,
    Severity.WARNING,
    "only under kms:ViaService",
    "run a test",
)


def test_the_prediction_is_the_error_aws_checks_first() -> None:
    """AWS reads the bucket's ACL before it writes: that error comes first, whatever the
    doctor's own order."""
    prediction = predict([KMS, ACL, NOTE])
    assert not prediction.healthy
    assert prediction.aws_error == req.ERR_GET_BUCKET_ACL
    assert prediction.finding == ACL.code
    assert predict([NOTE, UNSURE]).healthy


def test_same_error_is_verbatim_or_the_same_first_sentence() -> None:
    assert same_error(req.ERR_PUT_OBJECT, req.ERR_PUT_OBJECT_KMS)
    assert not same_error(req.ERR_GET_BUCKET_ACL, req.ERR_PUT_OBJECT)
    assert same_error(None, None) and not same_error(None, req.ERR_PUT_OBJECT)


def test_predicted_error_given_agrees() -> None:
    findings = [ACL, KMS]
    result = compare(
        predict(findings), Observation(Outcome.REFUSED, req.ERR_GET_BUCKET_ACL), findings
    )
    assert result.kind is Kind.AGREES and result.agrees and not result.verified_healthy
    assert result.hidden_causes == ()


def test_healthy_and_completed_agrees_and_is_verified() -> None:
    result = compare(predict([NOTE]), Observation(Outcome.COMPLETED, task_id="t"), [NOTE])
    assert result.verified_healthy
    assert result.to_json()["observed"] == {"status": "COMPLETED", "aws_error": None}


def test_healthy_but_refused_lists_what_the_account_cannot_show() -> None:
    findings = [NOTE, UNSURE]
    result = compare(
        predict(findings),
        Observation(Outcome.REFUSED, req.ERR_PUT_OBJECT),
        findings,
        account="123456789012",
    )
    assert result.kind is Kind.HEALTHY_REFUSED and not result.agrees
    codes = [c.code for c in result.hidden_causes]
    assert codes[:3] == ["ORGANIZATION_RCP", "CALLER_SCP_OR_BOUNDARY", "PROPAGATION"]
    assert "UNCERTAIN_KEY_CONDITION_UNCONFIRMED" in codes  # the uncertain condition, named
    assert "123456789012" in result.hidden_causes[0].check
    recent = compare(
        predict(findings),
        Observation(Outcome.REFUSED, req.ERR_PUT_OBJECT),
        findings,
        recent_change=True,
    )
    assert recent.hidden_causes[0].code == "PROPAGATION"


def test_a_caller_refusal_points_at_scps_first() -> None:
    result = compare(predict([]), Observation(Outcome.REFUSED, req.ERR_CALLER_PUT_OBJECT), [])
    assert result.hidden_causes[0].code == "CALLER_SCP_OR_BOUNDARY"


def test_broken_but_completed_says_the_doctor_was_too_strict() -> None:
    result = compare(predict([ACL]), Observation(Outcome.COMPLETED), [ACL])
    assert result.kind is Kind.BROKEN_COMPLETED
    assert result.findings == (ACL,)
    words = describe(result)
    assert "too strict (BUCKET_POLICY_BLOCKS_GETBUCKETACL)" in words.headline
    assert any("Report it" in line for line in words.details)


def test_a_different_error_shows_both_texts_and_the_findings_that_explain_it() -> None:
    findings = [ACL, KMS]
    result = compare(
        predict(findings), Observation(Outcome.FAILED, req.ERR_PUT_OBJECT_KMS), findings
    )
    assert result.kind is Kind.OTHER_ERROR
    assert result.findings == (KMS,)
    words = describe(result)
    assert f"Predicted: AWS refuses: {req.ERR_GET_BUCKET_ACL}" in words.details
    assert f"AWS said:  failed: {req.ERR_PUT_OBJECT_KMS}" in words.details
    assert any(KMS.code in line for line in words.details)


def test_a_cancelled_probe_is_no_answer() -> None:
    result = compare(predict([ACL]), Observation(Outcome.CANCELLED), [ACL])
    assert result.kind is Kind.NO_ANSWER and not result.agrees
