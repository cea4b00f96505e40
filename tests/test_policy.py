"""`sls-audit policy`: minimal statements per function, the diff, the framework's form, valid IAM."""
from __future__ import annotations

import json
from pathlib import Path

import cfnlint.api
import yaml

from analyzer.api import load
from analyzer.cli import main
from analyzer.loaders.yamlmarks import load_text

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "policy"
PREFIX = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"


def run(capsys, *args) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out


def place_order_policy(capsys, *extra) -> dict:
    rc, out = run(capsys, "policy", FIXTURE, "--format", "json", "--no-cache", "--function", "orders:placeOrder", *extra)
    assert rc == 0
    return json.loads(out)["functions"]["orders.placeOrder"]


def test_exactly_the_actions_on_exactly_the_resources(capsys):
    p = place_order_policy(capsys)
    assert p["complete"] is True
    got = [(tuple(s["Action"]), s["Resource"]) for s in p["policy"]["Statement"]]
    assert got == [
        (("lambda:InvokeFunction",), [{"Fn::Sub": PREFIX + "users-dev-getUser"},
                                      {"Fn::Sub": PREFIX + "users-dev-getUser:*"}]),
        (("dynamodb:PutItem",), [{"Fn::GetAtt": ["OrdersTable", "Arn"]}]),
        (("sns:Publish",), [{"Ref": "OrderEventsTopic"}]),
    ]
    sids = [s["Sid"] for s in p["policy"]["Statement"]]
    assert len(set(sids)) == 3 and set(p["evidence"]) == set(sids)
    assert p["evidence"][sids[0]] == "calling users:getUser; lambda.Invoke in orders/src/place_order.py:13"
    assert p["evidence"][sids[1]] == "dynamodb.PutItem in orders/src/place_order.py:18"


def test_stage_reaches_the_resources(capsys):
    p = place_order_policy(capsys, "--stage", "prod")
    assert p["policy"]["Statement"][0]["Resource"][0] == {"Fn::Sub": PREFIX + "users-prod-getUser"}


def test_diff_lists_what_to_remove(capsys):
    rc, out = run(capsys, "policy", FIXTURE, "--diff", "--no-cache")
    assert rc == 0
    block = out.split("users.getUser")[0]
    assert "- dynamodb:* on orders.OrdersTable (only dynamodb:PutItem is needed)" in block
    assert "- s3:GetObject on arn:aws:s3:::orders-legacy-exports/*" in block
    assert "- sns:Publish on * (only orders.OrderEventsTopic is needed)" in block
    assert "+ " not in block  # the shared role already allows what the code does
    assert "users.getUser  (role users.IamRoleLambdaExecution)\n  (no change)" in out


def test_function_level_iam_differs_between_v3_and_v4(capsys):
    rc, v3 = run(capsys, "policy", FIXTURE, "--diff", "--no-cache", "--function", "placeOrder", "--framework", "v3")
    rc4, v4 = run(capsys, "policy", FIXTURE, "--diff", "--no-cache", "--function", "placeOrder", "--framework", "v4")
    assert rc == rc4 == 0
    assert "(role orders.IamRoleLambdaExecution)" in v3          # the iam block is dropped: shared role
    assert "(role orders.PlaceOrderIamRoleLambdaExecution)" in v4  # honoured: its own role
    assert "+ sns:Publish on orders.OrderEventsTopic" in v4 and "+ " not in v3
    _, yaml3 = run(capsys, "policy", FIXTURE, "--no-cache", "--function", "placeOrder", "--framework", "v3")
    _, yaml4 = run(capsys, "policy", FIXTURE, "--no-cache", "--function", "placeOrder", "--framework", "v4")
    assert "    iamRoleStatements:" in yaml3 and "serverless-iam-roles-per-function" in yaml3
    assert "    iam:\n      role:\n        statements:" in yaml4


