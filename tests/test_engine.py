"""Rule engine: plugins through entry points, a failing rule becomes SLS000, selection."""
from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import rules.registry as registry
from analyzer.api import audit
from analyzer.engine import is_selected
from analyzer.findings import Hit
from rules.base import Rule

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "frameworks" / "v3"


class Exploding(Rule):
    id = "SLS999"
    name = "exploding-rule"
    severity = "warning"
    summary = "Always raises."
    what = why = example = instead = "x"

    def check(self, graph, context):
        raise KeyError("boom")


class FunctionsWithoutTimeout(Rule):
    """A third-party rule: it sees only the graph."""

    id = "ACME001"
    name = "function-without-timeout"
    severity = "note"
    summary = "Every function node, to prove plugin rules run."
    what = why = example = instead = "x"

    def check(self, graph, context):
        for node, data in sorted(graph.nodes(data=True)):
            if data["kind"] == "function":
                yield Hit(f"function {data['name']} seen by a plugin", node=node)


def test_a_failing_rule_becomes_sls000_and_the_others_still_run():
    all_rules = registry.builtin_rules() + [Exploding]
    report = audit(FIXTURE, rules=all_rules)
    rules = [f.rule for f in report.findings]
    assert "SLS005" in rules
    sls000 = [f for f in report.findings if f.rule == "SLS000"]
    assert len(sls000) == 1
    assert "SLS999" in sls000[0].message and "KeyError" in sls000[0].message


def test_plugin_rules_load_through_the_entry_point_group(monkeypatch):
    ep = EntryPoint(name="acme", value="tests.test_engine:FunctionsWithoutTimeout", group="sls_audit.rules")
    broken = EntryPoint(name="broken", value="no_such_module_xyz:Rule", group="sls_audit.rules")
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep, broken] if group == "sls_audit.rules" else [])
    errors: list[str] = []
    loaded = registry.load_rules(errors)
    assert "ACME001" in {r.id for r in loaded}
    assert errors and "broken" in errors[0]
    report = audit(FIXTURE)
    plugin = [f for f in report.findings if f.rule == "ACME001"]
    assert [(f.file, f.line, f.message) for f in plugin] == [
        ("serverless.yml", 10, "function greet seen by a plugin")]
    assert any(f.rule == "SLS000" and "broken" in f.message for f in report.findings)


@pytest.mark.parametrize("rule,select,ignore,expected", [
    ("SLS005", [], [], True),
    ("SLS005", ["SLS0"], ["SLS005"], False),
    ("SLS005", ["SLS005"], ["SLS0"], True),
    ("SLS002", ["SLS0"], ["SLS005"], True),
    ("SLS101", ["SLS0"], [], False),
    ("SLS005", ["SLS005"], ["SLS005"], False),
])
def test_longest_prefix_wins(rule, select, ignore, expected):
    assert is_selected(rule, select, ignore) is expected
