"""Run rules on the graph; turn their hits into located, fingerprinted, sorted findings.

Rules name nodes, key paths or locations; only this module turns those into
file:line:column. A rule that raises becomes an SLS000 finding, never a crash.
"""
from __future__ import annotations

import fnmatch
import traceback
from dataclasses import dataclass, field

from .findings import SEVERITIES, Finding, Related, fingerprint
from .loaders.variables import Diagnostic
from .loaders.yamlmarks import MDict, MList


@dataclass
class Context:
    """What rules may read besides the graph: never raw files."""

    project: object
    index: object
    config: object
    diagnostics: list = field(default_factory=list)
    internal_errors: list = field(default_factory=list)
    graph: object = None
    suppression_problems: list = field(default_factory=list)  # suppressions.Problem, for SLS006
    stale_baseline: list = field(default_factory=list)        # (Loc, baseline.Entry), for SLS007
    _minimal: object = None

    @property
    def minimal(self):
        """Every function's minimal policy, computed once per run and shared by the rules."""
        if self._minimal is None:
            from .iam.minimal import MinimalPolicies

            self._minimal = MinimalPolicies(self.graph, self.index)
        return self._minimal


def is_selected(rule_id: str, select: list, ignore: list) -> bool:
    """Longest matching prefix wins; on a tie, ignore wins; nothing selected means all."""
    if not select:
        select = [""]
    best_sel = max((len(p) for p in select if rule_id.startswith(p) or p == "ALL"), default=-1)
    best_ign = max((len(p) for p in ignore if rule_id.startswith(p) or p == "ALL"), default=-1)
    return best_sel > best_ign


def active_rules(rules: list, config) -> list:
    out = []
    for r in rules:
        settings = config.rules.get(r.id, {})
        if settings.get("enabled") is False:
            continue
        if settings.get("enabled") is not True and not is_selected(r.id, config.select, config.ignore):
            continue
        out.append(r)
    return out


def run(graph, context: Context, rules: list) -> list[Finding]:
    findings: list[Finding] = []
    for rule_cls in rules:
        settings = context.config.rules.get(rule_cls.id, {})
        severity = settings.get("severity", rule_cls.severity)
        try:
            rule = rule_cls()
            hits = list(rule.check(graph, context))
        except Exception as e:  # noqa: BLE001 - the run must go on
            tb = traceback.extract_tb(e.__traceback__)
            where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
            context.internal_errors.append(Diagnostic(
                "SLS000", f"rule {rule_cls.id} ({rule_cls.name}) failed: {type(e).__name__}: {e}{where}",
                "", 1, 1, 1, 1,
                names=(rule_cls.id, type(e).__name__)))
            continue
        overridden = "severity" in settings
        for hit in hits:
            sev = hit.severity if hit.severity and not overridden else severity
            findings.append(_finding(rule_cls, sev, hit, graph, context))
    return findings


def run_internal_errors(graph, context: Context, rules_by_id: dict, config) -> list[Finding]:
    """SLS000 findings for rules that failed during `run` (reported after the others ran)."""
    cls = rules_by_id.get("SLS000")
    if cls is None or not context.internal_errors:
        return []
    if not any(r.id == "SLS000" for r in active_rules([cls], config)):
        return []
    severity = config.rules.get("SLS000", {}).get("severity", cls.severity)
    return [_finding(cls, severity, h, graph, context) for h in cls().check(graph, context)]


def _finding(rule_cls, severity: str, hit, graph, context: Context) -> Finding:
    file, span, key_path = _locate(hit, graph, context)
    related = []
    for target, message in hit.related:
        rf, rs, _ = _locate_target(target, graph, context)
        if rf:
            related.append(Related(rf, *rs, message))
    names = hit.names or ((hit.node,) if hit.node else (hit.message,))
    message = hit.message
    if getattr(context.project, "templates", None):  # only templates give locations these marks
        message = _deployed(hit, graph, message, related)
    return Finding(
        rule=rule_cls.id, name=rule_cls.name, severity=severity, message=message,
        file=file, line=span[0], column=span[1], end_line=span[2], end_column=span[3],
        key_path=key_path or "", nodes=tuple(hit.nodes or ((hit.node,) if hit.node else ())),
        related=related, fix=hit.fix, fingerprint=fingerprint(rule_cls.id, file, tuple(names)),
    )


