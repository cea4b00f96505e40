"""The graph as node-link JSON, Graphviz dot, or a Mermaid flowchart."""
from __future__ import annotations

import json

import networkx as nx

_DRAWN_EDGES = ("calls", "subscribes", "triggers", "depends_on")


def _plain(value):
    """`model.Loc` and other small objects as JSON data."""
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if as_dict is not None else str(value)


def to_json(graph) -> str:
    """networkx node-link data, sorted; compact (the C encoder) because graphs get large."""
    data = nx.node_link_data(graph, edges="edges")
    for item in (*data["nodes"], *data["edges"]):
        if item.get("loc") is not None:
            item["loc"] = item["loc"].as_dict()
    data["nodes"].sort(key=lambda n: n["id"])
    data["edges"].sort(key=_edge_order)
    for e in data["edges"]:
        e.pop("key", None)
    return json.dumps(data, sort_keys=True, default=_plain, ensure_ascii=False) + "\n"


def _edge_order(e: dict) -> tuple:
    loc = e.get("loc") or {}
    return (e["source"], e["target"], e.get("kind", ""), loc.get("file", ""), loc.get("line", 0),
            loc.get("column", 0), loc.get("key_path", ""))


def _drawn_kind(d: dict) -> str:
    """Declared calls and undeclared ones (evidence without a `calling` entry) look different."""
    if d.get("kind") == "calls" and not d.get("declared"):
        return "undeclared"
    return d.get("kind")


def _service_view(graph):
    """Services and functions with the edges people want to see between them."""
    funcs = {n: d for n, d in graph.nodes(data=True) if d.get("kind") == "function"}
    by_service: dict[str, list] = {}
    for n, d in graph.nodes(data=True):
        if d.get("kind") == "service":
            by_service.setdefault(n, [])
    for u, v, d in graph.edges(data=True):
        if d.get("kind") == "contains" and v in funcs:
            by_service.setdefault(u, []).append(v)
    edges = sorted({
        (u, v, _drawn_kind(d), d.get("type") or d.get("event") or d.get("reason") or d.get("evidence") or "")
        for u, v, d in graph.edges(data=True)
        if d.get("kind") in _DRAWN_EDGES and (d.get("kind") != "triggers" or graph.nodes[u].get("kind") == "external")
        and not (d.get("kind") == "calls" and d.get("declared") and d.get("evidence") != "calling")
    })
    externals = sorted({x for u, v, *_ in edges for x in (u, v) if graph.nodes[x].get("kind") == "external"})
    return by_service, edges, externals


def _ident(node_id: str, ids: dict) -> str:
    if node_id not in ids:
        ids[node_id] = f"n{len(ids)}"
    return ids[node_id]


def to_mermaid(graph) -> str:
    by_service, edges, externals = _service_view(graph)
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    for svc in sorted(by_service):
        name = graph.nodes[svc].get("name", svc)
        lines.append(f'  subgraph {_ident(svc, ids)}["{_esc(name)}"]')
        for fn in sorted(by_service[svc]):
            label = graph.nodes[fn].get("name", fn)
            shape = f'(["{_esc(label)}"])' if graph.nodes[fn].get("subscribable") else f'["{_esc(label)}"]'
            lines.append(f"    {_ident(fn, ids)}{shape}")
        lines.append("  end")
    for x in externals:
        lines.append(f'  {_ident(x, ids)}{{{{"{_esc(x[4:])}"}}}}')
    arrows = {"calls": "-->", "undeclared": "-.->", "subscribes": "-.->", "triggers": "-->", "depends_on": "==>"}
    for u, v, kind, label in edges:
        text = {"calls": "calls", "undeclared": f"UNDECLARED call ({label})", "subscribes": f"subscribes {label}".strip(),
                "triggers": label, "depends_on": f"depends on ({label})" if label else "depends on"}[kind]
        lines.append(f"  {_ident(u, ids)} {arrows[kind]}|{_esc(text)}| {_ident(v, ids)}")
    return "\n".join(lines) + "\n"


