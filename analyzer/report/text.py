"""Human output with rich: findings grouped by file, each with a code frame of the lines it
points at, a summary by rule and by severity, and the coverage summary.

Plain text (no colour, no escape codes) when the output is not a terminal or NO_COLOR is
set, so logs and files stay readable and stable; the frame is still drawn, as text. A
finding's first line is never broken by the renderer (the terminal wraps it if it must), so
a message can be found with grep in a CI log. Source lines come from `report.source_lines`
(read lazily by the API): this module renders, it never reads files.
"""
from __future__ import annotations

import io
import os
import re
from collections import Counter

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .json_report import summary

_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}
_MARK = {"error": "bold red", "warning": "bold yellow", "note": "bold cyan"}
BEFORE, AFTER = 2, 1          # context lines around a finding
MAX_MARKED = 3                # lines of a multi-line span shown before eliding the rest
CHUNK = 64                    # rows per rich print call in colour
MAX_CODE = 110                # display columns of one source line (minified code is clipped)
_WORD = re.compile(r"[\w$.]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def render(report, color: bool | None = None, width: int = 100) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=bool(color), no_color=not color, width=width,
                      color_system="standard" if color else None, highlight=False, emoji=False,
                      legacy_windows=False)
    shown = [f for f in report.findings if not f.suppressions]
    rows = findings_rows(shown, getattr(report, "source_lines", None))
    if rows:
        if color:   # rows printed in chunks: rich costs 1 ms a call, and one huge Text is slower
            for i in range(0, len(rows), CHUNK):
                console.print(Text("\n").join(rows[i:i + CHUNK]), soft_wrap=True)
        else:       # what rich prints without colour, without rendering 10,000s of segments
            buf.write("\n".join(row.plain for row in rows) + "\n")
        console.print()
    by_rule = _by_rule(report.findings)
    if by_rule:
        console.print(by_rule)
        console.print()
    s = summary(report)
    table = Table(title=None, show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("errors", "warnings", "notes", "suppressed"):
        table.add_column(col, justify="right")
    table.add_row(str(s["error"]), str(s["warning"]), str(s["note"]), str(s["suppressed"]))
    console.print(table)
    console.print(Text(coverage_text(report.coverage), style="dim"), soft_wrap=True)
    out = buf.getvalue()
    if not color:   # tables pad their last column: no trailing blanks in logs and files
        out = "\n".join(ln.rstrip() for ln in out.split("\n"))
    return out


def findings_rows(findings, source=None) -> list[Text]:
    """The findings section: a header per file, then each finding's line, frame, evidence and fix."""
    rows: list[Text] = []
    current = None
    for f in findings:
        if f.file != current:
            if current is not None:
                rows.append(Text())
            rows.append(Text(f.file or "(project)", style="bold underline"))
            current = f.file
        line = Text("  ")
        line.append(f"{f.line}:{f.column}".ljust(8), style="dim")
        line.append(f"{f.severity:<8}", style=_STYLE.get(f.severity, ""))
        line.append(f"{f.rule} ", style="bold")
        line.append(f.message)
        line.append(f"  [{f.name}]", style="dim")
        rows.append(line)
        lines = source(f.file) if (source and f.file) else None
        if lines:
            rows.extend(frame(lines, f))
        for r in f.related:
            rows.append(Text(f"          ↳ {r.file}:{r.line}:{r.column} {r.message}", style="dim"))
        if f.fix:
            rows.append(Text(f"          fix: {f.fix}", style="green"))
    return rows


def frame(lines: list[str], f) -> list[Text]:
    """The finding's lines with BEFORE/AFTER lines of context, a numbered gutter, `>` on the
    lines of the span (at most MAX_MARKED, then an elision) and carets under its first line."""
    if not (1 <= f.line <= len(lines)):
        return []
    end, end_col = _span_end(lines, f)
    last_marked = min(end, f.line + MAX_MARKED - 1)
    hidden = end - last_marked
    first = max(1, f.line - BEFORE)
    last = last_marked if hidden else min(len(lines), end + AFTER)
    digits = len(str(last))
    gutter = " " * (digits + 2)
    mark_style = _MARK.get(f.severity, "bold")
    rows: list[Text] = []
    for n in range(first, last + 1):
        marked = f.line <= n <= last_marked
        raw = lines[n - 1]
        start = f.column if n == f.line else _indent(raw) + 1
        stop = end_col if n == end else len(raw) + 1
        if n == f.line == end and stop <= start + 1:      # a point: underline the word there
            word = _WORD.match(raw, start - 1)
            stop = word.end() + 1 if word else start + 1
        code, c0, c1 = _clip(raw, start - 1, stop - 1)
        row = Text("    ")
        row.append(">" if marked else " ", style=mark_style)
        row.append(f" {str(n).rjust(digits)} │ ", style="dim")
        if marked and c1 > c0:
            row.append(code[:c0])
            row.append(code[c0:c1], style=mark_style)
            row.append(code[c1:])
        else:
            row.append(code)
        rows.append(row)
        if n == f.line:
            caret = Text("    ")
            caret.append(f"{gutter} │ ", style="dim")
            caret.append(" " * cell_len(code[:c0]))
            caret.append("^" * max(1, cell_len(code[c0:c1])), style=mark_style)
            rows.append(caret)
    if hidden:
        more = "line" if hidden == 1 else "lines"
        rows.append(Text(f"    {gutter} ⋮ {hidden} more {more}", style="dim"))
    return rows


def _span_end(lines: list[str], f) -> tuple[int, int]:
    """Where the span really ends: a block node's end mark sits at the start of the next
    token (column 1, or the indentation of the next key), so step back to the line before."""
    end, col = max(f.end_line, f.line), f.end_column
    if end > len(lines):
        return len(lines), len(lines[-1]) + 1
    if end > f.line and not lines[end - 1][:max(col - 1, 0)].strip():
        end -= 1
        while end > f.line and not lines[end - 1].strip():
            end -= 1
        col = len(lines[end - 1]) + 1
    return end, col


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _clip(line: str, c0: int, c1: int) -> tuple[str, int, int]:
    """A printable window of one source line around [c0, c1) (code points, 0-based): tabs and
    control characters become one space or `?`, so offsets stay put; long lines are clipped."""
    line = _CONTROL.sub("?", line.replace("\t", " "))
    c0 = max(0, min(c0, len(line)))
    c1 = max(c0, min(c1, len(line)))
    if len(line) <= MAX_CODE:
        return line, c0, c1
    start = max(0, min(c0 - 20, len(line) - MAX_CODE))
    stop = start + MAX_CODE
    head = "…" if start else ""
    tail = "…" if stop < len(line) else ""
    shift = len(head) - start
    return head + line[start:stop] + tail, max(len(head), c0 + shift), min(c1 + shift, len(head) + MAX_CODE)


def _by_rule(findings) -> Table | None:
    """One row per rule: how many findings of each severity it reported (suppressed ones are
    hidden like their findings, and only counted in the totals below)."""
    counts: dict[tuple[str, str], Counter] = {}
    for f in findings:
        if not f.suppressions:
            counts.setdefault((f.rule, f.name), Counter())[f.severity] += 1
    if not counts:
        return None
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("rule")
    table.add_column("name")
    table.add_column("findings")
    for (rule, name), c in sorted(counts.items()):
        parts = [_plural(c[k], k) for k in ("error", "warning", "note") if c[k]]
        table.add_row(rule, name, ", ".join(parts))
    return table


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def coverage_text(c: dict) -> str:
    sym = ", ".join(f"{k} {v}" for k, v in c["symbolic_values"].items()) or "none"
    code = "" if c.get("code_scanning", "on") == "on" else " (code scanning off)"
    text = (f"Analyzed {_plural(c['services'], 'service')}, {_plural(c['functions'], 'function')} "
            f"from {_plural(c['files'], 'file')} "
            f"({c['unreadable_files']} unreadable, {c['skipped_not_static']} skipped as not static).\n"
            f"Handlers: {c['handlers_found']} found, {c['handlers_scanned']} scanned{code}. "
            f"Roles: {c['roles']} ({c['opaque_roles']} opaque). Symbolic values: {sym}. "
            f"Unresolved: {c['unresolved_values']}. Templates: {c.get('templates', 0)}. "
            f"Placeholders: {c['placeholders']}.")
    for p in c.get("placeholder_values", ()):
        where = ", ".join(f"{r['text']} at {r['file']}:{r['line']}:{r['column']}" for r in p["refs"])
        text += (f"\n  placeholder in {p['service']}'s template: {p['source']} {p['name']} = "
                 f"{p['value']}" + (f" ({where})" if where else ""))
    return text


def want_color(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
