"""Inline suppressions: `# sls-audit: ignore[...] reason` and `ignore-file[...]`, and SLS006."""
from __future__ import annotations

import json
import textwrap

import pytest

from analyzer.loaders.comments import scan

try:
    from samples import WIDE_ROLE as BASE, cli, write
except ImportError:  # tests/ collected as a package
    from tests.samples import WIDE_ROLE as BASE, cli, write



def findings(capsys, root, *args) -> tuple[int, list[tuple]]:
    r = cli(capsys, root, "--format", "json", *args)
    assert "Traceback" not in r.err
    return r.rc, [(f["rule"], f["line"], f["suppressed"]) for f in r.json["findings"]]


def with_lines(text: str, edits: dict[int, str]) -> str:
    """Append a trailing comment to line N, or insert an own-line comment before it (key -N)."""
    lines = text.splitlines()
    for n in sorted(edits, key=abs, reverse=True):
        if n > 0:
            lines[n - 1] += "  " + edits[n]
        else:
            indent = len(lines[-n - 1]) - len(lines[-n - 1].lstrip())
            lines.insert(-n - 1, " " * indent + edits[n])
    return "\n".join(lines) + "\n"


def test_base_repository_fails(capsys, tmp_path):
    rc, got = findings(capsys, write(tmp_path, {"serverless.yml": BASE}))
    assert rc == 1
    assert got == [("SLS101", 9, False), ("SLS201", 9, False), ("SLS204", 9, False), ("SLS202", 12, False)]


def test_own_line_comment_applies_to_the_next_line(capsys, tmp_path):
    text = with_lines(BASE, {-9: "# sls-audit: ignore[SLS201,SLS204,SLS101] migration job, removed in Q3"})
    rc, got = findings(capsys, write(tmp_path, {"serverless.yml": text}))
    # the comment took line 9: the statement now starts at 10
    assert got == [("SLS101", 10, True), ("SLS201", 10, True), ("SLS204", 10, True), ("SLS202", 13, False)]
    assert rc == 0   # SLS202 is a warning; suppressed errors never fail the run


def test_trailing_comment_on_a_line_inside_the_finding(capsys, tmp_path):
    # beside `Resource: "*"` (line 14), inside the statement whose finding starts at 12
    text = with_lines(BASE, {14: "# sls-audit: ignore[SLS202] tenants' buckets are named at run time"})
    rc, got = findings(capsys, write(tmp_path, {"serverless.yml": text}), "--fail-on", "warning")
    assert ("SLS202", 12, True) in got
    assert ("SLS201", 9, False) in got
    assert rc == 1


def test_prefix_and_file_scope(capsys, tmp_path):
    text = "# sls-audit: ignore-file[SLS2] IAM reviewed by the platform team (SEC-12)\n" + BASE
    rc, got = findings(capsys, write(tmp_path, {"serverless.yml": text}))
    assert got == [("SLS101", 10, False), ("SLS201", 10, True), ("SLS204", 10, True), ("SLS202", 13, True)]
    assert rc == 1   # SLS101 is not covered by the prefix SLS2


def test_innermost_finding_only(capsys, tmp_path):
    """A comment inside a statement reaches that statement's finding, not the enclosing block's."""
    text = BASE.replace("      statements:\n", "      managedPolicies:\n        - arn:aws:iam::aws:policy/AdministratorAccess\n"
                                               "      statements:\n")
    root = write(tmp_path, {"serverless.yml": with_lines(text, {12: "# sls-audit: ignore[SLS201] migration job"})})
    _, got = findings(capsys, root)
    sls201 = sorted((line, s) for rule, line, s in got if rule == "SLS201")
    assert sls201 == [(3, False), (11, True)], got    # the managed policy's finding on `provider` stays


def test_suppressed_findings_are_kept_with_their_justification(capsys, tmp_path):
    text = with_lines(BASE, {-9: "# sls-audit: ignore[SLS201] migration job, removed in Q3"})
    r = cli(capsys, write(tmp_path, {"serverless.yml": text}), "--format", "json")
    [f] = [f for f in r.json["findings"] if f["rule"] == "SLS201"]
    assert f["suppressions"] == [{"kind": "inSource", "justification": "migration job, removed in Q3"}]
    assert r.json["summary"]["suppressed"] == 1