def to_dot(graph) -> str:
    by_service, edges, externals = _service_view(graph)
    ids: dict[str, str] = {}
    lines = ["digraph sls_audit {", "  rankdir=LR;", "  node [shape=box, fontname=\"Helvetica\"];"]
    for i, svc in enumerate(sorted(by_service)):
        name = graph.nodes[svc].get("name", svc)
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f'    label="{_esc(name)}";')
        for fn in sorted(by_service[svc]):
            style = ", style=rounded" if graph.nodes[fn].get("subscribable") else ""
            lines.append(f'    {_ident(fn, ids)} [label="{_esc(graph.nodes[fn].get("name", fn))}"{style}];')
        lines.append("  }")
    for x in externals:
        lines.append(f'  {_ident(x, ids)} [label="{_esc(x[4:])}", shape=hexagon];')
    styles = {"calls": "", "undeclared": ", color=red, style=dashed", "subscribes": ", style=dashed",
              "triggers": ", color=gray", "depends_on": ", style=bold"}
    for u, v, kind, label in edges:
        text = {"calls": "calls", "undeclared": f"UNDECLARED call ({label})", "subscribes": f"subscribes {label}".strip(), "triggers": label,
                "depends_on": f"depends on ({label})" if label else "depends on"}[kind]
        if u not in ids and graph.nodes[u].get("kind") == "service":
            lines.append(f'  {_ident(u, ids)} [label="{_esc(graph.nodes[u].get("name", u))}", shape=folder];')
        if v not in ids and graph.nodes[v].get("kind") == "service":
            lines.append(f'  {_ident(v, ids)} [label="{_esc(graph.nodes[v].get("name", v))}", shape=folder];')
        lines.append(f'  {_ident(u, ids)} -> {_ident(v, ids)} [label="{_esc(text)}"{styles[kind]}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc(s: str) -> str:
    return str(s).replace("\\", "\\\\").replace('"', "'")


def to_order(graph) -> tuple[str, bool]:
    """Deploy order of the services (dependencies first), in waves that can deploy together;
    or the cycles that prevent one. Returns (text, has_order)."""
    deps = nx.DiGraph()
    for n, d in graph.nodes(data=True):
        if d.get("kind") == "service":
            deps.add_node(n, name=d.get("name", n))
    reasons = {}
    for u, v, d in graph.edges(data=True):
        if d.get("kind") == "depends_on" and u in deps and v in deps:
            deps.add_edge(v, u)  # v must deploy before u
            reasons[(u, v)] = d.get("reason", "")

    def name(n: str) -> str:
        return deps.nodes[n].get("name", n)

    cycles = [sorted(c) for c in nx.strongly_connected_components(deps) if len(c) > 1]
    if cycles:
        lines = ["no deploy order: services depend on each other in a cycle"]
        for comp in sorted(cycles):
            members = set(comp)
            lines.append("  cycle: " + ", ".join(name(n) for n in comp))
            for u, v in sorted(reasons):
                if u in members and v in members:
                    lines.append(f"    {name(u)} depends on {name(v)} ({reasons[(u, v)]})")
        return "\n".join(lines) + "\n", False
    lines = []
    for i, wave in enumerate(nx.topological_generations(deps), 1):
        members = sorted(wave, key=name)
        lines.append(f"{i}. " + ", ".join(name(n) for n in members))
        for n in members:
            for u, v in sorted(reasons):
                if u == n:
                    lines.append(f"     {name(u)} after {name(v)} ({reasons[(u, v)]})")
    return "\n".join(lines) + "\n", True


def around(graph, service: str, depth: int = 1):
    """The part of the graph within `depth` service-to-service hops of one service (by name or id):
    its functions, resources and roles, its neighbours', and the externals they touch."""
    svc_of: dict[str, str] = {}
    for u, v, d in graph.edges(data=True):
        if d.get("kind") == "contains":
            svc_of[v] = u
    start = service if service in graph else f"svc:{service}"
    if start not in graph or graph.nodes[start].get("kind") != "service":
        raise KeyError(service)
    links = nx.Graph()
    for u, v, d in graph.edges(data=True):
        a = u if graph.nodes[u].get("kind") == "service" else svc_of.get(u)
        b = v if graph.nodes[v].get("kind") == "service" else svc_of.get(v)
        if a and b and a != b and d.get("kind") in ("calls", "subscribes", "depends_on", "triggers", "imports"):
            links.add_edge(a, b)
    links.add_node(start)
    keep_services = set(nx.single_source_shortest_path_length(links, start, cutoff=depth))
    keep = {n for n in graph if n in keep_services or svc_of.get(n) in keep_services}
    for n in list(keep):
        for _, v in graph.out_edges(n):
            if graph.nodes[v].get("kind") in ("external", "statement", "export"):
                keep.add(v)
    return graph.subgraph(keep)
