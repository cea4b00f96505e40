"""`sls-audit policy`: each function's minimal statements, with the evidence beside them.

YAML is a snippet in the chosen framework's per-function form (v4:
`functions.<f>.iam.role.statements`; v3/osls: the serverless-iam-roles-per-function
plugin's `iamRoleStatements`), evidence as comments. JSON holds valid IAM policy
documents (CloudFormation intrinsics where a value is a reference) and, next to
each document, an `evidence` map keyed by Sid. `--diff` lists what to remove and
what to add against the current effective policy.
"""
from __future__ import annotations

import json

from ..graph import queries as Q
from ..iam.effective import action_matches, effective_policy, resource_matches
from ..iam.resources import display

_SHORT = {"Ref": "!Ref", "Fn::GetAtt": "!GetAtt", "Fn::Sub": "!Sub", "Fn::ImportValue": "!ImportValue",
          "Fn::Join": "!Join"}


def statements(pol) -> list[dict]:
    return [{"Sid": n.sid, "Effect": "Allow", "Action": list(n.actions), "Resource": list(n.resources)}
            for n, _ in pol.merged()]


def _functions(graph, only: str | None):
    for fn, d in Q.nodes_of_kind(graph, "function"):
        if only and only not in (fn[3:], d.get("name"), f"{d.get('service')}:{d.get('name')}"):
            continue
        yield fn, d


def render_json(report_graph, policies, only: str | None = None) -> str:
    out = {}
    for fn, d in _functions(report_graph, only):
        pol = policies.of(fn)
        out[fn[3:]] = {
            "complete": pol.known,
            **({"incomplete_because": pol.why_unknown} if not pol.known else {}),
            "policy": {"Version": "2012-10-17", "Statement": statements(pol)},
            "evidence": {n.sid: "; ".join(ev) for n, ev in pol.merged()},
        }
    return json.dumps({"functions": out}, indent=2, sort_keys=False) + "\n"


def render_yaml(graph, index, policies, only: str | None = None) -> str:
    lines: list[str] = []
    by_service: dict[str, list] = {}
    for fn, d in _functions(graph, only):
        by_service.setdefault(index.functions[fn].service, []).append(fn)
    for sid in sorted(by_service):
        svc = index.services_by_id[sid]
        v4 = svc.framework == "v4"
        lines.append(f"# service {svc.name} ({svc.file}), framework {svc.framework}")
        if not v4:
            lines.append("# needs the serverless-iam-roles-per-function plugin:")
            lines.append("plugins:\n  - serverless-iam-roles-per-function")
        lines.append("functions:")
        for fn in by_service[sid]:
            pol = policies.of(fn)
            name = graph.nodes[fn]["name"]
            lines.append(f"  {name}:")
            if not pol.known:
                lines.append(f"    # incomplete: {pol.why_unknown}")
            indent = " " * (10 if v4 else 6)
            if v4:
                lines.append("    iam:\n      role:\n        statements:" + ("" if pol.needs else " []"))
            else:
                lines.append("    iamRoleStatements:" + ("" if pol.needs else " []"))
            for n, evidence in pol.merged():
                lines.extend(f"{indent}# {e}" for e in evidence)
                lines.append(f"{indent}- Sid: {n.sid}")
                lines.append(f"{indent}  Effect: Allow")
                lines.append(f"{indent}  Action:")
                lines.extend(f"{indent}    - {a}" for a in n.actions)
                lines.append(f"{indent}  Resource:")
                lines.extend(f"{indent}    - {_yaml_value(_stage_form(r, svc, index))}" for r in n.resources)
        lines.append("")
    return "\n".join(lines)


def render_diff(graph, policies, only: str | None = None) -> str:
    lines = []
    for fn, d in _functions(graph, only):
        pol = policies.of(fn)
        eff = effective_policy(graph, fn)
        lines.append(f"{fn[3:]}  (role {eff.role.split(':', 1)[-1] if eff.role else 'none'})")
        if eff.opaque:
            lines.append("  role is opaque (given as an ARN): its permissions are unknown")
            continue
        if not pol.known:
            lines.append(f"  minimal policy incomplete: {pol.why_unknown}")
        needed = {(a, k) for n in pol.needs for a in n.actions for k in n.keys}
        removes = []
        for g in eff.grants:
            if g.framework or g.effect != "Allow" or g.stmt is None:
                continue
            for p in g.actions:
                for k in g.resources or ("*",):
                    used = [(a, r) for a, r in needed if action_matches(p, a) and resource_matches(k, r)]
                    if not used:
                        removes.append(f"{p} on {display(k)}")
                    elif "*" in p or "?" in p:
                        exact = sorted({a for a, _ in used})
                        removes.append(f"{p} on {display(k)} (only {', '.join(exact)} is needed)")
                    elif "*" in k and all(r != k and r != "*" for _, r in used):
                        exact = sorted({display(r) for _, r in used})
                        removes.append(f"{p} on {display(k)} (only {', '.join(exact)} is needed)")
        adds = [f"{a} on {display(k)}   # {n.evidence}" for n in pol.needs for a in n.actions for k in n.keys
                if not eff.allows(a, k, count_conditional=False)]
        if pol.known:
            lines.extend(f"  - {r}" for r in sorted(set(removes)))
        lines.extend(f"  + {a}" for a in adds)
        if (not removes or not pol.known) and not adds:
            lines.append("  (no change)" if pol.known else "  (nothing to add)")
    return "\n".join(lines) + "\n"


def _stage_form(value, svc, index):
    """Another service's function by its default name (`users-dev-getUser`), written for
    `serverless.yml` as `users-${sls:stage}-getUser`: pasted back, the snippet follows the stage
    it is deployed to (and SLS401 does not report the name it would otherwise pin). The JSON
    form keeps the resolved name: it is an IAM document, not configuration."""
    if not (isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Fn::Sub"), str)):
        return value
    text = value["Fn::Sub"]
    head, sep, name = text.rpartition(":function:")
    if not sep:
        return value
    short, colon, qualifier = name.partition(":")
    for target in index.functions_matching_name(short):
        owner = index.services_by_id.get(target.service)
        if owner is None or owner.stage != svc.stage:
            continue
        default = f"{owner.name}-{owner.stage}-{target.name}"
        if short == default:
            return {"Fn::Sub": f"{head}:function:{owner.name}-${{sls:stage}}-{target.name}{colon}{qualifier}"}
    return value


def _yaml_value(v) -> str:
    if isinstance(v, dict) and len(v) == 1:
        (k, x), = v.items()
        tag = _SHORT.get(k)
        if tag == "!GetAtt" and isinstance(x, list):
            return f"!GetAtt {'.'.join(str(p) for p in x)}"
        if tag and isinstance(x, str):
            return f"{tag} {json.dumps(x) if any(c in x for c in ':{}#') else x}"
        if tag:
            return f"{tag} {json.dumps(x)}"
    if isinstance(v, str):
        return json.dumps(v) if any(c in v for c in ":{}#*") else v
    return json.dumps(v)
