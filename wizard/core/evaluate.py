"""A resource-policy evaluator: would this policy allow this request?

It implements the part of IAM evaluation that decides exports (docs/service-facts.md):
an explicit Deny wins, otherwise any Allow, otherwise an implicit deny. Within a statement
Action/NotAction, Resource/NotResource, Principal/NotPrincipal and every condition must match.

Choices where AWS leaves room or where this is a model of AWS (documented here once):
- Condition operator names and context key names compare case-insensitively; values compare
  case-sensitively except for the ``...IgnoreCase`` operators and ``Bool``.
- Policy variables such as ``${aws:SourceAccount}`` are NOT substituted: they compare as literal
  text. The escapes ``${*}``, ``${?}`` and ``${$}`` are honoured in wildcard patterns.
- ``Resource`` patterns match the whole ARN string with ``*``/``?``; ``Arn*`` condition
  operators match each of the six colon-separated ARN parts separately. ``ArnEquals`` behaves
  like ``ArnLike`` (as AWS documents).
- A multi-valued context value (a tuple) under an operator without ``ForAnyValue:`` or
  ``ForAllValues:`` is judged as ``ForAnyValue:``. An empty tuple counts as an absent key.
- An operator this module does not know (including ``NullIfExists`` and ``For...:Null``) makes
  its condition false, so its statement never applies, Allow or Deny. AWS refuses such
  policies on write, so live policies should not contain them; ``unknown_operators`` lists
  them so callers can warn that the verdict may be wrong.
- Unparseable numbers, dates, IPs or base64 make that one comparison false.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from functools import lru_cache
from typing import Any

from wizard.core.policy import Condition, PolicyDocument, Statement


class Decision(str, Enum):
    ALLOW = "ALLOW"
    IMPLICIT_DENY = "IMPLICIT_DENY"
    EXPLICIT_DENY = "EXPLICIT_DENY"


@dataclass(frozen=True)
class RequestPrincipal:
    kind: str  # "Service" | "AWS"
    id: str  # "logs.ap-northeast-1.amazonaws.com" or "arn:aws:iam::123456789012:user/alice"
    account: str | None = None  # AWS principals: their account (derived from the ARN if None)


@dataclass(frozen=True)
class Request:
    principal: RequestPrincipal
    action: str  # "s3:PutObject"
    resource: str  # an ARN
    # Condition keys (names compared case-insensitively); bools as "true"/"false";
    # multi-valued keys as tuples.
    context: Mapping[str, str | tuple[str, ...]]


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    # EXPLICIT_DENY: the Deny statements that matched; ALLOW: the Allow statements that
    # matched; IMPLICIT_DENY: ().
    deciding: tuple[Statement, ...]

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


# --------------------------------------------------------------------------- wildcards

_ESCAPES = {"${*}": "*", "${?}": "?", "${$}": "$"}
_TOKEN = re.compile(r"\$\{[*?$]\}|[*?]")


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` one character; everything else literal."""
    parts: list[str] = []
    last = 0
    for token in _TOKEN.finditer(pattern):
        parts.append(re.escape(pattern[last : token.start()]))
        text = token.group()
        if text == "*":
            parts.append(".*")
        elif text == "?":
            parts.append(".")
        else:
            parts.append(re.escape(_ESCAPES[text]))
        last = token.end()
    parts.append(re.escape(pattern[last:]))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def _like(value: str, pattern: str, ignore_case: bool = False) -> bool:
    if pattern == "*":
        return True
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _arn_like(value: str, pattern: str) -> bool:
    """Each of the six colon-separated ARN parts matched on its own, with wildcards."""
    value_parts = value.split(":", 5)
    pattern_parts = pattern.split(":", 5)
    if len(value_parts) != 6 or len(pattern_parts) != 6:
        return False
    return all(_like(v, p) for v, p in zip(value_parts, pattern_parts, strict=True))


# --------------------------------------------------------------------------- value matchers

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number(text: str) -> float | None:
    text = text.strip()
    return float(text) if _NUMBER.match(text) else None