SLS006_CASES = {
    "no reason": ({-9: "# sls-audit: ignore[SLS201,SLS204,SLS101]"}, 9,
                  "suppression ignore[SLS201,SLS204,SLS101]: it gives no reason: say why the finding does not apply"),
    "unused": ({13: "# sls-audit: ignore[SLS201] not needed any more"}, 13,
               "suppression ignore[SLS201]: SLS201 suppresses nothing on line 13"),
    "unknown id": ({13: "# sls-audit: ignore[SLS2O1] typo"}, 13,
                   "suppression ignore[SLS2O1]: no rule has the id SLS2O1"),
    "malformed": ({13: "# sls-audit: ignroe[SLS201] typo"}, 13,
                  ("'sls-audit: ignroe[SLS201] typo' is not a suppression: write `# sls-audit: ignore[SLS201] "
                   "reason` (this line or the next) or `# sls-audit: ignore-file[SLS201] reason` (the whole file)")),
    "empty ids": ({13: "# sls-audit: ignore[] why"}, 13,
                  "'sls-audit: ignore[] why' names no rule: list rule ids or prefixes, e.g. ignore[SLS201]"),
    "unused file scope": ({1: "# sls-audit: ignore-file[SLS3] no endpoints here"}, 1,
                          "suppression ignore-file[SLS3]: SLS3 suppresses nothing in this file"),
}


@pytest.mark.parametrize("case", sorted(SLS006_CASES))
def test_sls006(capsys, tmp_path, case):
    edits, line, message = SLS006_CASES[case]
    root = write(tmp_path, {"serverless.yml": with_lines(BASE, edits)})
    r = cli(capsys, root, "--format", "json")
    sls006 = [(f["line"], f["severity"], f["message"]) for f in r.json["findings"] if f["rule"] == "SLS006"]
    assert sls006 == [(line, "note", message)]


def test_no_reason_still_suppresses(capsys, tmp_path):
    root = write(tmp_path, {"serverless.yml": with_lines(BASE, {-9: "# sls-audit: ignore[SLS2,SLS101]"})})
    rc, got = findings(capsys, root)
    assert rc == 0
    assert [g for g in got if not g[2]] == [("SLS006", 9, False), ("SLS202", 13, False)]


def test_deselected_rules_do_not_make_a_suppression_unused(capsys, tmp_path):
    root = write(tmp_path, {"serverless.yml": with_lines(BASE, {-9: "# sls-audit: ignore[SLS201] migration job"})})
    _, got = findings(capsys, root, "--select", "SLS202,SLS006")
    assert got == [("SLS202", 13, False)]
    # with SLS201 running but the comment moved away from its finding, it is unused
    root2 = write(tmp_path / "b", {"serverless.yml": with_lines(BASE, {15: "# sls-audit: ignore[SLS201] migration job"})})
    _, got = findings(capsys, root2, "--select", "SLS201,SLS006")
    assert got == [("SLS201", 9, False), ("SLS006", 15, False)]


def test_sls006_can_be_ignored_and_reweighted(capsys, tmp_path):
    root = write(tmp_path, {"serverless.yml": with_lines(BASE, {13: "# sls-audit: ignore[SLS201] stale"})})
    _, got = findings(capsys, root, "--ignore", "SLS006")
    assert "SLS006" not in {g[0] for g in got}
    (root / ".sls-audit.yml").write_text("rules:\n  SLS006:\n    severity: error\n")
    r = cli(capsys, root, "--format", "json", "--select", "SLS006,SLS201")
    assert r.rc == 1
    assert [(f["rule"], f["severity"]) for f in r.json["findings"] if f["rule"] == "SLS006"] == [("SLS006", "error")]


def test_sls006_itself_can_be_suppressed_for_a_file(capsys, tmp_path):
    text = "# sls-audit: ignore-file[SLS006] generated file, comments kept from the template\n" + \
        with_lines(BASE, {13: "# sls-audit: ignore[SLS201]"})
    _, got = findings(capsys, write(tmp_path, {"serverless.yml": text}))
    assert [g for g in got if g[0] == "SLS006"] == [("SLS006", 14, True)]


def test_config_suppression_and_comment_both_recorded(capsys, tmp_path):
    root = write(tmp_path, {
        "serverless.yml": with_lines(BASE, {-9: "# sls-audit: ignore[SLS201] migration job"}),
        ".sls-audit.yml": "suppress:\n  - rule: SLS201\n    reason: tracked in JIRA-1\n",
    })
    r = cli(capsys, root, "--format", "json")
    [f] = [f for f in r.json["findings"] if f["rule"] == "SLS201"]
    assert f["suppressions"] == [{"kind": "external", "justification": "tracked in JIRA-1"},
                                 {"kind": "inSource", "justification": "migration job"}]
    assert "SLS006" not in {x["rule"] for x in r.json["findings"]}


def test_comment_in_an_included_file(capsys, tmp_path):
    root = write(tmp_path, {
        "serverless.yml": "service: reports\nprovider:\n  name: aws\n  iam:\n    role:\n"
                          "      statements: ${file(./iam.yml)}\nfunctions:\n  build:\n    handler: h.build\n",
        "iam.yml": "- Effect: Allow  # sls-audit: ignore[SLS201,SLS204,SLS101] migration job\n"
                   "  Action: '*'\n  Resource: '*'\n",
    })
    r = cli(capsys, root, "--format", "json")
    got = {(f["rule"], f["file"], f["line"], f["suppressed"]) for f in r.json["findings"]}
    assert ("SLS201", "iam.yml", 1, True) in got
    assert not [g for g in got if not g[3]], got
    assert r.rc == 0


