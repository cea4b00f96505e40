"""Command line: argument parsing and exit codes only; the work is in api.py.

Exit codes: 0 no finding at or above --fail-on; 1 such findings; 2 usage or
configuration error, or nothing at all could be analyzed.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from . import __version__

COMMANDS = ("check", "graph", "policy", "rules", "explain")


def _split(values) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    return key, value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default=".", help="repository folder or one config file (default: .)")
    p.add_argument("--config", metavar="FILE", help="configuration file (default: .sls-audit.yml searched upward)")
    p.add_argument("--stage", help="stage to resolve (default: provider.stage, else dev)")
    p.add_argument("--region", help="region to resolve (default: provider.region, else us-east-1)")
    p.add_argument("--framework", choices=("v3", "v4", "osls"), help="framework semantics")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="KEY=VALUE",
                   help="a ${param:KEY} value (repeatable; beats Compose and service params)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--no-code", action="store_true", help="do not read handler source code")
    p.add_argument("--no-cache", action="store_true",
                   help="do not read or write the handler-code cache (in the user's cache folder)")
    p.add_argument("--template", action="append", default=[], metavar="FILE",
                   help="a CloudFormation or SAM template to analyze too (repeatable); one in a service's "
                        ".serverless/ folder refines that service, any other is a service of its own")
    p.add_argument("--synth", action="store_true",
                   help="also run the framework (osls package, needs Node.js) offline on a scratch copy "
                        "to produce each service's CloudFormation template")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sls-audit",
        description="Static policy and security analyzer for Serverless Framework projects.",
    )
    parser.add_argument("--version", action="version", version=f"sls-audit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="analyze a repository and report findings (the default)")
    _common(check)
    check.add_argument("--format", "-f", choices=("text", "json", "sarif", "github"), default="text",
                       help="github: workflow-command annotations for GitHub Actions")
    check.add_argument("--select", action="append", metavar="IDS", help="rule ids or prefixes to run (comma-separated)")
    check.add_argument("--ignore", action="append", metavar="IDS", help="rule ids or prefixes to skip (comma-separated)")
    check.add_argument("--fail-on", choices=("note", "warning", "error"), help="lowest severity that fails (default: error)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings fail")
    check.add_argument("--baseline", metavar="FILE",
                       help="accept the findings this baseline holds: only new findings fail")
    check.add_argument("--write-baseline", metavar="FILE",
                       help="write every current unsuppressed finding to FILE as the baseline, and exit 0")
    check.add_argument("--cfn-lint", action="store_true",
                       help="also run cfn-lint's rules on the templates (findings cfn-lint:<id>)")

    graph = sub.add_parser("graph", help="write the service graph")
    _common(graph)
    graph.add_argument("--format", "-f", choices=("json", "dot", "mermaid", "order"), default="mermaid",
                       help="order: the services' deploy order (exit 1 when a cycle prevents one)")
    graph.add_argument("--service", metavar="NAME", help="only this service and its neighbours")
    graph.add_argument("--depth", type=int, default=1, metavar="N", help="with --service: hops to neighbours (default 1)")

    policy = sub.add_parser("policy", help="write each function's minimal IAM policy")
    _common(policy)
    policy.add_argument("--format", "-f", choices=("yaml", "json"), default="yaml")
    policy.add_argument("--diff", action="store_true", help="show what to remove and add against the current policy")
    policy.add_argument("--function", metavar="NAME", help="only this function (`name`, `service:name` or `service.name`)")

    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--format", "-f", choices=("text", "json"), default="text")

    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="a rule id, e.g. SLS101")
    return parser


# Set by entry(): the process then ends with os._exit, so what a command built is kept here
# rather than freed object by object when the function holding it returns (0.2 s for the
# report of a 1,000-service monorepo). In-process callers of main() keep nothing.
_KEEP: list | None = None


def _keep(*objects) -> None:
    if _KEEP is not None:
        _KEEP.extend(objects)


def main(argv: list[str] | None = None) -> int:
    # Millions of acyclic objects are held until the end: the cyclic collector would rescan
    # them again and again (it doubled the time of `graph` on a large monorepo).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if enabled:
            gc.enable()


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "check")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "rules":
            return _rules(args)
        if args.command == "explain":
            return _explain(args)
        return _analyze(args)
    except KeyboardInterrupt:
        print("sls-audit: interrupted", file=sys.stderr)
        return 130


def _load_config(args):
    from .config import load_config

    if args.config:
        return load_config(Path(args.config))
    return load_config(start=Path(args.path))


def _analyze(args) -> int:
    from .api import NothingToAnalyze, audit, load
    from .baseline import BaselineError
    from .baseline import read as read_baseline
    from .config import ConfigError

    try:
        config = _load_config(args)
    except ConfigError as e:
        print(f"sls-audit: configuration error: {e}", file=sys.stderr)
        return 2
    params = dict(args.param)
    try:
        if args.command == "graph":
            from .report import graph_formats

            project, graph, _ = load(args.path, config, stage=args.stage, region=args.region,
                                     params=params, framework=args.framework, code=not args.no_code,
                                     cache=not args.no_cache, templates=args.template,
                                     synth=args.synth)
            _keep(project, graph)
            _synth_notes(project)
            if not (project.services or any(c.services for c in project.compose)):
                for d in project.diagnostics:
                    if d.rule == "SLS001":
                        print(f"{d.file}:{max(d.line, 1)}:{max(d.column, 1)}: {d.message}", file=sys.stderr)
                print("sls-audit: nothing could be analyzed (no readable configuration)", file=sys.stderr)
                return 2
            if args.service:
                try:
                    graph = graph_formats.around(graph, args.service, max(args.depth, 0))
                except KeyError:
                    print(f"sls-audit: no service '{args.service}'", file=sys.stderr)
                    return 2
            if args.format == "order":
                text, ordered = graph_formats.to_order(graph)
                return _emit(text, args.output) or (0 if ordered else 1)
            text = {"json": graph_formats.to_json, "dot": graph_formats.to_dot,
                    "mermaid": graph_formats.to_mermaid}[args.format](graph)
            return _emit(text, args.output)
        if args.command == "policy":
            return _policy(args, config, params)
        if args.select:
            config.select = _split(args.select)
        config.ignore = config.ignore + _split(args.ignore)
        if args.fail_on:
            config.fail_on = args.fail_on
        from .report.progress import LoadProgress

        baseline = read_baseline(args.baseline) if args.baseline else None
        with LoadProgress.for_stream(sys.stderr) or nullcontext() as progress:
            report = audit(args.path, config, stage=args.stage, region=args.region, params=params,
                           framework=args.framework, code=not args.no_code, cache=not args.no_cache,
                           progress=progress, baseline=baseline,
                           templates=args.template, cfn_lint=args.cfn_lint, synth=args.synth)
        _keep(report)
        _synth_notes(report.project)
    except BaselineError as e:
        print(f"sls-audit: {e}", file=sys.stderr)
        return 2
    except NothingToAnalyze as e:
        print(f"sls-audit: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"sls-audit: configuration error: {e}", file=sys.stderr)
        return 2

    if args.write_baseline:
        return _write_baseline(report, args.write_baseline)
    if args.format == "json":
        from .report import json_report

        text = json_report.render(report)
    elif args.format == "sarif":
        from .report import sarif

        text = sarif.render(report)
    elif args.format == "github":
        from .report import github

        text = github.render(report, base=_from_repository_root(report.root))
    else:
        from .report import text as text_report

        color = text_report.want_color(sys.stdout) if not args.output else False
        text = text_report.render(report, color=color)
    rc = _emit(text, args.output, machine=args.format != "text")
    if rc:
        return rc
    if not report.analyzed:
        print("sls-audit: nothing could be analyzed (no readable configuration)", file=sys.stderr)
        return 2
    if args.exit_zero:
        return 0
    from .engine import at_or_above

    failing = [f for f in report.findings if not f.suppressions and at_or_above(f.severity, config.fail_on)]
    return 1 if failing else 0


def _write_baseline(report, path: str) -> int:
    from .baseline import render

    if not report.analyzed:
        print("sls-audit: nothing could be analyzed (no readable configuration)", file=sys.stderr)
        return 2
    text = render(report.findings)
    rc = _emit(text, path)
    if not rc:
        n = text.count('"fingerprint":')
        print(f"sls-audit: wrote {n} finding{'s' * (n != 1)} to baseline {path}", file=sys.stderr)
    return rc


def _from_repository_root(root: str) -> str:
    """The analyzed folder as seen from the repository root — $GITHUB_WORKSPACE in GitHub
    Actions (a step may run in a sub-folder), else the current directory — so annotations
    name files as GitHub does; '' when it is that folder, or outside it."""
    for anchor in (os.environ.get("GITHUB_WORKSPACE"), os.getcwd()):
        if not anchor:
            continue
        try:
            rel = os.path.relpath(Path(root).resolve(), Path(anchor).resolve())
        except (OSError, ValueError):
            continue
        if rel != ".." and not rel.startswith(".." + os.sep):
            return "" if rel == "." else rel.replace(os.sep, "/")
    return ""


def _policy(args, config, params) -> int:
    from .api import load
    from .iam.minimal import MinimalPolicies
    from .report import policy as policy_report

    project, graph, index = load(args.path, config, stage=args.stage, region=args.region, params=params,
                                 framework=args.framework, code=not args.no_code, cache=not args.no_cache,
                                 templates=args.template, synth=args.synth)
    _synth_notes(project)
    if not project.services:
        print("sls-audit: nothing could be analyzed (no readable configuration)", file=sys.stderr)
        return 2
    policies = MinimalPolicies(graph, index)
    _keep(project, graph, index, policies)
    if args.function and not any(True for _ in policy_report._functions(graph, args.function)):
        print(f"sls-audit: no function '{args.function}'", file=sys.stderr)
        return 2
    if args.diff:
        text = policy_report.render_diff(graph, policies, args.function)
    elif args.format == "json":
        text = policy_report.render_json(graph, policies, args.function)
    else:
        text = policy_report.render_yaml(graph, index, policies, args.function)
    return _emit(text, args.output)


def _synth_notes(project) -> None:
    """Services --synth could not package (the others were): said on stderr, never fatal."""
    if project.synth is not None:
        for problem in project.synth.problems:
            print(f"sls-audit: --synth: {problem}", file=sys.stderr)


def _emit(text: str, output: str | None, machine: bool = True) -> int:
    if output:
        try:
            # backslashreplace only touches lone surrogates (a file name that is not UTF-8):
            # inside a JSON string the result is the JSON escape for the same character
            Path(output).write_bytes(text.encode("utf-8", "backslashreplace"))
        except OSError as e:
            print(f"sls-audit: cannot write {output}: {e.strerror or e}", file=sys.stderr)
            return 2
    else:
        try:
            sys.stdout.write(text)
        except UnicodeEncodeError:
            # stdout cannot encode the report (e.g. PYTHONIOENCODING=ascii, a cp1252 console):
            # machine formats are UTF-8 by definition, text degrades to escapes; never a traceback.
            buffer = getattr(sys.stdout, "buffer", None)
            if machine and buffer is not None:
                sys.stdout.flush()
                buffer.write(text.encode("utf-8", "backslashreplace"))
            else:
                enc = getattr(sys.stdout, "encoding", None) or "ascii"
                sys.stdout.write(text.encode(enc, "backslashreplace").decode(enc))
        sys.stdout.flush()
    return 0


def _rules(args) -> int:
    import json

    from rules.registry import load_rules

    rules = load_rules()
    if args.format == "json":
        return _emit(json.dumps([{"id": r.id, "name": r.name, "severity": r.severity, "summary": r.summary,
                                  "tags": list(r.tags)} for r in rules], indent=2, ensure_ascii=False) + "\n",
                     None)
    width = max(len(r.name) for r in rules)
    return _emit("".join(f"{r.id}  {r.name.ljust(width)}  {r.severity:<8} {r.summary}\n" for r in rules),
                 None, machine=False)


def _explain(args) -> int:
    from rules.registry import load_rules

    wanted = args.rule.upper()
    for r in load_rules():
        if r.id == wanted or r.name == args.rule:
            return _emit(r.documentation(), None, machine=False)
    print(f"sls-audit: no rule '{args.rule}' (see `sls-audit rules`)", file=sys.stderr)
    return 2


def entry() -> None:
    """The console script: exit without tearing down millions of objects one by one
    (freeing a large monorepo's model took longer than checking it)."""
    global _KEEP
    _KEEP = []
    rc = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(rc)


if __name__ == "__main__":  # pragma: no cover
    entry()
