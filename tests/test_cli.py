"""The command line as a user meets it: subcommands, exit codes, formats, selection, determinism."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import __version__

try:
    from samples import BROKEN, CYCLE, TS, V3_IAM, cli, write
except ImportError:  # tests/ collected as a package
    from tests.samples import BROKEN, CYCLE, TS, V3_IAM, cli, write
from analyzer.cli import main

ANSI = re.compile(r"\x1b\[")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def warn_repo(tmp_path):
    """One service whose only finding is an SLS005 warning."""
    return write(tmp_path / "repo", {"svc/serverless.yml": V3_IAM})


@pytest.fixture
def mixed_repo(tmp_path):
    """SLS001 error, SLS002 note, SLS004 note and SLS005 warning, one per folder."""
    return write(tmp_path / "mixed", {
        "svc/serverless.yml": V3_IAM,
        "broken/serverless.yml": BROKEN,
        "cyc/serverless.yml": CYCLE,
        "ts/serverless.ts": TS,
    })


# --- version and the default command ---------------------------------------------------------

def test_version_in_process(capsys):
    r = cli(capsys, "--version")
    assert r.rc == 0
    assert r.out.strip() == f"sls-audit {__version__}"


def test_version_console_script():
    exe = shutil.which("sls-audit")
    if exe is None:
        pytest.skip("the sls-audit console script is not installed")
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    assert p.stdout.strip() == f"sls-audit {__version__}"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_bare_path_is_check(capsys, mixed_repo, fmt):
    bare = cli(capsys, mixed_repo, "--format", fmt)
    check = cli(capsys, "check", mixed_repo, "--format", fmt)
    assert (bare.rc, bare.out, bare.err) == (check.rc, check.out, check.err)
    assert bare.out


def test_no_arguments_checks_current_folder(capsys, warn_repo, monkeypatch):
    monkeypatch.chdir(warn_repo)
    bare = cli(capsys, "--format", "json")
    explicit = cli(capsys, "check", ".", "--format", "json")
    assert bare.rc == explicit.rc == 0
    assert bare.out == explicit.out
    assert bare.rules() == ["SLS005"]


# --- exit codes -----------------------------------------------------------------------------

def test_only_warnings_exit_0_by_default(capsys, warn_repo):
    r = cli(capsys, warn_repo, "--format", "json")
    assert r.rc == 0
    assert r.rules() == ["SLS005"]
    assert r.json["findings"][0]["severity"] == "warning"


def test_an_error_exits_1(capsys, mixed_repo):
    r = cli(capsys, mixed_repo, "--format", "json")
    assert r.rc == 1
    assert "SLS001" in r.rules()


def test_unreadable_file_among_readable_ones_is_a_finding_not_a_crash(capsys, tmp_path):
    repo = write(tmp_path, {"good/serverless.yml": V3_IAM, "bad/serverless.yml": BROKEN})
    r = cli(capsys, repo, "--format", "json")
    assert r.rc == 1
    bad = [f for f in r.json["findings"] if f["rule"] == "SLS001"]
    assert [(f["file"], f["severity"]) for f in bad] == [("bad/serverless.yml", "error")]
    assert bad[0]["line"] >= 4
    assert "Traceback" not in r.err


@pytest.mark.parametrize("fail_on, expected", [("error", 0), ("warning", 1), ("note", 1)])
def test_fail_on_threshold_with_a_warning(capsys, warn_repo, fail_on, expected):
    assert cli(capsys, warn_repo, "--fail-on", fail_on).rc == expected


@pytest.mark.parametrize("fail_on, expected", [("error", 0), ("warning", 0), ("note", 1)])
def test_fail_on_threshold_with_notes_only(capsys, tmp_path, fail_on, expected):
    repo = write(tmp_path, {"cyc/serverless.yml": CYCLE, "ts/serverless.ts": TS})
    r = cli(capsys, repo, "--format", "json", "--fail-on", fail_on)
    assert sorted(r.rules()) == ["SLS002", "SLS004"]
    assert r.rc == expected


def test_exit_zero_with_errors(capsys, mixed_repo):
    r = cli(capsys, mixed_repo, "--exit-zero", "--fail-on", "note", "--format", "json")
    assert r.rc == 0
    assert "SLS001" in r.rules()          # the report is still complete


def test_missing_path_exits_2(capsys, tmp_path):
    missing = tmp_path / "no-such-folder"
    r = cli(capsys, missing)
    assert r.rc == 2
    assert "no-such-folder" in r.err
    assert r.out == ""


def test_missing_path_exits_2_even_with_exit_zero(capsys, tmp_path):
    assert cli(capsys, tmp_path / "nope", "--exit-zero").rc == 2


def test_folder_without_config_exits_2(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli(capsys, tmp_path / "empty")
    assert r.rc == 2
    assert "serverless.yml" in r.err


def test_folder_with_only_unreadable_config_exits_2(capsys, tmp_path):
    repo = write(tmp_path, {"serverless.yml": BROKEN})
    r = cli(capsys, repo, "--format", "json")
    assert r.rc == 2
    assert "nothing could be analyzed" in r.err


@pytest.mark.parametrize("extra", [[], ["--exit-zero"]])
def test_bad_format_value_exits_2(capsys, warn_repo, extra):
    r = cli(capsys, warn_repo, "--format", "xml", *extra)
    assert r.rc == 2
    assert "--format" in r.err and "xml" in r.err
    assert r.out == ""


def test_bad_param_value_exits_2(capsys, warn_repo):
    r = cli(capsys, warn_repo, "--param", "novalue")
    assert r.rc == 2
    assert "KEY=VALUE" in r.err


def test_explain_unknown_rule_exits_2(capsys):
    r = cli(capsys, "explain", "SLS999")
    assert r.rc == 2
    assert "SLS999" in r.err
    assert r.out == ""


def test_unwritable_output_exits_2(capsys, warn_repo, tmp_path):
    r = cli(capsys, warn_repo, "--output", tmp_path / "missing-dir" / "report.json")
    assert r.rc == 2
    assert "cannot write" in r.err


# --- rule selection -------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    ([], ["SLS001", "SLS002", "SLS004", "SLS005"]),
    (["--select", "SLS005"], ["SLS005"]),
    (["--select", "SLS001,SLS004"], ["SLS001", "SLS004"]),
    (["--select", "SLS001", "--select", "SLS002"], ["SLS001", "SLS002"]),
    (["--ignore", "SLS005"], ["SLS001", "SLS002", "SLS004"]),
    (["--ignore", "SLS00"], []),
    (["--select", "SLS00"], ["SLS001", "SLS002", "SLS004", "SLS005"]),
    # longest prefix wins, in either direction
    (["--select", "SLS0", "--ignore", "SLS005"], ["SLS001", "SLS002", "SLS004"]),
    (["--select", "SLS005", "--ignore", "SLS0"], ["SLS005"]),
    (["--select", "SLS00", "--ignore", "SLS0"], ["SLS001", "SLS002", "SLS004", "SLS005"]),
])
def test_select_and_ignore(capsys, mixed_repo, args, expected):
    r = cli(capsys, mixed_repo, "--format", "json", "--exit-zero", *args)
    assert sorted(r.rules()) == expected


def test_ignoring_the_only_error_changes_the_exit_code(capsys, mixed_repo):
    assert cli(capsys, mixed_repo).rc == 1
    assert cli(capsys, mixed_repo, "--ignore", "SLS001").rc == 0


# --- --output -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_output_file_and_nothing_else(capsys, mixed_repo, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    expected = cli(capsys, mixed_repo, "--format", fmt).out
    before = tree(tmp_path)
    out_file = tmp_path / f"report.{fmt}"
    r = cli(capsys, mixed_repo, "--format", fmt, "--output", out_file)
    assert r.rc == 1
    assert r.out == ""
    assert r.err == ""
    after = tree(tmp_path)
    assert set(after) - set(before) == {out_file.name}
    assert {k: v for k, v in after.items() if k != out_file.name} == before
    assert out_file.read_text(encoding="utf-8") == expected
    assert not ANSI.search(out_file.read_text(encoding="utf-8"))


def test_graph_output_file(capsys, warn_repo, tmp_path):
    out_file = tmp_path / "graph.mmd"
    r = cli(capsys, "graph", warn_repo, "--format", "mermaid", "-o", out_file)
    assert r.rc == 0 and r.out == ""
    assert out_file.read_text(encoding="utf-8").startswith("flowchart")


# --- JSON structure -------------------------------------------------------------------------

def test_json_structure(capsys, mixed_repo):
    data = cli(capsys, mixed_repo, "--format", "json").json
    assert data["tool"] == "sls-audit"
    assert data["version"] == __version__
    by_rule = {f["rule"]: f for f in data["findings"]}
    assert set(by_rule) == {"SLS001", "SLS002", "SLS004", "SLS005"}
    for f in data["findings"]:
        for key in ("rule", "name", "severity", "message", "file", "line", "column", "key_path", "fingerprint"):
            assert key in f, key
        assert isinstance(f["line"], int) and f["line"] >= 1
        assert isinstance(f["column"], int) and f["column"] >= 1
        assert re.fullmatch(r"[0-9a-f]{16,}", f["fingerprint"])
        assert f["suppressed"] is False
        assert not Path(f["file"]).is_absolute()
    sls005 = by_rule["SLS005"]
    assert (sls005["severity"], sls005["file"], sls005["line"], sls005["column"], sls005["key_path"]) == (
        "warning", "svc/serverless.yml", 9, 5, "functions.createUser.iam")
    assert sls005["name"] == "ignored-by-framework"
    assert "createUser" in sls005["message"]
    assert by_rule["SLS001"]["severity"] == "error" and by_rule["SLS001"]["file"] == "broken/serverless.yml"
    assert by_rule["SLS002"]["severity"] == "note" and by_rule["SLS002"]["file"] == "cyc/serverless.yml"
    assert by_rule["SLS004"]["file"] == "ts/serverless.ts"
    assert len({f["fingerprint"] for f in data["findings"]}) == len(data["findings"])

    assert data["summary"] == {"error": 1, "warning": 1, "note": 2, "suppressed": 0}
    cov = data["coverage"]
    assert cov["services"] == 2          # users and cyc; broken is unreadable, ts skipped
    assert cov["functions"] == 2
    assert cov["unreadable_files"] == 1
    assert cov["skipped_not_static"] == 1


def test_findings_are_sorted_by_file_then_line(capsys, mixed_repo):
    findings = cli(capsys, mixed_repo, "--format", "json").json["findings"]
    keys = [(f["file"], f["line"], f["column"], f["rule"]) for f in findings]
    assert keys == sorted(keys)


# --- determinism ----------------------------------------------------------------------------

RICH_REPO = {
    "users/serverless.yml": """\
