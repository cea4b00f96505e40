"""Reusable questions rules ask of the graph (who assumes a role, what a function is granted)."""
from __future__ import annotations

import weakref

import networkx as nx


def out_edges(g, node: str):
    """(node, target, attributes) of a node's out-edges, in networkx's order.

    The same as `g.out_edges(node, data=True)` read straight from the adjacency dicts: the
    edge views cost about 3 µs an edge, and rules ask this for every function."""
    if not g.is_multigraph():
        return [(node, v, d) for v, d in g._succ[node].items()]
    return [(node, v, d) for v, keys in g._succ[node].items() for d in keys.values()]


def in_edges(g, node: str):
    """(source, node, attributes) of a node's in-edges, like `g.in_edges(node, data=True)`."""
    if not g.is_multigraph():
        return [(u, node, d) for u, d in g._pred[node].items()]
    return [(u, node, d) for u, keys in g._pred[node].items() for d in keys.values()]


def out_by_kind(g, node: str, kind: str) -> list[str]:
    """Targets of a node's out-edges of a kind, sorted (read from the adjacency, like `out_edges`,
    without listing every edge first: rules ask this of every function)."""
    if not g.is_multigraph():
        return sorted({v for v, d in g._succ[node].items() if d["kind"] == kind})
    return sorted({v for v, keys in g._succ[node].items() for d in keys.values() if d["kind"] == kind})


def in_by_kind(g, node: str, kind: str) -> list[str]:
    """Sources of a node's in-edges of a kind, sorted (as `out_by_kind`)."""
    if not g.is_multigraph():
        return sorted({u for u, d in g._pred[node].items() if d["kind"] == kind})
    return sorted({u for u, keys in g._pred[node].items() for d in keys.values() if d["kind"] == kind})


def roles_holding(g, stmt: str) -> list[str]:
    """Roles (or resources, for resource policies) a statement belongs to."""
    return in_by_kind(g, stmt, "has")


def functions_of_role(g, role: str) -> list[str]:
    return in_by_kind(g, role, "assumes")


def functions_granted(g, stmt: str) -> list[str]:
    """Every function whose execution role holds this statement."""
    out: set[str] = set()
    for holder in roles_holding(g, stmt):
        if g.nodes[holder].get("kind") == "role":
            out.update(functions_of_role(g, holder))
    return sorted(out)


def role_of(g, fn: str) -> str | None:
    roles = out_by_kind(g, fn, "assumes")
    return roles[0] if roles else None


def statements_of_role(g, role: str) -> list[str]:
    return out_by_kind(g, role, "has")


_BY_KIND: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def nodes_of_kind(g, kind: str):
    """(id, attributes) of every node of a kind, in id order (stable output).

    Grouped once per graph (graphs do not change once built): every rule asks this.
    """
    groups = _BY_KIND.get(g)
    if groups is None or groups[0] != g.number_of_nodes():
        by: dict[str, list] = {}
        for n, d in g.nodes(data=True):
            by.setdefault(d.get("kind"), []).append((n, d))
        for items in by.values():
            items.sort(key=lambda t: t[0])
        groups = (g.number_of_nodes(), by)
        _BY_KIND[g] = groups
    return list(groups[1].get(kind, ()))


def function_names(g, fns: list[str]) -> str:
    """`users.createUser, users.getUser` for messages; at most five, then a count."""
    names = [f"{g.nodes[f].get('service')}.{g.nodes[f].get('name')}" for f in fns]
    if len(names) > 5:
        return ", ".join(names[:5]) + f" and {len(names) - 5} more"
    return ", ".join(names)


_BY_EDGE_KIND: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _edge_count(g) -> int:
    """networkx's `number_of_edges()` walks its views (0.13 s at 100k edges, per call); the
    adjacency dicts give the same count in a quarter of that."""
    return sum(len(keys) for nbrs in g._succ.values() for keys in nbrs.values()) \
        if g.is_multigraph() else sum(len(nbrs) for nbrs in g._succ.values())


class _Groups:
    """Edges by kind, each kind sorted by source and target the first time it is asked for
    (rules ask for a few kinds; `contains` and `has`, the largest, are rarely among them)."""

    def __init__(self, edges):
        """`edges` are (source, target, attributes) tuples, kept as they are (no copies)."""
        self.raw: dict[str, list] = {}
        self.sorted: dict[str, list] = {}
        raw = self.raw
        for e in edges:
            raw.setdefault(e[2].get("kind"), []).append(e)

    def kind(self, kind: str) -> list:
        items = self.sorted.get(kind)
        if items is None:
            items = self.sorted[kind] = sorted(self.raw.get(kind, ()), key=lambda t: (t[0], t[1]))
        return items


def seed_edges(g, edges: list) -> None:
    """Group a freshly built graph's edges from the builder's own list (no walk of the graph)."""
    _BY_EDGE_KIND[g] = (len(edges), _Groups(edges))


def edges_of_kind(g, kind: str) -> list:
    """(source, target, attributes) of every edge of a kind, sorted by source and target;
    grouped once per graph, like `nodes_of_kind`.

    A built graph is frozen (`nx.freeze`), so its grouping is never checked again; a graph
    made by hand is regrouped when its edge count changed.
    """
    groups = _BY_EDGE_KIND.get(g)
    if groups is not None and nx.is_frozen(g):
        return groups[1].kind(kind)
    count = _edge_count(g)
    if groups is None or groups[0] != count:
        groups = _BY_EDGE_KIND[g] = (count, _Groups(g.edges(data=True)))
    return groups[1].kind(kind)
