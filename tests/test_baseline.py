"""Baselines: --write-baseline F, --baseline F (only new findings count), stale entries (SLS007)."""
from __future__ import annotations

import json

import pytest

from analyzer.baseline import Baseline, Entry, apply, render
from analyzer.findings import Finding

try:
    from samples import WIDE_ROLE as BASE, cli, write
    from sarif_schema import assert_valid_sarif
except ImportError:  # tests/ collected as a package
    from tests.samples import WIDE_ROLE as BASE, cli, write
    from tests.sarif_schema import assert_valid_sarif

# BASE: SLS101, SLS201, SLS204 (errors) at 9:11; SLS202 (warning) at 12:11
NEW_STATEMENT = """\
        - Effect: Allow
          Action: sqs:*
          Resource: arn:aws:sqs:us-east-1:123456789012:jobs
"""


def repo(tmp_path, text=BASE):
    return write(tmp_path / "repo", {"serverless.yml": text})


def write_baseline(capsys, root, path, *args):
    r = cli(capsys, root, "--write-baseline", path, *args)
    assert "Traceback" not in r.err
    return r


def test_write_baseline_exits_0_and_writes_sorted_reviewable_json(capsys, tmp_path):
    root = repo(tmp_path)
    r = write_baseline(capsys, root, tmp_path / "b.json")
    assert r.rc == 0
    assert r.out == ""
    assert r.err == f"sls-audit: wrote 4 findings to baseline {tmp_path / 'b.json'}\n"
    data = json.loads((tmp_path / "b.json").read_text())
    assert list(data) == ["version", "tool", "findings"]
    assert (data["version"], data["tool"]) == (1, "sls-audit")
    rows = [(e["rule"], e["file"]) for e in data["findings"]]
    assert rows == [("SLS101", "serverless.yml"), ("SLS201", "serverless.yml"), ("SLS202", "serverless.yml"),
                    ("SLS204", "serverless.yml")]
    assert all(list(e) == ["rule", "file", "fingerprint", "message"] for e in data["findings"])
    findings = cli(capsys, root, "--format", "json").json["findings"]
    assert {(f["rule"], f["fingerprint"], f["message"]) for f in findings} == {
        (e["rule"], e["fingerprint"], e["message"]) for e in data["findings"]}
    # byte-identical when written again
    first = (tmp_path / "b.json").read_bytes()
    write_baseline(capsys, root, tmp_path / "b.json")
    assert (tmp_path / "b.json").read_bytes() == first


def test_write_baseline_leaves_out_suppressed_findings(capsys, tmp_path):
    text = BASE.replace('        - Effect: Allow\n          Action: s3', '        # sls-audit: ignore[SLS202] any tenant bucket\n'
                                                                        '        - Effect: Allow\n          Action: s3')
    root = repo(tmp_path, text)
    write_baseline(capsys, root, tmp_path / "b.json")
    data = json.loads((tmp_path / "b.json").read_text())
    assert [e["rule"] for e in data["findings"]] == ["SLS101", "SLS201", "SLS204"]


def test_baseline_accepts_existing_findings(capsys, tmp_path):
    root = repo(tmp_path)
    write_baseline(capsys, root, tmp_path / "b.json")
    r = cli(capsys, root, "--baseline", tmp_path / "b.json", "--format", "json", "--fail-on", "note")
    assert r.rc == 0
    assert r.json["summary"] == {"error": 0, "warning": 0, "note": 0, "suppressed": 4}
    for f in r.json["findings"]:
        assert f["suppressions"] == [{"kind": "external",
                                      "justification": f"accepted in baseline {tmp_path / 'b.json'}"}]


def test_only_new_findings_fail(capsys, tmp_path):
    root = repo(tmp_path)
    write_baseline(capsys, root, tmp_path / "b.json")
    (root / "serverless.yml").write_text(BASE.replace("functions:", NEW_STATEMENT + "functions:"))
    r = cli(capsys, root, "--baseline", tmp_path / "b.json", "--format", "json", "--fail-on", "warning")
    assert r.rc == 1
    new = [(f["rule"], f["line"]) for f in r.json["findings"] if not f["suppressed"]]
    assert new == [("SLS201", 15)]
    assert r.json["summary"]["suppressed"] == 4


