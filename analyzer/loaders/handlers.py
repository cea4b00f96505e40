"""Handler code -> facts on each function (SDK calls, invocations), the loader step for code.

Reads only files inside the repository that `handler:` names; results are cached
by content hash in the user's cache folder, and a cold run over many files uses
both cores, starting while the configs are still loading (`prefetch`). `--no-code`
skips this step; the coverage summary says so.
"""
from __future__ import annotations

import os
from pathlib import Path

CODE_EXTS = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts")


def default_cache_dir() -> Path:
    from ..code.cache import default_cache_dir as code_cache_dir

    return code_cache_dir()


def workers() -> int:
    """Processes that parse handlers on a cold run: both cores, where fork() exists (the workers
    are forked; without it, as on Windows, the handlers are read in this process)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return min(2, os.cpu_count() or 1)


def prefetch(root, cache_dir: Path | None):
    """A `code.cache.Prefetch` for `load_project(handlers_named=...)`: on a cold run, handler
    files are parsed on the second core while the configs load. None on one core."""
    if workers() < 2:
        return None
    from ..code.cache import Prefetch

    return Prefetch(cache_dir, str(root), workers(), use_cache=cache_dir is not None)


def scan_handlers(project, cache_dir: Path | None, enabled: bool = True, prefetched=None) -> None:
    """Set `fn.code` for every function: a dict the graph puts on the function node.

    `prefetched`: the `prefetch()` that loading fed, whose cache settings and workers are used."""
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

    root_s = str(root)
    paths = {os.path.join(root_s, rel): rel for rel in sorted(wanted)}
    # scan_many starts a pool only for enough uncached files; cache problems (an unwritable
    # folder) are handled inside: they never stop the analysis
    results = scan_many(list(paths), cache_dir, workers=workers(), use_cache=cache_dir is not None,
                        scope=root_s, prefetch=prefetched)
    for path, rel in paths.items():
        facts = results.get(path)
        users = wanted[rel]
        ranges = _export_ranges(path) if len(users) > 1 else {}
        for f in users:
            f.code = _as_dict(rel, facts, ranges, _export_name(f.handler), ranges.values())


def _export_ranges(path: str) -> dict:
    from ..code.exports import export_ranges

    try:
        return export_ranges(Path(path))
    except Exception:  # noqa: BLE001 - without ranges every call counts for every function
        return {}


def _export_name(handler: str | None) -> str:
    return handler.rsplit(".", 1)[-1] if handler and "." in handler else ""


def _mine(line: int, ranges: dict, name: str, all_ranges) -> bool:
    """A call inside this function's export is its own; inside another export, not; elsewhere
    (module level, shared helpers) it may serve any function of the file."""
    own = ranges.get(name)
    if own is not None and own[0] <= line <= own[1]:
        return True
    return not any(start <= line <= end for start, end in all_ranges)


def _as_dict(rel: str, facts, ranges=None, name: str = "", all_ranges=()) -> dict:
    if facts is None:
        return {"status": "error", "file": rel, "error": "not scanned"}
    if facts.error:
        return {"status": "error", "file": rel, "error": facts.error}
    all_ranges = list(all_ranges)
    keep = (lambda line: _mine(line, ranges, name, all_ranges)) if ranges and name in ranges else (lambda line: True)
    calls = [{"service": c.service, "operation": c.operation, "actions": list(c.actions),
              "resource": {"kind": c.resource.kind, "value": c.resource.value} if c.resource else None,
              "line": c.line, "column": c.column} for c in facts.calls if keep(c.line)]
    invocations = [{"target": {"kind": i.target.kind, "value": i.target.value}, "style": i.style,
                    "line": i.line, "column": i.column} for i in facts.invocations if keep(i.line)]
    dynamic = [{"line": d.line, "reason": d.reason} for d in getattr(facts, "dynamic_sites", []) if keep(d.line)]
    is_dynamic = facts.dynamic and (bool(dynamic) or not getattr(facts, "dynamic_sites", None))
    return {"status": "dynamic" if is_dynamic else "scanned", "file": rel, "calls": calls,
            "invocations": invocations, **({"dynamic_sites": dynamic} if dynamic else {})}
