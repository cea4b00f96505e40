"""The library entry point: load a project, build its graph, run the rules.

The CLI is a thin layer over `audit()`; other tools can call it directly:

    from analyzer.api import audit
    report = audit("path/to/repo")
    for f in report.findings: print(f.rule, f.file, f.line, f.message)
"""
from __future__ import annotations

import gc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, ConfigError, load_config
from .discovery import discover, relative_prefix
from .engine import (
    Context, active_rules, apply_config_suppressions, run, run_internal_errors, sort_findings,
)
from .graph import build_graph
from .loaders.handlers import default_cache_dir, scan_handlers
from .loaders.project import load_project
from .loaders.template import attach as attach_templates
from .loaders.variables import Options


class NothingToAnalyze(Exception):
    """The path does not exist or holds no readable configuration (exit 2)."""


@dataclass
class Report:
    root: str
    findings: list
    graph: object
    project: object
    rules: list
    coverage: dict = field(default_factory=dict)
    config: Config | None = None
    extensions: list = field(default_factory=list)   # other tools whose findings are merged (cfn-lint)

    @property
    def analyzed(self) -> bool:
        """False when no configuration at all could be read (the CLI then exits 2)."""
        return bool(self.project.services or any(c.services for c in self.project.compose))


@contextmanager
def _no_cyclic_gc():
    """Thousands of parsed documents are held at once: the cyclic collector would rescan
    them on every allocation burst (4x slower), and they hold no cycles worth collecting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def make_options(config: Config, stage=None, region=None, params=None) -> Options:
    """Command line beats configuration; config params are the lowest precedence."""
    return Options(stage=stage or config.stage, region=region or config.region,
                   params=dict(params or {}), config_params=dict(config.params))


def load(path: str | Path, config: Config | None = None, *, stage=None, region=None, params=None,
         framework=None, code: bool = True, cache: bool = True, cache_dir: Path | None = None,
         templates=()):
    """Files -> (project, graph, index). Raises NothingToAnalyze when there is nothing to read.

    `templates` are CloudFormation/SAM files given by the user (`--template`); the ones
    synthesized in `.serverless/` beside a service are found without asking.
    """
    p = Path(path)
    if not p.exists():
        raise NothingToAnalyze(f"{path}: no such file or directory")
    for t in templates:
        if not Path(t).is_file():
            raise NothingToAnalyze(f"{t}: no such template file")
    config = config or load_config(start=p)
    found = discover(p, config.exclude, exclude_base=config.base_dir)
    if not (found.configs or found.composes or found.dynamic or found.problems or templates):
        raise NothingToAnalyze(f"{path}: no serverless.yml, serverless.yaml, serverless.json or "
                               "serverless-compose.yml found")
    options = make_options(config, stage, region, params)
    with _no_cyclic_gc():
        project = load_project(found, options, framework or config.framework)
        attach_templates(project, found.root, templates)
        if cache and cache_dir is None:
            cache_dir = default_cache_dir()
        scan_handlers(project, cache_dir if cache else None, enabled=code)
        graph, index = build_graph(project)
    return project, graph, index


def audit(path: str | Path = ".", config: Config | None = None, *, stage=None, region=None,
          params=None, framework=None, rules: list | None = None, code: bool = True,
          cache: bool = True, cache_dir: Path | None = None, templates=(), cfn_lint: bool = False) -> Report:
    from rules.registry import load_rules

    p = Path(path)
    if config is None:
        config = load_config(start=p) if p.exists() else Config()
    project, graph, index = load(p, config, stage=stage, region=region, params=params, framework=framework,
                                 code=code, cache=cache, cache_dir=cache_dir, templates=templates)
    plugin_errors: list[str] = []
    all_rules = rules if rules is not None else load_rules(plugin_errors)
    ctx = Context(project=project, index=index, config=config, graph=graph,
                  diagnostics=[d for d in project.diagnostics if d.rule != "SLS000"],
                  internal_errors=[d for d in project.diagnostics if d.rule == "SLS000"])
    for msg in plugin_errors:
        from .loaders.variables import Diagnostic
        ctx.internal_errors.append(Diagnostic("SLS000", msg, "", 1, 1, 1, 1, names=(msg,)))
    selected = active_rules(all_rules, config)
    with _no_cyclic_gc():
        findings = run(graph, ctx, [r for r in selected if r.id != "SLS000"])
        findings += run_internal_errors(graph, ctx, {r.id: r for r in all_rules}, config)
    extensions = []
    if cfn_lint and project.templates:
        from .cfn_lint import lint

        linted, extension = lint(project, config)
        findings += linted
        extensions.append(extension)
    apply_config_suppressions(findings, config, relative_prefix(Path(project.root), config.base_dir))
    findings = sort_findings(findings)
    return Report(root=project.root, findings=findings, graph=graph, project=project,
                  rules=all_rules, coverage=coverage(project), config=config, extensions=extensions)


def coverage(project) -> dict:
    """What was and was not analyzed, so a clean result is never mistaken for a complete one."""
    functions = [f for s in project.services for f in s.functions]
    roles = [r for s in project.services for r in s.roles]
    symbols = Counter(s.kind for s in project.symbols if s.kind != "Unresolved")
    unreadable = sorted({d.file for d in project.diagnostics if d.rule == "SLS001" and d.file
                         and d.message.startswith(("cannot parse", "cannot read", "binary", "not valid",
                                                   "file is too", "symbolic link", "the file is empty",
                                                   "the top level"))})
    return {
        "files": project.files_seen,
        "unreadable_files": len(unreadable),
        "skipped_not_static": sum(1 for d in project.diagnostics if d.rule == "SLS004"),
        "services": len(project.services),
        "functions": len(functions),
        "providers": dict(sorted(Counter(s.provider for s in project.services).items())),
        "handlers_found": sum(1 for f in functions if f.handler_file),
        "handlers_scanned": sum(1 for f in functions if f.code.get("status") in ("scanned", "dynamic")),
        "handlers_dynamic": sum(1 for f in functions if f.code.get("status") == "dynamic"),
        "code_scanning": "off" if functions and all(f.code.get("status") == "off" for f in functions) else "on",
        "roles": len(roles),
        "opaque_roles": sum(1 for r in roles if r.opaque),
        "symbolic_values": dict(sorted(symbols.items())),
        "unresolved_values": sum(1 for d in project.diagnostics if d.rule == "SLS002"),
        "templates": len(project.templates),
        "placeholders": 0,
    }


__all__ = ["audit", "load", "Report", "NothingToAnalyze", "ConfigError"]
