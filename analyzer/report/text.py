"""Human output with rich: findings grouped by file, a summary table, the coverage summary.

Plain text (no colour, no boxes drawn with escape codes) when the output is not a
terminal or NO_COLOR is set, so logs and files stay readable and stable. A finding is
never broken across lines by the renderer (the terminal wraps it if it must), so a
message can be found with grep in a CI log.
"""
from __future__ import annotations

import io
import os

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .json_report import summary

_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}


def render(report, color: bool | None = None, width: int = 100) -> str:
    if color is None:
        color = False
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width,
                      color_system="standard" if color else None, highlight=False, emoji=False,
                      legacy_windows=False)
    current = None
    shown = [f for f in report.findings if not f.suppressions]
    for f in shown:
        if f.file != current:
            if current is not None:
                console.print()
            console.print(Text(f.file or "(project)", style="bold underline"))
            current = f.file
        line = Text("  ")
        line.append(f"{f.line}:{f.column}".ljust(8), style="dim")
        line.append(f"{f.severity:<8}", style=_STYLE.get(f.severity, ""))
        line.append(f"{f.rule} ", style="bold")
        line.append(f.message)
        line.append(f"  [{f.name}]", style="dim")
        console.print(line, soft_wrap=True)
        for r in f.related:
            console.print(Text(f"          ↳ {r.file}:{r.line}:{r.column} {r.message}", style="dim"), soft_wrap=True)
        if f.fix:
            console.print(Text(f"          fix: {f.fix}", style="green"), soft_wrap=True)
    if shown:
        console.print()
    s = summary(report)
    table = Table(title=None, show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("errors", "warnings", "notes", "suppressed"):
        table.add_column(col, justify="right")
    table.add_row(str(s["error"]), str(s["warning"]), str(s["note"]), str(s["suppressed"]))
    console.print(table)
    c = report.coverage
    sym = ", ".join(f"{k} {v}" for k, v in c["symbolic_values"].items()) or "none"
    console.print(Text(
        f"Analyzed {c['services']} services, {c['functions']} functions from {c['files']} files "
        f"({c['unreadable_files']} unreadable, {c['skipped_not_static']} skipped as not static); "
        f"handlers found {c['handlers_found']}, scanned {c['handlers_scanned']}; "
        f"roles {c['roles']} ({c['opaque_roles']} opaque); symbolic values: {sym}; "
        f"unresolved {c['unresolved_values']}; templates {c.get('templates', 0)}; "
        f"placeholders {c['placeholders']}.",
        style="dim"), soft_wrap=True)
    for p in c.get("placeholder_values", ()):
        where = ", ".join(f"{r['text']} at {r['file']}:{r['line']}:{r['column']}" for r in p["refs"])
        console.print(Text(f"  placeholder in {p['service']}'s template: {p['source']} {p['name']} = "
                           f"{p['value']}" + (f" ({where})" if where else ""), style="dim"), soft_wrap=True)
    return buf.getvalue()


def want_color(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
