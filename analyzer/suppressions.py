"""Inline suppressions: apply `# sls-audit: ignore[...]` comments to findings after the rules ran.

A suppressed finding is kept (reports show it as suppressed, SARIF as an `inSource`
suppression) but never fails the run. What the comments got wrong (no reason, a malformed
directive, an id no rule has, nothing suppressed) is returned as `Problem`s, which SLS006
reports through the engine, so --select/--ignore and severities apply to it like any rule.
"""
from __future__ import annotations

from dataclasses import dataclass

from .model import Loc

SELF = "SLS006"


@dataclass(frozen=True)
class Problem:
    """Why one suppression comment deserves an SLS006 note."""

    loc: Loc
    message: str
    names: tuple


def _covers(prefix: str, rule: str) -> bool:
    return rule.startswith(prefix)


def suppressed_by(comment, findings: list) -> list:
    """The findings of one file that this comment suppresses.

    `ignore-file`: every finding of the rules it names. `ignore`: per rule, the findings that
    start on the line it applies to; failing that, the innermost ones whose span holds that line
    (a comment beside `Resource: "*"` reaches the finding on its statement, not the one on the
    whole `provider` block)."""
    if comment.problem:
        return []
    named = [f for f in findings if any(_covers(i, f.rule) for i in comment.ids)]
    if comment.scope == "file":
        return named
    t = comment.target
    by_rule: dict = {}
    for f in named:
        if f.line <= t <= max(f.end_line, f.line):
            by_rule.setdefault(f.rule, []).append(f)
    out = []
    for group in by_rule.values():
        innermost = max(f.line for f in group)
        out.extend(f for f in group if f.line == innermost)
    return out


def apply(findings: list, comments: list, ran: set, known: set, *, report: bool = True) -> list[Problem]:
    """Mark the findings each comment suppresses; return the comments' problems.

    `ran` are the ids of the rules that ran in this run: an id that covers none of them cannot
    have suppressed anything, so it is not called unused (`--select` must not create notes).
    `known` are all registered rule ids: an id that covers none of them is a typo.
    """
    by_file: dict = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    problems = []
    for c in comments:
        used = set()
        for f in suppressed_by(c, by_file.get(c.file, [])):
            f.suppressions.append({"kind": "inSource", "justification": c.reason, "source": "comment",
                                   "location": Loc(c.file, c.line, c.column, c.line, c.end_column)})
            used.update(i for i in c.ids if _covers(i, f.rule))
        if report:
            problems.extend(_problems(c, used, ran, known))
    return problems


def _problems(c, used: set, ran: set, known: set) -> list[Problem]:
    loc = Loc(c.file, c.line, c.column, c.line, c.end_column)
    where = (c.target_text[:60],) if c.scope == "line" else ("<file>",)
    if c.problem:
        return [Problem(loc, c.problem, ("malformed", c.text) + where)]
    reasons = []
    unknown = [i for i in c.ids if not any(_covers(i, k) for k in known)]
    if unknown:
        reasons.append(f"no rule has the id {', '.join(unknown)}")
    # an id covering SLS006 may be there for the notes computed from these very comments: never unused
    unused = [i for i in c.ids if i not in unknown and i not in used and not _covers(i, SELF)
              and any(_covers(i, r) for r in ran)]
    if unused:
        place = "in this file" if c.scope == "file" else (
            f"on line {c.target}" if c.target else "(nothing follows the comment)")
        reasons.append(f"{', '.join(unused)} suppress{'es' * (len(unused) == 1)} nothing {place}")
    if not c.reason:
        reasons.append("it gives no reason: say why the finding does not apply")
    if not reasons:
        return []
    directive = "ignore-file" if c.scope == "file" else "ignore"
    return [Problem(loc, f"suppression {directive}[{','.join(c.ids)}]: " + "; ".join(reasons),
                    (directive, c.ids, c.reason, tuple(unknown), tuple(unused)) + where)]
