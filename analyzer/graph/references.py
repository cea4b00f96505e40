"""Outputs, exports and the references between services (`exports`, `imports`, `depends_on`)."""
from __future__ import annotations

from ..loaders import symbols as S
from ..loaders.yamlmarks import MDict, MList


def add(g, project, index) -> None:
    from .build import add_edge, add_external, add_node

    for svc in project.services:
        for out in svc.outputs:
            add_node(g, out.id, "export", out.loc, key=out.key, value=S.text_of(out.value) if not isinstance(out.value, dict) else None,
                     export_name=S.text_of(out.export_name) if out.export_name is not None else None,
                     service=svc.name, stack=svc.stack_name)
            add_edge(g, svc.id, out.id, "exports", out.loc)
    depends: set[tuple] = set()
    for svc in project.services:
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
            for dep in cs.depends_on:
                other = index.compose_services.get(dep)
                if other is not None:
                    depends.add((me.id, other.id, "compose", cs.loc))
    seen = set()
    for src, dst, reason, loc in sorted(depends, key=lambda t: (t[0], t[1], t[2])):
        if (src, dst, reason) in seen:
            continue
        seen.add((src, dst, reason))
        add_edge(g, src, dst, "depends_on", loc, reason=reason)


def _export_for(index, producer, output: str):
    for o in producer.outputs:
        if o.key == output:
            return o.id
    return None


def _imports(svc):
    """Every `${cf:}` value and `Fn::ImportValue` in the resolved document, with its location."""
    from ..model import Loc

    out = []
    stack = [(svc.doc, "")]
    seen = set()
    while stack:
        c, path = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        items = c.items() if isinstance(c, dict) else enumerate(c)
        for k, v in items:
            kp = f"{path}.{k}" if isinstance(c, dict) and path else (str(k) if isinstance(c, dict) else f"{path}[{k}]")
            span = (c.vspans.get(k) if isinstance(c, MDict) else c.ispans[k] if isinstance(c, MList) and k < len(c.ispans) else None) or (0, 0, 0, 0)
            loc = Loc(getattr(c, "source", None) or svc.file, span[0], span[1], span[2], span[3], kp)
            syms = [v] if isinstance(v, S.CfOutput) else [p for p in v.symbols() if isinstance(p, S.CfOutput)] if isinstance(v, S.SymStr) else []
            for s in syms:
                out.append(("cf", s, loc))
            if k == "Fn::ImportValue" and isinstance(c, MDict):
                out.append(("import", v, loc))
            if isinstance(v, (MDict, MList)):
                stack.append((v, kp))
    out.sort(key=lambda t: (t[2].line, t[2].column, t[0]))
    return out
