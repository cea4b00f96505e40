"""The shared corpus of 100 real serverless.yml folders: never a crash, only findings a reviewer accepts.

Runs when `../shared/corpus` exists beside the repository (it does in CI). The
reviewed findings are stored in `tests/corpus_expected.json`; a new or a lost
finding fails until a person has looked at it and updated the file with
`SLS_AUDIT_UPDATE_CORPUS=1 python -m pytest tests/test_corpus.py`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analyzer.api import audit
from analyzer.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
EXPECTED = Path(__file__).resolve().parent / "corpus_expected.json"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")


@pytest.fixture(scope="module")
def report():
    return audit(CORPUS)


def test_corpus_loads_every_service_without_internal_errors(report):
    assert [f for f in report.findings if f.rule == "SLS000"] == []
    folders = [p for p in (CORPUS / "serverless-examples").iterdir() if p.is_dir()]
    assert report.coverage["services"] == len(folders) == 100
    assert report.coverage["unreadable_files"] == 0


def test_corpus_findings_are_the_reviewed_ones(report):
    got = sorted([f.rule, f.file, f.line, f.message] for f in report.findings)
    if os.environ.get("SLS_AUDIT_UPDATE_CORPUS"):
        EXPECTED.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert got == expected


def test_corpus_cli_exits_cleanly(tmp_path, capsys):
    out = tmp_path / "corpus.sarif"
    rc = main(["check", str(CORPUS), "--format", "sarif", "--output", str(out)])
    assert rc in (0, 1)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["version"] == "2.1.0"
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
