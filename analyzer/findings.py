"""Findings: what rules report, located and fingerprinted by the engine."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

SEVERITIES = ("note", "warning", "error")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass
class Hit:
    """What a rule yields: a message and what it is about (node ids and/or a location).

    `names` are the semantic names the fingerprint is built from (service,
    function, logical id, target...), never lines or list positions.
    """

    message: str
    node: str | None = None
    loc: object = None               # model.Loc, when the rule knows it directly
    key_path: str | None = None
    names: tuple = ()
    related: tuple = ()              # ((Loc | node id), message)
    fix: str | None = None
    nodes: tuple = ()
    severity: str | None = None      # when one rule reports causes of different weight (SLS201)


@dataclass
class Related:
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str


@dataclass
class Finding:
    rule: str
    name: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    key_path: str = ""
    nodes: tuple = ()
    related: list = field(default_factory=list)
    fix: str | None = None
    fingerprint: str = ""
    # [{"kind": "inSource"|"external", "justification": str, "source": "comment"|"config"|"baseline"}]
    suppressions: list = field(default_factory=list)

    def sort_key(self):
        return (self.file, self.line, self.column, self.rule, self.message)

    def as_dict(self) -> dict:
        return {
            "rule": self.rule, "name": self.name, "severity": self.severity, "message": self.message,
            "file": self.file, "line": self.line, "column": self.column,
            "end_line": self.end_line, "end_column": self.end_column, "key_path": self.key_path,
            "nodes": list(self.nodes),
            "related": [r.__dict__ for r in self.related],
            "fix": self.fix, "fingerprint": self.fingerprint,
            "suppressed": bool(self.suppressions),
            "suppressions": [{"kind": s["kind"], "justification": s.get("justification", "")}
                             for s in self.suppressions],
        }


def fingerprint(rule: str, file: str, names: tuple) -> str:
    text = "\x1f".join((rule, file, *(str(n) for n in names)))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]