def test_baseline_survives_inserted_lines_and_reordered_statements(capsys, tmp_path):
    root = repo(tmp_path)
    write_baseline(capsys, root, tmp_path / "b.json")
    first, second = BASE.split("        - Effect: Allow\n")[1:]
    head = BASE.split("        - Effect: Allow\n")[0]
    second, tail = second.split("functions:")
    moved = "# moved things around\n\n" + head + "        - Effect: Allow\n" + second + "        - Effect: Allow\n" + \
        first + "functions:" + tail
    (root / "serverless.yml").write_text(moved)
    r = cli(capsys, root, "--baseline", tmp_path / "b.json", "--format", "json", "--fail-on", "note")
    assert r.rc == 0, r.out
    lines = sorted({f["line"] for f in r.json["findings"]})
    assert lines == [11, 14]          # both statements moved
    assert all(f["suppressed"] for f in r.json["findings"])


def test_stale_entry_is_sls007_at_its_line(capsys, tmp_path):
    root = repo(tmp_path)
    write_baseline(capsys, root, root / "sls-audit-baseline.json")
    text = BASE.replace('        - Effect: Allow\n          Action: s3:GetObject\n          Resource: "*"\n', "")
    (root / "serverless.yml").write_text(text)
    r = cli(capsys, root, "--baseline", root / "sls-audit-baseline.json", "--format", "json")
    assert r.rc == 0
    [stale] = [f for f in r.json["findings"] if f["rule"] == "SLS007"]
    lines = (root / "sls-audit-baseline.json").read_text().splitlines()
    entry_line = next(i for i, ln in enumerate(lines, 1) if '"SLS202"' in ln) - 1   # the `{` of the entry
    assert (stale["file"], stale["line"], stale["severity"], stale["suppressed"]) == (
        "sls-audit-baseline.json", entry_line, "note", False)
    assert stale["message"].startswith("baseline entry SLS202 in serverless.yml matches no finding any more")
    assert [f["rule"] for f in r.json["findings"] if not f["suppressed"]] == ["SLS007"]


def test_entries_of_rules_that_did_not_run_are_not_stale(capsys, tmp_path):
    root = repo(tmp_path)
    write_baseline(capsys, root, tmp_path / "b.json")
    r = cli(capsys, root, "--baseline", tmp_path / "b.json", "--format", "json", "--select", "SLS202,SLS007")
    assert [(f["rule"], f["suppressed"]) for f in r.json["findings"]] == [("SLS202", True)]


def test_rewriting_a_baseline_while_reading_it_keeps_its_entries(capsys, tmp_path):
    root = repo(tmp_path)
    write_baseline(capsys, root, tmp_path / "b.json")
    before = (tmp_path / "b.json").read_bytes()
    write_baseline(capsys, root, tmp_path / "b.json", "--baseline", tmp_path / "b.json")
    assert (tmp_path / "b.json").read_bytes() == before


def test_sarif_with_baseline(capsys, tmp_path):
    root = repo(tmp_path)
    write_baseline(capsys, root, root / "baseline.json")
    (root / "serverless.yml").write_text(BASE.replace("functions:", NEW_STATEMENT + "functions:"))
    r = cli(capsys, root, "--baseline", root / "baseline.json", "--format", "sarif")
    log = json.loads(r.out)
    assert_valid_sarif(log)
    states = sorted((res["ruleId"], res["baselineState"], bool(res.get("suppressions")))
                    for res in log["runs"][0]["results"])
    assert states == [("SLS101", "unchanged", True), ("SLS201", "new", False), ("SLS201", "unchanged", True),
                      ("SLS202", "unchanged", True), ("SLS204", "unchanged", True)]
    sup = next(res["suppressions"] for res in log["runs"][0]["results"] if res.get("suppressions"))
    assert sup == [{"kind": "external", "justification": f"accepted in baseline {root / 'baseline.json'}"}]


BAD_BASELINES = {
    "not json": ('{"version": 1,\n  "findings": [\n', "b.json:3:1: not a baseline (invalid JSON: "),
    "another tool": ('{"version": 1, "tool": "other", "findings": []}', "b.json: not an sls-audit baseline"),
    "version": ('{"tool": "sls-audit",\n "version": 7, "findings": []}',
                "b.json:2: baseline version 7 is not supported (this sls-audit reads version 1)"),
    "entry": ('{"version": 1, "tool": "sls-audit", "findings": [\n {"rule": "SLS201"}\n]}',
              'b.json:2: a baseline entry needs string "rule", "file" and "fingerprint" fields'),
    "binary": ("\x00\x01", "b.json:1:1: not a baseline (invalid JSON: binary file"),
}


