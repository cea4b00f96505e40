"""GitHub Actions workflow commands: one annotation per finding, then a summary.

`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=SLS101 undeclared-call::message`.
Severity error → `::error`, warning → `::warning`, note → `::notice`. Escaping follows GitHub's
workflow-command rules (as @actions/core does): in the message `%`, CR and LF become `%25`,
`%0D`, `%0A`; in property values `:` and `,` also become `%3A`, `%2C`. Suppressed findings are
left out (they are counted in the summary). Paths are the findings' own (relative to the
analyzed folder), prefixed with `base` — the analyzed folder as seen from the repository root —
so GitHub can place the annotation on the file.
"""
from __future__ import annotations

from .json_report import summary

COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report, base: str = "") -> str:
    out = [annotation(f, base) for f in report.findings if not f.suppressions]
    out.append(summary_line(report))
    return "\n".join(out) + "\n"


def annotation(f, base: str = "") -> str:
    props = []
    if f.file:
        end = f.end_line - 1 if f.end_line > f.line and f.end_column <= 1 else f.end_line  # block end mark
        props += [("file", _join(base, f.file)), ("line", f.line)]
        # GitHub takes columns only on a one-line annotation
        if end <= f.line:
            props.append(("col", f.column))
            if f.end_column > f.column:
                props += [("endLine", f.line), ("endColumn", f.end_column)]
        else:
            props.append(("endLine", end))
    props.append(("title", f"{f.rule} {f.name}"))
    body = f.message
    for r in f.related:
        body += f"\n↳ {_join(base, r.file)}:{r.line}:{r.column} {r.message}"
    if f.fix:
        body += f"\nfix: {f.fix}"
    head = ",".join(f"{k}={escape_property(str(v))}" for k, v in props)
    return f"::{COMMAND.get(f.severity, 'warning')} {head}::{escape_data(body)}"


def summary_line(report) -> str:
    s = summary(report)
    c = report.coverage
    text = (f"sls-audit: {_n(s['error'], 'error')}, {_n(s['warning'], 'warning')}, {_n(s['note'], 'note')}"
            f" ({s['suppressed']} suppressed) in {_n(c['services'], 'service')} and "
            f"{_n(c['functions'], 'function')}; handlers scanned {c['handlers_scanned']} of "
            f"{c['handlers_found']} found, {c['opaque_roles']} opaque roles, "
            f"{c['unresolved_values']} unresolved values")
    return f"::notice title=sls-audit summary::{escape_data(text)}"


def _n(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _join(base: str, file: str) -> str:
    if not base or not file or file.startswith("/"):
        return file
    return f"{base.rstrip('/')}/{file}"
