"""The policy document model: parse, validate, print canonically and patch by Sid.

Any JSON input either parses into a ``PolicyDocument`` or raises ``PolicyError`` with a message
that names the place, e.g. ``bucket policy: Statement[2]: unknown element "Actions"``.

Choices where AWS leaves room (documented here once):
- The raw document is kept exactly as given (after a JSON round trip for mappings, so it only
  ever holds JSON types). ``canonical_json`` sorts keys and keeps lists in their written order.
- Duplicate keys inside one JSON object are an error: ``json`` would silently keep the last one,
  so what we check would differ from what the author meant.
- NaN/Infinity, lone UTF-16 surrogates and empty lists (Action, Resource, principal or condition
  values) are errors: AWS cannot store them meaningfully.
- Element names are case-sensitive ("effect" is an unknown element, with a hint).
- Every policy parsed here is a resource policy: one of Principal/NotPrincipal is required and
  one of Resource/NotResource is required.
- ``upsert_statements``: when the document already holds several statements with the same Sid,
  the first one is replaced and the others are left exactly as they were.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from wizard.core.errors import PolicyError

BUCKET_POLICY_LIMIT = 20 * 1024  # bytes
KEY_POLICY_LIMIT = 32 * 1024

VERSIONS = ("2012-10-17", "2008-10-17")
DOCUMENT_ELEMENTS = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
EFFECTS = ("Allow", "Deny")


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "StringNotEqualsIfExists", "ForAnyValue:StringLike"
    key: str  # as written, e.g. "aws:SourceArn"
    values: tuple[str, ...]  # JSON scalars rendered as strings: true -> "true", 5 -> "5"


@dataclass(frozen=True)
class Statement:
    # Mappings are left out of the hash so that statements can live in sets.
    raw: Mapping[str, Any] = field(hash=False)
    index: int
    sid: str | None
    effect: str
    principal: Mapping[str, tuple[str, ...]] | None = field(hash=False)
    not_principal: Mapping[str, tuple[str, ...]] | None = field(hash=False)
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        if self.sid:
            return f"statement '{self.sid}'"
        return f"statement #{self.index + 1} (no Sid)"


@dataclass(frozen=True)
class PolicyDocument:
    raw: Mapping[str, Any] = field(hash=False)
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]


# --------------------------------------------------------------------------- parsing


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _BadConstant(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(text: str) -> Any:
    raise _BadConstant(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadConstant(text)
    return value


def _load_json(text: str, kind: str) -> Any:
    text = text.removeprefix("\ufeff")  # a BOM from an editor is not part of the document
    if not text.strip():
        raise PolicyError(f"{kind}: the document is empty.", fix="Paste a JSON policy document.")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_pairs,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"{kind}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except _DuplicateKey as exc:
        raise PolicyError(
            f'{kind}: the key "{exc.key}" appears twice in one JSON object.',
            fix="Keep one of them: JSON readers silently drop all but the last.",
        ) from None
    except _BadConstant as exc:
        raise PolicyError(f"{kind}: not valid JSON: {exc.text} is not a JSON number.") from None
    except RecursionError:
        raise PolicyError(f"{kind}: not valid JSON: nested too deeply.") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise PolicyError(f"{kind}: not valid JSON: {exc}.") from None


def _to_json_data(source: Mapping[str, Any], kind: str) -> Any:
    """A private, JSON-only copy of a mapping: later edits by the caller cannot reach it."""
    try:
        text = json.dumps(source, allow_nan=False, ensure_ascii=False)
    except RecursionError:
        raise PolicyError(f"{kind}: the document is nested too deeply.") from None
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{kind}: not a JSON document: {exc}.") from None
    return _load_json(text, kind)


def _json_type(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def _fail(kind: str, place: str, problem: str, fix: str | None = None) -> PolicyError:
    where = f"{kind}: {place}: " if place else f"{kind}: "
    return PolicyError(f"{where}{problem}.", fix=fix)


def _unknown_element(kind: str, place: str, name: str, known: Sequence[str]) -> PolicyError:
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not hint:
        hint = [k for k in known if k.lower() == name.lower()]
    problem = f'unknown element "{name}"'
    if hint:
        problem += f' (did you mean "{hint[0]}"?)'
    return _fail(kind, place, problem, fix="Allowed here: " + ", ".join(known) + ".")


def _check_text(value: str, kind: str, place: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(kind, place, "contains a lone surrogate, which is not valid text") from None
    return value


def _string(value: Any, kind: str, place: str) -> str:
    if not isinstance(value, str):
        raise _fail(kind, place, f"must be a string, not {_json_type(value)}")
    return _check_text(value, kind, place)


def _string_list(value: Any, kind: str, place: str) -> tuple[str, ...]:
    """A string, or a non-empty array of strings."""
    if isinstance(value, str):
        return (_check_text(value, kind, place),)
    if isinstance(value, (list, tuple)):
        if not value:
            raise _fail(kind, place, "must not be an empty array")
        return tuple(_string(item, kind, f"{place}[{i}]") for i, item in enumerate(value))
    raise _fail(kind, place, f"must be a string or an array of strings, not {_json_type(value)}")


def _principal(value: Any, kind: str, place: str) -> Mapping[str, tuple[str, ...]]:
    if value == "*":
        return MappingProxyType({"*": ("*",)})
    if isinstance(value, str):
        raise _fail(
            kind,
            place,
            f'must be "*" or an object such as {{"AWS": ...}} or {{"Service": ...}}, '
            f"not the string {json.dumps(value, ensure_ascii=False)}",
        )
    if not isinstance(value, Mapping):
        raise _fail(kind, place, f'must be "*" or an object, not {_json_type(value)}')
    if not value:
        raise _fail(kind, place, "must name at least one principal")
    result: dict[str, tuple[str, ...]] = {}
    for name, ids in value.items():
        if name not in PRINCIPAL_TYPES:
            hint = [t for t in PRINCIPAL_TYPES if t.lower() == str(name).lower()]
            problem = f'unknown principal type "{name}"'
            if hint:
                problem += f' (did you mean "{hint[0]}"?)'
            raise _fail(kind, place, problem, fix="Use AWS, Service, Federated or CanonicalUser.")
        result[name] = _string_list(ids, kind, f"{place}.{name}")
    return MappingProxyType(result)


def _scalar(value: Any, kind: str, place: str) -> str:
    if isinstance(value, bool):  # before int: bool is an int in Python
        return "true" if value else "false"
    if isinstance(value, str):
        return _check_text(value, kind, place)
    if isinstance(value, (int, float)):
        return str(value)
    problem = "a condition value must be a string, number or boolean"
    raise _fail(kind, place, f"{problem}, not {_json_type(value)}")


def _conditions(value: Any, kind: str, place: str) -> tuple[Condition, ...]:
    if not isinstance(value, Mapping):
        problem = "must be an object of condition operators"
        raise _fail(kind, place, f"{problem}, not {_json_type(value)}")
    result: list[Condition] = []
    for operator, block in value.items():
        op_place = f"{place}.{operator}"
        _check_text(operator, kind, op_place)
        if not isinstance(block, Mapping):
            raise _fail(
                kind,
                op_place,
                f"must be an object mapping condition keys to values, not {_json_type(block)}",
            )
        for key, raw_values in block.items():
            key_place = f"{op_place}.{key}"
            _check_text(key, kind, key_place)
            if isinstance(raw_values, (list, tuple)):
                if not raw_values:
                    raise _fail(kind, key_place, "must not be an empty array")
                values = tuple(
                    _scalar(v, kind, f"{key_place}[{i}]") for i, v in enumerate(raw_values)
                )
            else:
                values = (_scalar(raw_values, kind, key_place),)
            result.append(Condition(operator, key, values))
    return tuple(result)


def _statement(raw: Any, index: int, kind: str, place: str) -> Statement:
    if not isinstance(raw, Mapping):
        raise _fail(kind, place, f"must be an object, not {_json_type(raw)}")
    for name in raw:
        if name not in STATEMENT_ELEMENTS:
            raise _unknown_element(kind, place, name, STATEMENT_ELEMENTS)

    def pair(a: str, b: str, required: bool) -> tuple[Any, Any]:
        if a in raw and b in raw:
            raise _fail(kind, place, f'has both "{a}" and "{b}"; use one of them')
        if required and a not in raw and b not in raw:
            raise _fail(kind, place, f'needs "{a}" or "{b}"')
        return raw.get(a), raw.get(b)

    sid = _string(raw["Sid"], kind, f"{place}.Sid") if "Sid" in raw else None
    if "Effect" not in raw:
        raise _fail(kind, place, 'needs "Effect" ("Allow" or "Deny")')
    effect = _string(raw["Effect"], kind, f"{place}.Effect")
    if effect not in EFFECTS:
        raise _fail(
            kind,
            f"{place}.Effect",
            f'must be "Allow" or "Deny", not {json.dumps(effect, ensure_ascii=False)}',
        )
    principal, not_principal = pair("Principal", "NotPrincipal", required=True)
    action, not_action = pair("Action", "NotAction", required=True)
    resource, not_resource = pair("Resource", "NotResource", required=True)

    def opt_list(value: Any, name: str) -> tuple[str, ...] | None:
        return None if name not in raw else _string_list(value, kind, f"{place}.{name}")

    def opt_principal(value: Any, name: str) -> Mapping[str, tuple[str, ...]] | None:
        return None if name not in raw else _principal(value, kind, f"{place}.{name}")

    return Statement(
        raw=raw,
        index=index,
        sid=sid,
        effect=effect,
        principal=opt_principal(principal, "Principal"),
        not_principal=opt_principal(not_principal, "NotPrincipal"),
        actions=opt_list(action, "Action"),
        not_actions=opt_list(not_action, "NotAction"),
        resources=opt_list(resource, "Resource"),
        not_resources=opt_list(not_resource, "NotResource"),
        conditions=_conditions(raw["Condition"], kind, f"{place}.Condition")
        if "Condition" in raw
        else (),
    )


def _document(raw: Any, kind: str) -> PolicyDocument:
    if not isinstance(raw, Mapping):
        raise _fail(kind, "", f"the document must be a JSON object, not {_json_type(raw)}")
    for name in raw:
        if name not in DOCUMENT_ELEMENTS:
            raise _unknown_element(kind, "", name, DOCUMENT_ELEMENTS)
    version = None
    if "Version" in raw:
        version = _string(raw["Version"], kind, "Version")
        if version not in VERSIONS:
            written = json.dumps(version, ensure_ascii=False)
            raise _fail(kind, "Version", f'must be "2012-10-17" or "2008-10-17", not {written}')
    doc_id = _string(raw["Id"], kind, "Id") if "Id" in raw else None
    if "Statement" not in raw:
        raise _fail(kind, "", 'missing element "Statement"')
    body = raw["Statement"]
    if isinstance(body, Mapping):
        statements: tuple[Statement, ...] = (_statement(body, 0, kind, "Statement"),)
    elif isinstance(body, list):
        statements = tuple(
            _statement(item, i, kind, f"Statement[{i}]") for i, item in enumerate(body)
        )
    else:
        raise _fail(
            kind, "Statement", f"must be an object or an array of objects, not {_json_type(body)}"
        )
    return PolicyDocument(raw=raw, version=version, id=doc_id, statements=statements)


def parse_policy(source: str | Mapping[str, Any], *, kind: str = "policy") -> PolicyDocument:
    """Parse and validate a resource policy. ``kind`` prefixes every error ("bucket policy")."""
    if isinstance(source, str):
        data = _load_json(source, kind)
    elif isinstance(source, Mapping):
        data = _to_json_data(source, kind)
    else:
        raise _fail(kind, "", f"the document must be a JSON object, not {_json_type(source)}")
    return _document(data, kind)


def empty_policy() -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": []})


# --------------------------------------------------------------------------- printing


def _raw(doc: PolicyDocument | Mapping[str, Any]) -> Mapping[str, Any]:
    return doc.raw if isinstance(doc, PolicyDocument) else doc


def canonical_json(doc: PolicyDocument | Mapping[str, Any]) -> str:
    """Sorted keys, two-space indent, lists as written: the form compared and diffed."""
    return json.dumps(_raw(doc), sort_keys=True, indent=2, ensure_ascii=False)


def compact_json(doc: PolicyDocument | Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace: the form sent to AWS."""
    return json.dumps(_raw(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def wire_json(doc: PolicyDocument | Mapping[str, Any]) -> str:
    """No whitespace, keys and statements in the document's own order: the form written, so
    that every statement the wizard did not write keeps its content and its shape."""
    return json.dumps(_raw(doc), separators=(",", ":"), ensure_ascii=False)


def policy_size(doc: PolicyDocument | Mapping[str, Any]) -> int:
    """Bytes of the compact form, to check against BUCKET_POLICY_LIMIT / KEY_POLICY_LIMIT."""
    return len(compact_json(doc).encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- patching


def statement_by_sid(doc: PolicyDocument, sid: str) -> Statement | None:
    """The first statement with this Sid (Sids compare case-sensitively), or None."""
    return next((s for s in doc.statements if s.sid == sid), None)


def upsert_statements(
    doc: PolicyDocument, statements: Sequence[Mapping[str, Any]]
) -> PolicyDocument:
    """Replace statements by Sid in place, append the new ones; touch nothing else.

    Each given statement must have a string Sid (ValueError otherwise: a programming error).
    When the document holds several statements with one Sid, the first is replaced and the
    rest stay as they were. The result is validated like any parsed policy.
    """
    if not statements:
        return doc
    sids: list[str] = []
    for statement in statements:
        sid = statement.get("Sid")
        if not isinstance(sid, str) or not sid:
            raise ValueError(f"upsert_statements needs a Sid on every statement: {statement!r}")
        if sid in sids:
            raise ValueError(f"upsert_statements got the Sid {sid!r} twice")
        sids.append(sid)
    body: list[Any] = [s.raw for s in doc.statements]
    for sid, statement in zip(sids, statements, strict=True):
        position = next((i for i, s in enumerate(doc.statements) if s.sid == sid), None)
        if position is None:
            body.append(statement)
        else:
            body[position] = statement
    raw = {**doc.raw, "Statement": body}
    return parse_policy(raw)
