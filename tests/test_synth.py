"""--synth: the loopback AWS stub, the scratch copy and config patch, template normalization,
and (where Node.js is installed) the real osls packaging a committed fixture byte for byte.

Without Node.js the osls tests do not skip: they check the clear "node not found" message.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import ClientError

from analyzer.api import load
from analyzer.synth import synthesize
from analyzer.synth.runner import (
    normalize_template,
    package_name,
    patch_config,
    scratch_copy,
)
from analyzer.synth.stub import PLACEHOLDER_ACCOUNT, Stub, Values
from analyzer.synth.values import repository_values

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "fixtures" / "templates"
HAVE_NODE = bool(shutil.which("node") and shutil.which("npm"))


def _client(stub, service):
    return botocore.session.get_session().create_client(
        service, region_name="eu-west-1", endpoint_url=stub.url,
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="example")


# --- the stub, spoken to by real AWS clients ---------------------------------------------------

def test_stub_answers_sts_cloudformation_and_ssm_and_records_what_it_served():
    values = Values(outputs={"users-dev": {"TopicArn": ("arn:aws:sns:eu-west-1:111122223333:users", True),
                                           "TableArn": ("placeholder-cf-users-dev.TableArn", False)}},
                    parameters={"/users/dev/table": ("users-dev-table", True)})
    with Stub(values) as stub:
        assert stub.url.startswith("http://127.0.0.1:")
        stub.requester = "orders"
        assert _client(stub, "sts").get_caller_identity()["Account"] == PLACEHOLDER_ACCOUNT
        stack = _client(stub, "cloudformation").describe_stacks(StackName="users-dev")["Stacks"][0]
        assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {
            "TableArn": "placeholder-cf-users-dev.TableArn",
            "TopicArn": "arn:aws:sns:eu-west-1:111122223333:users"}
        ssm = _client(stub, "ssm")
        assert ssm.get_parameter(Name="/users/dev/table")["Parameter"]["Value"] == "users-dev-table"
        assert ssm.get_parameter(Name="/shared/api-key", WithDecryption=True)["Parameter"] == {
            "Name": "/shared/api-key", "Type": "String", "Value": "placeholder-ssm-shared-api-key",
            "Version": 1, "DataType": "text",
            "ARN": "arn:aws:ssm:us-east-1:000000000000:parameter/shared/api-key"}
        both = ssm.get_parameters(Names=["/a", "/users/dev/table"])["Parameters"]
        assert [p["Value"] for p in both] == ["placeholder-ssm-a", "users-dev-table"]
    served = {(s.source, s.name, s.value, s.known, s.requester) for s in stub.served}
    assert served == {
        ("aws", "accountId", "000000000000", False, "orders"),
        ("cf", "users-dev.TopicArn", "arn:aws:sns:eu-west-1:111122223333:users", True, "orders"),
        ("cf", "users-dev.TableArn", "placeholder-cf-users-dev.TableArn", False, "orders"),
        ("ssm", "/users/dev/table", "users-dev-table", True, "orders"),
        ("ssm", "/shared/api-key", "placeholder-ssm-shared-api-key", False, "orders"),
        ("ssm", "/a", "placeholder-ssm-a", False, "orders"),
    }
    assert stub.refused == []


def test_stub_refuses_unknown_stacks_and_other_services_with_a_clear_error():
    with Stub() as stub:
        with pytest.raises(ClientError) as e:
            _client(stub, "cloudformation").describe_stacks(StackName="nowhere-dev")
        assert e.value.response["Error"]["Code"] == "ValidationError"
        assert "does not exist" in e.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as e:
            _client(stub, "s3").get_object(Bucket="config", Key="app.json")
        assert e.value.response["Error"]["Code"] == "NotAvailableOffline"
        assert "runs offline" in e.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as e:
            _client(stub, "ssm").put_parameter(Name="/x", Value="y", Type="String")
        assert e.value.response["Error"]["Code"] == "NotAvailableOffline"
    assert [w for _, w in stub.refused] == [
        "DescribeStacks nowhere-dev (a stack nothing in the repository names)",
        "GET /config/app.json", "AmazonSSM.PutParameter"]
    assert stub.served == []


def test_repository_values_serve_the_repository_outputs_and_referenced_stacks():
    project, _, _ = load(TEMPLATES / "compose", code=False, cache=False)
    values = repository_values(project)
    users = values.stack_outputs("users-dev")
    # users defines these outputs with intrinsics (no literal value): placeholders
    assert users["GetUserFunctionArn"] == ("placeholder-cf-users-dev.GetUserFunctionArn", False)
    assert users["UserTableArn"] == ("placeholder-cf-users-dev.UserTableArn", False)
    assert values.stack_outputs("nowhere-dev") is None
    assert values.account_id() == (PLACEHOLDER_ACCOUNT, False)


# --- the scratch copy, the config patch, normalization ------------------------------------------

def test_patch_config_relaxes_only_what_osls_refuses_and_keeps_line_numbers(tmp_path):
    cfg = tmp_path / "serverless.yml"
    original = "service: a\nframeworkVersion: '3'\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: h.f\n    calling: [b]\n"
    cfg.write_text(original)
    assert patch_config(cfg) == ["frameworkVersion removed", "configValidationMode: warn"]
    text = cfg.read_text()
    assert text.splitlines()[:7] == ["service: a", "# frameworkVersion: '3'  # relaxed by sls-audit --synth",
                                     *original.splitlines()[2:7]]
    assert text.splitlines()[-1] == "configValidationMode: warn  # added by sls-audit --synth"

    cfg.write_text("service: a\nconfigValidationMode: error # strict\nprovider: {name: aws}\n")
    assert patch_config(cfg) == ["configValidationMode: warn"]
    assert cfg.read_text() == "service: a\nconfigValidationMode: warn# strict\nprovider: {name: aws}\n"
    cfg.write_text("service: a\nconfigValidationMode: warn\n")
    assert patch_config(cfg) == []

    js = tmp_path / "serverless.json"
    js.write_text(json.dumps({"service": "a", "frameworkVersion": "3", "provider": {"name": "aws"}}))
    patch_config(js)
    assert json.loads(js.read_text()) == {"service": "a", "provider": {"name": "aws"}, "configValidationMode": "warn"}


def test_scratch_copy_leaves_out_installed_and_generated_folders_and_escaping_links(tmp_path):
    repo = tmp_path / "repo"
    (repo / "svc" / "plugins" / "widen").mkdir(parents=True)
    (repo / "svc" / "serverless.yml").write_text("service: svc\n")
    (repo / "svc" / "plugins" / "widen" / "index.js").write_text("module.exports = class {};\n")
    for skipped in ("node_modules/x", ".serverless", ".git/objects"):
        (repo / "svc" / skipped).mkdir(parents=True)
        (repo / "svc" / skipped / "f").write_text("x")
    (tmp_path / "secret.txt").write_text("outside")
    (repo / "svc" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (repo / "svc" / "inside.yml").symlink_to(repo / "svc" / "serverless.yml")
    copy = scratch_copy(repo, tmp_path / "scratch")
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert files == ["svc/inside.yml", "svc/plugins/widen/index.js", "svc/serverless.yml"]
    assert not (copy / "svc" / "inside.yml").is_symlink()


def test_package_name_of_plugins():
    assert package_name("serverless-iam-roles-per-function") == "serverless-iam-roles-per-function"
    assert package_name("@scope/plugin/sub") == "@scope/plugin"
    assert package_name("./plugins/widen") is None


def test_normalize_template_drops_what_changes_between_packagings():
    doc = {"Resources": {
        "BLambdaVersionQ9yk2yWkWc0Hn1OZ1B8wTEqxDZ8DB6Cbb8H8tC0o": {
            "Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "BLambdaFunction"},
                                                           "CodeSha256": "abc="}},
        "ALambdaVersion28QGRpPHpnVtM76NpwsxBQH75PdnfsFmfzn4Y92DY": {"Type": "AWS::Lambda::Version"},
        "BLambdaFunction": {"Properties": {"Code": {"S3Key": "serverless/users/dev/1795603271241-2026-11-25T10:41:11.241Z/users.zip"}}}},
        "Outputs": {"BLambdaFunctionQualifiedArn": {"Value": {"Ref": "BLambdaVersionQ9yk2yWkWc0Hn1OZ1B8wTEqxDZ8DB6Cbb8H8tC0o"}},
                    "ALambdaFunctionQualifiedArn": {"Value": {"Ref": "ALambdaVersion28QGRpPHpnVtM76NpwsxBQH75PdnfsFmfzn4Y92DY"}}}}
    out = normalize_template(doc)
    assert list(out["Resources"]) == ["ALambdaVersion", "BLambdaVersion", "BLambdaFunction"]
    assert out["Resources"]["BLambdaVersion"]["Properties"]["CodeSha256"] == "<sha256>"
    assert out["Resources"]["BLambdaFunction"]["Properties"]["Code"]["S3Key"] == "serverless/users/dev/<artifact>/users.zip"
    assert list(out["Outputs"]) == ["ALambdaFunctionQualifiedArn", "BLambdaFunctionQualifiedArn"]
    assert out["Outputs"]["BLambdaFunctionQualifiedArn"]["Value"] == {"Ref": "BLambdaVersion"}


# --- osls itself ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def osls_cache(tmp_path_factory):
    """A fresh cache folder: the first test that needs osls installs it there with npm."""
    return tmp_path_factory.mktemp("xdg-cache")


def _regenerate_module():
    spec = importlib.util.spec_from_file_location("regenerate", TEMPLATES / "regenerate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def graph_from_templates(case: Path, files: dict, tmp: Path):
    """The graph of `case` as the template loader builds it: with the committed templates when
    `files` is empty, else with `files` (case-relative path -> text) written over a copy."""
    if files:
        copy = tmp / case.name
        shutil.copytree(case, copy)
        for rel, text in files.items():
            (copy / rel).write_text(text, "utf-8")
        case = copy
    _, graph, _ = load(case, code=False, cache=False)
    return graph


def _facts(graph) -> tuple:
    nodes = sorted((n, d["kind"], json.dumps(d.get("actions"), sort_keys=True, default=str),
                    json.dumps(d.get("resources"), sort_keys=True, default=str))
                   for n, d in graph.nodes(data=True))
    edges = sorted((u, v, d["kind"]) for u, v, d in graph.edges(data=True))
    return nodes, edges


def test_regenerating_a_fixture_with_real_osls_gives_the_committed_template(osls_cache, tmp_path):
    regen = _regenerate_module()
    if not HAVE_NODE:
        project, _, _ = load(TEMPLATES / "clean", code=False, cache=False)
        result = synthesize(project, cache_dir=osls_cache / "sls-audit")
        assert result.templates == {}
        assert result.problems and ("node not found on PATH" in result.problems[0]
                                     or "npm not found on PATH" in result.problems[0])
        return
    files, problems = regen.regenerate("local-plugin", cache_dir=osls_cache / "sls-audit")
    assert problems == []
    rel = "reports/.serverless/cloudformation-template-update-stack.json"
    assert set(files) == {rel, "placeholders.json"}
    for name, text in files.items():
        assert text == (TEMPLATES / "local-plugin" / name).read_text("utf-8"), name
    # the local plugin's widening is in the template, not in serverless.yml
    statements = json.loads(files[rel])["Resources"]["IamRoleLambdaExecution"]["Properties"][
        "Policies"][0]["PolicyDocument"]["Statement"]
    assert {"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": "*"} in statements
    assert "dynamodb:*" not in (TEMPLATES / "local-plugin" / "reports" / "serverless.yml").read_text()
    # the graph built from the fresh template is the one built from the committed template,
    # and it holds the plugin's statement the serverless.yml does not
    fresh = graph_from_templates(TEMPLATES / "local-plugin", files, tmp_path)
    committed = graph_from_templates(TEMPLATES / "local-plugin", {}, tmp_path)
    assert _facts(fresh) == _facts(committed)
    assert any(d["kind"] == "statement" and "dynamodb:*" in (d.get("actions") or ())
               for _, d in committed.nodes(data=True))


def _repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "good").mkdir(parents=True)
    (repo / "good" / "serverless.yml").write_text(
        "service: good\nframeworkVersion: '3'\nprovider:\n  name: aws\n  runtime: python3.11\n"
        "  iam:\n    role:\n      statements:\n        - Effect: Allow\n          Action: ssm:GetParameter\n"
        "          Resource: arn:aws:ssm:eu-west-1:${aws:accountId}:parameter/good/*\n"
        "functions:\n  hello:\n    handler: h.hello\n    calling: [bye]\n"
        "    environment:\n      API_KEY_NAME: ${ssm:/good/api-key-name}\n  bye:\n    handler: h.bye\n")
    (repo / "good" / "h.py").write_text("def hello(e, c):\n    return 1\n\n\ndef bye(e, c):\n    return 2\n")
    (repo / "broken").mkdir()
    (repo / "broken" / "serverless.yml").write_text(
        "service: broken\nprovider:\n  name: aws\nplugins:\n  - ./plugins/missing\n"
        "functions:\n  f:\n    handler: h.f\n")
    return repo


def test_synth_on_the_command_line(tmp_path, osls_cache, monkeypatch, run_cli):
    repo = _repo(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(osls_cache))
    if not HAVE_NODE:
        r = run_cli(["check", repo, "--synth", "--format", "json"])
        assert r.code == 2 and "not found on PATH" in r.stderr and "Traceback" not in r.output
        return
    r = run_cli(["check", repo, "--synth", "--no-code", "--format", "json", "--exit-zero"])
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.output
    # the service the framework refused is named with the framework's own words; the other went on
    assert "sls-audit: --synth: broken/serverless.yml: osls package failed" in r.stderr
    assert 'plugin "./plugins/missing" not found' in r.stderr
    cov = r.json()["coverage"]
    assert cov["templates"] == 1 and cov["placeholders"] == 2
    assert cov["placeholder_values"] == [
        {"service": "good", "source": "aws", "name": "accountId", "value": "000000000000",
         "refs": [{"file": "good/serverless.yml", "line": 11, "column": 21, "text": "${aws:accountId}"}]},
        {"service": "good", "source": "ssm", "name": "/good/api-key-name", "value": "placeholder-ssm-good-api-key-name",
         "refs": [{"file": "good/serverless.yml", "line": 17, "column": 21, "text": "${ssm:/good/api-key-name}"}]},
    ]
    # nothing written into the user's tree
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")) == [
        "broken", "broken/serverless.yml", "good", "good/h.py", "good/serverless.yml"]


def test_synth_without_node_on_path_exits_2_with_a_clear_message(tmp_path, monkeypatch, run_cli):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for command in ("check", "graph", "policy"):
        r = run_cli([command, TEMPLATES / "clean", "--synth"])
        assert r.code == 2, (command, r.output)
        assert "--synth: no template could be synthesized" in r.stderr
        assert "node not found on PATH" in r.stderr and "Traceback" not in r.output
    assert not os.path.exists(tmp_path / "cache" / "sls-audit" / "osls")


def test_stub_tells_services_apart_by_their_access_key():
    """Services are packaged side by side: each signs with its own fake key."""
    with Stub() as stub:
        stub.requesters = {"AKIASYNTHA": "billing", "AKIASYNTHB": "orders"}
        for key in ("AKIASYNTHA", "AKIASYNTHB"):
            botocore.session.get_session().create_client(
                "ssm", region_name="eu-west-1", endpoint_url=stub.url, aws_access_key_id=key,
                aws_secret_access_key="example").get_parameter(Name=f"/{key}")
    assert sorted((s.requester, s.name) for s in stub.served) == [("billing", "/AKIASYNTHA"),
                                                                   ("orders", "/AKIASYNTHB")]


@pytest.mark.parametrize("case", ["clean", "local-plugin", "policy", "compose"])
def test_committed_placeholders_point_at_the_variable_they_stand_for(case):
    """Each placeholder baked into a committed template names the `${...}` it replaced: that text
    is on that line of that file, at or after that column (where the value starts)."""
    data = json.loads((TEMPLATES / case / "placeholders.json").read_text("utf-8"))
    templates = {p.parent.parent.name: p.read_text("utf-8")
                 for p in (TEMPLATES / case).glob("*/.serverless/cloudformation-template-update-stack.json")}
    for p in data["placeholders"]:
        assert p["refs"], p
        for ref in p["refs"]:
            line = (TEMPLATES / case / ref["file"]).read_text("utf-8").splitlines()[ref["line"] - 1]
            assert ref["text"] in line[ref["column"] - 1:], (ref, line)
        if p["source"] != "param":
            assert p["value"] in templates[p["service"]], p  # baked in as a literal
    if case == "compose":
        assert {(p["service"], p["source"], p["name"]) for p in data["placeholders"]} == {
            ("billing", "param", "topicArn"), ("notifications", "aws", "accountId"),
            ("notifications", "cf", "users-dev.UserTableArn"), ("notifications", "ssm", "/users/dev/table-name"),
            ("users", "param", "logRetentionDays")}


def test_compose_params_reach_osls_as_param_options():
    from analyzer.synth import _params

    project, _, _ = load(TEMPLATES / "compose", code=False, cache=False)
    billing = next(s for s in project.services if s.name == "billing")
    params, served = _params(project, billing, "billing", {"extra": "1"})
    assert params == {"senderEmail": "no-reply+dev@shop.example.com",   # Compose stage param, stage filled in
                      "topicArn": "placeholder-cf-orders-dev.TopicArn",  # ${orders.TopicArn}: an intrinsic there
                      "extra": "1"}
    assert [(p.source, p.name, p.refs) for p in served] == [
        ("param", "topicArn", (("serverless-compose.yml", 12, 17, "${orders.TopicArn}"),))]
