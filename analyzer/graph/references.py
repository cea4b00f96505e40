"""Outputs, exports and the references between services (`exports`, `imports`, `depends_on`)."""
from __future__ import annotations

from ..loaders import symbols as S
from ..model import Loc


def add(g, project, index) -> None:
    from .build import add_edge, add_external, add_node

    for svc in project.services:
        for out in svc.outputs:
            add_node(g, out.id, "export", out.loc, key=out.key, value=S.text_of(out.value) if not isinstance(out.value, dict) else None,
                     export_name=S.text_of(out.export_name) if out.export_name is not None else None,
                     service=svc.name, stack=svc.stack_name)
            add_edge(g, svc.id, out.id, "exports", out.loc)
    parameters = _parameters(g, project, add_node, add_edge)
    depends: set[tuple] = set()
    for svc in project.services:
        for sym in svc.symbols:
            if not isinstance(sym, S.SsmRef):
                continue
            loc = Loc(sym.file, sym.line, sym.column, sym.line, sym.column)
            found = parameters.get(sym.path)
            node = found[1] if found else add_external(g, f"ext:ssm:{sym.path}", loc, path=sym.path)
            add_edge(g, svc.id, node, "imports", loc, via="ssm")
            if found and found[0].id != svc.id:
                depends.add((svc.id, found[0].id, "ssm", loc))
        for kind, ref, loc in _imports(svc):
            if kind == "cf":
                producer = index.stacks.get(ref.stack)
                target = _export_for(index, producer, ref.output) if producer else None
                node = target or add_external(g, f"ext:cf:{ref.stack}.{ref.output}", loc)
            else:  # ImportValue
                name = S.text_of(ref)
                target = f"export:{name}" if f"export:{name}" in index.exports else None
                producer = index.exports[target][0] if target else None
                node = target or add_external(g, f"ext:export:{name}", loc)
            add_edge(g, svc.id, node, "imports", loc, via=kind)
            if producer is not None and producer.id != svc.id:
                depends.add((svc.id, producer.id, "import", loc))
    for comp in project.compose:
        for cs in comp.services:
            me = index.compose_services.get(cs.name)
            if me is None:
                continue
            for value in cs.params.values():
                if not isinstance(value, S.ComposeOutput):
                    continue
                producer = index.compose_services.get(value.service)
                target = _export_for(index, producer, value.output) if producer else None
                node = target or add_external(g, f"ext:compose:{value.service}.{value.output}", cs.loc)
                add_edge(g, me.id, node, "imports", cs.loc, via="compose")
            for dep in cs.depends_on:
                other = index.compose_services.get(dep)
                if other is not None:
                    depends.add((me.id, other.id, "compose", cs.loc))
    merged: dict = {}
    for src, dst, reason, loc in sorted(depends, key=lambda t: (t[0], t[1], t[2], t[3].file, t[3].line)):
        entry = merged.setdefault((src, dst), [loc, []])
        if reason not in entry[1]:
            entry[1].append(reason)
    for (src, dst), (loc, reasons) in sorted(merged.items()):
        add_edge(g, src, dst, "depends_on", loc, reason=", ".join(reasons), reasons=reasons)


_SECRET_REF = "/aws/reference/secretsmanager/"


def _parameters(g, project, add_node, add_edge) -> dict:
    """SSM parameters and secrets the repository's stacks create: `${ssm:}` finds them here."""
    found: dict = {}
    for svc in project.services:
        for r in svc.resources:
            if r.type == "AWS::SSM::Parameter":
                name = r.properties.get("Name")
                key = S.text_of(name) if isinstance(name, str) else None
            elif r.type == "AWS::SecretsManager::Secret":
                name = r.properties.get("Name")
                key = _SECRET_REF + S.text_of(name) if isinstance(name, str) else None
            else:
                continue
            if not key or key in found:
                continue
            node = f"export:ssm:{key}"
            add_node(g, node, "export", r.loc, key=key, value=None, export_name=None, service=svc.name,
                     stack=svc.stack_name, parameter=True)
            add_edge(g, svc.id, node, "exports", r.loc)
            found[key] = (svc, node)
    return found


def _export_for(index, producer, output: str):
    for o in producer.outputs:
        if o.key == output:
            return o.id
    return None


def _imports(svc):
    """Every `${cf:}` value and `Fn::ImportValue` the resolver met, with its location."""
    out = []
    for sym in svc.symbols:
        if isinstance(sym, S.CfOutput):
            out.append(("cf", sym, Loc(sym.file, sym.line, sym.column, sym.line, sym.column)))
    for value, file, span in svc.import_values:
        out.append(("import", value, Loc(file, span[0], span[1], span[2], span[3])))
    out.sort(key=lambda t: (t[2].file, t[2].line, t[2].column, t[0]))
    return out
