"""Every way one function reaches another -> `calls` edges; lifecycle subscriptions -> `subscribes`.

Declared calls come from `calling`; evidence of calls comes from IAM (the caller's role
allows a `lambda:Invoke*` action on the target, wildcards included: `Resource: "*"` is
one edge to `ext:*`), from handler code (SDK invocations and `sdk.invoke`) and from
config (destinations). Evidence edges carry `declared` (whether `calling` names the
target), `evidence` and the site (`stmt`, or the code line).
"""
from __future__ import annotations

import re

from ..iam.resources import resource_key
from ..loaders import symbols as S
from ..loaders.yamlmarks import MDict
from ..model import Loc

_CALL_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*:)?[A-Za-z0-9][A-Za-z0-9_.-]*$")
_INVOKE = ("lambda:InvokeFunction", "lambda:InvokeAsync", "lambda:InvokeFunctionUrl")


def resolve_target(index, svc, text: str):
    """`users:getUser` or a bare same-service name -> (Function | None, service, function)."""
    if ":" in text:
        service, _, name = text.partition(":")
    else:
        service, name = svc.name, text
    return index.fn_by_name.get((service, name)), service, name


def add(g, project, index) -> None:
    from .build import add_edge, add_external

    for svc in project.services:
        for fn in svc.functions:
            for entry, loc in fn.calling:
                if not isinstance(entry, str) or not _CALL_NAME.match(entry.strip()):
                    continue  # shape errors are SLS003's
                target, service, name = resolve_target(index, svc, entry.strip())
                if target is not None:
                    dst = target.id
                else:
                    dst = add_external(g, f"ext:function:{service}:{name}", loc, service=service, function=name)
                add_edge(g, fn.id, dst, "calls", loc, declared=True, evidence="calling", target=entry.strip())
            for ev in fn.events:
                if ev.type != "function" or not isinstance(ev.config, MDict):
                    continue
                name = ev.config.get("name")
                if not isinstance(name, str):
                    continue
                service = ev.config.get("service")
                service = S.text_of(service) if service is not None else svc.name
                target = index.fn_by_name.get((service, name))
                etype = ev.config.get("type")
                if target is not None:
                    dst = target.id
                else:
                    dst = add_external(g, f"ext:function:{service}:{name}", ev.loc, service=service, function=name)
                add_edge(g, fn.id, dst, "subscribes", ev.loc, type=S.text_of(etype) if etype else None)

    roles = {r.id: r for svc in project.services for r in svc.roles}
    invokes: dict = {}
    for svc in project.services:
        for fn in svc.functions:
            declared = _declared(index, svc, fn)
            _iam_evidence(g, index, fn, roles.get(fn.role), declared, add_edge, add_external, invokes)
            _code_evidence(g, index, svc, fn, declared, add_edge)
            for kind, target in sorted(fn.destinations.items()):
                for t in _targets_of_value(index, svc, fn, target):
                    add_edge(g, fn.id, t.id, "calls", fn.loc, declared=t.id in declared, evidence="config",
                             site=f"destinations.{kind}")


def _declared(index, svc, fn) -> set[str]:
    out = set()
    for entry, _ in fn.calling:
        if isinstance(entry, str) and _CALL_NAME.match(entry.strip()):
            target, _, _ = resolve_target(index, svc, entry.strip())
            if target is not None:
                out.add(target.id)
    return out


def _iam_evidence(g, index, fn, role, declared, add_edge, add_external, invokes: dict) -> None:
    """The caller's role allows invoking these functions (conditional grants included)."""
    if role is None or role.opaque:
        return
    grants = invokes.get(role.id)
    if grants is None:  # a role's statements reach the same targets for every function assuming it
        grants = invokes[role.id] = _invoke_grants(index, index.services_by_id.get(fn.service), role)
    me = fn.id
    for st, everything, reached in grants:
        if everything:
            add_external(g, "ext:*", st.loc)
            add_edge(g, me, "ext:*", "calls", st.loc, declared=False, evidence="iam", stmt=st.id)
        for tid in reached:
            if tid != me:
                add_edge(g, me, tid, "calls", st.loc, declared=tid in declared, evidence="iam", stmt=st.id)


def _invoke_grants(index, svc, role) -> list[tuple]:
    """(statement, reaches every function, sorted function ids) of each invoke statement of a role."""
    from ..iam.effective import action_matches

    out = []
    for st in role.statements:
        if st.effect != "Allow" or st.framework or not st.actions:
            continue
        if any(action_matches(p, a) for p in st.actions for a in _INVOKE):
            out.append((st, *_reached(index, svc, st)))
    return out


def _reached(index, svc, st) -> tuple:
    """(reaches every function, sorted function ids) for an invoke statement."""
    everything, reached = False, set()
    for r in st.resources:
        key = resource_key(r, svc, index)
        if key.strip() == "*":
            everything = True
            continue
        reached.update(t.id for t in index.functions_matching_arn(key) or ())
    return everything, tuple(sorted(reached))


def _code_evidence(g, index, svc, fn, declared, add_edge) -> None:
    code = fn.code or {}
    for inv in code.get("invocations", []):
        target = inv.get("target") or {}
        line, col = inv.get("line", 1), inv.get("column", 1)
        loc = Loc(code.get("file", ""), line, col, line, col)
        for t in _targets_of_name(index, svc, fn, target.get("kind"), target.get("value", ""), inv.get("style")):
            add_edge(g, fn.id, t.id, "calls", loc, declared=t.id in declared, evidence="code",
                     site=f"{code.get('file')}:{line}")


def _targets_of_name(index, svc, fn, kind, text, style) -> list:
    if style == "sdk.invoke" and kind == "literal":
        target, _, _ = resolve_target(index, svc, text)
        return [target] if target is not None else []
    if kind == "env":
        value = fn.environment.get(text)
        return _targets_of_value(index, svc, fn, value) if value is not None else []
    if kind == "literal":
        return _targets_of_value(index, svc, fn, text)
    if kind == "template":
        from ..iam.minimal import _fill_template

        filled = _fill_template(text, fn.environment)
        return _targets_of_value(index, svc, fn, filled) if filled and "*" not in filled else []
    return []


def _targets_of_value(index, svc, fn, value) -> list:
    """Functions of the repository a name, ARN or reference denotes."""
    if isinstance(value, str) and not value.startswith("arn:"):
        short = value.split(":")[0]
        same = index.fn_by_name.get((svc.name, short))
        if same is not None:
            return [same]
        return index.functions_matching_name(short)
    key = resource_key(value, svc, index)
    if key.strip() in ("*", ""):
        return []
    return index.functions_matching_arn(key) or []
