"""`--cfn-lint`: cfn-lint's rules on the templates, merged into the same report and SARIF run."""
from __future__ import annotations

import contextlib
import io
import json
import textwrap
from pathlib import Path

import pytest

try:
    from samples import cli
    from sarif_schema import assert_valid_sarif
except ImportError:  # tests/ collected as a package
    from tests.samples import cli
    from tests.sarif_schema import assert_valid_sarif

from analyzer.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TEMPLATE = ".serverless/cloudformation-template-update-stack.json"

BAD_QUEUE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: soon
"""


@pytest.fixture(scope="module")
def clean_sarif():
    """One cfn-lint run (seconds) shared by the SARIF checks; capsys is per test, so stdout is taken here."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["check", str(FIXTURES / "templates-clean"), "--cfn-lint", "--format", "sarif", "--no-cache"])
    return rc, json.loads(out.getvalue())


def test_cfn_lint_findings_in_the_same_sarif_run(clean_sarif):
    rc, sarif = clean_sarif
    assert rc == 0   # cfn-lint's warnings only; the service itself is clean
    assert_valid_sarif(sarif)
    [run] = sarif["runs"]
    [ext] = run["tool"]["extensions"]
    assert ext["name"] == "cfn-lint" and ext["version"]
    assert [r["id"] for r in ext["rules"]] == ["cfn-lint:W3005"]
    assert ext["rules"][0]["defaultConfiguration"]["level"] == "warning"
    results = [r for r in run["results"] if r["ruleId"].startswith("cfn-lint:")]
    assert len(results) == 3 and len(results) == len(run["results"])
    template = (FIXTURES / "templates-clean" / TEMPLATE).read_text(encoding="utf-8").splitlines()
    for r in results:
        assert r["level"] == "warning"
        assert r["rule"] == {"id": "cfn-lint:W3005", "index": 0, "toolComponent": {"index": 0}}
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == TEMPLATE
        line = template[loc["region"]["startLine"] - 1]
        assert "IamRoleLambdaExecution" in line   # the DependsOn entry cfn-lint points at
    assert run["properties"]["coverage"]["templates"] == 1


def test_without_the_option_no_cfn_lint_finding(capsys):
    r = cli(capsys, "check", FIXTURES / "templates-clean", "--format", "json", "--no-cache")
    assert r.rc == 0 and r.json["findings"] == []


def test_cfn_lint_errors_fail_and_are_selected_like_any_rule(tmp_path, capsys):
    tpl = tmp_path / "queue.yaml"
    tpl.write_text(textwrap.dedent(BAD_QUEUE), encoding="utf-8")
    r = cli(capsys, "check", tmp_path, "--template", tpl, "--cfn-lint", "--format", "json", "--no-cache")
    assert r.rc == 1, r.err
    [f] = [f for f in r.json["findings"] if f["rule"].startswith("cfn-lint:")]
    assert f["rule"].startswith("cfn-lint:E") and f["severity"] == "error"
    assert (f["file"], f["line"]) == ("queue.yaml", 6)
    r = cli(capsys, "check", tmp_path, "--template", tpl, "--cfn-lint", "--ignore", "cfn-lint:E",
            "--format", "json", "--no-cache")
    assert r.rc == 0 and not any(f["rule"].startswith("cfn-lint:") for f in r.json["findings"])


def test_matches_about_synth_placeholders_are_left_out(capsys):
    """The committed compose templates carry the stub's placeholders (`placeholder-cf-...`,
    `placeholder-param-...`): cfn-lint rejects their shape, but the real value is unknown, not wrong."""
    r = cli(capsys, "check", FIXTURES / "templates" / "compose", "--cfn-lint", "--format", "json", "--no-cache")
    assert "Traceback" not in r.err
    linted = [f for f in r.json["findings"] if f["rule"].startswith("cfn-lint:")]
    assert any(f["rule"] == "cfn-lint:W3005" for f in linted)   # cfn-lint did run on them
    assert not any("placeholder-" in f["message"] for f in linted)


def test_cfn_lint_rules_are_configured_like_any_rule(tmp_path, capsys):
    tpl = tmp_path / "queue.yaml"
    tpl.write_text(textwrap.dedent(BAD_QUEUE), encoding="utf-8")
    (tmp_path / ".sls-audit.yml").write_text("rules:\n  cfn-lint:E3012:\n    severity: note\n", encoding="utf-8")
    r = cli(capsys, "check", tmp_path, "--template", tpl, "--cfn-lint", "--format", "json", "--no-cache")
    assert r.rc == 0, r.err
    assert [(f["rule"], f["severity"]) for f in r.json["findings"]] == [("cfn-lint:E3012", "note")]
