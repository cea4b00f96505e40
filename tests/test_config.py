"""Configuration as a user writes it: found upward, validated, merged, and visible in the results."""
from __future__ import annotations

import json

import pytest


try:
    from samples import BROKEN, V3_IAM, cli, write
except ImportError:  # tests/ collected as a package
    from tests.samples import BROKEN, V3_IAM, cli, write

try:
    from sarif_schema import assert_valid_sarif
except ImportError:  # tests/ collected as a package
    from tests.sarif_schema import assert_valid_sarif

PARAM_NAME = """\
service: orders
frameworkVersion: '3'
provider:
  name: aws
functions:
  place:
    handler: src/place.handler
    name: ${param:placeName}
"""


@pytest.fixture
def repo(tmp_path):
    """A repository with one service (`services/users`) whose only finding is an SLS005 warning."""
    return write(tmp_path / "repo", {"services/users/serverless.yml": V3_IAM})


def _graph_nodes(capsys, *args) -> dict:
    r = cli(capsys, "graph", *args, "--format", "json")
    assert r.rc == 0, r.err
    return {n["id"]: n for n in r.json["nodes"]}


# --- where configuration comes from ---------------------------------------------------------

def test_no_config_means_defaults(capsys, repo):
    r = cli(capsys, repo, "--format", "json")
    assert (r.rc, r.rules()) == (0, ["SLS005"])
    assert r.json["findings"][0]["severity"] == "warning"


def test_config_found_upward_from_a_nested_path(capsys, repo):
    write(repo, {".sls-audit.yml": "rules:\n  SLS005:\n    severity: error\n"})
    r = cli(capsys, repo / "services" / "users", "--format", "json")
    assert r.rc == 1
    assert [f["severity"] for f in r.json["findings"]] == ["error"]


def test_config_yaml_extension_is_found_too(capsys, repo):
    write(repo, {".sls-audit.yaml": "framework: v4\n"})
    assert cli(capsys, repo, "--format", "json").rules() == []


def test_nearest_config_wins(capsys, repo):
    write(repo, {".sls-audit.yml": "rules: {SLS005: {severity: error}}\n",
                 "services/.sls-audit.yml": "rules: {SLS005: {severity: note}}\n"})
    r = cli(capsys, repo / "services", "--format", "json")
    assert r.rc == 0
    assert [f["severity"] for f in r.json["findings"]] == ["note"]


def test_pyproject_tool_section(capsys, repo):
    write(repo, {"pyproject.toml": """\
        [project]
        name = "infra"

        [tool.sls-audit]
        fail-on = "warning"

        [tool.sls-audit.rules.SLS005]
        severity = "note"
        """})
    r = cli(capsys, repo / "services" / "users", "--format", "json")
    assert [f["severity"] for f in r.json["findings"]] == ["note"]
    assert r.rc == 0          # a note does not reach fail-on warning
    write(repo, {"pyproject.toml": '[tool.sls-audit]\nfail-on = "note"\n'})
    assert cli(capsys, repo).rc == 1


def test_pyproject_without_the_section_is_not_a_config(capsys, repo):
    write(repo, {"services/pyproject.toml": '[project]\nname = "x"\n',
                 ".sls-audit.yml": "framework: v4\n"})
    # the search goes on past a pyproject.toml without [tool.sls-audit]
    assert cli(capsys, repo / "services", "--format", "json").rules() == []


def test_sls_audit_yml_beats_pyproject_in_the_same_folder(capsys, repo):
    write(repo, {"pyproject.toml": '[tool.sls-audit]\nframework = "v3"\n',
                 ".sls-audit.yml": "framework: v4\n"})
    assert cli(capsys, repo, "--format", "json").rules() == []


def test_explicit_config_file(capsys, repo, tmp_path):
    write(repo, {".sls-audit.yml": "framework: v4\n"})          # would hide SLS005
    explicit = write(tmp_path / "elsewhere", {"strict.yml": "fail-on: warning\n"}) / "strict.yml"
    r = cli(capsys, repo, "--config", explicit, "--format", "json")
    assert r.rules() == ["SLS005"]            # the upward search did not happen
    assert r.rc == 1


