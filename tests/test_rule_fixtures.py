"""Per-rule fixtures: `# [SLSxxx]` marks each line where a finding must start.

`fixtures/rules/<ID>/bad/` must produce exactly the marked findings of that rule
(a missing one and an extra one both fail; other rules may fire there too, as
they would on real code); `fixtures/rules/<ID>/good/` must produce no finding at all.
A folder directly holding a config is one repository; otherwise each subfolder
is one (so a case can carry its own `.sls-audit.yml`).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.api import audit
from analyzer.discovery import COMPOSE_NAMES, CONFIG_NAMES, DYNAMIC_NAMES

RULES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "rules"
MARKER = re.compile(r"\[(SLS\d{3})\]")
CONFIGS = set(CONFIG_NAMES) | set(COMPOSE_NAMES) | set(DYNAMIC_NAMES)


def repositories(folder: Path) -> list[Path]:
    if any((folder / n).exists() for n in CONFIGS):
        return [folder]
    return sorted(p for p in folder.iterdir() if p.is_dir())


def expected_markers(repo: Path) -> set[tuple[str, str, int]]:
    out = set()
    for f in sorted(repo.rglob("*")):
        if not f.is_file() or f.suffix not in (".yml", ".yaml", ".json", ".ts", ".js", ".py", ".mjs"):
            continue
        for i, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for rule in MARKER.findall(line):
                out.add((rule, f.relative_to(repo).as_posix(), i))
    return out


def actual(repo: Path, rule: str | None = None) -> set[tuple[str, str, int]]:
    report = audit(repo, cache=False)
    # a suppressed finding (inline comment, config `suppress:`) is kept in reports but is no finding here
    return {(f.rule, f.file, f.line) for f in report.findings
            if (rule is None or f.rule == rule) and not f.suppressions}


CASES = [
    pytest.param(repo, id=f"{rule.name}-{kind}-{repo.name}")
    for rule in sorted(RULES_DIR.iterdir()) if rule.is_dir()
    for kind in ("bad", "good") if (rule / kind).is_dir()
    for repo in repositories(rule / kind)
]


@pytest.mark.parametrize("repo", CASES)
def test_rule_fixture(repo: Path):
    rule, kind = repo.relative_to(RULES_DIR).parts[:2]
    expected = expected_markers(repo) if kind == "bad" else set()
    got = actual(repo, rule if kind == "bad" else None)
    missing, extra = expected - got, got - expected
    assert not missing and not extra, f"missing: {sorted(missing)}\nextra: {sorted(extra)}"


def test_every_bad_fixture_has_markers():
    for rule in sorted(RULES_DIR.iterdir()):
        bad = rule / "bad"
        if bad.is_dir():
            for repo in repositories(bad):
                markers = expected_markers(repo)
                assert markers, f"{repo} has no [SLSxxx] marker"
                assert {m[0] for m in markers} == {rule.name}, f"{repo} marks other rules: {markers}"


def test_unknown_call_targets_suggest_the_closest_function():
    """SLS102 lists every function's name only once a target is unknown; the hint still comes."""
    report = audit(RULES_DIR / "SLS102" / "bad" / "monorepo", cache=False)
    messages = sorted(f.message for f in report.findings if f.rule == "SLS102")
    assert any("users:getUsr" in m and "(did you mean users:getUser?)" in m for m in messages), messages
