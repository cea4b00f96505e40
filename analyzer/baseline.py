"""Baselines: accept today's findings, fail only on new ones.

A baseline is reviewable JSON, sorted by (file, rule, fingerprint):

    {"version": 1, "tool": "sls-audit", "findings": [
      {"rule": "SLS201", "file": "svc/serverless.yml", "fingerprint": "...", "message": "..."}]}

Findings are matched by (rule, file, fingerprint) only: fingerprints are built from semantic
names, never lines or list positions, so inserting lines or reordering lists keeps a finding
baselined. Each entry absorbs one finding. A matched finding stays in the reports, suppressed
(SARIF `external`, justification naming the baseline); an entry that matches nothing any more
is stale and SLS007 reports it at its line in the baseline file.
"""
from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .loaders.yamlmarks import MDict, MList, ParseError, decode, load_bytes
from .model import Loc

VERSION = 1
KEYS = ("rule", "file", "fingerprint", "message")


class BaselineError(Exception):
    """The baseline file cannot be read or is not a baseline (exit 2)."""


@dataclass(frozen=True)
class Entry:
    rule: str
    file: str
    fingerprint: str
    message: str
    line: int = 1     # where the entry is written in the baseline file


@dataclass
class Baseline:
    path: str                        # as the user gave it (justifications name it)
    entries: list = field(default_factory=list)


def read(path: str | os.PathLike) -> Baseline:
    """Read and check a baseline file; raise BaselineError saying what is wrong and where.

    `json` parses it (a baseline of 10,000 findings is a few MB: the mark-keeping YAML loader
    would take 20 times longer); entry lines come from one scan of the text, and only a
    malformed file is parsed again with marks to say where it is wrong."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise BaselineError(f"{path}: cannot read the baseline: {e.strerror or e}") from None
    try:
        text = decode(data)
        doc = json.loads(text)
    except (ParseError, ValueError, RecursionError):
        doc = None
    if not _valid(doc):
        _explain(path, data)
    lines = _entry_lines(text, len(doc["findings"]))
    if lines is None:   # an unusual layout: take every entry's line from the marks
        lines = [span[0] for span in load_bytes(data)[0]["findings"].ispans]
    entries = [Entry(e["rule"], e["file"], e["fingerprint"], e.get("message") if isinstance(e.get("message"), str)
                     else "", line) for e, line in zip(doc["findings"], lines)]
    return Baseline(str(path), entries)


def _valid(doc) -> bool:
    return (isinstance(doc, dict) and doc.get("tool") == "sls-audit" and doc.get("version") == VERSION
            and isinstance(doc.get("findings"), list)
            and all(isinstance(e, dict) and all(isinstance(e.get(k), str) for k in ("rule", "file", "fingerprint"))
                    for e in doc["findings"]))


def _explain(path, data: bytes):
    """Raise the BaselineError for a file that is not a valid baseline, with its line."""
    try:
        doc, _ = load_bytes(data)   # JSON is YAML: the loader keeps every entry's line
    except ParseError as e:
        raise BaselineError(f"{path}:{max(e.line, 1)}:{max(e.column, 1)}: not a baseline "
                            f"(invalid JSON: {e.message})") from None
    if not isinstance(doc, MDict) or doc.get("tool") != "sls-audit" or not isinstance(doc.get("findings"), MList):
        raise BaselineError(f"{path}: not an sls-audit baseline (expected {{\"version\": {VERSION}, "
                            "\"tool\": \"sls-audit\", \"findings\": [...]}; write one with --write-baseline)")
    if doc.get("version") != VERSION:
        line = doc.kspans.get("version", doc.span)[0]
        raise BaselineError(f"{path}:{line}: baseline version {doc.get('version')!r} is not supported "
                            f"(this sls-audit reads version {VERSION})")
    items = doc["findings"]
    for item, span in zip(items, items.ispans):
        if not isinstance(item, MDict) or not all(isinstance(item.get(k), str) for k in ("rule", "file", "fingerprint")):
            raise BaselineError(f"{path}:{span[0]}: a baseline entry needs string \"rule\", \"file\" and "
                                "\"fingerprint\" fields")
    raise BaselineError(f"{path}: not a valid sls-audit baseline (JSON with the layout above)")


_FP_KEY = re.compile(r'"fingerprint"\s*:')


def _entry_lines(text: str, count: int) -> list[int] | None:
    """The line of each entry's `{`, in order, when each entry has one "fingerprint" key
    (inside a JSON string the quotes would be escaped); None otherwise."""
    offsets = [m.start() for m in _FP_KEY.finditer(text)]
    if len(offsets) != count:
        return None
    out, line, pos = [], 1, 0
    for off in offsets:
        brace = text.rfind("{", pos, off)
        at = brace if brace >= 0 else off
        line += text.count("\n", pos, at)
        pos = at
        out.append(line)
    return out


def render(findings: list) -> str:
    """The baseline text for these findings: every unsuppressed one except stale-baseline notes.

    Findings suppressed only by a baseline count as unsuppressed: rewriting a baseline while
    reading the old one keeps what it held and still matches."""
    rows = sorted({(f.rule, f.file, f.fingerprint, f.message) for f in findings
                   if f.rule != "SLS007" and all(s.get("source") == "baseline" for s in f.suppressions)},
                  key=lambda r: (r[1], r[0], r[2], r[3]))
    doc = {"version": VERSION, "tool": "sls-audit", "findings": [dict(zip(KEYS, r)) for r in rows]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def apply(findings: list, baseline: Baseline, ran: set | None = None) -> list[Entry]:
    """Suppress the findings the baseline holds; return its stale entries (they match nothing).

    Entries of rules that did not run (`ran`: --select/--ignore) cannot be judged: never stale."""
    pool = defaultdict(list)
    for e in baseline.entries:
        pool[(e.rule, e.file, e.fingerprint)].append(e)
    justification = f"accepted in baseline {baseline.path}"
    for f in sorted(findings, key=lambda f: f.sort_key()):
        waiting = pool.get((f.rule, f.file, f.fingerprint))
        if waiting:
            waiting.pop(0)
            f.suppressions.append({"kind": "external", "justification": justification, "source": "baseline"})
    return sorted((e for es in pool.values() for e in es if ran is None or e.rule in ran), key=lambda e: e.line)


def location(baseline: Baseline, entry: Entry, root: str) -> Loc:
    """Where a stale entry is written: the baseline file, relative to the analyzed root when inside it."""
    p = Path(baseline.path).resolve()
    try:
        file = p.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        file = p.as_posix()
    return Loc(file, entry.line, 1, entry.line, 1)
