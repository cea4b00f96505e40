"""Files -> Project: read, parse, resolve and model every config of a repository.

Each file fails alone: a file that cannot be read or parsed becomes an SLS001
diagnostic and the others are still analyzed.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from ..discovery import Discovered
from ..model import Compose, ComposeService, Loc, Project
from . import comments
from . import symbols as S
from .service import ServiceBuilder
from .variables import Diagnostic, Options, Resolver
from .yamlmarks import MDict, MList, ParseError, Sites, load_bytes

_COMPOSE_REF = re.compile(r"^\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}$")


def load_project(found: Discovered, options: Options, framework: str | None = None,
                 progress=None, handlers_named=None) -> Project:
    """`progress(done, total)`, when given, is called after each config file is read.

    `handlers_named(paths)`, when given, is told the handler files of each config as soon as it
    is read, before the services are modelled (a cold run starts parsing them meanwhile).
    """
    root = found.root
    handler_files = _HandlerFiles(str(root))  # shared: each handler is looked up once per run
    project = Project(root=str(root))
    project.files_seen = len(found.configs) + len(found.composes) + len(found.dynamic) + len(found.problems)
    for rel, message in found.problems:
        project.diagnostics.append(Diagnostic("SLS001", message, rel, 1, 1, 1, 1))
    for rel in found.dynamic:
        project.diagnostics.append(Diagnostic(
            "SLS004", f"{Path(rel).name} is a program, not data: it cannot be read statically and "
            "was skipped (point sls-audit at a synthesized template instead)", rel, 1, 1, 1, 1))

    composes = [c for c in (_load_compose(root, rel, project, options) for rel in found.composes) if c]
    project.compose = composes
    by_dir = {}
    for comp in composes:
        cdir = Path(comp.file).parent
        for cs in comp.services:
            by_dir[_norm(cdir / cs.path)] = cs

    pending = []
    total = len(found.configs)
    for done, rel in enumerate(found.configs, 1):
        try:
            item = _load_one(root, rel, project, options, by_dir)
        except Exception as e:  # noqa: BLE001 - one file must never stop the run
            project.diagnostics.append(_internal(rel, "loading", e))
            item = None
        if item is not None:
            pending.append(item)
            if handlers_named is not None:
                try:
                    handlers_named(_named_handlers(rel, item[1], handler_files))
                except Exception:  # noqa: BLE001 - only a head start: scanning checks again later
                    pass
        if progress is not None:
            progress(done, total)

    counts = Counter(name for _, _, name, _, _ in pending)
    for rel, doc, name, resolver, cs in pending:
        sid = f"svc:{name}" if counts[name] == 1 else f"svc:{name}@{Path(rel).parent.as_posix()}"
        try:
            builder = ServiceBuilder(doc, rel, framework, options, sid)
            svc = builder.build(name, resolver.stage, resolver.region)
            svc.compose_name = cs.name if cs else None
            svc.symbols = resolver.symbols
            svc.import_values = resolver.import_values
            _find_handlers(root, rel, svc, handler_files)
        except Exception as e:  # noqa: BLE001
            project.diagnostics.append(_internal(rel, "modelling", e))
            continue
        project.diagnostics.extend(builder.diagnostics)
        project.services.append(svc)
        project.documents[rel] = doc
    # a file included by several services was scanned once per service
    project.suppressions = sorted(set(project.suppressions), key=lambda c: (c.file, c.line))
    return project


def _internal(rel: str, step: str, e: Exception) -> Diagnostic:
    import traceback

    tb = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return Diagnostic("SLS000", f"internal error while {step} this file: {type(e).__name__}: {e}{where}",
                      rel, 1, 1, 1, 1, names=(step, type(e).__name__))


def _load_one(root: Path, rel: str, project: Project, options: Options, by_dir: dict):
    """Read, parse and resolve one config; None when it cannot be used."""
    sites = Sites()
    doc = _read(root, rel, project, sites)
    if doc is None:
        return None
    cs = by_dir.get(_norm(os.path.dirname(rel) or ".")) if by_dir else None
    opts = Options(options.stage, options.region, options.params,
                   dict(cs.params) if cs else {}, options.config_params)
    resolver = Resolver(doc, root / rel, root, rel, opts)
    resolver.resolve_all(sites)
    project.suppressions.extend(resolver.comments)
    project.diagnostics.extend(resolver.diagnostics)
    project.symbols.extend(resolver.symbols)
    name = doc.get("service")
    if isinstance(name, MDict):  # the old `service: {name: x}` form
        name = name.get("name")
    if not isinstance(name, str) or not name:
        span = doc.kspans.get("service", doc.span)
        project.diagnostics.append(Diagnostic(
            "SLS001", "no 'service' name: the framework refuses a config without one",
            rel, span[0], span[1], span[2], span[3], "service"))
        return None
    return (rel, doc, name, resolver, cs)


_HANDLER_EXTS = {
    "python": (".py",), "nodejs": (".js", ".mjs", ".cjs", ".ts", ".mts"), "ruby": (".rb",),
}


def _find_handlers(root: Path, rel: str, svc, handler_files: "_HandlerFiles | None" = None) -> None:
    """Locate each handler's source file (`src/users.create` -> `src/users.py`), inside the root."""
    base_rel = os.path.dirname(rel)
    files = handler_files if handler_files is not None else _HandlerFiles(str(root))
    for fn in svc.functions:
        found = files.find(base_rel, fn.handler, _handler_runtime(fn.runtime, svc.runtime, svc.provider))
        if found is not None:
            fn.handler_file = found[0]


