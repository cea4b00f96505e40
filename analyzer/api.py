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


class SynthFailed(NothingToAnalyze):
    """`--synth` produced no template at all: node, npm or osls missing, or every service failed."""


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
         templates=(), synth: bool = False):
    """Files -> (project, graph, index). Raises NothingToAnalyze when there is nothing to read.

    `templates` are CloudFormation/SAM files given by the user (`--template`); the ones
    synthesized in `.serverless/` beside a service are found without asking. `synth`: also run
    the real framework offline (analyzer.synth) for every AWS service; raises SynthFailed when
    no template at all could be produced (its templates win over `.serverless/` ones).
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
    result = synthesize_templates(project, params) if synth else None
    try:
        with _no_cyclic_gc():
            attach_templates(project, found.root, templates, found.serverless_dirs)
            if cache and cache_dir is None:
                cache_dir = default_cache_dir()
            scan_handlers(project, cache_dir if cache else None, enabled=code)
            graph, index = build_graph(project)
    finally:
        if result is not None:
            result.cleanup()
    return project, graph, index


def synthesize_templates(project, params=None):
    """`--synth`: package every AWS service with osls (offline, on a scratch copy) and hand the
    templates to the project. The templates live in a scratch folder until the graph is built.

    The template loader (analyzer.loaders.template) reads them in `use_templates`."""
    from .synth import synthesize

    result = synthesize(project, params=params)
    project.synth = result
    if not result.templates:
        result.cleanup()
        raise SynthFailed("--synth: no template could be synthesized:\n"
                          + "\n".join("  " + p.replace("\n", "\n  ") for p in result.problems))
    use_templates(project, result)
    return result


def use_templates(project, result) -> None:
    """Synthesized templates (`result.templates`: service dir -> template path) join the project
    as the template loader reads them; the scratch files are removed once the graph is built."""
    from .loaders.template import synthesized

    synthesized(project, result.templates)


def audit(path: str | Path = ".", config: Config | None = None, *, stage=None, region=None,
          params=None, framework=None, rules: list | None = None, code: bool = True,
          cache: bool = True, cache_dir: Path | None = None, templates=(), cfn_lint: bool = False,
          synth: bool = False) -> Report:
    from rules.registry import load_rules

    p = Path(path)
    if config is None:
        config = load_config(start=p) if p.exists() else Config()
    project, graph, index = load(p, config, stage=stage, region=region, params=params, framework=framework,
                                 code=code, cache=cache, cache_dir=cache_dir, templates=templates, synth=synth)
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
        **_placeholders(project),
        "templates": len(project.templates),
    }


def _placeholders(project) -> dict:
    """With --synth: the values the offline stub answered instead of the cloud, and where the
    `${...}` they stand for is written."""
    result = project.synth
    if result is None:
        return {"placeholders": 0}
    return {"placeholders": len(result.placeholders), "templates": len(result.templates),
            "placeholder_values": [p.as_dict() for p in result.placeholders]}


__all__ = ["audit", "load", "Report", "NothingToAnalyze", "SynthFailed", "ConfigError"]