service: users
frameworkVersion: '3'
configValidationMode: warn
provider:
  name: aws
  stage: ${opt:stage, 'dev'}
functions:
  getUser:
    handler: src/get.handler
  createUser:
    handler: src/create.handler
    subscribable: true
    iam:
      role:
        statements:
          - Effect: Allow
            Action: [sns:Publish, dynamodb:PutItem]
            Resource: "*"
""",
    "billing/serverless.yml": """\
service: billing
frameworkVersion: '3'
configValidationMode: warn
provider:
  name: aws
functions:
  charge:
    handler: src/charge.handler
    calling:
      - "users:getUser"
      - refund
    events:
      - sns: orders-topic
  refund:
    handler: src/refund.handler
    iam:
      role:
        statements: []
  audit:
    handler: src/audit.handler
    events:
      - function:
          name: createUser
          service: users
          type: failed
      - function:
          name: charge
          type: start
""",
    "broken/serverless.yml": BROKEN,
    "cyc/serverless.yml": CYCLE,
    "web/serverless.ts": TS,
}


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_same_input_gives_byte_identical_output(capsys, tmp_path, fmt):
    repo = write(tmp_path, RICH_REPO)
    first = cli(capsys, repo, "--format", fmt)
    second = cli(capsys, repo, "--format", fmt)
    assert first.out == second.out
    assert first.out


_DETERMINISM_SCRIPT = """
import contextlib, io, sys
from analyzer.cli import main
repo = sys.argv[1]
for args in (["--format", "text"], ["--format", "json"], ["--format", "sarif"],
             ["graph", "--format", "json"], ["graph", "--format", "dot"], ["graph", "--format", "mermaid"]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        if args[0] == "graph":
            main(["graph", repo] + args[1:])
        else:
            main([repo] + args)
    sys.stdout.write("=== " + " ".join(args) + "\\n" + buf.getvalue())
"""


def test_output_does_not_depend_on_hash_seed(tmp_path):
    """Byte-identical across processes with different string hashing (set/dict order bugs)."""
    repo = write(tmp_path / "repo", RICH_REPO)
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env.pop("NO_COLOR", None)
        p = subprocess.run([sys.executable, "-c", _DETERMINISM_SCRIPT, str(repo)], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=120)
        assert p.returncode == 0, p.stderr
        outputs.append(p.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("=== ") == 6


def test_a_dependency_cycle_is_reported_the_same_whatever_the_hash_seed(tmp_path):
    """SLS403 names one cycle of a group; which one must not follow set order (s0 also depends
    on many services outside the loop, which made networkx walk a set)."""
    files = {f"s{i}/serverless.yml": f"service: s{i}\nprovider:\n  name: aws\nfunctions:\n"
             "  f1:\n    handler: h.f1\n  f2:\n    handler: h.f2\n" for i in range(8)}
    files["serverless-compose.yml"] = (
        "services:\n  s0:\n    path: s0\n    dependsOn: [s6, s5, s4, s3, s1, s2, s7]\n"
        "  s1:\n    path: s1\n    dependsOn: s2\n  s2:\n    path: s2\n    dependsOn: s0\n"
        "  s3:\n    path: s3\n    dependsOn: s0\n"
        + "".join(f"  s{i}:\n    path: s{i}\n" for i in range(4, 8)))
    repo = write(tmp_path / "repo", files)
    messages = set()
    for seed in ("1", "2", "3", "4", "5"):
        p = subprocess.run([sys.executable, "-m", "analyzer", "check", str(repo), "--no-code", "--format",
                            "json", "--select", "SLS403"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": seed,
                                "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        [finding] = json.loads(p.stdout)["findings"]
        messages.add((finding["message"], finding["line"]))
    assert messages == {("services s0, s1, s2, s3 depend on each other in a cycle (s0 → s1 → s2 → s0): "
                         "no deploy order exists", 2)}


# --- text output ----------------------------------------------------------------------------

class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_without_tty_has_no_ansi(capsys, mixed_repo, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    r = cli(capsys, mixed_repo)
    assert not ANSI.search(r.out)
    assert "svc/serverless.yml" in r.out
    assert "9:5" in r.out and "SLS005" in r.out and "warning" in r.out
    assert "SLS001" in r.out and "broken/serverless.yml" in r.out
    assert "Analyzed 2 services, 2 functions" in r.out


def _run_on_tty(repo, monkeypatch) -> tuple[int, str]:
    fake = _TTY()
    monkeypatch.setattr(sys, "stdout", fake)
    rc = main([str(repo)])
    monkeypatch.undo()
    return rc, fake.getvalue()


def test_text_on_a_tty_is_coloured(warn_repo, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    rc, out = _run_on_tty(warn_repo, monkeypatch)
    assert rc == 0
    assert ANSI.search(out)


def test_no_color_is_respected_on_a_tty(warn_repo, monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    rc, out = _run_on_tty(warn_repo, monkeypatch)
    assert rc == 0
    assert "SLS005" in out
    assert not ANSI.search(out)
    # and the text equals the non-TTY rendering
    assert out == cli(capsys, warn_repo).out


def test_text_hides_suppressed_but_counts_them(capsys, tmp_path):
    repo = write(tmp_path, {
        "svc/serverless.yml": V3_IAM,
        ".sls-audit.yml": "suppress:\n  - rule: SLS005\n    reason: moving to v4 next sprint\n",
    })
    r = cli(capsys, repo)
    assert r.rc == 0
    assert "SLS005" not in r.out
    assert re.search(r"^\s*0\s+0\s+0\s+1\s*$", r.out, re.M)


# --- rules and explain ----------------------------------------------------------------------

def test_rules_lists_ids_and_names(capsys):
    r = cli(capsys, "rules")
    assert r.rc == 0
    for rid, name in [("SLS000", "internal-error"), ("SLS001", "parse-error"),
                      ("SLS002", "unresolved-reference"), ("SLS004", "not-static"),
                      ("SLS005", "ignored-by-framework")]:
        line = next((ln for ln in r.out.splitlines() if ln.startswith(rid)), None)
        assert line is not None, rid
        assert name in line
    ids = [ln.split()[0] for ln in r.out.splitlines() if ln.strip()]
    assert ids == sorted(ids)


def test_rules_json(capsys):
    r = cli(capsys, "rules", "--format", "json")
    data = r.json
    by_id = {d["id"]: d for d in data}
    assert by_id["SLS005"]["name"] == "ignored-by-framework"
    assert by_id["SLS005"]["severity"] == "warning"
    assert by_id["SLS001"]["severity"] == "error"
    assert all(d["summary"] for d in data)


@pytest.mark.parametrize("query", ["SLS005", "sls005", "ignored-by-framework"])
def test_explain_prints_the_documentation(capsys, query):
    r = cli(capsys, "explain", query)
    assert r.rc == 0
    positions = [r.out.find(h) for h in ("What it finds", "Why it matters", "Example", "Use instead")]
    assert all(p >= 0 for p in positions), r.out
    assert positions == sorted(positions)
    assert "SLS005" in r.out and "iam" in r.out


# --- graph ----------------------------------------------------------------------------------

def _graph_repo(tmp_path):
    return write(tmp_path / "g", {k: v for k, v in RICH_REPO.items() if k in ("users/serverless.yml",
                                                                              "billing/serverless.yml")})


def test_graph_json_is_node_link_with_kind_and_loc(capsys, tmp_path):
    repo = _graph_repo(tmp_path)
    r = cli(capsys, "graph", repo, "--format", "json")
    assert r.rc == 0
    data = r.json
    assert data["directed"] is True
    ids = {n["id"] for n in data["nodes"]}
    assert {"svc:users", "svc:billing", "fn:users.getUser", "fn:users.createUser",
            "fn:billing.charge", "fn:billing.refund", "fn:billing.audit"} <= ids
    for n in data["nodes"]:
        assert n["kind"], n
        assert {"file", "line", "column"} <= set(n["loc"]), n
        assert n["loc"]["line"] >= 1
    edges = {(e["source"], e["target"], e["kind"]) for e in data["edges"]}
    assert ("fn:billing.charge", "fn:users.getUser", "calls") in edges
    assert ("fn:billing.charge", "fn:billing.refund", "calls") in edges
    assert ("fn:billing.audit", "fn:users.createUser", "subscribes") in edges
    assert all(e["kind"] for e in data["edges"])
    fn = next(n for n in data["nodes"] if n["id"] == "fn:users.getUser")
    assert fn["loc"]["file"] == "users/serverless.yml"
    assert fn["deployed_name"] == "users-dev-getUser"


def test_graph_mermaid(capsys, tmp_path):
    r = cli(capsys, "graph", _graph_repo(tmp_path), "--format", "mermaid")
    assert r.rc == 0
    assert r.out.startswith("flowchart")
    for name in ("users", "billing", "getUser", "createUser", "charge", "refund", "audit"):
        assert f'"{name}"' in r.out
    assert "calls" in r.out and "subscribes failed" in r.out


def test_graph_default_format_is_mermaid(capsys, tmp_path):
    assert cli(capsys, "graph", _graph_repo(tmp_path)).out.startswith("flowchart")


def test_graph_dot(capsys, tmp_path):
    r = cli(capsys, "graph", _graph_repo(tmp_path), "--format", "dot")
    assert r.rc == 0
    assert r.out.startswith("digraph")
    assert r.out.rstrip().endswith("}")
    assert r.out.count("->") == 4     # 2 calls + 2 subscriptions
    assert 'label="users"' in r.out and 'label="billing"' in r.out


def test_graph_missing_path_exits_2(capsys, tmp_path):
    r = cli(capsys, "graph", tmp_path / "nope")
    assert r.rc == 2
    assert r.out == ""


def test_graph_of_nothing_readable_exits_2(capsys, tmp_path):
    repo = write(tmp_path, {"serverless.yml": BROKEN})
    r = cli(capsys, "graph", repo, "--format", "json")
    assert r.rc == 2
    assert r.err


# --- resolution options ---------------------------------------------------------------------

def _graph_nodes(capsys, *args) -> dict:
    r = cli(capsys, "graph", *args, "--format", "json")
    assert r.rc == 0, r.err
    return {n["id"]: n for n in r.json["nodes"]}


def test_stage_changes_resolved_names(capsys, warn_repo):
    dev = _graph_nodes(capsys, warn_repo)
    prod = _graph_nodes(capsys, warn_repo, "--stage", "prod")
    assert dev["fn:users.createUser"]["deployed_name"] == "users-dev-createUser"
    assert prod["fn:users.createUser"]["deployed_name"] == "users-prod-createUser"
    assert prod["fn:users.createUser"]["arn"].endswith(":function:users-prod-createUser")
    assert prod["svc:users"]["stage"] == "prod"
    assert prod["svc:users"]["stack_name"] == "users-prod"


def test_stage_option_beats_provider_stage(capsys, tmp_path):
    repo = write(tmp_path, {"serverless.yml": V3_IAM.replace("  name: aws\n", "  name: aws\n  stage: qa\n")})
    assert _graph_nodes(capsys, repo)["fn:users.createUser"]["deployed_name"] == "users-qa-createUser"
    assert _graph_nodes(capsys, repo, "--stage", "prod")["fn:users.createUser"]["deployed_name"] == \
        "users-prod-createUser"


def test_region_option(capsys, warn_repo):
    nodes = _graph_nodes(capsys, warn_repo, "--region", "eu-west-1")
    assert nodes["svc:users"]["region"] == "eu-west-1"
    assert nodes["fn:users.createUser"]["arn"].startswith("arn:aws:lambda:eu-west-1:")


PARAM_REPO = """\
service: orders
frameworkVersion: '3'
provider:
  name: aws
functions:
  place:
    handler: src/place.handler
    name: ${param:placeName}
"""


def test_param_feeds_param_variables(capsys, tmp_path):
    repo = write(tmp_path, {"serverless.yml": PARAM_REPO})
    fed = _graph_nodes(capsys, repo, "--param", "placeName=orders-place-v2")
    assert fed["fn:orders.place"]["deployed_name"] == "orders-place-v2"
    r = cli(capsys, repo, "--param", "placeName=orders-place-v2", "--format", "json")
    assert r.json["coverage"]["symbolic_values"] == {}
    unfed = cli(capsys, repo, "--format", "json")
    assert unfed.json["coverage"]["symbolic_values"] == {"ParamRef": 1}


def test_param_value_may_contain_equals_sign(capsys, tmp_path):
    repo = write(tmp_path, {"serverless.yml": PARAM_REPO})
    nodes = _graph_nodes(capsys, repo, "--param", "placeName=a=b")
    assert nodes["fn:orders.place"]["deployed_name"] == "a=b"


@pytest.mark.parametrize("framework, expected", [(None, ["SLS005"]), ("v3", ["SLS005"]),
                                                 ("osls", ["SLS005"]), ("v4", [])])
def test_framework_option_decides_function_level_iam(capsys, warn_repo, framework, expected):
    args = ["--framework", framework] if framework else []
    r = cli(capsys, warn_repo, "--format", "json", *args)
    assert r.rules() == expected
    assert r.rc == 0


def test_framework_version_4_implies_v4(capsys, tmp_path):
    repo = write(tmp_path, {"serverless.yml": V3_IAM.replace("frameworkVersion: '3'", "frameworkVersion: '4'")})
    assert cli(capsys, repo, "--format", "json").rules() == []
    assert cli(capsys, repo, "--format", "json", "--framework", "v3").rules() == ["SLS005"]


def test_bad_framework_value_exits_2(capsys, warn_repo):
    r = cli(capsys, warn_repo, "--framework", "v5")
    assert r.rc == 2
    assert "v5" in r.err


def test_single_config_file_as_path(capsys, warn_repo):
    r = cli(capsys, warn_repo / "svc" / "serverless.yml", "--format", "json")
    assert r.rc == 0
    assert r.rules() == ["SLS005"]
    assert r.json["findings"][0]["file"] == "serverless.yml"


def test_text_never_breaks_a_finding_across_lines(capsys, warn_repo):
    r = cli(capsys, warn_repo)
    message = ("'functions.createUser.iam' is ignored by framework v3: function 'createUser' gets the "
               "shared role instead (function-level iam needs v4)")
    assert any(message in line and "SLS005" in line for line in r.out.splitlines()), r.out


# --- a stdout that cannot encode the report -------------------------------------------------

@pytest.fixture
def unicode_repo(tmp_path):
    return write(tmp_path / "repo", {"sérvice/serverless.yml": V3_IAM})


def _run_with_ascii_stdout(monkeypatch, *args) -> tuple[int, bytes]:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    rc = main([str(a) for a in args])
    stream.flush()
    monkeypatch.undo()
    return rc, raw.getvalue()


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_are_utf8_even_on_an_ascii_stdout(monkeypatch, unicode_repo, fmt):
    rc, data = _run_with_ascii_stdout(monkeypatch, unicode_repo, "--format", fmt)
    assert rc == 0
    log = json.loads(data.decode("utf-8"))
    if fmt == "json":
        assert [f["file"] for f in log["findings"]] == ["sérvice/serverless.yml"]
    else:
        [res] = log["runs"][0]["results"]
        assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "s%C3%A9rvice/serverless.yml"


def test_text_degrades_on_an_ascii_stdout(monkeypatch, unicode_repo):
    rc, data = _run_with_ascii_stdout(monkeypatch, unicode_repo)
    assert rc == 0
    out = data.decode("ascii")
    assert "s\\xe9rvice/serverless.yml" in out
    assert "SLS005" in out


def test_graph_on_an_ascii_stdout(monkeypatch, unicode_repo):
    rc, data = _run_with_ascii_stdout(monkeypatch, "graph", unicode_repo, "--format", "json")
    assert rc == 0
    nodes = {n["id"]: n for n in json.loads(data.decode("utf-8"))["nodes"]}
    assert nodes["fn:users.createUser"]["loc"]["file"] == "sérvice/serverless.yml"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_folder_name_that_is_not_utf8_gives_no_traceback(capsys, tmp_path, fmt):
    root = tmp_path / "repo"
    try:
        bad = os.path.join(os.fsencode(root), b"bad\xffname")
        os.makedirs(bad)
        with open(os.path.join(bad, b"serverless.yml"), "w", encoding="utf-8") as fh:
            fh.write(V3_IAM)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    r = cli(capsys, root, "--format", fmt)
    assert r.rc in (0, 1)
    if fmt != "text":
        json.loads(r.out)


def test_graph_of_a_folder_name_that_is_not_utf8(capsys, tmp_path):
    root = tmp_path / "repo"
    try:
        bad = os.path.join(os.fsencode(root), b"bad\xffname")
        os.makedirs(bad)
        with open(os.path.join(bad, b"serverless.yml"), "w", encoding="utf-8") as fh:
            fh.write(V3_IAM)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    r = cli(capsys, "graph", root, "--format", "json")
    assert r.rc == 0
    assert "fn:users.createUser" in {n["id"] for n in json.loads(r.out)["nodes"]}