def test_yaml_snippet_is_loadable_with_the_same_statements(capsys):
    _, text = run(capsys, "policy", FIXTURE, "--no-cache", "--function", "placeOrder")
    doc, _ = load_text(text)
    stmts = doc["functions"]["placeOrder"]["iamRoleStatements"]
    assert [s["Action"] for s in stmts] == [["lambda:InvokeFunction"], ["dynamodb:PutItem"], ["sns:Publish"]]
    assert stmts[1]["Resource"] == [{"Fn::GetAtt": ["OrdersTable", "Arn"]}]


def test_incomplete_when_code_is_not_read(capsys):
    p = place_order_policy(capsys, "--no-code")
    assert p["complete"] is False and "--no-code" in p["incomplete_because"]
    assert [s["Action"] for s in p["policy"]["Statement"]] == [["lambda:InvokeFunction"]]  # from `calling`


def test_generated_policies_pass_cfn_lint(capsys):
    """Embed every function's policy in the template of its service and lint it with cfn-lint."""
    _, text = run(capsys, "policy", FIXTURE, "--format", "json", "--no-cache")
    policies = json.loads(text)["functions"]
    project, _, _ = load(FIXTURE, cache=False)
    for svc in project.services:
        resources = {}
        for logical, body in (yaml.safe_load(_plain_yaml(svc.doc["resources"]["Resources"])) or {}).items():
            resources[logical] = body
        for fn in svc.functions:
            resources[fn.logical_id] = {"Type": "AWS::Lambda::Function", "Properties": {
                "Handler": "index.handler", "Runtime": "python3.12", "Role": {"Fn::GetAtt": [f"{fn.logical_id}Role", "Arn"]},
                "Code": {"ZipFile": "def handler(e, c): pass"}}}
            resources[f"{fn.logical_id}Role"] = {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "minimal", "PolicyDocument": policies[f"{svc.name}.{fn.name}"]["policy"]}]}}
        template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
        matches = cfnlint.api.lint(json.dumps(template), regions=["eu-west-1"])
        errors = [m for m in matches if m.rule.id.startswith("E")]
        assert errors == [], [str(m) for m in errors]


def _plain_yaml(resources) -> str:
    return json.dumps(resources, default=str)


def test_the_proposed_policy_pasted_back_passes_the_iam_and_discovery_rules(capsys, tmp_path):
    """The v4 snippet for placeOrder replaces its shared and function statements: the result
    must be least privilege by sls-audit's own rules, and the other service's function is
    named by stage (`users-${sls:stage}-getUser`), not pinned to `dev`."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    _, snippet = run(capsys, "policy", repo, "--no-cache", "--function", "placeOrder", "--framework", "v4")
    assert "function:users-${sls:stage}-getUser" in snippet and "users-dev-getUser" not in snippet
    statements = snippet.split("    iam:\n", 1)[1].rstrip("\n") + "\n"
    cfg = repo / "orders" / "serverless.yml"
    text = cfg.read_text()
    text = text.replace("frameworkVersion: '3'", "frameworkVersion: '4'")
    shared = text[text.index("  iam:\n    role:\n      statements:\n"):text.index("functions:\n")]
    written = text[text.index("    iam:\n      role:\n        statements:\n"):text.index("resources:\n")]
    text = text.replace(shared, "").replace(written, "    iam:\n" + statements)
    cfg.write_text(text)
    rc, out = run(capsys, "check", repo, "--no-cache", "--framework", "v4", "--format", "json")
    found = [(f["rule"], f["message"]) for f in json.loads(out)["findings"]
             if "placeOrder" in f["message"] and f["rule"][:4] in ("SLS1", "SLS2", "SLS4")]
    assert found == []


def test_the_report_keeps_the_minimal_policies_the_rules_used(capsys):
    """`audit()` hands back the rules' context: a library caller reads the same policy
    `sls-audit policy` prints, without computing it again."""
    from analyzer.api import audit

    report = audit(FIXTURE, cache=False)
    policies = report.context.minimal
    cached = policies.of("fn:orders.placeOrder")
    assert policies.of("fn:orders.placeOrder") is cached
    printed = place_order_policy(capsys)["policy"]["Statement"]
    assert [kept.actions for kept, _evidence in cached.merged()] == [tuple(s["Action"]) for s in printed]
