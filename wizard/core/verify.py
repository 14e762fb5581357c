"""The doctor's prediction set beside AWS's answer to a real (probe) export.

The doctor reads the account's own policies; AWS also applies what no API of the account
shows: an organization's resource control policies (RCPs) on S3 and KMS resources (service
principals included), service control policies and permissions boundaries on the caller,
and changes still propagating. This module is pure: it says what the doctor predicts, whether
AWS's answer agrees, and when it does not, which hidden causes could explain it and how each
can be checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from wizard.core import requirements as req
from wizard.core.findings import Finding, FindingCode, Severity, is_healthy

# The order CloudWatch Logs checks a destination in (and so which error AWS gives first when
# several are predicted): the bucket exists, the caller of another account may write, the
# logs principal may read the bucket's ACL, then write the test object (S3 asks KMS then).
ERROR_ORDER: tuple[str, ...] = (
    req.ERR_BUCKET_MISSING,
    req.ERR_CALLER_PUT_OBJECT,
    req.ERR_GET_BUCKET_ACL,
    req.ERR_PUT_OBJECT,
    req.ERR_PUT_OBJECT_KMS,
)


class Outcome(str, Enum):
    """What an export did (or is predicted to do)."""

    COMPLETED = "COMPLETED"  # the task completed: the destination took the objects
    REFUSED = "REFUSED"  # CreateExportTask refused it (AWS checked the destination first)
    FAILED = "FAILED"  # the task started and ended FAILED (the data write was refused)
    CANCELLED = "CANCELLED"  # someone cancelled the probe: no answer

    @property
    def refused(self) -> bool:
        return self in (Outcome.REFUSED, Outcome.FAILED)


class Kind(str, Enum):
    """How prediction and answer relate."""

    AGREES = "agrees"
    HEALTHY_REFUSED = "predicted healthy, AWS refused"
    BROKEN_COMPLETED = "predicted broken, AWS completed"
    OTHER_ERROR = "a different error than predicted"
    NO_ANSWER = "no answer"  # the probe was cancelled: nothing to compare


@dataclass(frozen=True)
class Prediction:
    healthy: bool
    aws_error: str | None  # the error AWS is expected to give first (None when healthy)
    finding: FindingCode | None  # the code of the finding that predicts it

    @property
    def outcome(self) -> Outcome:
        return Outcome.COMPLETED if self.healthy else Outcome.REFUSED


@dataclass(frozen=True)
class Observation:
    """AWS's answer to the probe export."""

    outcome: Outcome
    aws_error: str | None = None  # verbatim: CreateExportTask's message or the task's status
    task_id: str | None = None
    waited: float = 0.0  # seconds spent waiting for changes to propagate before this answer


@dataclass(frozen=True)
class HiddenCause:
    """A cause the account's own APIs cannot show, and how a person can check it."""

    code: str
    cause: str
    check: str


@dataclass(frozen=True)
class Verification:
    prediction: Prediction
    observation: Observation
    kind: Kind
    hidden_causes: tuple[HiddenCause, ...] = ()
    # OTHER_ERROR: the findings whose errors could explain AWS's; BROKEN_COMPLETED: the
    # finding the doctor was too strict about.
    findings: tuple[Finding, ...] = ()

    @property
    def agrees(self) -> bool:
        return self.kind is Kind.AGREES

    @property
    def verified_healthy(self) -> bool:
        """Healthy, and AWS agrees: the only outcome ``doctor --verify`` exits 0 with."""
        return self.agrees and self.prediction.healthy

    def to_json(self) -> dict[str, object]:
        return {
            "predicted": {
                "status": self.prediction.outcome.value,
                "aws_error": self.prediction.aws_error,
                "finding": self.prediction.finding,
            },
            "observed": {
                "status": self.observation.outcome.value,
                "aws_error": self.observation.aws_error,
            },
            "agrees": self.agrees,
            "hidden_causes": [
                {"code": c.code, "cause": c.cause, "check": c.check} for c in self.hidden_causes
            ],
        }


def _rank(text: str | None) -> int:
    for position, known in enumerate(ERROR_ORDER):
        if text == known:
            return position
    return len(ERROR_ORDER)


