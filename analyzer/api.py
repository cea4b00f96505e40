"""The library entry point: load a project, build its graph, run the rules.

The CLI is a thin layer over `audit()`; other tools can call it directly:

    from analyzer.api import audit
    report = audit("path/to/repo")
    for f in report.findings: print(f.rule, f.file, f.line, f.message)
"""
from __future__ import annotations

import gc
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import baseline as baseline_mod
from . import suppressions
from .config import Config, ConfigError, load_config
from .discovery import discover, relative_prefix
from .engine import (
    Context, active_rules, apply_config_suppressions, run, run_internal_errors, sort_findings,
)
from .graph import build_graph
from .loaders import comments
from .loaders.handlers import CODE_EXTS, default_cache_dir, prefetch, scan_handlers
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
    baseline: str | None = None    # the baseline file read, when there was one
    extensions: list = field(default_factory=list)   # other tools whose findings are merged (cfn-lint)
    context: Context | None = field(default=None, repr=False)  # what the rules shared (minimal policies)

    _sources: dict = field(default_factory=dict, repr=False)

    def source_lines(self, file: str) -> list[str] | None:
        """The lines of a repository file a finding points at, for code frames in reports.

        Read lazily (only files that have findings), once, capped at SOURCE_CAP bytes; None for
        a file outside the root, unreadable, too large or binary. Reporters show; they never read."""
        if file not in self._sources:
            self._sources[file] = _read_source(Path(self.root), file)
        return self._sources[file]

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
         progress=None, templates=(), synth: bool = False):
    """Files -> (project, graph, index). Raises NothingToAnalyze when there is nothing to read.

    `progress(done, total)` is called as each config file is loaded (the CLI draws a bar).
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
    if cache and cache_dir is None:
        cache_dir = default_cache_dir()
    result = ahead = None
    try:
        with _no_cyclic_gc():  # the handler cache is read here too
            ahead = prefetch(found.root, cache_dir if cache else None) if code and found.configs else None
            project = load_project(found, options, framework or config.framework, progress,
                                   handlers_named=ahead.submit if ahead is not None else None)
        result = synthesize_templates(project, params) if synth else None
        with _no_cyclic_gc():
            attach_templates(project, found.root, templates, found.serverless_dirs)
            scan_handlers(project, cache_dir if cache else None, enabled=code, prefetched=ahead)
            graph, index = build_graph(project)
    finally:
        if ahead is not None:
            ahead.close()
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
          cache: bool = True, cache_dir: Path | None = None, progress=None, baseline=None,
          templates=(), cfn_lint: bool = False, synth: bool = False) -> Report:
    """Findings (and cfn-lint's, with `cfn_lint`) -> config `suppress:` -> inline comments (then
    SLS006) -> `baseline`, a `baseline.Baseline` from `baseline.read` (then SLS007) -> sorted.
    Suppressed findings stay."""
    from rules.registry import load_rules

    p = Path(path)
    if config is None:
        config = load_config(start=p) if p.exists() else Config()
    project, graph, index = load(p, config, stage=stage, region=region, params=params, framework=framework,
                                 code=code, cache=cache, cache_dir=cache_dir, progress=progress,
                                 templates=templates, synth=synth)
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
        findings = run(graph, ctx, [r for r in selected if r.id != "SLS000" and not getattr(r, "after", "")])
        findings += run_internal_errors(graph, ctx, {r.id: r for r in all_rules}, config)
    extensions = []
    if cfn_lint and project.templates:
        from .cfn_lint import lint

        linted, extension = lint(project, config)
        findings += linted
        extensions.append(extension)
    findings = sort_findings(_suppress(findings, graph, ctx, selected, all_rules, baseline))
    return Report(root=project.root, findings=findings, graph=graph, project=project,
                  rules=all_rules, coverage=coverage(project), config=config,
                  baseline=baseline.path if baseline is not None else None, extensions=extensions,
                  context=ctx)


def _suppress(findings: list, graph, ctx: Context, selected: list, all_rules: list, baseline) -> list:
    """config `suppress:` -> comments, then SLS006 on them -> baseline, then SLS007 on it."""
    project, config = ctx.project, ctx.config
    prefix = relative_prefix(Path(project.root), config.base_dir)
    later = {step: [r for r in selected if getattr(r, "after", "") == step] for step in ("suppressions", "baseline")}
    ran = {r.id for r in selected}
    apply_config_suppressions(findings, config, prefix)
    # handler code is read for comments only where findings are (see comments.scan_code)
    code_files = sorted({f.file for f in findings if f.file.endswith(CODE_EXTS)})
    project.suppressions = project.suppressions + comments.scan_code(project.root, code_files)
    ctx.suppression_problems = suppressions.apply(findings, project.suppressions, ran, {r.id for r in all_rules})
    unused = run(graph, ctx, later["suppressions"])
    # an SLS006 note can itself be suppressed (ignore-file[SLS006]), without counting as a use
    apply_config_suppressions(unused, config, prefix)
    suppressions.apply(unused, project.suppressions, ran, set(), report=False)
    findings = findings + unused
    if baseline is not None:
        ctx.stale_baseline = [(baseline_mod.location(baseline, e, project.root), e)
                              for e in baseline_mod.apply(findings, baseline, ran)]
        stale = run(graph, ctx, later["baseline"])
        apply_config_suppressions(stale, config, prefix)
        findings += stale
    return findings


SOURCE_CAP = 2 * 1024 * 1024
_LINE_BREAK = re.compile(r"\r\n|\r|\n")   # as the YAML and code loaders count lines


def _read_source(root: Path, file: str) -> list[str] | None:
    if not file or Path(file).is_absolute():
        return None
    try:
        base = root.resolve()
        path = (base / file).resolve()
        if not path.is_relative_to(base) or not path.is_file() or path.stat().st_size > SOURCE_CAP:
            return None
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    if b"\0" in data:
        return None
    lines = _LINE_BREAK.split(data.decode("utf-8", "replace"))
    if lines and lines[-1] == "":
        lines.pop()
    return lines


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
