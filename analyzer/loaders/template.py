"""Synthesized CloudFormation templates: find them, decode them with line marks.

A template is the ground truth of what deploys (DESIGN §1.4): the framework's own
permissions, per-function roles, what plugins changed. This module only reads:
`.serverless/cloudformation-template-update-stack.json` beside a service, or a file
given with `--template` (plain CloudFormation or SAM). Values become the same
`MDict`/`MList` the YAML loader builds, spans 1-based, so everything downstream reads
template values exactly as it reads serverless.yml values. cfn-lint's decoder is
imported only when a template exists (importing it costs a second or more).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Loc
from .variables import Diagnostic
from .yamlmarks import MAX_FILE_BYTES, MDict, MList

BESIDE = (".serverless", "cloudformation-template-update-stack.json")


@dataclass
class TemplateResource:
    logical_id: str
    type: str
    properties: MDict
    loc: Loc                 # the logical id's entry in the template
    body: MDict


@dataclass
class Template:
    """One decoded template: resources by logical id, each with its location."""

    file: str                # repository-relative (or absolute when outside the root)
    service_file: str | None = None   # the serverless.yml it was synthesized from, when beside one
    resources: dict = field(default_factory=dict)
    outputs: MDict | None = None
    doc: MDict | None = None
    sam: bool = False
    given: bool = False      # named with --template
    text: str | None = None  # the file's text, for cfn-lint (a synthesized one is gone by then)

    def of_type(self, *types: str) -> list[TemplateResource]:
        return [r for r in self.resources.values() if r.type in types]


def beside(root: Path, service_file: str) -> str | None:
    """The repository-relative path of the template synthesized next to a serverless.yml, if any
    (one `lstat` per service: plain string paths, a thousand services must not notice)."""
    d = os.path.dirname(service_file)
    rel = f"{d}/{BESIDE[0]}/{BESIDE[1]}" if d else f"{BESIDE[0]}/{BESIDE[1]}"
    try:
        st = os.lstat(os.path.join(str(root), rel))
    except OSError:
        return None
    return rel if stat.S_ISREG(st.st_mode) else None


def load(root: Path, rel: str, diagnostics: list, service_file: str | None = None,
         given: bool = False, source: Path | None = None) -> Template | None:
    """Decode one template; problems become SLS001 diagnostics (file and line), never a crash.

    `rel` is how reports name it; `source`, when given, is where it is read from (a template
    `--synth` produced in a scratch folder is named where `sls package` would write it)."""
    path = source or (Path(rel) if Path(rel).is_absolute() else root / rel)
    try:
        size = path.stat().st_size
    except OSError as e:
        diagnostics.append(Diagnostic("SLS001", f"cannot read template: {e.strerror or e}", rel, 1, 1, 1, 1))
        return None
    if size > MAX_FILE_BYTES:
        diagnostics.append(Diagnostic("SLS001", f"file is too large to read ({size} bytes)", rel, 1, 1, 1, 1))
        return None
    try:
        from cfnlint.decode import decode
    except Exception as e:  # noqa: BLE001 - cfn-lint missing or broken: say so, go on
        diagnostics.append(Diagnostic("SLS001", f"cannot decode template: cfn-lint is not usable ({e})",
                                      rel, 1, 1, 1, 1))
        return None
    try:
        raw, matches = decode(str(path))
    except Exception as e:  # noqa: BLE001
        diagnostics.append(Diagnostic("SLS001", f"cannot parse template: {type(e).__name__}: {e}", rel, 1, 1, 1, 1))
        return None
    if matches or raw is None:
        for m in matches or ():
            line, col = max(int(getattr(m, "linenumber", 1) or 1), 1), max(int(getattr(m, "columnnumber", 1) or 1), 1)
            diagnostics.append(Diagnostic("SLS001", f"cannot parse template: {_first_line(m.message)}",
                                          rel, line, col, line, col))
        if not matches:
            diagnostics.append(Diagnostic("SLS001", "cannot parse template: it is empty", rel, 1, 1, 1, 1))
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    doc = convert(raw, rel)
    if not isinstance(doc, MDict):
        diagnostics.append(Diagnostic("SLS001", "the top level of a template must be a mapping", rel, 1, 1, 1, 1))
        return None
    t = Template(file=rel, service_file=service_file, doc=doc, given=given, text=text)
    transform = doc.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    t.sam = any(isinstance(x, str) and x.startswith("AWS::Serverless") for x in transforms)
    resources = doc.get("Resources")
    if not isinstance(resources, MDict):
        diagnostics.append(Diagnostic("SLS001", "a template needs a 'Resources' mapping", rel, *_loc_span(doc)))
        return None
    for lid, body in resources.items():
        if not isinstance(body, MDict):
            continue
        props = body.get("Properties")
        k = resources.kspans.get(lid, body.span)
        loc = Loc(rel, k[0], k[1], k[2], k[3], f"Resources.{lid}")
        t.resources[str(lid)] = TemplateResource(
            str(lid), str(body.get("Type") or ""), props if isinstance(props, MDict) else MDict(span=body.span),
            loc, body)
    outputs = doc.get("Outputs")
    t.outputs = outputs if isinstance(outputs, MDict) else None
    return t


def _loc_span(doc) -> tuple:
    s = getattr(doc, "span", (1, 1, 1, 1))
    return (s[0] or 1, s[1] or 1, s[2] or 1, s[3] or 1)


def _first_line(text) -> str:
    return str(text).strip().splitlines()[0] if str(text).strip() else "unknown error"


def convert(node, source: str):
    """cfn-lint's nodes (0-based marks) -> MDict/MList with 1-based spans, iteratively."""
    root_box: list = [None]
    stack = [(node, root_box, 0)]
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, dict):
            out = MDict(span=_span(value))
            out.source = source
            for k, v in value.items():
                ks = _span(k)
                out[str(k)] = None
                out.kspans[str(k)] = ks
                out.vspans[str(k)] = _span(v) if hasattr(v, "start_mark") else ks
                stack.append((v, out, str(k)))
        elif isinstance(value, list):
            out = MList([None] * len(value), span=_span(value))
            out.source = source
            for i, v in enumerate(value):
                out.ispans.append(_span(v) if hasattr(v, "start_mark") else out.span)
                stack.append((v, out, i))
        elif isinstance(value, str):
            out = str(value)
        else:
            out = value
        parent[key] = out
    return root_box[0]