def _date(text: str) -> float | None:
    """Epoch seconds, from epoch seconds or an ISO-8601 date/time (naive means UTC)."""
    text = text.strip()
    if _NUMBER.match(text):
        return float(text)
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _compare(parse: Callable[[str], float | None], test: Callable[[float, float], bool]) -> Any:
    def match(value: str, policy_value: str) -> bool:
        left, right = parse(value), parse(policy_value)
        return left is not None and right is not None and test(left, right)

    return match


def _ip_in(value: str, policy_value: str) -> bool:
    try:
        address = ipaddress.ip_address(value.strip())
        network = ipaddress.ip_network(policy_value.strip(), strict=False)
    except ValueError:
        return False
    return address in network


def _binary_equals(value: str, policy_value: str) -> bool:
    try:
        return base64.b64decode(value, validate=True) == base64.b64decode(
            policy_value, validate=True
        )
    except (binascii.Error, ValueError):
        return False


Matcher = Callable[[str, str], bool]  # (request value, policy value) -> match


def _eq(a: float, b: float) -> bool:
    return a == b


def _lt(a: float, b: float) -> bool:
    return a < b


def _le(a: float, b: float) -> bool:
    return a <= b


def _gt(a: float, b: float) -> bool:
    return a > b


def _ge(a: float, b: float) -> bool:
    return a >= b


def _str_equals(value: str, policy_value: str) -> bool:
    return value == policy_value


def _str_equals_ignore_case(value: str, policy_value: str) -> bool:
    return value.casefold() == policy_value.casefold()


def _bool_equals(value: str, policy_value: str) -> bool:
    return value.strip().lower() == policy_value.strip().lower()


# base operator (lower case) -> (positive matcher, negated?)
_OPERATORS: dict[str, tuple[Matcher, bool]] = {
    "stringequals": (_str_equals, False),
    "stringnotequals": (_str_equals, True),
    "stringequalsignorecase": (_str_equals_ignore_case, False),
    "stringnotequalsignorecase": (_str_equals_ignore_case, True),
    "stringlike": (_like, False),
    "stringnotlike": (_like, True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
    "bool": (_bool_equals, False),
    "numericequals": (_compare(_number, _eq), False),
    "numericnotequals": (_compare(_number, _eq), True),
    "numericlessthan": (_compare(_number, _lt), False),
    "numericlessthanequals": (_compare(_number, _le), False),
    "numericgreaterthan": (_compare(_number, _gt), False),
    "numericgreaterthanequals": (_compare(_number, _ge), False),
    "dateequals": (_compare(_date, _eq), False),
    "datenotequals": (_compare(_date, _eq), True),
    "datelessthan": (_compare(_date, _lt), False),
    "datelessthanequals": (_compare(_date, _le), False),
    "dategreaterthan": (_compare(_date, _gt), False),
    "dategreaterthanequals": (_compare(_date, _ge), False),
    "ipaddress": (_ip_in, False),
    "notipaddress": (_ip_in, True),
    "binaryequals": (_binary_equals, False),
}


@dataclass(frozen=True)
class _Operator:
    matcher: Matcher | None  # None: the Null operator
    negated: bool
    if_exists: bool
    set_mode: str | None  # "any", "all" or None


@lru_cache(maxsize=512)
def _operator(name: str) -> _Operator | None:
    rest = name
    lower = name.lower()
    set_mode = None
    if lower.startswith("foranyvalue:"):
        set_mode, rest = "any", name[len("ForAnyValue:") :]
    elif lower.startswith("forallvalues:"):
        set_mode, rest = "all", name[len("ForAllValues:") :]
    base = rest.lower()
    if_exists = base.endswith("ifexists")
    if if_exists:
        base = base[: -len("ifexists")]
    if base == "null":
        # AWS allows neither IfExists nor a set prefix on Null.
        return None if if_exists or set_mode else _Operator(None, False, False, None)
    entry = _OPERATORS.get(base)
    if entry is None:
        return None
    return _Operator(entry[0], entry[1], if_exists, set_mode)


def unknown_operators(doc: PolicyDocument | None) -> list[str]:
    """Operators (as written, each once, in order) the evaluator cannot judge."""
    seen: list[str] = []
    for statement in doc.statements if doc else ():
        for condition in statement.conditions:
            if _operator(condition.operator) is None and condition.operator not in seen:
                seen.append(condition.operator)
    return seen


# --------------------------------------------------------------------------- conditions

_Context = Mapping[str, tuple[str, ...]]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _values(value: Any) -> tuple[str, ...]:
    """A context value as a tuple of strings; None and () mean the key is absent."""
    if value is None:
        return ()
    if isinstance(value, (tuple, list, set, frozenset)):
        return tuple(_text(item) for item in value if item is not None)
    return (_text(value),)


def _lower_context(context: Mapping[str, Any]) -> _Context:
    return {str(key).lower(): _values(value) for key, value in context.items()}


def _condition_holds(condition: Condition, context: _Context) -> bool:
    operator = _operator(condition.operator)
    if operator is None:
        return False
    request_values = context.get(condition.key.lower(), ())
    present = bool(request_values)
    if operator.matcher is None:  # Null: "true" means the key must be absent
        return any(
            (v.strip().lower() == "true" and not present)
            or (v.strip().lower() == "false" and present)
            for v in condition.values
        )
    if not present:
        if operator.if_exists or operator.set_mode == "all":
            return True
        if operator.set_mode == "any":
            return False
        return operator.negated
    matcher = operator.matcher

    def holds_for(value: str) -> bool:
        hit = any(matcher(value, policy_value) for policy_value in condition.values)
        return not hit if operator.negated else hit

    if operator.set_mode == "all":
        return all(holds_for(v) for v in request_values)
    return any(holds_for(v) for v in request_values)


# --------------------------------------------------------------------------- statements


def _principal_listed(listed: Mapping[str, tuple[str, ...]], principal: RequestPrincipal) -> bool:
    if "*" in listed:
        return True
    if "*" in listed.get("AWS", ()):
        return True  # {"AWS": "*"} means anyone, as "*" does
    if principal.kind == "Service":
        wanted = principal.id.lower()
        return any(s.lower() == wanted for s in listed.get("Service", ()))
    if principal.kind == "AWS":
        account = principal.account
        if account is None:
            parts = principal.id.split(":", 5)
            account = parts[4] if len(parts) == 6 and parts[0] == "arn" else None
        for entry in listed.get("AWS", ()):
            if entry == principal.id:
                return True
            if account and (entry == account or _is_root_of(entry, account)):
                return True
        return False
    return principal.id in listed.get(principal.kind, ())


def _is_root_of(entry: str, account: str) -> bool:
    parts = entry.split(":", 5)
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] == "iam"
        and parts[4] == account
        and parts[5] == "root"
    )