@pytest.mark.parametrize("case", sorted(BAD_BASELINES))
def test_malformed_baseline_exits_2_naming_file_and_line(capsys, tmp_path, case):
    text, message = BAD_BASELINES[case]
    root = repo(tmp_path)
    (tmp_path / "b.json").write_text(text)
    r = cli(capsys, root, "--baseline", tmp_path / "b.json")
    assert r.rc == 2
    assert r.out == ""
    assert r.err.startswith(f"sls-audit: {tmp_path}/{message}"), r.err
    assert "Traceback" not in r.err


def test_missing_baseline_exits_2(capsys, tmp_path):
    r = cli(capsys, repo(tmp_path), "--baseline", tmp_path / "none.json")
    assert r.rc == 2
    assert r.err == f"sls-audit: {tmp_path / 'none.json'}: cannot read the baseline: No such file or directory\n"


def test_unwritable_baseline_exits_2(capsys, tmp_path):
    r = cli(capsys, repo(tmp_path), "--write-baseline", tmp_path / "no" / "dir" / "b.json")
    assert r.rc == 2
    assert "cannot write" in r.err


def test_write_baseline_when_nothing_can_be_analyzed(capsys, tmp_path):
    root = write(tmp_path / "repo", {"serverless.yml": "service: x\n  bad: [\n"})
    r = cli(capsys, root, "--write-baseline", tmp_path / "b.json")
    assert r.rc == 2
    assert not (tmp_path / "b.json").exists()


# --- matching, without the command line -----------------------------------------------------

def _finding(rule, fp, line):
    return Finding(rule=rule, name="x", severity="error", message=f"m{line}", file="s.yml", line=line, column=1,
                   end_line=line, end_column=1, fingerprint=fp)


def test_each_entry_absorbs_one_finding():
    a, b = _finding("SLS201", "f1", 3), _finding("SLS201", "f1", 9)
    stale = apply([a, b], Baseline("b.json", [Entry("SLS201", "s.yml", "f1", "m", 4),
                                               Entry("SLS202", "s.yml", "f2", "m", 9)]))
    assert [bool(a.suppressions), bool(b.suppressions)] == [True, False]
    assert [(e.rule, e.line) for e in stale] == [("SLS202", 9)]


def test_render_is_sorted_by_file_rule_fingerprint():
    fs = [_finding("SLS202", "b", 1), _finding("SLS201", "c", 2), _finding("SLS201", "a", 3)]
    fs[0].file = "a.yml"
    data = json.loads(render(fs))
    assert [(e["file"], e["rule"], e["fingerprint"]) for e in data["findings"]] == [
        ("a.yml", "SLS202", "b"), ("s.yml", "SLS201", "a"), ("s.yml", "SLS201", "c")]


def test_stale_entries_can_be_suppressed_by_config(capsys, tmp_path):
    root = repo(tmp_path)
    (tmp_path / "b.json").write_text('{"version": 1, "tool": "sls-audit", "findings": [\n'
                                     '  {"rule": "SLS202", "file": "gone.yml", "fingerprint": "0", "message": ""}\n]}\n')
    (root / ".sls-audit.yml").write_text("suppress:\n  - rule: SLS007\n    reason: old services are deleted next week\n")
    r = cli(capsys, root, "--baseline", tmp_path / "b.json", "--format", "json", "--select", "SLS007,SLS202")
    assert [(f["rule"], f["line"], f["suppressed"]) for f in r.json["findings"]] == [
        ("SLS007", 2, True), ("SLS202", 12, False)]
    assert r.json["findings"][0]["file"] == (tmp_path / "b.json").resolve().as_posix()


@pytest.mark.parametrize("layout", ["compact", "odd"])
def test_entry_lines_whatever_the_layout(tmp_path, layout):
    from analyzer.baseline import read

    if layout == "compact":
        text = ('{"version": 1, "tool": "sls-audit", "findings": [{"rule": "A", "file": "f", "fingerprint": "1"},\n'
                '\n  {"fingerprint": "2", "rule": "B", "file": "f"}, {"rule": "C", "file": "f", "fingerprint": "3"}]}')
        want = [1, 3, 3]
    else:   # a duplicated key: JSON keeps the last value, the lines come from the marks
        text = ('{"version": 1, "tool": "sls-audit", "findings": [\n {"rule": "A", "file": "f", "fingerprint": "0",\n'
                '  "fingerprint": "1"},\n {"rule": "B", "file": "f", "fingerprint": "2"}]}')
        want = [2, 4]
    (tmp_path / "b.json").write_text(text)
    got = read(tmp_path / "b.json").entries
    assert [(e.rule, e.line) for e in got] == list(zip("ABC", want))
    assert got[0].fingerprint == "1"