def test_explicit_pyproject_config(capsys, repo, tmp_path):
    cfg = write(tmp_path / "cfg", {"pyproject.toml": '[tool.sls-audit]\nframework = "v4"\n'}) / "pyproject.toml"
    assert cli(capsys, repo, "--config", cfg, "--format", "json").rules() == []


def test_explicit_config_that_does_not_exist_exits_2(capsys, repo, tmp_path):
    r = cli(capsys, repo, "--config", tmp_path / "missing.yml")
    assert r.rc == 2
    assert "missing.yml" in r.err
    assert r.out == ""


# --- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, named", [
    ("bogus: 1\n", "bogus"),
    ("failOn: warning\n", "failOn"),
    ("rules:\n  SLS005:\n    sevrity: error\n", "rules.SLS005.sevrity"),
    ("external:\n  servics: [payments]\n", "external.servics"),
    ("suppress:\n  - rule: SLS005\n    resaon: legacy\n", "resaon"),
    ("rules:\n  SLS05:\n    severity: error\n", "SLS05"),
])
def test_unknown_key_exits_2_naming_it(capsys, repo, text, named):
    write(repo, {".sls-audit.yml": text})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert named in r.err
    assert ".sls-audit.yml" in r.err
    assert r.out == ""
    assert "Traceback" not in r.err


def test_unknown_key_in_pyproject_exits_2(capsys, repo):
    write(repo, {"pyproject.toml": '[tool.sls-audit]\nstagee = "prod"\n'})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert "stagee" in r.err and "pyproject.toml" in r.err


@pytest.mark.parametrize("text, named", [
    ('exclude: "x"\n', "exclude"),
    ("framework: v5\n", "framework"),
    ("fail-on: fatal\n", "fail-on"),
    ("rules:\n  SLS005:\n    severity: critical\n", "SLS005"),
    ("rules:\n  SLS005:\n    enabled: 'no'\n", "enabled"),
    ("suppress:\n  - rule: SLS005\n", "reason"),
    ("stage: [prod]\n", "stage"),
])
def test_wrong_type_exits_2_naming_it(capsys, repo, text, named):
    write(repo, {".sls-audit.yml": text})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert named in r.err
    assert r.out == ""


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "key: [unclosed\n"])
def test_config_that_is_not_a_mapping_exits_2(capsys, repo, text):
    write(repo, {".sls-audit.yml": text})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert ".sls-audit.yml" in r.err
    assert "Traceback" not in r.err


def test_broken_yaml_config_names_the_line(capsys, repo):
    write(repo, {".sls-audit.yml": "framework: v4\nexclude: [a\n"})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert ".sls-audit.yml:" in r.err


def test_empty_config_is_fine(capsys, repo):
    write(repo, {".sls-audit.yml": "# nothing yet\n"})
    assert cli(capsys, repo, "--format", "json").rules() == ["SLS005"]


def test_config_error_also_stops_graph(capsys, repo):
    write(repo, {".sls-audit.yml": "bogus: 1\n"})
    r = cli(capsys, "graph", repo)
    assert r.rc == 2 and "bogus" in r.err


# --- extends --------------------------------------------------------------------------------

def test_extends_child_overrides_base_and_lists_merge(capsys, tmp_path):
    root = write(tmp_path / "mono", {
        "services/users/serverless.yml": V3_IAM,
        "services/legacy/serverless.yml": V3_IAM.replace("service: users", "service: legacy"),
        "services/old/serverless.yml": V3_IAM.replace("service: users", "service: old"),
        "shared/base.yml": """\
            stage: staging
            exclude: [services/legacy]
            rules:
              SLS005:
                severity: error
            """,
        ".sls-audit.yml": """\
            extends: shared/base.yml
            stage: prod
            exclude: [services/old]
            """,
    })
    r = cli(capsys, root, "--format", "json")
    # both excludes apply (lists merge), the base's rule setting is inherited
    assert [(f["file"], f["severity"]) for f in r.json["findings"]] == [("services/users/serverless.yml", "error")]
    assert r.rc == 1
    # the child's stage overrides the base's
    nodes = _graph_nodes(capsys, root)
    assert nodes["fn:users.createUser"]["deployed_name"] == "users-prod-createUser"
    assert "svc:legacy" not in nodes and "svc:old" not in nodes


