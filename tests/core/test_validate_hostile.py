"""The validators against what people never mean: hostile prefixes, bucket names, key forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import CONTROLS, unsafe
from wizard.core.validate import (
    MAX_PREFIX_BYTES,
    bucket_name_problem,
    key_reference_problem,
    prefix_problem,
)

# --- the prefix ----------------------------------------------------------------------------

REFUSED_PREFIXES = {
    "a//b": "'//'",
    "./logs": "'.' folder",
    "logs/.": "'.' folder",
    "..": "'..' folder",
    "a/../b": "'..' folder",
    " logs": "space",
    "logs ": "space",
    "logs\t": "control characters",
    "lo\ngs": "control characters",
    "lo\rgs": "control characters",
    "lo\x1b[2Jgs": "control characters",
    "lo\x7fgs": "control characters",
    "lo\x9bgs": "control characters",
    "logs\u202egol": "U+202E",
    "lo\u2066gs": "U+2066",
    "lo\u200fgs": "U+200F",
    "lo\u061cgs": "U+061C",
    "lo\u2028gs": "separators",
    "lo\u2029gs": "separators",
    "": "Enter a prefix",
    "/logs": "start with '/'",
    "logs/": "end with '/'",
    "logs/*": "'*'",
    "x" * (MAX_PREFIX_BYTES + 1): "1,024-byte",
}

ACCEPTED_PREFIXES = (
    "exportedlogs",
    "logs/2026/app-1",
    "a.b/..c/c..",  # dots inside a name are names
    "it's a;touch /tmp/x",  # odd, but a valid S3 key: the printed commands quote it
    "with space/and (parens) & [brackets] = +,@!",
    "日本/ログ",
    '`backticks` and "quotes"',
    "x" * MAX_PREFIX_BYTES,
)


@pytest.mark.parametrize("prefix", sorted(REFUSED_PREFIXES))
def test_prefixes_nobody_means_are_refused_with_a_one_line_reason(prefix: str) -> None:
    problem = prefix_problem(prefix)
    assert problem is not None, prefix
    assert REFUSED_PREFIXES[prefix] in problem
    assert "\n" not in problem and not any(unsafe(c) for c in problem)


@pytest.mark.parametrize("prefix", ACCEPTED_PREFIXES)
def test_prefixes_users_mean_are_accepted(prefix: str) -> None:
    assert prefix_problem(prefix) is None


@given(st.text(min_size=1, max_size=40))
def test_an_accepted_prefix_is_plain_visible_folders(prefix: str) -> None:
    if prefix_problem(prefix) is not None:
        return
    assert not any(unsafe(c) for c in prefix)
    assert prefix == prefix.strip()
    assert all(segment not in ("", ".", "..") for segment in prefix.split("/"))
    assert len(prefix.encode()) <= MAX_PREFIX_BYTES


@given(st.text(max_size=10), CONTROLS, st.text(max_size=10))
def test_any_control_or_bidi_character_is_refused(before: str, control: str, after: str) -> None:
    assert prefix_problem(f"logs{before}{control}{after}x") is not None


# --- bucket names --------------------------------------------------------------------------


def test_a_capital_gets_the_same_precise_rule_as_any_other_wrong_character() -> None:
    upper, lower = bucket_name_problem("Bad_Name"), bucket_name_problem("bad_name")
    assert upper is not None and lower is not None
    assert upper.startswith("A bucket name may contain only lowercase a-z, 0-9, '.' and '-'")
    assert upper.endswith("not 'BN_'.") and lower.endswith("not '_'.")
    assert bucket_name_problem("café-logs") is not None
    assert "\\x1b" in (bucket_name_problem("ab\x1bc") or "")  # shown as an escape, not raw


# --- key identifier forms ------------------------------------------------------------------

# A real region of every partition (the ARN's region must belong to its partition).
PARTITION_REGIONS = {
    "aws": ("us-east-1", "eu-west-3", "ap-northeast-1", "il-central-1", "mx-central-1"),
    "aws-cn": ("cn-north-1", "cn-northwest-1"),
    "aws-us-gov": ("us-gov-west-1", "us-gov-east-1"),
    "aws-iso": ("us-iso-east-1", "us-iso-west-1"),
    "aws-iso-b": ("us-isob-east-1",),
    "aws-iso-e": ("eu-isoe-west-1",),
    "aws-iso-f": ("us-isof-south-1", "us-isof-east-1"),
    "aws-eusc": ("eusc-de-east-1",),
}
HEX = "0123456789abcdef"
key_ids = st.one_of(
    st.uuids().map(str),
    st.text(HEX, min_size=32, max_size=32).map(lambda h: f"mrk-{h}"),
)
alias_names = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-", min_size=1, max_size=40
).map(lambda name: f"alias/{name}")
accounts = st.text("0123456789", min_size=12, max_size=12)
partition_regions = st.sampled_from(
    [(partition, region) for partition, regions in PARTITION_REGIONS.items() for region in regions]
)


@st.composite
def documented_forms(draw: st.DrawFn) -> str:
    partition, region = draw(partition_regions)
    account = draw(accounts)
    return draw(
        st.one_of(
            key_ids,
            alias_names,
            key_ids.map(lambda k: f"arn:{partition}:kms:{region}:{account}:key/{k}"),
            alias_names.map(lambda a: f"arn:{partition}:kms:{region}:{account}:{a}"),
        )
    )


@given(documented_forms())
def test_every_documented_key_form_is_accepted_in_every_partition(reference: str) -> None:
    assert key_reference_problem(reference) is None, reference


def _other_partition(partition: str) -> str:
    return "aws-cn" if partition != "aws-cn" else "aws"


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    partition, region = draw(partition_regions)
    account = draw(accounts)
    key = draw(key_ids)
    alias = draw(alias_names)
    arn = f"arn:{partition}:kms:{region}:{account}:key/{key}"
    return draw(
        st.sampled_from(
            [
                key.upper() if any(c in "abcdef" for c in key) else key + "0",  # case matters
                key[:-1],  # one digit short
                key + "0",  # one digit long
                key.replace("-", "", 1) if not key.startswith("mrk-") else key[4:],
                f" {key}",
                f"{key}\n",
                alias.removeprefix("alias/"),  # a bare name is for a new key, not a reference
                "alias/",
                f"{alias} ",
                f"{alias}\u202e",
                f"{alias}.x",
                arn.replace(f":{partition}:", f":{_other_partition(partition)}:"),  # wrong region
                arn.replace(f":{partition}:", ":aws-xx:"),
                arn.replace(":kms:", ":s3:"),
                arn.replace(f":{account}:", f":{account[:-1]}:"),
                arn.replace(f":{region}:", "::"),
                arn.replace("key/", "key/alias/"),
                arn.replace("key/", ""),
                arn.replace("key/", "alias/", 1).replace(key, f"{key}\u0000"),
                "arn:" + arn,
            ]
        )
    )


@given(near_misses())
def test_near_misses_are_refused(reference: str) -> None:
    problem = key_reference_problem(reference)
    assert problem is not None, reference
    assert "\n" not in problem and not any(unsafe(c) for c in problem)


def test_a_stream_prefix_with_c1_bidi_or_separators_is_refused() -> None:
    from wizard.core.validate import stream_prefix_problem

    for text in ("app\x9b", "app\u202e", "app\u2028", "app\u200b"):
        problem = stream_prefix_problem(text)
        assert problem is not None and "\n" not in problem, text
    assert stream_prefix_problem("2026/12/06/[$LATEST]") is None
