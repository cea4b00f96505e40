"""Machine-readable findings and the coverage summary, byte-stable for the same input."""
from __future__ import annotations

import json

from .. import __version__


def render(report) -> str:
    data = {
        "tool": "sls-audit",
        "version": __version__,
        "findings": [f.as_dict() for f in report.findings],
        "summary": summary(report),
        "coverage": report.coverage,
    }
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def summary(report) -> dict:
    counts = {"error": 0, "warning": 0, "note": 0}
    suppressed = 0
    for f in report.findings:
        if f.suppressions:
            suppressed += 1
            continue
        counts[f.severity] += 1
    return {**counts, "suppressed": suppressed}