def test_extends_merges_rule_settings_setting_by_setting(capsys, repo):
    write(repo, {"base.yml": "rules:\n  SLS005:\n    severity: error\n",
                 ".sls-audit.yml": "extends: base.yml\nrules:\n  SLS005:\n    enabled: true\n"})
    r = cli(capsys, repo, "--format", "json")
    assert [f["severity"] for f in r.json["findings"]] == ["error"]
    assert r.rc == 1


def test_extends_cycle_exits_2(capsys, repo):
    write(repo, {".sls-audit.yml": "extends: b.yml\n", "b.yml": "extends: .sls-audit.yml\n"})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert "cycle" in r.err


def test_extends_missing_file_exits_2(capsys, repo):
    write(repo, {".sls-audit.yml": "extends: nope.yml\n"})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert "nope.yml" in r.err


def test_unknown_key_in_base_file_is_named(capsys, repo):
    write(repo, {".sls-audit.yml": "extends: base.yml\n", "base.yml": "stagee: prod\n"})
    r = cli(capsys, repo)
    assert r.rc == 2
    assert "stagee" in r.err and "base.yml" in r.err


# --- settings and their effect --------------------------------------------------------------

def test_framework_in_config(capsys, repo):
    write(repo, {".sls-audit.yml": "framework: v4\n"})
    assert cli(capsys, repo, "--format", "json").rules() == []
    # the command line beats the configuration
    assert cli(capsys, repo, "--format", "json", "--framework", "osls").rules() == ["SLS005"]


def test_stage_and_region_in_config(capsys, repo):
    write(repo, {".sls-audit.yml": "stage: prod\nregion: eu-central-1\n"})
    fn = _graph_nodes(capsys, repo)["fn:users.createUser"]
    assert fn["deployed_name"] == "users-prod-createUser"
    assert fn["arn"].startswith("arn:aws:lambda:eu-central-1:")
    assert fn["arn"].endswith(":function:users-prod-createUser")
    assert _graph_nodes(capsys, repo, "--stage", "qa")["fn:users.createUser"]["deployed_name"] == \
        "users-qa-createUser"


def test_params_in_config_and_command_line_precedence(capsys, tmp_path):
    root = write(tmp_path, {"serverless.yml": PARAM_NAME, ".sls-audit.yml": "params:\n  placeName: from-config\n"})
    assert _graph_nodes(capsys, root)["fn:orders.place"]["deployed_name"] == "from-config"
    assert _graph_nodes(capsys, root, "--param", "placeName=from-cli")["fn:orders.place"]["deployed_name"] == \
        "from-cli"


def test_exclude_globs_skip_a_service(capsys, tmp_path):
    root = write(tmp_path, {
        "services/users/serverless.yml": V3_IAM,
        "services/broken/serverless.yml": BROKEN,
        "vendor/x/serverless.yml": BROKEN,
    })
    r = cli(capsys, root, "--format", "json")
    assert r.rc == 1 and sorted(r.rules()) == ["SLS001", "SLS001", "SLS005"]
    write(root, {".sls-audit.yml": "exclude:\n  - services/bro*\n  - vendor\n"})
    r = cli(capsys, root, "--format", "json")
    assert r.rc == 0
    assert r.rules() == ["SLS005"]
    assert r.json["coverage"]["files"] == 1


def test_rule_severity_changes_finding_and_exit_code(capsys, repo):
    assert cli(capsys, repo).rc == 0
    write(repo, {".sls-audit.yml": "rules: {SLS005: {severity: error}}\n"})
    r = cli(capsys, repo, "--format", "json")
    assert [f["severity"] for f in r.json["findings"]] == ["error"]
    assert r.json["summary"]["error"] == 1
    assert r.rc == 1
    sarif = json.loads(cli(capsys, repo, "--format", "sarif").out)
    assert [x["level"] for x in sarif["runs"][0]["results"]] == ["error"]


def test_rule_named_by_name_in_config(capsys, repo):
    write(repo, {".sls-audit.yml": "rules:\n  ignored-by-framework:\n    severity: error\n"})
    r = cli(capsys, repo, "--format", "json")
    assert [f["severity"] for f in r.json["findings"]] == ["error"]


def test_rule_disabled(capsys, repo):
    write(repo, {".sls-audit.yml": "rules:\n  SLS005:\n    enabled: false\n"})
    r = cli(capsys, repo, "--format", "json", "--fail-on", "note")
    assert r.rules() == []
    assert r.rc == 0


