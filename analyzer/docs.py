"""Generate `docs/rules/` from rule metadata, the same text `sls-audit explain` prints.

Run `python -m analyzer.docs` after changing a rule; a test fails while the
committed pages differ from what this writes.
"""
from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def pages() -> dict[str, str]:
    from rules.registry import builtin_rules
    from rules.security import rating

    rules = sorted(builtin_rules(), key=lambda r: r.id)
    out = {f"{r.id}.md": r.documentation() for r in rules}
    lines = ["# Rules", "", "Generated from the rules' own metadata by `python -m analyzer.docs`;",
             "`sls-audit explain ID` prints the same text. The security severity (0.0-10.0, from the",
             "one table in `rules/security.py`) is what SARIF carries as `security-severity`; rules",
             "without one are about correctness, not security.", "",
             "| id | name | default severity | security severity | what it finds |", "|---|---|---|---|---|"]
    for r in rules:
        score = r.security_severity()
        sec = f"{score:.1f} ({rating(score)})" if score is not None else ""
        summary = " ".join(r.summary.split()).replace("|", "\\|")   # one table row, whatever it says
        lines.append(f"| [{r.id}]({r.id}.md) | {r.name} | {r.severity} | {sec} | {summary} |")
    out["index.md"] = "\n".join(lines) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    wanted = pages()
    for old in DOCS.glob("*.md"):
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        (DOCS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} pages to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
