"""Handler code -> facts on each function (SDK calls, invocations), the loader step for code.

Reads only files inside the repository that `handler:` names; results are cached
by content hash in the user's cache folder, and a cold run over many files uses
both cores. `--no-code` skips this step; the coverage summary says so.
"""
from __future__ import annotations

import os
from pathlib import Path

CODE_EXTS = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts")


def default_cache_dir() -> Path:
    from ..code.cache import default_cache_dir as code_cache_dir

    return code_cache_dir()


def scan_handlers(project, cache_dir: Path | None, enabled: bool = True) -> None:
    """Set `fn.code` for every function: a dict the graph puts on the function node."""
    functions = [f for s in project.services for f in s.functions]
    if not enabled:
        for f in functions:
            f.code = {"status": "off"}
        return
    root = Path(project.root)
    wanted = {}
    for f in functions:
        if not f.handler_file:
            f.code = {"status": "missing" if f.handler else "none"}
        elif not f.handler_file.endswith(CODE_EXTS):
            f.code = {"status": "unsupported", "file": f.handler_file}
        else:
            wanted.setdefault(f.handler_file, []).append(f)
    if not wanted:
        return
    from ..code import scan_many

    paths = {root / rel: rel for rel in sorted(wanted)}
    workers = min(2, os.cpu_count() or 1)  # scan_many starts a pool only for enough uncached files
    # cache problems (an unwritable folder) are handled inside: they never stop the analysis
    results = scan_many(list(paths), cache_dir, workers=workers, use_cache=cache_dir is not None)
    for path, rel in paths.items():
        facts = results.get(path)
        for f in wanted[rel]:
            f.code = _as_dict(rel, facts)


def _as_dict(rel: str, facts) -> dict:
    if facts is None:
        return {"status": "error", "file": rel, "error": "not scanned"}
    if facts.error:
        return {"status": "error", "file": rel, "error": facts.error}
    calls = [{"service": c.service, "operation": c.operation, "actions": list(c.actions),
              "resource": {"kind": c.resource.kind, "value": c.resource.value} if c.resource else None,
              "line": c.line, "column": c.column} for c in facts.calls]
    invocations = [{"target": {"kind": i.target.kind, "value": i.target.value}, "style": i.style,
                    "line": i.line, "column": i.column} for i in facts.invocations]
    dynamic = [{"line": d.line, "reason": d.reason} for d in getattr(facts, "dynamic_sites", [])]
    return {"status": "dynamic" if facts.dynamic else "scanned", "file": rel, "calls": calls,
            "invocations": invocations, **({"dynamic_sites": dynamic} if dynamic else {})}
