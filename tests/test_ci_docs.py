"""docs/ci.md is copied into real pipelines: every YAML block must parse, and every `sls-audit`
command line in it must run as written, exit as the page says and write what the rest of the
pipeline picks up (the SARIF file code scanning uploads, the artifacts GitLab keeps)."""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

try:
    from samples import cli
    from sarif_schema import assert_valid_sarif
except ImportError:  # tests/ collected as a package
    from tests.samples import cli
    from tests.sarif_schema import assert_valid_sarif

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ci.md"
POST = ROOT / "fixtures" / "post"
# added to a copy of fixtures/post: a public function URL, an error (SLS302)
BAD_SERVICE = """\
service: exposed
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs18.x
functions:
  open:
    handler: h.open
    url: true
"""
WORKFLOW_COMMAND = re.compile(r"^::(error|warning|notice) [^:\r\n]*::[^\r\n]*$")


def blocks() -> dict[str, object]:
    """Each ```yaml block of the page, parsed, keyed by the heading it sits under."""
    out, heading = {}, None
    text = DOC.read_text(encoding="utf-8")
    for m in re.finditer(r"^## ([^\n]+)$|^```yaml\n(.*?)^```$", text, re.M | re.S):
        if m.group(1):
            heading = m.group(1).strip()
        else:
            assert heading not in out, f"two YAML blocks under '{heading}'"
            out[heading] = yaml.safe_load(m.group(2))
    return out


def commands(value) -> list[list[str]]:
    """Every `sls-audit ...` shell line found in the strings of a parsed block."""
    found = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, str):
            for line in v.splitlines():
                if line.strip().startswith("sls-audit "):
                    found.append(shlex.split(line.strip())[1:])
    return found


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def _repo(tmp_path: Path, bad: bool) -> Path:
    repo = tmp_path / ("bad" if bad else "good")
    shutil.copytree(POST, repo)
    if bad:
        (repo / "services" / "exposed").mkdir()
        (repo / "services" / "exposed" / "serverless.yml").write_text(BAD_SERVICE, encoding="utf-8")
    return repo


def run_and_check(capsys, monkeypatch, repo: Path, args: list[str]):
    """Run one documented command line from the repository root; check what it writes."""
    monkeypatch.chdir(repo)
    r = cli(capsys, *args)
    out_file = _option(args, "--output") or _option(args, "-o")
    fmt = _option(args, "--format") or _option(args, "-f") or "text"
    text = (repo / out_file).read_text(encoding="utf-8") if out_file else r.out
    if out_file:
        assert r.out == ""
    if fmt == "sarif":
        log = json.loads(text)
        assert_valid_sarif(log)
        findings = log["runs"][0]["results"]
    elif fmt == "json":
        findings = json.loads(text)["findings"]
    elif fmt == "github":
        lines = text.splitlines()
        assert all(WORKFLOW_COMMAND.match(ln) for ln in lines), text
        findings = lines[:-1]
    else:
        assert "Analyzed" in text
        findings = re.findall(r"^  \d+:\d+ ", text, re.M)
    return r.rc, findings


def test_the_page_has_every_snippet():
    b = blocks()
    assert set(b) == {"GitHub Actions: SARIF to code scanning", "GitHub Actions: annotations in the job log",
                      "GitLab CI", "pre-commit"}


@pytest.mark.parametrize("heading", ["GitHub Actions: SARIF to code scanning",
                                     "GitHub Actions: annotations in the job log", "GitLab CI"])
def test_documented_commands_run_and_gate_as_described(capsys, monkeypatch, tmp_path, heading):
    cmds = commands(blocks()[heading])
    assert cmds, heading
    for args in cmds:
        gates = "--exit-zero" not in args
        # a repository with warnings only passes every documented command
        rc, findings = run_and_check(capsys, monkeypatch, _repo(tmp_path / "w", bad=False), args)
        assert (rc, len(findings)) == (0, 3), args
        # one with an error fails the gating commands; the others still report it and exit 0
        rc, findings = run_and_check(capsys, monkeypatch, _repo(tmp_path / "e", bad=True), args)
        assert rc == (1 if gates else 0), args
        assert len(findings) == 4, args
        shutil.rmtree(tmp_path / "w")
        shutil.rmtree(tmp_path / "e")


def test_github_sarif_workflow_uploads_the_file_it_writes():
    wf = blocks()["GitHub Actions: SARIF to code scanning"]
    assert wf["permissions"]["security-events"] == "write"
    steps = next(iter(wf["jobs"].values()))["steps"]
    scan = next(s for s in steps if "sls-audit " in s.get("run", ""))
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert steps.index(upload) > steps.index(scan)
    written = _option(commands(scan)[0], "--output")
    assert _option(commands(scan)[0], "--format") == "sarif"
    assert upload["with"]["sarif_file"] == written


def test_github_annotation_workflow_uses_the_github_format():
    wf = blocks()["GitHub Actions: annotations in the job log"]
    (args,) = commands(wf)
    assert _option(args, "--format") == "github" and "--exit-zero" not in args


def test_gitlab_keeps_every_report_it_writes_as_an_artifact():
    job = blocks()["GitLab CI"]["sls-audit"]
    written = {_option(a, "--output") for a in commands(job)} - {None}
    assert written == {"sls-audit.sarif", "sls-audit.json"}
    assert set(job["artifacts"]["paths"]) == written
    assert job["artifacts"]["when"] == "always"
    assert any("--exit-zero" not in a for a in commands(job))   # one command gates the pipeline


def test_pre_commit_snippet_names_the_real_hook_with_arguments_the_cli_takes(capsys, monkeypatch, tmp_path):
    config = blocks()["pre-commit"]
    (hook,) = config["repos"][0]["hooks"]
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (real,) = [h for h in hooks if h["id"] == hook["id"]]
    # pre-commit runs `entry` followed by `args`, from the repository root
    args = shlex.split(real["entry"])[1:] + hook.get("args", [])
    rc, findings = run_and_check(capsys, monkeypatch, _repo(tmp_path, bad=False), args)
    assert (rc, len(findings)) == (1, 3)          # --fail-on warning: the 3 warnings fail the commit