def test_parse_error_can_be_suppressed_for_the_file(capsys, tmp_path):
    text = "# sls-audit: ignore-file[SLS001] vendored sample, never deployed\nservice: x\nfunctions:\n  a: [\n"
    root = write(tmp_path, {"ok/serverless.yml": BASE, "vendor/serverless.yml": text})
    rc, got = findings(capsys, root, "--select", "SLS001,SLS006")
    assert got == [("SLS001", 5, True)]
    assert rc == 0


# --- the comment scanner ----------------------------------------------------------------------

def test_scan_ignores_text_in_quoted_and_block_scalars():
    text = textwrap.dedent("""\
        a: "x # sls-audit: ignore[SLS201] in quotes"
        b: 'y # sls-audit: ignore[SLS201] in quotes'
        c: |
          z # sls-audit: ignore[SLS201] in a block scalar
        d: 1 # sls-audit: ignore[SLS202] real
        #sls-audit: ignore-file[SLS3, SLS101] - real too
        e: f#sls-audit: ignore[SLS201] not a comment (no space before #)
        """)
    got = [(c.line, c.scope, c.ids, c.reason, c.own_line, c.target) for c in scan(text, "s.yml")]
    assert got == [(5, "line", ("SLS202",), "real", False, 5),
                   (6, "file", ("SLS3", "SLS101"), "real too", True, 7)]


def test_scan_skips_blank_and_comment_lines_to_find_the_target():
    text = "a: 1\n# sls-audit: ignore[SLS201] why\n\n# another comment\nb: 2\n"
    [c] = scan(text, "s.yml")
    assert (c.line, c.target, c.target_text) == (2, 5, "b: 2")


def test_scan_costs_nothing_without_the_marker():
    assert scan("a: 1 # ignore[SLS201]\n", "s.yml") == []


def test_json_output_is_deterministic(capsys, tmp_path):
    root = write(tmp_path, {"serverless.yml": with_lines(BASE, {-9: "# sls-audit: ignore[SLS201]", 13: "# sls-audit: x"})})
    first = cli(capsys, root, "--format", "json").out
    assert first == cli(capsys, root, "--format", "json").out
    assert json.loads(first)["summary"] == {"error": 2, "warning": 1, "note": 2, "suppressed": 1}


# --- handler code ---------------------------------------------------------------------------

PY_SERVICE = 'service: py\nframeworkVersion: "3"\nprovider:\n  name: aws\n  runtime: python3.11\n' \
             'functions:\n  get:\n    handler: handler.get\n'
PY_HANDLER = '''\
import boto3

s3 = boto3.client("s3")


def get(event, context):
    text = "# sls-audit: ignore[SLS210] not a comment"
    s3.put_object(Bucket="b", Key="k", Body=text)
    return s3.get_object(Bucket="b", Key="k")  # sls-audit: ignore[SLS210] the bucket policy grants it
'''


def test_python_handler_comment(capsys, tmp_path):
    root = write(tmp_path, {"serverless.yml": PY_SERVICE, "handler.py": PY_HANDLER})
    r = cli(capsys, root, "--format", "json", "--select", "SLS210,SLS006", "--no-cache")
    got = [(f["rule"], f["file"], f["line"], [s["justification"] for s in f["suppressions"]])
           for f in r.json["findings"]]
    assert got == [("SLS210", "handler.py", 8, []),
                   ("SLS210", "handler.py", 9, ["the bucket policy grants it"])]


def test_javascript_handler_comment_on_its_own_line(capsys, tmp_path):
    import shutil
    from pathlib import Path

    post = Path(__file__).resolve().parent.parent / "fixtures" / "post"
    shutil.copytree(post, tmp_path / "post")
    handler = tmp_path / "post" / "services" / "subscriber" / "handler.js"
    text = handler.read_text()
    text = text.replace("  await ses.send(new SendEmailCommand({",
                        "  // sls-audit: ignore[SLS210] granted by the org-wide SES policy (OPS-7)\n"
                        "  await ses.send(new SendEmailCommand({")
    text = text.replace("console.warn('publicFunction failed',",
                        "console.warn('publicFunction failed // sls-audit: ignore[SLS301] in a string',")
    handler.write_text(text)
    r = cli(capsys, tmp_path / "post", "--format", "json", "--no-cache")
    got = [(f["rule"], f["line"], f["suppressed"]) for f in r.json["findings"]]
    assert got == [("SLS301", 25, False), ("SLS210", 19, True), ("SLS005", 17, False)]
    [sup] = [f["suppressions"] for f in r.json["findings"] if f["rule"] == "SLS210"]
    assert sup == [{"kind": "inSource", "justification": "granted by the org-wide SES policy (OPS-7)"}]
