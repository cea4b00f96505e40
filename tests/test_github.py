"""`--format github`: workflow-command annotations GitHub Actions turns into file annotations."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

try:
    from samples import BROKEN, CYCLE, V3_IAM, cli, write
except ImportError:  # tests/ collected as a package
    from tests.samples import BROKEN, CYCLE, V3_IAM, cli, write
from analyzer.findings import Finding, Related
from analyzer.report import github

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
COMMAND = re.compile(r"^::(error|warning|notice) ([^:]*)::(.*)$")


def _unescape_data(s: str) -> str:
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(s: str) -> str:
    return _unescape_data(s.replace("%3A", ":").replace("%2C", ","))


def parse(line: str) -> tuple[str, dict, str]:
    """Read a workflow command back the way the runner does."""
    m = COMMAND.match(line)
    assert m, line
    props = dict(p.split("=", 1) for p in m.group(2).split(",")) if m.group(2) else {}
    return m.group(1), {k: _unescape_property(v) for k, v in props.items()}, _unescape_data(m.group(3))


@pytest.fixture
def mixed(tmp_path):
    return write(tmp_path / "repo", {"svc/serverless.yml": V3_IAM, "broken/serverless.yml": BROKEN,
                                     "cyc/serverless.yml": CYCLE})


@pytest.fixture(autouse=True)
def outside_github_actions(monkeypatch):
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


def test_one_annotation_per_finding_by_severity_then_a_summary(capsys, mixed, monkeypatch):
    monkeypatch.chdir(mixed)
    r = cli(capsys, ".", "--format", "github")
    assert r.rc == 1                                    # an error: same exit code as other formats
    lines = r.out.splitlines()
    cmds = [parse(ln) for ln in lines]
    assert [(c, p.get("title")) for c, p, _ in cmds] == [
        ("error", "SLS001 parse-error"),
        ("notice", "SLS002 unresolved-reference"),
        ("warning", "SLS005 ignored-by-framework"),
        ("notice", "sls-audit summary"),
    ]
    kind, props, msg = cmds[2]
    assert props == {"file": "svc/serverless.yml", "line": "9", "endLine": "14", "title": "SLS005 ignored-by-framework"}
    assert msg.startswith("'functions.createUser.iam' is ignored by framework v3")
    assert "\nfix: set frameworkVersion: '4'" in msg
    assert cmds[-1][2] == ("sls-audit: 1 error, 1 warning, 1 note (0 suppressed) in 2 services and 2 functions; "
                           "handlers scanned 0 of 0 found, 0 opaque roles, 1 unresolved values")


def test_exit_codes_follow_fail_on_as_for_other_formats(capsys, tmp_path):
    repo = write(tmp_path / "repo", {"svc/serverless.yml": V3_IAM})
    assert cli(capsys, repo, "--format", "github").rc == 0
    assert cli(capsys, repo, "--format", "github", "--fail-on", "warning").rc == 1
    assert cli(capsys, repo, "--format", "github", "--fail-on", "warning", "--exit-zero").rc == 0
    assert cli(capsys, tmp_path / "nothing-here", "--format", "github").rc == 2


def test_paths_are_relative_to_the_current_directory_in_ci(capsys, monkeypatch):
    """Run from the repository root on a sub-folder: annotations name the file from the root."""
    monkeypatch.chdir(FIXTURES.parent)
    r = cli(capsys, "fixtures/post", "--format", "github")
    files = [parse(ln)[1].get("file") for ln in r.out.splitlines()]
    assert files == ["fixtures/post/services/hello/serverless.yml", "fixtures/post/services/subscriber/handler.js",
                     "fixtures/post/services/subscriber/serverless.yml", None]
    _, props, msg = parse(r.out.splitlines()[1])
    assert props["line"] == "18" and props["col"] == "13"
    assert "↳ fixtures/post/services/subscriber/serverless.yml:13:3 function sendWelcomeEmail" in msg


def test_github_workspace_is_the_root_when_a_step_runs_in_a_sub_folder(capsys, monkeypatch, tmp_path):
    repo = write(tmp_path / "repo", {"services/users/serverless.yml": V3_IAM})
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo))
    monkeypatch.chdir(repo / "services")            # `working-directory: services`
    r = cli(capsys, "users", "--format", "github")
    assert parse(r.out.splitlines()[0])[1]["file"] == "services/users/serverless.yml"
    # a workspace that does not hold the analyzed folder: the current directory is the anchor
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "elsewhere"))
    r = cli(capsys, "users", "--format", "github")
    assert parse(r.out.splitlines()[0])[1]["file"] == "users/serverless.yml"
    monkeypatch.chdir(tmp_path)
    r = cli(capsys, repo, "--format", "github")
    assert parse(r.out.splitlines()[0])[1]["file"] == "repo/services/users/serverless.yml"


def test_suppressed_findings_are_omitted_but_counted(capsys, tmp_path):
    repo = write(tmp_path / "repo", {
        "svc/serverless.yml": V3_IAM,
        ".sls-audit.yml": "suppress:\n  - rule: SLS005\n    reason: moving to v4\n",
    })
    r = cli(capsys, repo, "--format", "github")
    lines = r.out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("::notice title=sls-audit summary::")
    assert "0 errors, 0 warnings, 0 notes (1 suppressed)" in lines[0]


def test_escaping_follows_githubs_rules():
    f = Finding(rule="SLS303", name="plaintext-secret", severity="error",
                message="100% sure:\r\nkey, value: x::y", file="a,b:c/serverless.yml", line=3, column=5,
                end_line=3, end_column=9, fix="use ${ssm:/x}")
    line = github.annotation(f)
    assert "\n" not in line and "\r" not in line
    assert line == ("::error file=a%2Cb%3Ac/serverless.yml,line=3,col=5,endLine=3,endColumn=9,"
                    "title=SLS303 plaintext-secret::100%25 sure:%0D%0Akey, value: x::y%0Afix: use ${ssm:/x}")
    kind, props, msg = parse(line)        # read back as the runner does: nothing lost
    assert props["file"] == "a,b:c/serverless.yml"
    assert msg == "100% sure:\r\nkey, value: x::y\nfix: use ${ssm:/x}"


def test_multi_line_spans_give_lines_only_and_points_give_no_end_column():
    block = Finding(rule="SLS005", name="n", severity="warning", message="m", file="s.yml", line=4, column=3,
                    end_line=9, end_column=1)
    point = Finding(rule="SLS210", name="n", severity="note", message="m", file="h.js", line=2, column=7,
                    end_line=2, end_column=7, related=[Related("s.yml", 1, 1, 1, 1, "fn")])
    nofile = Finding(rule="SLS000", name="internal-error", severity="error", message="m", file="", line=1,
                     column=1, end_line=1, end_column=1)
    assert github.annotation(block) == "::warning file=s.yml,line=4,endLine=8,title=SLS005 n::m"
    assert github.annotation(point, base="app") == "::notice file=app/h.js,line=2,col=7,title=SLS210 n::m%0A↳ app/s.yml:1:1 fn"
    assert github.annotation(nofile) == "::error title=SLS000 internal-error::m"


def test_output_is_deterministic(capsys, mixed):
    assert cli(capsys, mixed, "--format", "github").out == cli(capsys, mixed, "--format", "github").out
