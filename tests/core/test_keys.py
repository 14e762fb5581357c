"""One decision on whether a key can encrypt exports, shared by the key list, the doctor and
the sandbox."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wizard.core import keys
from wizard.core.doctor import key_problems
from wizard.core.key_in_use import KeyInUse, KeyMode
from wizard.core.keys import KeyDefect
from wizard.core.state import Choices, KeyState
from wizard.sandbox.moto_state import BucketCrypto, key_unusable_by_s3

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"

key_states = st.builds(
    KeyState,
    reference=st.just("alias/k"),
    exists=st.booleans(),
    key_id=st.just("1234abcd-12ab-34cd-56ef-1234567890ab"),
    region=st.sampled_from([REGION, "eu-west-1", None]),
    manager=st.sampled_from(["CUSTOMER", "AWS", None]),
    state=st.sampled_from(["Enabled", "Disabled", "PendingDeletion", "PendingImport", None]),
    spec=st.sampled_from(["SYMMETRIC_DEFAULT", "RSA_2048", "HMAC_256", None]),
    usage=st.sampled_from(["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", None]),
    aliases=st.sampled_from([(), ("alias/k",), ("alias/aws/s3",)]),
)


@given(key_states)
def test_the_list_and_the_doctor_agree_on_every_key(key: KeyState) -> None:
    found = keys.defects(key, REGION)
    reason = keys.unusable_reason(key, REGION)
    assert (reason is None) == (found == ())
    if key.exists:
        use = KeyInUse(KeyMode.CHOSEN, key.reference, key, key.arn)
        choices = Choices(REGION, "bucket", key=key.reference)
        codes = [f.code for f in key_problems(use, None, choices)]  # type: ignore[arg-type]
        assert codes == [d.code for d in found]


def test_what_makes_a_key_unusable() -> None:
    good = KeyState(
        "alias/k",
        exists=True,
        key_id="k",
        region=REGION,
        manager="CUSTOMER",
        state="Enabled",
        spec="SYMMETRIC_DEFAULT",
        usage="ENCRYPT_DECRYPT",
    )
    assert keys.defects(good, REGION) == ()
    assert keys.defects(good, "eu-west-1") == (KeyDefect.WRONG_REGION,)
    assert keys.defects(KeyState("alias/x", exists=False), REGION) == (KeyDefect.MISSING,)
    aws = KeyState("alias/aws/s3", exists=True, manager="AWS", state="Disabled")
    assert keys.defects(aws, REGION) == (KeyDefect.AWS_MANAGED,)  # nothing else matters
    both = KeyState(
        "alias/s",
        exists=True,
        region=REGION,
        manager="CUSTOMER",
        state="Disabled",
        spec="RSA_2048",
        usage="SIGN_VERIFY",
    )
    assert keys.defects(both, REGION) == (KeyDefect.NOT_ENABLED, KeyDefect.NOT_SYMMETRIC)
    assert keys.unusable_reason(both, REGION) == "disabled: only Enabled keys can encrypt"


class _MotoKey:
    """What the sandbox reads from moto's Key."""

    def __init__(self, key: KeyState) -> None:
        self.id = key.key_id
        self.arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key.key_id}"
        self.region = REGION
        self.key_manager = key.manager
        self.key_state = key.state
        self.key_spec = key.spec
        self.key_usage = key.usage


@given(key_states)
def test_the_sandbox_refuses_exactly_the_keys_the_list_greys_out(key: KeyState) -> None:
    if not key.exists or key.aliases:  # moto knows the key itself, not the aliases
        return
    key = KeyState(
        key.reference,
        exists=True,
        key_id=key.key_id,
        region=REGION,
        manager=key.manager,
        state=key.state,
        spec=key.spec,
        usage=key.usage,
    )
    crypto = BucketCrypto("aws:kms", key.reference, _MotoKey(key))  # type: ignore[arg-type]
    assert key_unusable_by_s3(crypto) == (keys.unusable_reason(key, REGION) is not None)
