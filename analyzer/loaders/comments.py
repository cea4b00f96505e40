"""Suppression comments from a file's raw text: configuration files, and handler code.

libyaml drops comments from its event stream, so they are read from the text the loader
already holds, and only when it contains `sls-audit:` (a byte search: files without
suppressions cost nothing). A `#` inside a quoted or block scalar is text, not a comment:
those scalars are found with pyyaml's pure-Python scanner, affordable for the few files
that carry the marker. In handler code, Python's tokenizer finds `#` comments and a small
lexer finds JavaScript/TypeScript `//` comments outside strings.
"""
from __future__ import annotations

import re

import yaml

from ..model import SuppressionComment
from .yamlmarks import MAX_FILE_BYTES, ParseError, decode

MARKER = "sls-audit:"
MARKER_BYTES = MARKER.encode()

_COMMENT = re.compile(r"(?:^|(?<=\s))#\s*sls-audit:[ \t]*(?P<rest>[^\r\n]*)")
_DIRECTIVE = re.compile(r"(?P<kind>ignore-file|ignore)\s*\[(?P<ids>[^\]]*)\](?P<reason>.*)")
_RULE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")
_LEADING_PUNCT = " \t-:;,–—"
_NEXT_COMMENT = re.compile(r"\s(?:#|//)(?:\s|$)")


def scan_bytes(data: bytes, file: str) -> list[SuppressionComment]:
    """The comments of a config file as read from disk: nothing to do (and no decoding) unless
    the marker is there; a file that is not text has none (its parse reports it)."""
    if MARKER_BYTES not in data:
        return []
    try:
        return scan(decode(data), file)
    except ParseError:
        return []


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


def _parse(file: str, lines: list[str], lineno: int, m: re.Match, start: int | None = None,
           lead: str = "#") -> SuppressionComment:
    """`start`: the comment's 0-based column when `m` matched the comment alone (code files)."""
    line = lines[lineno - 1]
    start = m.start() if start is None else start
    # a further ` # ` starts another comment (`ignore[SLS201]  # TODO`): not part of the directive
    rest = _NEXT_COMMENT.split(m.group("rest"), 1)[0].rstrip()
    own_line = not line[:start].strip()
    target, target_text = lineno, line[:start].strip()
    if own_line:
        target, target_text = 0, ""
        for n in range(lineno, len(lines)):
            nxt = lines[n].strip()
            if nxt and not nxt.startswith(lead):
                target, target_text = n + 1, nxt
                break
    base = {"file": file, "line": lineno, "column": start + 1, "end_column": len(line.rstrip()) + 1,
            "text": f"sls-audit: {rest}".strip(), "own_line": own_line, "target": target,
            "target_text": target_text}
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


def scan_code(root, rels) -> list[SuppressionComment]:
    """Suppression comments of handler source files (`# ...` in Python, `// ...` in JS/TS).

    Reading every handler again would cost a tenth of a large run, so the pipeline passes only
    the code files that hold findings: a comment elsewhere in code cannot suppress anything."""
    from pathlib import Path

    out = []
    for rel in rels:
        path = Path(root) / rel
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if MARKER_BYTES not in data:
            continue
        try:
            text = decode(data)
        except ParseError:
            continue
        python = rel.endswith(".py")
        comments = _python_comments(text) if python else _js_comments(text)
        lines = text.split("\n")
        lead = "#" if python else "//"
        for lineno, col, body in comments:
            m = _CODE_COMMENT.match(body)
            if m:
                out.append(_parse(rel, lines, lineno, m, col, lead))
    return out


_CODE_COMMENT = re.compile(r"(?:#|//)\s*sls-audit:[ \t]*(?P<rest>[^\r\n]*)")


def _python_comments(text: str) -> list[tuple[int, int, str]]:
    """(line, 0-based column, text) of every comment, by Python's own tokenizer."""
    import io
    import tokenize

    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out.append((tok.start[0], tok.start[1], tok.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return out


def _js_comments(text: str) -> list[tuple[int, int, str]]:
    """(line, 0-based column, text) of every `//` comment, skipping strings and block comments."""
    out = []
    i, n, line, line_start = 0, len(text), 1, 0
    quote = None
    while i < n:
        c = text[i]
        if c == "\n":
            line, line_start = line + 1, i + 1
            if quote in ("'", '"'):
                quote = None   # an unterminated string ends at the line
        elif quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append((line, i - line_start, text[i:end]))
            i = end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            nl = text.rfind("\n", i, end)
            line_start = nl + 1 if nl >= 0 else line_start
            i = end
            continue
        i += 1
    return out


def _non_plain_scalars(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of quoted and block scalars, where `#` is not a comment.

    A file that does not scan to the end keeps the ranges found so far (it is an SLS001 anyway,
    and a comment after the break still counts, so a parse error can be suppressed)."""
    out = []
    try:
        for tok in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(tok, yaml.ScalarToken) and not tok.plain:
                out.append((tok.start_mark.index, tok.end_mark.index))
    except Exception:  # noqa: BLE001 - a YAMLError, or anything odd: keep what was found
        pass
    return out


def _inside(ranges: list[tuple[int, int]], pos: int) -> bool:
    return any(a <= pos < b for a, b in ranges)