def predict(findings: Iterable[Finding]) -> Prediction:
    """The doctor's prediction: healthy, or the AWS error the first failing check gives."""
    listed = list(findings)
    if is_healthy(listed):
        return Prediction(True, None, None)
    errors = [f for f in listed if f.severity is Severity.ERROR]
    with_text = [f for f in errors if f.aws_error]
    if not with_text:  # broken for a reason no export error names (e.g. no such log group)
        return Prediction(False, None, errors[0].code)
    first = min(with_text, key=lambda f: _rank(f.aws_error))  # stable: the doctor's order
    return Prediction(False, first.aws_error, first.code)


def _gist(text: str) -> str:
    """The first sentence: what classifies an export error (the wording of the rest varies,
    e.g. the KMS hint after a PutObject refusal)."""
    return " ".join(text.split()).split(". ")[0].rstrip(".")


def same_error(predicted: str | None, observed: str | None) -> bool:
    """AWS gave the predicted error: verbatim, or the same first sentence."""
    if predicted is None or observed is None:
        return predicted is observed
    return predicted == observed or _gist(predicted) == _gist(observed)


# --- the causes the account cannot show ----------------------------------------------------

RCP = HiddenCause(
    "ORGANIZATION_RCP",
    "A resource control policy (RCP) of your AWS Organization denies the request. RCPs limit "
    "every request to the account's S3 buckets and KMS keys, CloudWatch Logs' service "
    "principal included, and no API of a member account shows them.",
    "In the organization's management account (or a delegated administrator): aws "
    "organizations list-policies --filter RESOURCE_CONTROL_POLICY, then aws organizations "
    "list-policies-for-target --filter RESOURCE_CONTROL_POLICY --target-id ACCOUNT_ID (and "
    "for each parent OU and the root). Look for a Deny on s3:PutObject, s3:GetBucketAcl or "
    "kms:GenerateDataKey with conditions such as aws:SourceOrgID or aws:PrincipalIsAWSService.",
)
SCP = HiddenCause(
    "CALLER_SCP_OR_BOUNDARY",
    "A service control policy (SCP) or a permissions boundary limits the caller of "
    "CreateExportTask (they apply to IAM users and roles, not to the service principal).",
    "SCPs: in the management account, aws organizations list-policies-for-target --filter "
    "SERVICE_CONTROL_POLICY --target-id ACCOUNT_ID. A boundary: aws iam get-role --role-name "
    "ROLE (PermissionsBoundary), or aws iam get-user for a user.",
)
PROPAGATION = HiddenCause(
    "PROPAGATION",
    "A recent change (to the bucket policy, the bucket's encryption or the key policy, by this "
    "wizard or anyone) has not reached CloudWatch Logs yet: changes take seconds, sometimes "
    "minutes.",
    "Wait a few minutes and run the verification again (cwl-export-wizard doctor --verify); "
    "CloudTrail shows recent PutBucketPolicy, PutBucketEncryption and PutKeyPolicy calls.",
)


# The doctor's findings that say its own verdict may be wrong (a condition key whose presence
# is an assumption, an operator the evaluator does not know, a policy it could not read).
UNCERTAIN_FINDINGS = frozenset(
    {
        FindingCode.KEY_CONDITION_UNCONFIRMED,
        FindingCode.POLICY_UNKNOWN_OPERATOR,
        FindingCode.KEY_POLICY_UNKNOWN,
    }
)


def uncertain_causes(findings: Sequence[Finding]) -> list[HiddenCause]:
    """The findings where the evaluator marks its verdict uncertain, as causes, by name."""
    causes: list[HiddenCause] = []
    for finding in findings:
        if finding.code in UNCERTAIN_FINDINGS or (
            finding.severity is Severity.WARNING and "not confirmed" in finding.message
        ):
            causes.append(
                HiddenCause(
                    f"UNCERTAIN_{finding.code}",
                    f"A condition the doctor could not be sure of: {finding.message}",
                    finding.fix,
                )
            )
    return causes


def _for_account(cause: HiddenCause, account: str | None) -> HiddenCause:
    if not account:
        return cause
    return HiddenCause(cause.code, cause.cause, cause.check.replace("ACCOUNT_ID", account))


def hidden_causes(
    observed: str | None,
    findings: Sequence[Finding],
    *,
    recent_change: bool,
    account: str | None = None,
) -> tuple[HiddenCause, ...]:
    """What the account cannot show that would explain AWS refusing ``observed``, most likely
    first: a refusal of the caller points at SCPs and boundaries, one of the logs principal at
    the organization's RCPs; a change made in the last minutes puts propagation first."""
    caller_side = observed is not None and _gist(observed) == _gist(req.ERR_CALLER_PUT_OBJECT)
    ordered = [SCP, RCP] if caller_side else [RCP, SCP]
    if recent_change:
        ordered.insert(0, PROPAGATION)
    else:
        ordered.append(PROPAGATION)
    return tuple([*(_for_account(c, account) for c in ordered), *uncertain_causes(findings)])