def _deployed(hit, graph, message: str, related: list) -> str:
    """A synthesized template: where it deploys (a related location), and why, in the message,
    when it disagrees with serverless.yml."""
    where = _loc_object(hit.loc if hit.loc is not None else hit.node, graph)
    deployed = getattr(where, "deployed", None)
    if deployed is not None:
        related.append(Related(deployed.file, *_span(deployed.line, deployed.column, deployed.end_line,
                                                     deployed.end_column),
                               "deployed in the synthesized template"
                               + (f" as {deployed.key_path}" if deployed.key_path else "")))
    note = getattr(where, "note", "") or next(
        (n.note for n in (_loc_object(x, graph) for x in hit.nodes) if getattr(n, "note", "")), "")
    if note and note not in message:
        message = f"{message} ({note})"
    return message


def _loc_object(target, graph):
    if isinstance(target, str):
        # the node's attributes read straight from networkx's node dict, like queries.out_edges
        # reads the adjacency: `target in graph` and `graph.nodes[...]` are two Python calls more
        attrs = graph._node.get(target)
        return attrs.get("loc") if attrs is not None else None
    return target


def _locate(hit, graph, context):
    if hit.loc is not None:
        f, s, kp = _locate_target(hit.loc, graph, context)
        return f, s, hit.key_path or kp
    if hit.node is not None:
        return _locate_target(hit.node, graph, context)
    return "", (1, 1, 1, 1), hit.key_path


def _locate_target(target, graph, context):
    loc = _loc_object(target, graph)
    if loc is None:
        return "", (1, 1, 1, 1), ""
    return (loc.file, _span(loc.line, loc.column, loc.end_line, loc.end_column),
            getattr(loc, "key_path", "") or "")


def _span(line, col, end_line, end_col):
    """Lines and columns from 1, the end not before the start."""
    if (type(line) is int and type(end_line) is int and type(col) is int and type(end_col) is int
            and 1 <= line <= end_line and 1 <= col
            and (end_col >= col if end_line == line else end_col >= 1)):
        return (line, col, end_line, end_col)  # already so: nearly every location
    line, col = max(line or 1, 1), max(col or 1, 1)
    end_line = max(end_line or line, line)
    end_col = max(end_col or col, 1) if end_line > line else max(end_col or col, col)
    return (line, col, end_line, end_col)


def locate_key_path(doc, key_path: str):
    """The span of the value at `functions.x.events[0]` in a loaded document, or None."""
    cur = doc
    span = getattr(doc, "span", None)
    for part in _split_path(key_path):
        if isinstance(cur, MDict) and part in cur:
            k, v = cur.kspans.get(part), cur.vspans.get(part)
            span = (k[0], k[1], v[2], v[3]) if k and v else span
            cur = cur[part]
        elif isinstance(cur, MList) and isinstance(part, int) and part < len(cur):
            span = cur.ispans[part]
            cur = cur[part]
        else:
            return span
    return span


def _split_path(key_path: str) -> list:
    out: list = []
    for seg in key_path.split("."):
        while "[" in seg:
            head, _, rest = seg.partition("[")
            if head:
                out.append(head)
            idx, _, seg = rest.partition("]")
            out.append(int(idx) if idx.isdigit() else idx)
        if seg:
            out.append(seg)
    return out


def apply_config_suppressions(findings: list[Finding], config, prefix: str = "") -> None:
    """`suppress:` entries in configuration: rule id or prefix, optional path glob, a reason.

    `prefix` places the analyzed root relative to the config file's folder, where globs start.
    """
    for f in findings:
        for entry in config.suppress:
            if not f.rule.startswith(entry["rule"]):
                continue
            pattern = entry.get("path")
            path = f"{prefix}/{f.file}" if prefix else f.file
            if pattern and not fnmatch.fnmatch(path, pattern):
                continue
            f.suppressions.append({"kind": "external", "justification": entry["reason"], "source": "config"})
            break


def sort_findings(findings: list[Finding]) -> list[Finding]:
    unique: dict = {}
    for f in findings:
        unique.setdefault((f.rule, f.file, f.line, f.column, f.message), f)
    return sorted(unique.values(), key=Finding.sort_key)


def at_or_above(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)
