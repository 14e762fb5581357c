"""Statement identity, and how the wizard's grants join a policy that already exists.

A statement is the wizard's own only when its content says so: it is exactly what the wizard
writes for some resources and some parameters (source accounts, callers), read back from the
statement itself. A Sid proves nothing: another tool, a copy-paste or an old hand edit can
reuse one. Anything else (a Deny, an admin's ``kms:*``, a grant narrowed by hand to one log
group or given an extra condition) is foreign and is never rewritten.

A grant joins an own statement only in one dimension at a time, so that nothing an existing
grant already covered is opened to anyone new:
- same resources: the statement lists the new accounts or callers too (they were asked for,
  on exactly those resources);
- same accounts or callers: the statement also covers the new resources (a new prefix);
- otherwise the grant is a statement of its own, under its Sid or, when another statement
  holds that Sid, a free one with a number after it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.core.policy import PolicyDocument, parse_policy

Params = tuple[str, ...]
Render = Callable[[Sequence[str], Sequence[str]], dict[str, Any]]
Read = Callable[[Mapping[str, Any]], "Params | None"]


@dataclass(frozen=True)
class Grant:
    """One statement the wizard wants in a policy.

    ``render(resources, params)`` writes the statement (without caring for the Sid);
    ``read(statement)`` gives back the params a statement of this shape carries (None: it has
    none of this shape). ``params`` are what is asked now (accounts, caller patterns).
    """

    sid: str
    resources: Params
    params: Params
    render: Render = field(compare=False)
    read: Read = field(compare=False)

    def statement(
        self, resources: Sequence[str], params: Sequence[str], sid: str | None
    ) -> dict[str, Any]:
        body = self.render(resources, params)
        body.pop("Sid", None)
        return {"Sid": sid, **body} if sid else body


@dataclass(frozen=True)
class Placement:
    """Where one grant went, in words the Review shows beside the diff."""

    sid: str
    added: bool  # a new statement (False: an own statement was extended)
    note: str


@dataclass(frozen=True)
class Merge:
    document: PolicyDocument
    placements: tuple[Placement, ...]

    @property
    def added(self) -> int:
        return sum(p.added for p in self.placements)

    @property
    def extended(self) -> int:
        return sum(not p.added for p in self.placements)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(p.note for p in self.placements if p.note)


# --------------------------------------------------------------------------- comparing


def listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _norm(raw: Mapping[str, Any]) -> Any:
    """A statement's meaning, without its Sid: lists as sets, action names case-folded,
    condition key names case-folded (AWS compares them so)."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "Sid":
            continue
        if name in ("Action", "NotAction"):
            out[name] = tuple(sorted({_text(v).lower() for v in listed(value)}))
        elif name in ("Resource", "NotResource"):
            out[name] = tuple(sorted({_text(v) for v in listed(value)}))
        elif name in ("Principal", "NotPrincipal"):
            out[name] = (
                "*"
                if value == "*"
                else tuple(
                    sorted(
                        (k, tuple(sorted({_text(v) for v in listed(ids)})))
                        for k, ids in value.items()
                    )
                )
                if isinstance(value, Mapping)
                else _text(value)
            )
        elif name == "Condition" and isinstance(value, Mapping):
            out[name] = tuple(
                sorted(
                    (operator, key.lower(), tuple(sorted({_text(v) for v in listed(values)})))
                    for operator, block in value.items()
                    if isinstance(block, Mapping)
                    for key, values in block.items()
                )
            )
        else:
            out[name] = _text(value)
    return tuple(sorted(out.items()))