def test_select_and_ignore_in_config(capsys, tmp_path):
    root = write(tmp_path, {"a/serverless.yml": V3_IAM, "b/serverless.yml": BROKEN})
    write(root, {".sls-audit.yml": "ignore: [SLS001]\n"})
    r = cli(capsys, root, "--format", "json")
    assert (r.rc, r.rules()) == (0, ["SLS005"])
    write(root, {".sls-audit.yml": "select: [SLS0]\nignore: [SLS005]\n"})
    assert cli(capsys, root, "--format", "json").rules() == ["SLS001"]
    # command-line ignores add to the configuration's
    write(root, {".sls-audit.yml": "ignore: [SLS001]\n"})
    assert cli(capsys, root, "--format", "json", "--ignore", "SLS005").rules() == []


def test_fail_on_in_config_and_command_line_override(capsys, repo):
    write(repo, {".sls-audit.yml": "fail-on: warning\n"})
    assert cli(capsys, repo).rc == 1
    assert cli(capsys, repo, "--fail-on", "error").rc == 0


# --- suppress -------------------------------------------------------------------------------

SUPPRESS = """\
suppress:
  - rule: SLS005
    path: "services/*"
    reason: moving to v4 next sprint
"""


def test_suppress_keeps_the_finding_marked_and_does_not_fail(capsys, repo):
    write(repo, {".sls-audit.yml": SUPPRESS})
    r = cli(capsys, repo, "--format", "json", "--fail-on", "note")
    assert r.rc == 0
    [f] = r.json["findings"]
    assert (f["rule"], f["suppressed"]) == ("SLS005", True)
    assert r.json["summary"] == {"error": 0, "warning": 0, "note": 0, "suppressed": 1}


def test_suppress_in_sarif_is_external_with_justification(capsys, repo):
    write(repo, {".sls-audit.yml": SUPPRESS})
    log = json.loads(cli(capsys, repo, "--format", "sarif").out)
    assert_valid_sarif(log)
    [res] = log["runs"][0]["results"]
    assert res["ruleId"] == "SLS005"
    assert res["suppressions"] == [{"kind": "external", "justification": "moving to v4 next sprint"}]


def test_suppress_path_that_does_not_match(capsys, repo):
    write(repo, {".sls-audit.yml": SUPPRESS.replace("services/*", "other/*")})
    r = cli(capsys, repo, "--format", "json", "--fail-on", "warning")
    assert r.rc == 1
    assert [f["suppressed"] for f in r.json["findings"]] == [False]
    log = json.loads(cli(capsys, repo, "--format", "sarif").out)
    assert "suppressions" not in log["runs"][0]["results"][0]


def test_suppress_other_rule_does_not_hide(capsys, repo):
    write(repo, {".sls-audit.yml": "suppress:\n  - rule: SLS001\n    reason: x\n"})
    assert [f["suppressed"] for f in cli(capsys, repo, "--format", "json").json["findings"]] == [False]


def test_suppress_does_not_hide_an_error(capsys, tmp_path):
    root = write(tmp_path, {"a/serverless.yml": V3_IAM, "b/serverless.yml": BROKEN,
                            ".sls-audit.yml": "suppress:\n  - rule: SLS001\n    path: b/*\n    reason: vendored\n"})
    r = cli(capsys, root, "--format", "json")
    assert r.rc == 0
    assert {f["rule"]: f["suppressed"] for f in r.json["findings"]} == {"SLS001": True, "SLS005": False}


# --- globs are relative to the configuration file, whatever folder is analyzed -------------

def test_suppress_path_is_relative_to_the_config_file(capsys, repo):
    write(repo, {".sls-audit.yml": SUPPRESS})
    r = cli(capsys, repo / "services", "--format", "json")
    assert [f["suppressed"] for f in r.json["findings"]] == [True]


def test_exclude_is_relative_to_the_config_file(capsys, tmp_path):
    root = write(tmp_path, {"services/users/serverless.yml": V3_IAM,
                            "services/legacy/serverless.yml": BROKEN,
                            ".sls-audit.yml": "exclude: [services/legacy]\n"})
    assert cli(capsys, root, "--format", "json").rules() == ["SLS005"]
    assert cli(capsys, root / "services", "--format", "json").rules() == ["SLS005"]
