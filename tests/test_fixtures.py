"""Project fixtures: each `fixtures/<case>/expected.json` names the findings and graph facts.

Findings are compared as (rule, file, line) sets for the rules that exist: a
missing finding and an extra one both fail. Findings a fixture names for rules
not written yet are skipped until that rule lands (then they are enforced).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from analyzer.api import audit
from rules.registry import builtin_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted(p.parent for p in FIXTURES.rglob("expected.json"))
KNOWN = {r.id for r in builtin_rules()}


def _load(case: Path) -> dict:
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reports():
    return {}


def _report(case: Path, cache: dict):
    if case not in cache:  # `templates`: files given as with --template (a SAM or CloudFormation template)
        cache[case] = audit(case, templates=[case / t for t in _load(case).get("templates", [])])
    return cache[case]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_findings(case: Path, reports):
    expected = {tuple(f) for f in _load(case)["findings"] if f[0] in KNOWN}
    got = {(f.rule, f.file, f.line) for f in _report(case, reports).findings}
    missing, extra = expected - got, got - expected
    assert not missing and not extra, f"missing: {sorted(missing)}\nextra: {sorted(extra)}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_graph(case: Path, reports):
    want = _load(case).get("graph", {})
    g = _report(case, reports).graph
    nodes = Counter(d["kind"] for _, d in g.nodes(data=True))
    edges = Counter(d["kind"] for _, _, d in g.edges(data=True))
    for kind, n in want.get("nodes", {}).items():
        assert nodes.get(kind, 0) == n, f"{kind} nodes: {nodes.get(kind, 0)} != {n}"
    for kind, n in want.get("edges", {}).items():
        assert edges.get(kind, 0) == n, f"{kind} edges: {edges.get(kind, 0)} != {n}"
    present = {(u, v, d["kind"]) for u, v, d in g.edges(data=True)}
    for u, v, kind in want.get("include", []):
        assert (u, v, kind) in present, f"missing edge {u} -[{kind}]-> {v}"
    for _, d in g.nodes(data=True):
        assert d.get("loc") is None or d["loc"].line >= 1 or d["kind"] == "external"


def test_every_fixture_folder_has_expectations():
    cases = set(CASES)
    for top in sorted(FIXTURES.iterdir()):
        if not top.is_dir() or top.name == "rules":
            continue
        if (top / "expected.json").exists():
            continue
        for sub in sorted(top.iterdir()):
            if sub.is_dir():
                assert sub in cases, f"{sub} has no expected.json"