def _applies(statement: Statement, request: Request, context: _Context) -> bool:
    if statement.actions is not None:
        if not any(_like(request.action, a, ignore_case=True) for a in statement.actions):
            return False
    elif statement.not_actions is not None and any(
        _like(request.action, a, ignore_case=True) for a in statement.not_actions
    ):
        return False
    if statement.resources is not None:
        if not any(_like(request.resource, r) for r in statement.resources):
            return False
    elif statement.not_resources is not None and any(
        _like(request.resource, r) for r in statement.not_resources
    ):
        return False
    if statement.principal is not None:
        if not _principal_listed(statement.principal, request.principal):
            return False
    elif statement.not_principal is not None and _principal_listed(
        statement.not_principal, request.principal
    ):
        return False
    return all(_condition_holds(c, context) for c in statement.conditions)


def statement_applies(statement: Statement, request: Request) -> bool:
    """Does every element of the statement (actions, resources, principal, conditions) match?"""
    return _applies(statement, request, _lower_context(request.context))


def evaluate(policy: PolicyDocument | None, request: Request) -> Evaluation:
    """Explicit Deny wins, then any Allow, else implicit deny. No policy: implicit deny."""
    if policy is None:
        return Evaluation(Decision.IMPLICIT_DENY, ())
    context = _lower_context(request.context)
    matched = [s for s in policy.statements if _applies(s, request, context)]
    denies = tuple(s for s in matched if s.effect == "Deny")
    if denies:
        return Evaluation(Decision.EXPLICIT_DENY, denies)
    allows = tuple(s for s in matched if s.effect == "Allow")
    if allows:
        return Evaluation(Decision.ALLOW, allows)
    return Evaluation(Decision.IMPLICIT_DENY, ())
