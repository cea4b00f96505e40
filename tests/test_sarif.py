"""SARIF 2.1.0 output: valid against the official schema, and carrying what code scanning uses."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path
from urllib.parse import unquote, urlparse

import jsonschema
import pytest


try:
    from samples import BROKEN, CYCLE, TS, V3_IAM, cli, write
except ImportError:  # tests/ collected as a package
    from tests.samples import BROKEN, CYCLE, TS, V3_IAM, cli, write
from rules.registry import load_rules

try:
    from sarif_schema import assert_valid_sarif, is_uri_reference, sarif_errors, sarif_schema, sarif_validator
except ImportError:  # tests/ collected as a package
    from tests.sarif_schema import (assert_valid_sarif, is_uri_reference, sarif_errors, sarif_schema,
                                    sarif_validator)

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
CONFIG_NAMES = ("serverless.yml", "serverless.yaml", "serverless.json", "serverless.ts", "serverless.js",
                "serverless-compose.yml", "serverless-compose.yaml")

MIXED = {"svc/serverless.yml": V3_IAM, "broken/serverless.yml": BROKEN, "cyc/serverless.yml": CYCLE,
         "ts/serverless.ts": TS}


def sarif(capsys, path, *args) -> dict:
    r = cli(capsys, path, "--format", "sarif", *args)
    assert r.rc in (0, 1), r.err
    assert "Traceback" not in r.err
    return json.loads(r.out)


def results_by_rule(log) -> dict:
    return {res["ruleId"]: res for res in log["runs"][0]["results"]}


def check_structure(log: dict, root: Path) -> None:
    """What every sls-audit SARIF log must hold, whatever the input."""
    assert_valid_sarif(log)
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file://") and base.endswith("/")
    assert Path(unquote(urlparse(base).path)) == root.resolve()
    driver = run["tool"]["driver"]
    assert driver["name"] == "sls-audit"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for res in run["results"]:
        assert res["ruleId"], res
        if "ruleIndex" in res:
            assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"]
        assert res["partialFingerprints"] and all(res["partialFingerprints"].values())
        locations = res["locations"] + res.get("relatedLocations", [])
        assert res["locations"]
        for loc in locations:
            phys = loc["physicalLocation"]
            art = phys["artifactLocation"]
            assert art["uriBaseId"] == "%SRCROOT%"
            uri = art["uri"]
            assert is_uri_reference(uri) and not urlparse(uri).scheme and not uri.startswith("/"), uri
            if uri != ".":
                assert (root / unquote(uri)).exists(), uri
            region = phys["region"]
            assert region["startLine"] >= 1 and region["startColumn"] >= 1
            assert region.get("endLine", region["startLine"]) >= region["startLine"]
        if "relatedLocations" in res:
            rel_ids = [loc["id"] for loc in res["relatedLocations"]]
            assert len(rel_ids) == len(set(rel_ids))
        for sup in res.get("suppressions", []):
            assert sup["kind"] in ("inSource", "external")
            if sup["kind"] == "inSource":   # a comment: where it is written
                art = sup["location"]["physicalLocation"]["artifactLocation"]
                assert art["uriBaseId"] == "%SRCROOT%" and (root / unquote(art["uri"])).exists()


def duplicate_fingerprints(log: dict) -> list[list[dict]]:
    """Groups of results that share partial fingerprints (code scanning would merge them)."""
    groups: dict[str, list] = {}
    for res in log["runs"][0]["results"]:
        groups.setdefault(json.dumps(res["partialFingerprints"], sort_keys=True), []).append(res)
    return [g for g in groups.values() if len(g) > 1]


# --- the validator itself -------------------------------------------------------------------

def test_schema_is_the_official_draft_04_one():
    schema = sarif_schema()
    assert schema["$schema"].startswith("http://json-schema.org/draft-04/schema")
    assert "sarif-schema-2.1.0" in schema["id"]
    assert isinstance(sarif_validator(), jsonschema.Draft4Validator)


def test_validator_rejects_invalid_logs(capsys, tmp_path):
    log = sarif(capsys, write(tmp_path, {"serverless.yml": V3_IAM}))
    assert sarif_errors(log) == []
    bad_level = json.loads(json.dumps(log))
    bad_level["runs"][0]["results"][0]["level"] = "warn"
    assert sarif_errors(bad_level)
    bad_line = json.loads(json.dumps(log))
    bad_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert sarif_errors(bad_line)
    bad_uri = json.loads(json.dumps(log))
    bad_uri["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "a b.yml"
    assert sarif_errors(bad_uri)
    no_version = {k: v for k, v in log.items() if k != "version"}
    assert sarif_errors(no_version)


# --- tmp repositories -----------------------------------------------------------------------

REPOS = {
    "one-warning": {"serverless.yml": V3_IAM},
    "mixed": MIXED,
    "clean": {"serverless.yml": "service: ok\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: h.a\n"},
    "compose": {
        "serverless-compose.yml": "services:\n  users:\n    path: users\n  orders:\n    path: orders\n"
                                  "    params:\n      usersArn: ${users.UserTopicArn}\n",
        "users/serverless.yml": V3_IAM,
        "orders/serverless.yml": "service: orders\nprovider:\n  name: aws\nfunctions:\n  place:\n"
                                 "    handler: h.place\n    environment:\n      T: ${param:usersArn}\n",
    },
    "odd paths": {"my service/serverless.yml": V3_IAM, "sérvice#1/serverless.yml": BROKEN,
                  "100%/serverless.yml": CYCLE},
    "suppressed": {"svc/serverless.yml": V3_IAM,
                   ".sls-audit.yml": "suppress:\n  - rule: SLS005\n    reason: tracked in JIRA-1\n"},
}


@pytest.mark.parametrize("name", sorted(REPOS))
def test_tmp_repo_sarif_is_valid(capsys, tmp_path, name):
    root = write(tmp_path / "repo", REPOS[name])
    log = sarif(capsys, root, "--exit-zero")
    check_structure(log, root)


def test_odd_paths_are_percent_encoded(capsys, tmp_path):
    root = write(tmp_path / "repo", REPOS["odd paths"])
    log = sarif(capsys, root, "--exit-zero")
    uris = sorted(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  for res in log["runs"][0]["results"])
    assert uris == ["100%25/serverless.yml", "my%20service/serverless.yml", "s%C3%A9rvice%231/serverless.yml"]


def test_levels_follow_severities(capsys, tmp_path):
    log = sarif(capsys, write(tmp_path, MIXED))
    levels = {rid: res["level"] for rid, res in results_by_rule(log).items()}
    assert levels == {"SLS001": "error", "SLS002": "note", "SLS004": "note", "SLS005": "warning"}


def test_results_match_the_json_report(capsys, tmp_path):
    root = write(tmp_path, MIXED)
    log = sarif(capsys, root)
    findings = json.loads(cli(capsys, root, "--format", "json").out)["findings"]
    results = log["runs"][0]["results"]
    assert len(results) == len(findings)
    for res, f in zip(results, findings):
        phys = res["locations"][0]["physicalLocation"]
        assert res["ruleId"] == f["rule"]
        assert res["message"]["text"] == f["message"]
        assert phys["artifactLocation"]["uri"] == f["file"]
        assert (phys["region"]["startLine"], phys["region"]["startColumn"]) == (f["line"], f["column"])
        assert f["fingerprint"] in res["partialFingerprints"].values()


def test_physical_location_of_a_finding(capsys, tmp_path):
    root = write(tmp_path, MIXED)
    res = results_by_rule(sarif(capsys, root))["SLS005"]
    phys = res["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"] == {"uri": "svc/serverless.yml", "uriBaseId": "%SRCROOT%"}
    assert (phys["region"]["startLine"], phys["region"]["startColumn"]) == (9, 5)
    assert (root / "svc/serverless.yml").read_text().splitlines()[8][4:].startswith("iam:")


def test_logical_location_for_key_paths(capsys, tmp_path):
    results = results_by_rule(sarif(capsys, write(tmp_path, MIXED)))
    assert results["SLS005"]["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "functions.createUser.iam", "kind": "member"}]
    # a file-level problem has no key path, hence no logical location
    assert "logicalLocations" not in results["SLS004"]["locations"][0]


def test_columns_count_unicode_code_points(capsys, tmp_path):
    # an emoji is 1 code point, 2 UTF-16 units and 4 UTF-8 bytes: only code points give column 8
    root = write(tmp_path, {"serverless.yml": textwrap.dedent("""\
        service: emoji
        provider:
          name: aws
        custom:
          "😀": ${self:custom.nothing}
        functions:
          a:
            handler: h.a
            environment:
              X: ${self:custom.😀}
        """)})
    log = sarif(capsys, root)
    assert log["runs"][0]["columnKind"] == "unicodeCodePoints"
    res = [r for r in log["runs"][0]["results"] if r["ruleId"] == "SLS002"]
    assert res, log["runs"][0]["results"]
    regions = {(r["locations"][0]["physicalLocation"]["region"]["startLine"],
                r["locations"][0]["physicalLocation"]["region"]["startColumn"]) for r in res}
    assert (5, 8) in regions, regions


def test_driver_rules_have_metadata_and_help(capsys, tmp_path):
    log = sarif(capsys, write(tmp_path, {"serverless.yml": V3_IAM}))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    registered = load_rules()
    assert [r["id"] for r in rules] == sorted(r.id for r in registered)
    by_id = {r.id: r for r in registered}
    for r in rules:
        assert r["name"] == by_id[r["id"]].name
        assert r["shortDescription"]["text"]
        assert r["fullDescription"]["text"]
        assert r["help"]["text"]
        assert "What it finds" in r["help"]["text"] and "Why it matters" in r["help"]["text"]
        assert r["help"].get("markdown", r["help"]["text"])
        assert urlparse(r["helpUri"]).scheme == "https"
        assert r["id"] in r["helpUri"]
        assert r["defaultConfiguration"]["level"] == by_id[r["id"]].severity


def test_all_rules_listed_even_without_results(capsys, tmp_path):
    log = sarif(capsys, write(tmp_path, REPOS["clean"]))
    assert log["runs"][0]["results"] == []
    assert {"SLS000", "SLS001", "SLS002", "SLS004", "SLS005"} <= {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_run_properties_carry_coverage(capsys, tmp_path):
    root = write(tmp_path, MIXED)
    log = sarif(capsys, root)
    coverage = json.loads(cli(capsys, root, "--format", "json").out)["coverage"]
    assert log["runs"][0]["properties"]["coverage"] == coverage
    assert coverage["services"] == 2 and coverage["functions"] == 2


def test_suppressed_result_is_kept_with_external_suppression(capsys, tmp_path):
    root = write(tmp_path, REPOS["suppressed"])
    log = sarif(capsys, root, "--fail-on", "note")
    [res] = log["runs"][0]["results"]
    assert res["suppressions"] == [{"kind": "external", "justification": "tracked in JIRA-1"}]


# --- fingerprints ---------------------------------------------------------------------------

def _fingerprints(log) -> dict:
    return {res["ruleId"]: (res["partialFingerprints"], res["locations"][0]["physicalLocation"]["region"]["startLine"])
            for res in log["runs"][0]["results"]}


def test_fingerprint_survives_inserted_blank_lines(capsys, tmp_path):
    root = write(tmp_path, MIXED)
    before = _fingerprints(sarif(capsys, root))
    for rel in ("svc/serverless.yml", "broken/serverless.yml", "cyc/serverless.yml"):
        p = root / rel
        p.write_text("\n\n\n# a comment\n\n" + p.read_text(encoding="utf-8"), encoding="utf-8")
    after = _fingerprints(sarif(capsys, root))
    assert set(after) == set(before) == {"SLS001", "SLS002", "SLS004", "SLS005"}
    for rid in ("SLS001", "SLS002", "SLS005"):
        assert after[rid][1] == before[rid][1] + 5          # the finding moved...
        assert after[rid][0] == before[rid][0], rid          # ...its fingerprint did not


def test_fingerprint_survives_reordering_functions(capsys, tmp_path):
    two = V3_IAM + "  getUser:\n    handler: src/get.handler\n"
    root = write(tmp_path, {"serverless.yml": two})
    before = _fingerprints(sarif(capsys, root))["SLS005"][0]
    reordered = V3_IAM.replace("functions:\n", "functions:\n  getUser:\n    handler: src/get.handler\n")
    (root / "serverless.yml").write_text(reordered, encoding="utf-8")
    after = _fingerprints(sarif(capsys, root))["SLS005"]
    assert after[1] == 11
    assert after[0] == before


def test_fingerprint_differs_between_functions_and_files(capsys, tmp_path):
    two = V3_IAM + "  deleteUser:\n    handler: src/del.handler\n    iam:\n      role:\n        statements: []\n"
    root = write(tmp_path, {"a/serverless.yml": two, "b/serverless.yml": V3_IAM.replace("users", "people")})
    log = sarif(capsys, root)
    fps = [json.dumps(r["partialFingerprints"]) for r in log["runs"][0]["results"] if r["ruleId"] == "SLS005"]
    assert len(fps) == 3 and len(set(fps)) == 3


PLUGIN_KEYS_WITHOUT_PLUGIN = """\
service: media
frameworkVersion: '3'
provider:
  name: aws
