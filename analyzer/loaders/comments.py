"""Suppression comments from a config file's raw text.

libyaml drops comments from its event stream, so they are read from the text the loader
already holds, and only when it contains `sls-audit:` (a byte search: files without
suppressions cost nothing). A `#` inside a quoted or block scalar is text, not a comment:
those scalars are found with pyyaml's pure-Python scanner, affordable for the few files
that carry the marker.
"""
from __future__ import annotations

import re

import yaml

from ..model import SuppressionComment

MARKER = "sls-audit:"
MARKER_BYTES = MARKER.encode()

_COMMENT = re.compile(r"(?:^|(?<=\s))#\s*sls-audit:[ \t]*(?P<rest>[^\r\n]*)")
_DIRECTIVE = re.compile(r"(?P<kind>ignore-file|ignore)\s*\[(?P<ids>[^\]]*)\](?P<reason>.*)")
_RULE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")
_LEADING_PUNCT = " \t-:;,–—"
_NEXT_COMMENT = re.compile(r"\s#(?:\s|$)")


def scan(text: str, file: str) -> list[SuppressionComment]:
    """Every `# sls-audit: ...` comment of one file, parsed (malformed ones carry a `problem`)."""
    if MARKER not in text:
        return []
    lines = text.split("\n")
    quoted = _non_plain_scalars(text)
    out = []
    offset = 0
    for lineno, line in enumerate(lines, 1):
        if MARKER in line:
            for m in _COMMENT.finditer(line):
                if _inside(quoted, offset + m.start()):
                    continue
                out.append(_parse(file, lines, lineno, m))
                break  # the rest of the line is this comment
        offset += len(line) + 1
    return out


def _parse(file: str, lines: list[str], lineno: int, m: re.Match) -> SuppressionComment:
    line = lines[lineno - 1]
    # a further ` # ` starts another comment (`ignore[SLS201]  # TODO`): not part of the directive
    rest = _NEXT_COMMENT.split(m.group("rest"), 1)[0].rstrip()
    own_line = not line[:m.start()].strip()
    target, target_text = lineno, line[:m.start()].strip()
    if own_line:
        target, target_text = 0, ""
        for n in range(lineno, len(lines)):
            nxt = lines[n].strip()
            if nxt and not nxt.startswith("#"):
                target, target_text = n + 1, nxt
                break
    base = dict(file=file, line=lineno, column=m.start() + 1, end_column=len(line.rstrip()) + 1,
                text=f"sls-audit: {rest}".strip(), own_line=own_line, target=target,
                target_text=target_text)
    d = _DIRECTIVE.match(rest)
    if not d:
        return SuppressionComment(**base, problem=(
            f"'{base['text']}' is not a suppression: write `# sls-audit: ignore[SLS201] reason` "
            "(this line or the next) or `# sls-audit: ignore-file[SLS201] reason` (the whole file)"))
    ids = tuple(i.strip() for i in d.group("ids").split(",") if i.strip())
    reason = d.group("reason").strip().lstrip(_LEADING_PUNCT).strip()
    scope = "file" if d.group("kind") == "ignore-file" else "line"
    problem = ""
    bad = [i for i in ids if not _RULE_ID.fullmatch(i)]
    if not ids:
        problem = f"'{base['text']}' names no rule: list rule ids or prefixes, e.g. ignore[SLS201]"
    elif bad:
        problem = f"'{base['text']}': {', '.join(bad)} is not a rule id or prefix"
    return SuppressionComment(**base, scope=scope, ids=ids, reason=reason, problem=problem)


def _non_plain_scalars(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of quoted and block scalars, where `#` is not a comment.

    A file that does not scan to the end keeps the ranges found so far (it is an SLS001 anyway,
    and a comment after the break still counts, so a parse error can be suppressed)."""
    out = []
    try:
        for tok in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(tok, yaml.ScalarToken) and not tok.plain:
                out.append((tok.start_mark.index, tok.end_mark.index))
    except yaml.YAMLError:
        pass
    return out


def _inside(ranges: list[tuple[int, int]], pos: int) -> bool:
    return any(a <= pos < b for a, b in ranges)
