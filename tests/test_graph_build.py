"""The graph builder fills networkx's adjacency directly; it must equal what networkx builds."""
import networkx as nx
import pytest

from analyzer.api import load
from analyzer.graph import queries as Q
from analyzer.graph.build import GraphBuilder, add_edge, add_node


def _builder():
    b = GraphBuilder()
    add_node(b, "svc:a", "service", None, name="a")
    add_node(b, "fn:a.f", "function", None, name="f")
    add_edge(b, "svc:a", "fn:a.f", "contains", None)
    add_edge(b, "fn:a.f", "fn:a.f", "calls", None, declared=True)       # a self loop
    add_edge(b, "fn:a.f", "ext:x", "calls", None, declared=False)       # a node only an edge names
    add_edge(b, "fn:a.f", "ext:x", "calls", None, declared=True)        # a parallel edge
    return b


def test_direct_adjacency_equals_add_edges_from():
    b = _builder()
    fast = b.into(nx.MultiDiGraph())
    slow = nx.MultiDiGraph()
    slow.add_nodes_from(b.nodes.items())
    slow.add_edges_from(b.edges)
    assert nx.utils.graphs_equal(fast, slow)
    assert sorted(fast.edges(keys=True, data="declared")) == sorted(slow.edges(keys=True, data="declared"))
    assert list(fast.predecessors("ext:x")) == ["fn:a.f"]
    assert fast.number_of_edges("fn:a.f", "ext:x") == 2


def test_a_built_graph_is_frozen_and_its_edge_groups_are_the_builders():
    _, g, _ = load("fixtures/post", code=False, cache=False)
    assert nx.is_frozen(g)
    with pytest.raises(nx.NetworkXError):
        g.add_edge("fn:x", "fn:y")
    calls = Q.edges_of_kind(g, "calls")
    assert calls == sorted(((u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == "calls"),
                           key=lambda t: (t[0], t[1]))
    assert calls


def test_a_hand_made_graph_is_regrouped_when_an_edge_is_added():
    g = nx.MultiDiGraph()
    g.add_edge("a", "b", kind="calls")
    assert [(u, v) for u, v, _ in Q.edges_of_kind(g, "calls")] == [("a", "b")]
    g.add_edge("a", "b", kind="calls")
    assert len(Q.edges_of_kind(g, "calls")) == 2