functions:
  resize:
    handler: src/resize.handler
    iamRoleStatementsInherit: true
    iamRoleStatements:
      - Effect: Allow
        Action: s3:GetObject
        Resource: arn:aws:s3:::media/*
"""


def test_two_ignored_keys_of_one_function_have_distinct_fingerprints(capsys, tmp_path):
    log = sarif(capsys, write(tmp_path, {"serverless.yml": PLUGIN_KEYS_WITHOUT_PLUGIN}))
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "SLS005"]
    assert len(results) == 2
    assert duplicate_fingerprints(log) == []


# --- every fixture repository ---------------------------------------------------------------

def _has_config(folder: Path) -> bool:
    return any(p.name in CONFIG_NAMES for p in folder.rglob("serverless*"))


def _fixture_dirs() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return [d for d in sorted(FIXTURES.iterdir()) if d.is_dir() and _has_config(d)]


@pytest.mark.parametrize("fixture", _fixture_dirs(), ids=lambda d: d.name)
def test_fixture_sarif_is_valid(capsys, fixture):
    r = cli(capsys, fixture, "--format", "sarif")
    # 2 is legitimate for a fixture with nothing readable, but the report is still written
    assert r.rc in (0, 1, 2), r.err
    assert "Traceback" not in r.err
    log = json.loads(r.out)
    check_structure(log, fixture)


@pytest.mark.parametrize("fixture", _fixture_dirs(), ids=lambda d: d.name)
def test_fixture_fingerprints_are_distinct(capsys, fixture):
    log = json.loads(cli(capsys, fixture, "--format", "sarif").out)
    dups = duplicate_fingerprints(log)
    assert dups == [], [[(r["ruleId"], r["message"]["text"]) for r in g] for g in dups]


# --- suppressions, security severity, help ----------------------------------------------------

def test_inline_suppression_is_in_source_with_the_comment_location(capsys):
    root = FIXTURES / "rules" / "SLS006" / "good"
    log = sarif(capsys, root)
    check_structure(log, root)
    by_rule = {res["ruleId"]: res for res in log["runs"][0]["results"]}
    assert set(by_rule) == {"SLS101", "SLS201", "SLS202", "SLS204"}
    assert by_rule["SLS201"]["suppressions"] == [{
        "kind": "inSource",
        "justification": "the migration job needs admin until Q3 (SEC-12)",
        "location": {"physicalLocation": {
            "artifactLocation": {"uri": "serverless.yml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 9, "startColumn": 9, "endLine": 9, "endColumn": 98}}},
    }]
    line = (root / "serverless.yml").read_text().splitlines()[8]
    assert line[8:].startswith("# sls-audit: ignore[") and len(line) + 1 == 98
    assert by_rule["SLS202"]["suppressions"][0]["justification"] == "reads any tenant's bucket, named at run time"


def test_unused_suppressions_are_notes_at_the_comment(capsys):
    root = FIXTURES / "rules" / "SLS006" / "bad"
    log = sarif(capsys, root)
    check_structure(log, root)
    notes = [(res["level"], res["locations"][0]["physicalLocation"]["region"]["startLine"])
             for res in log["runs"][0]["results"] if res["ruleId"] == "SLS006"]
    assert notes == [("note", 1), ("note", 11), ("note", 13), ("note", 18), ("note", 21), ("note", 34)]


def test_security_severity_comes_from_the_one_table(capsys, tmp_path):
    from rules.security import SECURITY_SEVERITY

    log = sarif(capsys, write(tmp_path, REPOS["clean"]))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert set(SECURITY_SEVERITY) <= set(rules)
    for rid, r in rules.items():
        props = r["properties"]
        if rid in SECURITY_SEVERITY:
            assert props["security-severity"] == f"{SECURITY_SEVERITY[rid]:.1f}"
            assert 0.0 < float(props["security-severity"]) <= 10.0
            assert props["tags"][0] == "security" and props["tags"].count("security") == 1
        else:
            assert "security-severity" not in props and "security" not in props["tags"], rid
    assert rules["SLS204"]["properties"]["security-severity"] == "9.1"
    assert rules["SLS001"]["properties"] == {"tags": ["core"]}


def test_security_severity_is_documented(capsys):
    from rules.security import SECURITY_SEVERITY, rating

    index = (REPO_ROOT / "docs" / "rules" / "index.md").read_text(encoding="utf-8")
    for rid, score in SECURITY_SEVERITY.items():
        assert f"| {score:.1f} ({rating(score)}) |" in index.split(f"[{rid}]")[1].splitlines()[0]
        page = (REPO_ROOT / "docs" / "rules" / f"{rid}.md").read_text(encoding="utf-8")
        assert f"Security severity: **{score:.1f}** ({rating(score)})" in page


def test_help_uri_points_at_the_generated_rule_page(capsys, tmp_path):
    log = sarif(capsys, write(tmp_path, REPOS["clean"]))
    for r in log["runs"][0]["tool"]["driver"]["rules"]:
        assert r["helpUri"].endswith(f"/docs/rules/{r['id']}.md")
        page = REPO_ROOT / "docs" / "rules" / f"{r['id']}.md"
        assert page.read_text(encoding="utf-8") == r["help"]["markdown"]


def test_stale_baseline_outside_the_root_is_a_valid_absolute_uri(capsys, tmp_path):
    root = write(tmp_path / "repo", {"serverless.yml": V3_IAM})
    baseline = tmp_path / "elsewhere" / "b.json"
    baseline.parent.mkdir()
    baseline.write_text('{"version": 1, "tool": "sls-audit", "findings": [\n'
                        '  {"rule": "SLS201", "file": "gone.yml", "fingerprint": "0", "message": ""}\n]}\n')
    log = sarif(capsys, root, "--baseline", baseline)
    assert_valid_sarif(log)
    [stale] = [res for res in log["runs"][0]["results"] if res["ruleId"] == "SLS007"]
    phys = stale["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"] == {"uri": baseline.resolve().as_uri()}
    assert phys["region"]["startLine"] == 2
    assert stale["baselineState"] == "new"


def _rule_fixture_repos() -> list[Path]:
    out = []
    for rule in sorted((FIXTURES / "rules").iterdir()):
        for kind in ("bad", "good"):
            folder = rule / kind
            if folder.is_dir():
                out += [folder] if any((folder / n).exists() for n in CONFIG_NAMES) else \
                    sorted(p for p in folder.iterdir() if p.is_dir())
    return out


@pytest.mark.parametrize("repo", _rule_fixture_repos(), ids=lambda p: "/".join(p.parts[-3:]))
def test_rule_fixture_sarif_is_valid(capsys, repo):
    r = cli(capsys, repo, "--format", "sarif", "--no-cache")
    assert r.rc in (0, 1, 2), r.err
    assert "Traceback" not in r.err
    log = json.loads(r.out)
    check_structure(log, repo)
    assert duplicate_fingerprints(log) == []
