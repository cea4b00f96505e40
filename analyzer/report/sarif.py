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
    baselined = getattr(report, "baseline", None) is not None
    extensions = list(getattr(report, "extensions", None) or [])
    ext_index = {rule["id"]: (e, i) for e, ext in enumerate(extensions) for i, rule in enumerate(ext["rules"])}
    results = [_result(f, index, ext_index, baselined) for f in report.findings]
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
    props: dict = {"tags": list(r.tags)}
    score = r.security_severity() if hasattr(r, "security_severity") else None
    if score is not None:   # code scanning ranks security alerts by it (a string, by its convention)
        props = {"tags": ["security", *(t for t in r.tags if t != "security")], "security-severity": f"{score:.1f}"}
    return {
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": " ".join(r.what.split())},
        "help": {"text": r.documentation(), "markdown": r.documentation()},
        "helpUri": r.help_uri(),
        "defaultConfiguration": {"level": r.severity},
        "properties": props,
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


def _suppression(s: dict) -> dict:
    out = {"kind": s["kind"]}
    if s.get("justification"):
        out["justification"] = s["justification"]
    loc = s.get("location")
    if loc is not None:   # where the suppression comment is written
        out["location"] = _location(loc.file, loc.line, loc.column, loc.end_line, loc.end_column)
    return out


def _result(f, index, ext_index=None, baselined: bool = False) -> dict:
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
        out["suppressions"] = [_suppression(s) for s in f.suppressions]
    if baselined:
        out["baselineState"] = "unchanged" if any(s.get("source") == "baseline" for s in f.suppressions) else "new"
    if f.fix:
        out["properties"] = {"fix": f.fix}
    return out