def _named_handlers(rel: str, doc, handler_files: "_HandlerFiles") -> list[str]:
    """The handler files a config's functions name, read from the document as ServiceBuilder
    and `_find_handlers` will see them (absolute paths)."""
    functions = doc.get("functions")
    if not isinstance(functions, MDict):
        return []
    provider = doc.get("provider")
    provider = provider if isinstance(provider, MDict) else {}
    prov_name = provider.get("name") if isinstance(provider.get("name"), str) else "aws"
    svc_runtime = provider.get("runtime") if isinstance(provider.get("runtime"), str) else None
    base_rel = os.path.dirname(rel)
    out = []
    for cfg in functions.values():
        if isinstance(cfg, MDict) and isinstance(cfg.get("handler"), str):
            fn_runtime = cfg.get("runtime") if isinstance(cfg.get("runtime"), str) else None
            found = handler_files.find(base_rel, cfg["handler"],
                                       _handler_runtime(fn_runtime, svc_runtime, prov_name))
            if found is not None:
                out.append(found[1])
    return out


def _handler_runtime(fn_runtime: str | None, svc_runtime: str | None, provider: str) -> str:
    """The runtime whose file extensions a handler is looked up with: the function's, else the
    service's, else Node.js on AWS (the framework's default)."""
    return fn_runtime or svc_runtime or ("nodejs" if provider == "aws" else "")


class _HandlerFiles:
    """Handler lookups of one run under one root: each folder is listed once, and each
    (folder, handler, runtime) resolved once (loading names every handler twice: for the
    prefetch, then for the model)."""

    def __init__(self, root_s: str):
        self.root_s = root_s
        self.listings: dict[str, frozenset] = {}   # folder -> its file names
        self.found: dict[tuple, tuple | None] = {}  # -> (relative posix path, absolute path)

    def find(self, base_rel: str, handler, runtime: str) -> tuple[str, str] | None:
        key = (base_rel, handler, runtime)
        if key in self.found:
            return self.found[key]
        rel = _handler_file(self.root_s, base_rel, handler, runtime, self.listings)
        out = self.found[key] = (rel, os.path.join(self.root_s, rel)) if rel is not None else None
        return out


def _handler_file(root_s: str, base_rel: str, handler, runtime: str, listings: dict) -> str | None:
    if not handler or "." not in handler:
        return None
    module = handler.rsplit(".", 1)[0]
    for ext in _exts_for(runtime):
        cand = os.path.normpath(os.path.join(base_rel, module + ext))
        if cand.startswith("..") or os.path.isabs(cand):
            return None
        folder, _, name = cand.rpartition(os.sep)
        listing = listings.get(folder)
        if listing is None:
            listing = listings[folder] = _files_in(os.path.join(root_s, folder))
        # one listing per folder instead of one stat per handler; a name the listing lacks
        # is still asked for (a case-insensitive file system may have it)
        if name in listing or os.path.isfile(os.path.join(root_s, cand)):
            return cand.replace(os.sep, "/")
    return None


@lru_cache(maxsize=256)
def _exts_for(runtime: str) -> tuple:
    """The source file extensions a runtime's handlers may have (a few runtimes per run)."""
    runtime = runtime.lower()
    return next((v for k, v in _HANDLER_EXTS.items() if runtime.startswith(k)), ())


