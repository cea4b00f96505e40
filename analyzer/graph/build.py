"""Project -> one networkx.MultiDiGraph (DESIGN §2), one builder per concern."""
from __future__ import annotations

import networkx as nx

from ..loaders import symbols as S
from . import calls, events, iam, references
from .index import Index


def loc_dict(loc) -> dict | None:
    return loc.as_dict() if loc is not None else None


def add_node(g: nx.MultiDiGraph, node_id: str, kind: str, loc, **attrs) -> None:
    if node_id in g:
        g.nodes[node_id].update({k: v for k, v in attrs.items() if v is not None})
        return
    g.add_node(node_id, kind=kind, loc=loc_dict(loc), **attrs)


def add_external(g: nx.MultiDiGraph, node_id: str, loc, **attrs) -> str:
    if node_id not in g:
        g.add_node(node_id, kind="external", loc=loc_dict(loc), **attrs)
    return node_id


def add_edge(g: nx.MultiDiGraph, src: str, dst: str, kind: str, loc, **attrs) -> None:
    g.add_edge(src, dst, key=None, kind=kind, loc=loc_dict(loc), **attrs)


def build_graph(project) -> tuple[nx.MultiDiGraph, Index]:
    g = nx.MultiDiGraph()
    index = Index(project)
    for svc in project.services:
        add_node(g, svc.id, "service", svc.loc, name=svc.name, provider=svc.provider, stage=svc.stage,
                 region=svc.region, stack_name=svc.stack_name, framework=svc.framework, file=svc.file)
        for fn in svc.functions:
            add_node(g, fn.id, "function", fn.loc, name=fn.name, service=svc.name, handler=fn.handler,
                     runtime=fn.runtime, deployed_name=fn.deployed_name, arn=fn.arn,
                     logical_id=fn.logical_id, subscribable=fn.subscribable)
            add_edge(g, svc.id, fn.id, "contains", fn.loc)
        for r in svc.resources:
            add_node(g, r.id, "resource", r.loc, type=r.type, logical_id=r.logical_id, service=svc.name)
            add_edge(g, svc.id, r.id, "contains", r.loc)
    iam.add(g, project, index)
    events.add(g, project, index)
    calls.add(g, project, index)
    references.add(g, project, index)
    return g, index


def text(value) -> str:
    return S.text_of(value)