def _span(node) -> tuple:
    s, e = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
    if s is None or e is None:
        return (0, 0, 0, 0)
    return (s.line + 1, s.column + 1, e.line + 1, e.column + 1)


__all__ = ["Template", "TemplateResource", "beside", "load", "convert"]


def attach(project, root: Path, given=(), serverless_dirs: set | None = None) -> None:
    """Templates synthesized beside each AWS service, and the ones named with `--template`.

    A given template that sits in `.serverless/` beside a loaded service merges into it;
    any other is a service of its own (plain CloudFormation or SAM). `serverless_dirs`, from
    discovery's walk, spares a file-system look-up for every service without a `.serverless/`.
    """
    by_dir = {}
    have = {t.service_file for t in project.templates}   # synthesized with --synth: the freshest
    for svc in project.services:
        if svc.provider != "aws":
            continue
        by_dir[os.path.dirname(svc.file) or "."] = svc
        d = os.path.dirname(svc.file)
        looked = serverless_dirs is None or (d or ".") in serverless_dirs or d in serverless_dirs
        rel = beside(root, svc.file) if svc.file not in have and looked else None
        if rel is not None:
            t = load(root, rel, project.diagnostics, service_file=svc.file)
            if t is not None:
                project.templates.append(t)
    seen = {t.file for t in project.templates}
    for raw in given:
        path = Path(raw).resolve()
        try:
            rel = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = str(path)
        if rel in seen:
            continue
        seen.add(rel)
        owner = None
        if path.parent.name == ".serverless" and not Path(rel).is_absolute():
            owner = by_dir.get(Path(rel).parent.parent.as_posix())
        t = load(root, rel, project.diagnostics, service_file=owner.file if owner else None, given=True)
        if t is None:
            continue
        project.files_seen += 1
        project.templates.append(t)
        if owner is None:
            from ..graph.template import service_of

            from .project import _find_handlers, _internal

            try:
                svc = service_of(t, project)
                if not Path(rel).is_absolute():
                    _find_handlers(root, rel, svc)
            except Exception as e:  # noqa: BLE001 - one template must never stop the run
                project.diagnostics.append(_internal(rel, "modelling", e))
                continue
            project.services.append(svc)


def synthesized(project, templates: dict) -> None:
    """Templates `--synth` produced (service dir -> path in a scratch folder), each named where
    `sls package` writes it beside its service."""
    root = Path(project.root)
    for svc in project.services:
        d = Path(svc.file).parent.as_posix() or "."
        path = templates.get(d)
        if path is None:
            continue
        rel = Path(*BESIDE).as_posix() if d == "." else f"{d}/{Path(*BESIDE).as_posix()}"
        t = load(root, rel, project.diagnostics, service_file=svc.file, source=Path(path))
        if t is not None:
            project.templates.append(t)


def sam_functions(t: Template) -> list:
    """SAM `AWS::Serverless::Function`s (Globals applied) as (resource, properties)."""
    glob = t.doc.get("Globals") if isinstance(t.doc, MDict) else None
    gfn = glob.get("Function") if isinstance(glob, MDict) else None
    out = []
    for r in t.of_type("AWS::Serverless::Function"):
        props = MDict(gfn or {}, span=r.properties.span)
        if isinstance(gfn, MDict):
            props.kspans.update(gfn.kspans)
            props.vspans.update(gfn.vspans)
        props.source = t.file
        for k, v in r.properties.items():
            props[k] = v
            props.kspans[k] = r.properties.kspans.get(k, r.properties.span)
            props.vspans[k] = r.properties.vspans.get(k, r.properties.span)
        out.append((r, props))
    return out