def same_meaning(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two statements grant the same (Sids aside)."""
    return bool(_norm(a) == _norm(b))


def condition_values(raw: Mapping[str, Any], operator: str, key: str) -> Params | None:
    """The values of one condition key (operator as written, key case-insensitively)."""
    condition = raw.get("Condition")
    if not isinstance(condition, Mapping):
        return None
    block = condition.get(operator)
    if not isinstance(block, Mapping):
        return None
    for name, values in block.items():
        if isinstance(name, str) and name.lower() == key.lower():
            return tuple(_text(v) for v in listed(values))
    return None


def _resources(raw: Mapping[str, Any]) -> list[str] | None:
    if "Resource" not in raw or "NotResource" in raw:
        return None
    return [_text(r) for r in listed(raw["Resource"])]


def owned_params(raw: Mapping[str, Any], grant: Grant) -> Params | None:
    """The params of ``raw`` when it is, by content, a statement of ``grant``'s kind exactly
    as the wizard writes it; None when it is anything else (foreign)."""
    if raw.get("Effect") != "Allow":
        return None
    params = grant.read(raw)
    resources = _resources(raw)
    if params is None or resources is None:
        return None
    if not same_meaning(raw, grant.render(resources, params)):
        return None
    return params


def free_sid(taken: set[str], wanted: str) -> str:
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted}{number}" in taken:
        number += 1
    return f"{wanted}{number}"


def _describe(raw: Mapping[str, Any]) -> str:
    """A foreign statement in a few words: "a Deny of s3:DeleteObject"."""
    effect = raw.get("Effect", "?")
    actions = listed(raw.get("Action", raw.get("NotAction", "?")))
    shown = ", ".join(_text(a) for a in actions[:3]) + (", ..." if len(actions) > 3 else "")
    article = "an" if effect == "Allow" else "a"
    return f"{article} {effect} of {shown}"


# --------------------------------------------------------------------------- merging


def merge(doc: PolicyDocument, grants: Sequence[Grant], *, kind: str = "policy") -> Merge:
    """``doc`` with every grant in place. Foreign statements are kept exactly, in order."""
    body: list[dict[str, Any]] = [dict(s.raw) for s in doc.statements]
    placements: list[Placement] = []
    for grant in grants:
        placement = _place(body, grant)
        if placement is not None:
            placements.append(placement)
    if not placements:
        return Merge(doc, ())
    raw = {**doc.raw, "Statement": body}
    return Merge(parse_policy(raw, kind=kind), tuple(placements))


def _place(body: list[dict[str, Any]], grant: Grant) -> Placement | None:
    wanted_resources = set(grant.resources)
    for index, raw in enumerate(body):
        params = owned_params(raw, grant)
        if params is None:
            continue
        resources = _resources(raw) or []
        sid = raw.get("Sid") if isinstance(raw.get("Sid"), str) else None
        label = f"'{sid}'" if sid else f"#{index + 1}"
        if set(resources) == wanted_resources:
            new = [p for p in grant.params if p not in params]
            if not new:
                return None  # already there
            body[index] = grant.statement(resources, [*params, *new], sid)
            return Placement(
                sid or "", False, f"Statement {label} also lists {', '.join(new)} (same resources)"
            )
        if set(params) == set(grant.params):
            more = [r for r in grant.resources if r not in resources]
            if not more:
                return None
            both = [*resources, *more]
            body[index] = {**raw, "Resource": both[0] if len(both) == 1 else both}
            return Placement(
                sid or "",
                False,
                f"Statement {label} also covers {', '.join(more)} "
                "(its conditions stay as they are)",
            )
    taken = {s["Sid"] for s in body if isinstance(s.get("Sid"), str)}
    sid = free_sid(taken, grant.sid)
    body.append(grant.statement(grant.resources, grant.params, sid))
    if sid == grant.sid:
        return Placement(sid, True, "")
    holder = next(s for s in body if s.get("Sid") == grant.sid)
    own = owned_params(holder, grant) is not None
    why = (
        "is the wizard's for other resources and other accounts or callers, and stays as it is"
        if own
        else f"is not the wizard's ({_describe(holder)}, or narrowed by hand) and stays exactly "
        "as it is"
    )
    return Placement(sid, True, f"Statement '{grant.sid}' {why}; the new grant is '{sid}'")