def compare(
    prediction: Prediction,
    observation: Observation,
    findings: Sequence[Finding],
    *,
    recent_change: bool = False,
    account: str | None = None,
) -> Verification:
    """Set AWS's answer beside the prediction. ``recent_change``: a change to this
    destination was made minutes ago and not waited out (propagation is then the likeliest
    hidden cause). ``account``: named in the commands that check the hidden causes."""
    outcome = observation.outcome
    if outcome is Outcome.CANCELLED:
        return Verification(prediction, observation, Kind.NO_ANSWER)
    if prediction.healthy:
        if outcome is Outcome.COMPLETED:
            return Verification(prediction, observation, Kind.AGREES)
        causes = hidden_causes(
            observation.aws_error, findings, recent_change=recent_change, account=account
        )
        return Verification(prediction, observation, Kind.HEALTHY_REFUSED, causes)
    if outcome is Outcome.COMPLETED:
        strict = tuple(f for f in findings if f.code == prediction.finding)
        return Verification(prediction, observation, Kind.BROKEN_COMPLETED, (), strict)
    if same_error(prediction.aws_error, observation.aws_error):
        return Verification(prediction, observation, Kind.AGREES)
    explaining = tuple(
        f
        for f in findings
        if f.severity is Severity.ERROR and same_error(f.aws_error, observation.aws_error)
    )
    causes = (
        ()
        if explaining
        else hidden_causes(
            observation.aws_error, findings, recent_change=recent_change, account=account
        )
    )
    return Verification(prediction, observation, Kind.OTHER_ERROR, causes, explaining)


@dataclass(frozen=True)
class VerdictText:
    """The words every face shows for a verification."""

    headline: str
    ok: bool
    details: tuple[str, ...]


def describe(verification: Verification) -> VerdictText:
    """What to say about a verification, in plain words (AWS's text verbatim)."""
    p, o = verification.prediction, verification.observation
    kind = verification.kind
    predicted = (
        "the export works"
        if p.healthy
        else (f"AWS refuses: {p.aws_error}" if p.aws_error else f"broken ({p.finding})")
    )
    observed = (
        "the export completed"
        if o.outcome is Outcome.COMPLETED
        else f"{o.outcome.value.lower()}: {o.aws_error or 'no message'}"
    )
    details = [f"Predicted: {predicted}", f"AWS said:  {observed}"]
    if o.waited:
        details.append(f"(after waiting {o.waited:.0f} s for recent changes to propagate)")
    if kind is Kind.AGREES:
        headline = (
            "The diagnosis matched: the export works, as predicted."
            if p.healthy
            else "The diagnosis matched: AWS refused the export with exactly the predicted error."
        )
        return VerdictText(headline, p.healthy, tuple(details))
    if kind is Kind.NO_ANSWER:
        return VerdictText("The probe export was cancelled: nothing to compare.", False, ())
    if kind is Kind.HEALTHY_REFUSED:
        headline = (
            "The diagnosis did NOT match: the doctor found nothing wrong, but AWS refused. The "
            "cause is something the account's own policies do not show:"
        )
        for number, cause in enumerate(verification.hidden_causes, 1):
            details.append(f"{number}. {cause.cause}")
            details.append(f"   Check: {cause.check}")
        return VerdictText(headline, False, tuple(details))
    if kind is Kind.BROKEN_COMPLETED:
        headline = (
            f"The diagnosis did NOT match: the doctor was too strict ({p.finding}); AWS "
            "completed the export."
        )
        details.append(
            "Report it to the wizard's maintainers with: the finding's code and message, the "
            "bucket policy (aws s3api get-bucket-policy), the key policy (aws kms "
            "get-key-policy --policy-name default), the bucket's encryption and this output."
        )
        return VerdictText(headline, False, tuple(details))
    headline = "The diagnosis did NOT match: AWS refused with a different error than predicted."
    if verification.findings:
        details.append("Findings that could explain AWS's error:")
        details.extend(f"- {f.code}: {f.message}" for f in verification.findings)
    for number, cause in enumerate(verification.hidden_causes, 1):
        details.append(f"{number}. {cause.cause}")
        details.append(f"   Check: {cause.check}")
    return VerdictText(headline, False, tuple(details))
