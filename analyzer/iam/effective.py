"""The effective policy of a function, as rules read it (DESIGN §3).

The union of the statements of the role the function assumes under the chosen
framework (framework-added ones included), plus what AWS managed policies
certainly grant by their name. A conditional Allow counts as granted for rules
about what can happen and as not granted for rules about what will fail; the
caller says which with `count_conditional`.
"""
from __future__ import annotations

import re
import weakref
from functools import lru_cache
from dataclasses import dataclass, field

import networkx as nx

from ..graph import queries as Q
from . import globs, managed

_ACCOUNT = re.compile(r"(?<=:)\d{12}(?=:)")


@dataclass(frozen=True)
class Grant:
    stmt: str | None           # statement node id; None for a managed policy
    effect: str
    actions: tuple = ()
    not_actions: tuple = ()
    resources: tuple = ("*",)  # resource keys (analyzer.iam.resources)
    not_resources: tuple = ()
    conditional: bool = False
    framework: bool = False
    source: str = "statement"  # or "managed:<name>"


@dataclass
class EffectivePolicy:
    function: str
    role: str | None
    opaque: bool
    grants: list = field(default_factory=list)

    def allowing(self, action: str, resource: str = "*", count_conditional: bool = True) -> list[Grant]:
        """The grants that allow `action` on `resource` (empty when denied or not granted)."""
        hits = []
        for g in self.grants:
            if g.conditional and not count_conditional and g.effect == "Allow":
                continue
            if not _action_in(g, action) or not _resource_in(g, resource):
                continue
            if g.effect == "Deny" and not g.conditional:
                return []
            if g.effect == "Allow":
                hits.append(g)
        return hits

    def allows(self, action: str, resource: str = "*", count_conditional: bool = True) -> bool:
        return bool(self.allowing(action, resource, count_conditional))


_BY_ROLE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_ROLE_OF: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def effective_policy(g, fn: str) -> EffectivePolicy:
    """Functions sharing a role share its grants: they are read once per role and graph
    (a shared role serves hundreds of functions in a large service)."""
    frozen = nx.is_frozen(g)  # a graph made by hand may change: nothing is kept for it
    role = _role_of(g, fn) if frozen else Q.role_of(g, fn)
    if role is None:
        return EffectivePolicy(fn, None, opaque=True)
    rd = g.nodes[role]
    by_role = _BY_ROLE.setdefault(g, {}) if frozen else {}
    grants = by_role.get(role)
    if grants is None:
        grants = by_role[role] = _role_grants(g, role, rd)
    return EffectivePolicy(fn, role, opaque=bool(rd.get("opaque")), grants=grants)


def _role_of(g, fn: str) -> str | None:
    """`queries.role_of` for a built (frozen) graph, from one pass over its `assumes` edges
    (asked for every function, it walked each function's out-edges)."""
    roles = _ROLE_OF.get(g)
    if roles is None:
        roles = _ROLE_OF[g] = {}
        for u, v, _ in Q.edges_of_kind(g, "assumes"):  # by source, then target: the first wins
            roles.setdefault(u, v)
    return roles.get(fn)


def _role_grants(g, role: str, rd: dict) -> list:
    pol = EffectivePolicy("", role, opaque=False)
    for st in Q.statements_of_role(g, role):
        d = g.nodes[st]
        pol.grants.append(Grant(
            stmt=st, effect=d.get("effect", "Allow"), actions=tuple(d.get("actions", ())),
            not_actions=tuple(d.get("not_actions", ())), resources=tuple(d.get("resource_keys") or ()),
            not_resources=tuple(d.get("not_resources", ())), conditional=bool(d.get("conditions")),
            framework=bool(d.get("framework")),
        ))
    for policy in rd.get("managed_policies") or []:
        granted = managed.grants(policy)
        if granted is not None:
            actions, not_actions = granted
            pol.grants.append(Grant(None, "Allow", actions, not_actions, ("*",),
                                    source=f"managed:{managed.policy_name(policy)}"))
    return pol.grants


def _has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text or "[" in text


@lru_cache(maxsize=262144)
def action_matches(pattern: str, action: str) -> bool:
    pattern = pattern.strip()
    if not _has_wildcard(pattern):
        return pattern.lower() == action.lower()
    return globs.fnmatchcase(action.lower(), pattern.lower())


@lru_cache(maxsize=262144)
def resource_matches(pattern: str, resource: str) -> bool:
    """IAM resource matching on comparable keys; a literal account matches `<accountId>`.

    A needed resource of `*` means "unknown" (the code names it in a way that cannot be
    followed): any grant of the action then counts, so rules compare by action only.
    """
    if resource == "*":
        return True
    pattern = pattern.strip()
    if pattern == "*" or pattern == resource:
        return True
    pattern = _account(pattern)
    resource = _account(resource)
    if not _has_wildcard(pattern):
        return pattern == resource
    return globs.match(resource, pattern)


@lru_cache(maxsize=65536)
def _account(text: str) -> str:
    """A literal 12-digit account reads as the repository's own (`<accountId>`)."""
    return _ACCOUNT.sub("<accountId>", text)


def _action_in(g: Grant, action: str) -> bool:
    if g.actions:
        return any_action_matches(g.actions, action)
    if g.not_actions:
        return not any_action_matches(g.not_actions, action)
    return False


@lru_cache(maxsize=262144)
def any_action_matches(patterns: tuple, action: str) -> bool:
    """Rules ask the same few actions of every role's grants: one cached answer per grant's
    action list (its patterns tried one by one cost more than the rest of `allowing`)."""
    return any(action_matches(p, action) for p in patterns)


def _resource_in(g: Grant, resource: str) -> bool:
    if g.resources:
        return _any_resource_matches(g.resources, resource)
    if g.not_resources:
        return not _any_resource_matches(g.not_resources, resource)
    return True


def _any_resource_matches(patterns: tuple, resource: str) -> bool:
    for p in patterns:
        if resource_matches(p, resource):
            return True
    return False
