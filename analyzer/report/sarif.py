"""SARIF 2.1.0: one run, every rule's metadata and help, stable partial fingerprints."""
from __future__ import annotations

import json
from urllib.parse import quote

from .. import __version__

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFO_URI = "https://github.com/sls-audit/sls-audit"


def render(report) -> str:
    return json.dumps(build(report), indent=2, ensure_ascii=False) + "\n"


def build(report) -> dict:
    rules = sorted(report.rules, key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    extensions = list(getattr(report, "extensions", None) or [])
    ext_index = {rule["id"]: (e, i) for e, ext in enumerate(extensions) for i, rule in enumerate(ext["rules"])}
    results = [_result(f, index, ext_index) for f in report.findings]
    tool = {"driver": {
        "name": "sls-audit",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": INFO_URI,
        "rules": [_rule(r) for r in rules],
    }}
    if extensions:  # merged tools (cfn-lint): their own component with their rules' metadata
        tool["extensions"] = [{
            "name": ext["name"], "version": ext["version"], "informationUri": ext["informationUri"],
            "rules": [{"id": r["id"], "name": r["name"], "shortDescription": {"text": r["summary"]},
                       "fullDescription": {"text": r["description"] or r["summary"]},
                       "helpUri": r["helpUri"], "defaultConfiguration": {"level": r["level"]}}
                      for r in ext["rules"]],
        } for ext in extensions]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": tool,
            "originalUriBaseIds": {"%SRCROOT%": {"uri": _root_uri(report.root)}},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"coverage": report.coverage},
        }],
    }


def _root_uri(root: str) -> str:
    from pathlib import Path

    uri = Path(root).resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _relative_uri(file: str) -> str:
    """A repository-relative path as a URI reference: spaces, `%`, `#` and non-ASCII escaped."""
    if not file:
        return "."
    return quote(file.replace("\\", "/"), safe="/-._~!$&'()*+,;=@", errors="surrogateescape")


def _rule(r) -> dict:
    return {
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": " ".join(r.what.split())},
        "help": {"text": r.documentation(), "markdown": r.documentation()},
        "helpUri": r.help_uri(),
        "defaultConfiguration": {"level": r.severity},
        "properties": {"tags": list(r.tags)},
    }


def _artifact(file: str) -> dict:
    from pathlib import PurePosixPath

    if file and PurePosixPath(file.replace("\\", "/")).is_absolute():   # outside the root: no base id
        from pathlib import Path

        return {"uri": Path(file).as_uri()}
    return {"uri": _relative_uri(file), "uriBaseId": "%SRCROOT%"}


def _location(file: str, line: int, col: int, end_line: int, end_col: int) -> dict:
    return {"physicalLocation": {
        "artifactLocation": _artifact(file),
        "region": {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col},
    }}


def _result(f, index, ext_index=None) -> dict:
    loc = _location(f.file, f.line, f.column, f.end_line, f.end_column)
    if f.key_path:
        loc["logicalLocations"] = [{"fullyQualifiedName": f.key_path, "kind": "member"}]
    out = {
        "ruleId": f.rule,
        "ruleIndex": index.get(f.rule, -1) if f.rule in index else None,
        "level": f.severity,
        "message": {"text": f.message},
        "locations": [loc] if f.file else [],
        "partialFingerprints": {"slsAudit/v1": f.fingerprint},
    }
    if out["ruleIndex"] is None:
        del out["ruleIndex"]
    if ext_index and f.rule in ext_index:
        component, i = ext_index[f.rule]
        out["rule"] = {"id": f.rule, "index": i, "toolComponent": {"index": component}}
    if f.related:
        out["relatedLocations"] = [
            {**_location(r.file, r.line, r.column, r.end_line, r.end_column), "id": i,
             "message": {"text": r.message}}
            for i, r in enumerate(f.related)
        ]
    if f.suppressions:
        out["suppressions"] = [{"kind": s["kind"], "justification": s["justification"]} for s in f.suppressions]
    if f.fix:
        out["properties"] = {"fix": f.fix}
    return out