def _files_in(folder: str) -> frozenset:
    """Names of the files in a folder (symbolic links followed, as os.path.isfile does)."""
    try:
        with os.scandir(folder) as it:
            return frozenset(e.name for e in it if e.is_file())
    except OSError:
        return frozenset()


def _read(root: Path, rel: str, project: Project, sites=None):
    try:
        data = (root / rel).read_bytes()
    except OSError as e:
        project.diagnostics.append(Diagnostic("SLS001", f"cannot read file: {e.strerror or e}", rel, 1, 1, 1, 1))
        return None
    project.suppressions.extend(comments.scan_bytes(data, rel))
    try:
        doc, warnings = load_bytes(data, sites)
    except ParseError as e:
        line, col = max(e.line, 1), max(e.column, 1)
        project.diagnostics.append(Diagnostic("SLS001", f"cannot parse: {e.message}", rel, line, col, line, col))
        return None
    for msg, line, col in warnings:
        project.diagnostics.append(Diagnostic("SLS001", msg + " (the framework refuses duplicated keys)",
                                              rel, line, col, line, col))
    if doc is None:
        project.diagnostics.append(Diagnostic("SLS001", "the file is empty", rel, 1, 1, 1, 1))
        return None
    if not isinstance(doc, MDict):
        span = getattr(doc, "span", (1, 1, 1, 1))
        project.diagnostics.append(Diagnostic(
            "SLS001", "the top level must be a mapping of configuration keys", rel, *span))
        return None
    return doc


def _load_compose(root: Path, rel: str, project: Project, options: Options) -> Compose | None:
    doc = _read(root, rel, project)
    if doc is None:
        return None
    comp = Compose(file=rel)
    services = doc.get("services")
    if not isinstance(services, MDict):
        span = doc.kspans.get("services", doc.span)
        project.diagnostics.append(Diagnostic(
            "SLS001", "'services' must be a mapping of service names to their settings", rel, *span))
        return comp
    stage = options.stage or "dev"
    stage_params = {}
    stages = doc.get("stages")
    if isinstance(stages, MDict):
        for key in (stage, "default"):
            block = stages.get(key)
            if isinstance(block, MDict) and isinstance(block.get("params"), MDict):
                for k, v in block["params"].items():
                    stage_params.setdefault(k, v)
    for name, cfg in services.items():
        if not isinstance(cfg, MDict):
            span = services.vspans.get(name, services.span)
            project.diagnostics.append(Diagnostic(
                "SLS001", f"'services.{name}' must be a mapping with a 'path'", rel, *span))
            continue
        path = cfg.get("path")
        if not isinstance(path, str):
            span = services.kspans.get(name, services.span)
            project.diagnostics.append(Diagnostic(
                "SLS001", f"'services.{name}.path' is missing", rel, *span))
            continue
        deps = cfg.get("dependsOn")
        deps = [deps] if isinstance(deps, str) else [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
        params = {}
        for k, v in stage_params.items():
            params[k] = _compose_value(v, rel, services.vspans.get(name, services.span))
        own = cfg.get("params")
        if isinstance(own, MDict):
            for k, v in own.items():
                params[k] = _compose_value(v, rel, own.vspans.get(k, own.span))
        for k in params:  # stage params win over service params (Compose precedence)
            if k in stage_params:
                params[k] = _compose_value(stage_params[k], rel, services.vspans.get(name, services.span))
        k = services.kspans.get(name, services.span)
        comp.services.append(ComposeService(
            name=str(name), path=path, depends_on=deps, params=params,
            loc=Loc(rel, k[0], k[1], k[2], k[3], f"services.{name}")))
        # outputs referenced by params make implicit dependencies, as Compose infers them
        for v in params.values():
            if isinstance(v, S.ComposeOutput) and v.service not in deps:
                comp.services[-1].depends_on.append(v.service)
    return comp


def _compose_value(v, rel: str, span):
    if isinstance(v, str):
        m = _COMPOSE_REF.match(v.strip())
        if m:
            return S.ComposeOutput(kind="ComposeOutput", ref=v.strip()[2:-1], file=rel, line=span[0],
                                   column=span[1], service=m.group(1), output=m.group(2))
    return v


def _norm(p) -> str:
    """A folder as a posix path, normalized (a Path or a str: no Path made per config)."""
    return os.path.normpath(os.fspath(p)).replace(os.sep, "/")


__all__ = ["load_project", "MList"]
