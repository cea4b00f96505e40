"""`--cfn-lint`: cfn-lint's own rules on every template, merged into the same report.

Its matches become findings `cfn-lint:<rule id>` located in the template (E -> error,
W -> warning, I -> note), selected and suppressed like any rule id. cfn-lint is imported
only here, and only when asked: importing it and loading its rules takes seconds.
"""
from __future__ import annotations

import re
from .engine import is_selected
from .findings import Finding, fingerprint

PREFIX = "cfn-lint:"
INFO_URI = "https://github.com/aws-cloudformation/cfn-lint"
_LEVELS = {"E": "error", "W": "warning", "I": "note"}


def lint(project, config) -> tuple[list[Finding], dict]:
    """(findings, tool extension metadata: name, version and the rules that matched)."""
    from cfnlint.api import ConfigMixIn, decode_str
    from cfnlint.runner import Runner
    from cfnlint.version import __version__

    runners: dict = {}   # one per region: loading cfn-lint's rules is the slow part (~0.5 s)

    def cfn_lint(text: str, region: str):
        template, errors = decode_str(text)
        if errors or template is None:
            return list(errors or ())
        if region not in runners:
            runners[region] = Runner(ConfigMixIn(regions=[region]))
        return list(runners[region].validate_template(template))

    regions = {s.file: s.region for s in project.services}
    synth = getattr(project, "synth", None)
    served = {p.value for p in getattr(synth, "placeholders", ()) if len(str(p.value)) >= 6}
    findings: list[Finding] = []
    rules: dict = {}
    for t in project.templates:
        text = t.text
        if text is None:
            continue  # the loader reported it already (SLS001)
        region = regions.get(t.service_file or t.file) or "us-east-1"
        for m in cfn_lint(text, region):
            if _about_placeholder(str(m.message), served):
                continue  # a value --synth's stub made up (not the user's): its shape proves nothing
            rid = PREFIX + m.rule.id
            settings = config.rules.get(rid, {})
            if settings.get("enabled") is False or (
                    settings.get("enabled") is not True and not is_selected(rid, config.select, config.ignore)):
                continue
            severity = settings.get("severity") or _LEVELS.get(m.rule.id[:1], "warning")
            rules.setdefault(rid, m.rule)
            line, col = max(m.linenumber or 1, 1), max(m.columnnumber or 1, 1)
            end_line = max(m.linenumberend or line, line)
            end_col = max(m.columnnumberend or col, 1) if end_line > line else max(m.columnnumberend or col, col)
            key_path = "/".join(str(p) for p in (m.path or ()))
            # names, never positions: the resource path without list indexes, and the message
            stable = "/".join(str(p) for p in (m.path or ()) if not isinstance(p, int))
            findings.append(Finding(
                rule=rid, name=_slug(m.rule.shortdesc), severity=severity, message=str(m.message),
                file=t.file, line=line, column=col, end_line=end_line, end_column=end_col,
                key_path=key_path, fingerprint=fingerprint(rid, t.file, (stable, str(m.message))),
            ))
    extension = {
        "name": "cfn-lint", "version": __version__, "informationUri": INFO_URI,
        "rules": [{"id": rid, "name": _slug(r.shortdesc), "summary": str(r.shortdesc),
                   "description": " ".join(str(r.description).split()), "helpUri": r.source_url or INFO_URI,
                   "level": _LEVELS.get(r.id[:1], "warning")}
                  for rid, r in sorted(rules.items())],
    }
    return findings, extension


def _about_placeholder(message: str, served: set) -> bool:
    """A match about a placeholder the offline stub served (`placeholder-cf-users-dev.TopicArn`,
    the placeholder account id): the real value is unknown, not wrong."""
    return "'placeholder-" in message or any(v in message for v in served)


def _slug(text) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "cfn-lint"
