"""`docs/rules/` is generated from rule metadata and must be current; every rule has the one doc shape."""
from __future__ import annotations

from analyzer.cli import main
from analyzer.docs import DOCS, pages
from rules.registry import builtin_rules


def test_rule_docs_are_current():
    wanted = pages()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    stale = sorted(n for n in wanted if on_disk.get(n) != wanted[n])
    extra = sorted(set(on_disk) - set(wanted))
    assert not stale and not extra, f"run `python -m analyzer.docs` (stale: {stale}, extra: {extra})"


def test_every_rule_has_complete_metadata():
    seen_names = set()
    for r in builtin_rules():
        assert r.id.startswith("SLS") and len(r.id) == 6
        assert r.severity in ("note", "warning", "error")
        assert r.name and r.name == r.name.lower() and " " not in r.name
        assert r.name not in seen_names
        seen_names.add(r.name)
        assert r.summary and r.what.strip() and r.why.strip() and r.example.strip() and r.instead.strip()
        doc = r.documentation()
        for heading in ("## What it finds", "## Why it matters", "## Example", "## Use instead"):
            assert heading in doc, (r.id, heading)


def test_explain_prints_the_generated_page(capsys):
    for r in builtin_rules():
        assert main(["explain", r.id]) == 0
        assert capsys.readouterr().out == (DOCS / f"{r.id}.md").read_text(encoding="utf-8")


def test_index_lists_every_rule_once_in_order_with_a_link():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    rows = [ln for ln in index.splitlines() if ln.startswith("| [SLS")]
    rules = sorted(builtin_rules(), key=lambda r: r.id)
    assert [ln.split("|")[1].strip() for ln in rows] == [f"[{r.id}]({r.id}.md)" for r in rules]
    for r in rules:
        assert (DOCS / f"{r.id}.md").is_file()


def test_index_row_survives_a_summary_with_a_pipe_or_a_line_break(monkeypatch):
    import rules.registry

    from rules.base import Rule

    class Odd(Rule):
        id, name, severity = "SLS999", "odd-rule", "note"
        summary = "finds a | b\nacross lines"
        what = why = example = instead = "x"

        def check(self, graph, context):
            return ()

    monkeypatch.setattr(rules.registry, "builtin_rules", lambda: [Odd])
    (row,) = [ln for ln in pages()["index.md"].splitlines() if ln.startswith("| [SLS999]")]
    # the empty cell: no security severity (rules/security.py does not list SLS999)
    assert row == "| [SLS999](SLS999.md) | odd-rule | note |  | finds a \\| b across lines |"
