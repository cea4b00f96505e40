"""Roles, statements and what each statement reaches (`assumes`, `has`, `allows`)."""
from __future__ import annotations

from ..iam.resources import resource_key
from ..loaders import symbols as S
from ..loaders.yamlmarks import MDict


def add(g, project, index) -> None:
    from .build import add_edge, add_external, add_node

    for svc in project.services:
        for role in svc.roles:
            add_node(g, role.id, "role", role.loc, logical_id=role.logical_id, role_kind=role.kind,
                     opaque=role.opaque, shared=role.kind == "shared", service=svc.name,
                     managed_policies=[S.text_of(m) for m in role.managed_policies],
                     arn=S.text_of(role.arn) if role.arn is not None else None)
            add_edge(g, svc.id, role.id, "contains", role.loc)
            for st in role.statements:
                _statement(g, st, role.id, svc, index, add_node, add_edge, add_external)
        for fn in svc.functions:
            if fn.role:
                if fn.role not in g:  # a role named but defined nowhere we could see
                    add_node(g, fn.role, "role", fn.loc, logical_id=fn.role.split(".", 1)[-1],
                             role_kind="unknown", opaque=True, shared=False, service=svc.name)
                add_edge(g, fn.id, fn.role, "assumes", fn.loc)
        for res_id, st in svc.resource_policies:
            holder = res_id if res_id in g else add_external(g, res_id, st.loc)
            _statement(g, st, holder, svc, index, add_node, add_edge, add_external, policy="resource")


def _statement(g, st, holder, svc, index, add_node, add_edge, add_external, policy="identity") -> None:
    add_node(g, st.id, "statement", st.loc, effect=st.effect, actions=list(st.actions),
             resource_keys=[resource_key(r, svc, index) for r in st.resources],
             not_actions=list(st.not_actions), resources=[S.text_of(r) for r in st.resources],
             not_resources=[S.text_of(r) for r in st.not_resources],
             conditions=S.plain(st.conditions), principals=S.plain(st.principals), sid=st.sid,
             origin=st.origin, framework=st.framework,
             policy=policy, service=svc.name)
    add_edge(g, holder, st.id, "has", st.loc)
    if st.effect != "Allow":
        return
    for target in _targets(st, svc, index):
        if target.startswith("ext:"):
            if st.framework:
                continue  # the service's own log groups and the like: no node worth drawing
            add_external(g, target, st.loc)
        add_edge(g, st.id, target, "allows", st.loc, actions=list(st.actions))


def _targets(st, svc, index) -> list[str]:
    """Node ids a statement's resources name: local resources, functions, or externals."""
    out: list[str] = []
    lambda_actions = None  # whether the actions reach functions; asked only of ARN-like resources
    for r in st.resources:
        owner, logical = svc, _logical(r)
        via = _via_output(r, index)
        if via is not None:  # `${cf:}` / Compose output naming another service's resource
            owner, logical = via
        if logical is not None:
            fn = index.fn_by_logical.get((owner.id, logical))
            if fn is not None:
                out.append(fn.id)
            elif (owner.id, logical) in index.resources:
                out.append(index.resources[(owner.id, logical)].id)
            continue
        if isinstance(r, MDict):
            continue  # other intrinsics (Fn::Sub, Fn::Join): known only after synthesis
        text = S.text_of(r)
        if text == "*":
            out.append("ext:*")
            continue
        if lambda_actions is None:
            lambda_actions = any(a == "*" or a.lower().startswith("lambda:") for a in st.actions)
        fns = index.functions_matching_arn(r) if lambda_actions else None
        if fns:
            out.extend(f.id for f in fns)
        elif text.startswith("arn:"):
            out.append("ext:" + text)
    return sorted(set(out))


def _via_output(value, index):
    """(producer service, logical id) when a value is another stack's output of `!Ref`/`!GetAtt`.

    `${cf:users-dev.FnArn}:*` (a qualified ARN built on an output) names the same thing.
    """
    if isinstance(value, S.SymStr) and value.parts and (len(value.parts) == 1 or (
            isinstance(value.parts[1], str) and value.parts[1].startswith(":"))):
        value = value.parts[0]
    found = index.output_of(value)
    if found is None:
        return None
    producer, output = found
    logical = _logical(output.value)
    return (producer, logical) if logical is not None else None


_logical = S.referenced_logical_id


