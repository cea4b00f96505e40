"""Synthesized templates as ground truth: loading, merging into the graph, findings placed on
serverless.yml with the template as related location, template wins, boilerplate silent, SAM."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from samples import cli
except ImportError:  # tests/ collected as a package
    from tests.samples import cli
from analyzer.api import audit

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
TEMPLATE = ".serverless/cloudformation-template-update-stack.json"


def copy(case: str, tmp_path: Path, template: bool = True) -> Path:
    dst = tmp_path / case
    shutil.copytree(FIXTURES / case, dst)
    if not template:
        shutil.rmtree(dst / ".serverless")
    return dst


def edit_template(root: Path, change) -> None:
    path = root / TEMPLATE
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc["Resources"])
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def found(report) -> list[tuple]:
    return sorted((f.rule, f.file, f.line) for f in report.findings)


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


# ---- the fixture that looks least-privilege but does not deploy that way --------------------

def test_plugin_widening_is_invisible_without_the_template(tmp_path):
    assert found(audit(copy("templates-plugin", tmp_path, template=False), cache=False)) == []


def test_plugin_widening_is_caught_on_the_serverless_yml_line(tmp_path):
    root = copy("templates-plugin", tmp_path)
    report = audit(root, cache=False)
    statements = line_of(root / "serverless.yml", "statements:")
    assert found(report) == [("SLS201", "serverless.yml", statements), ("SLS202", "serverless.yml", statements),
                             ("SLS207", "serverless.yml", statements)]
    lines = (root / TEMPLATE).read_text(encoding="utf-8").splitlines()
    s3 = next(i for i, line in enumerate(lines, 1) if line.strip() == '"s3:*"')   # not the bucket policy's
    for f in report.findings:
        assert "s3:*" in f.message
        assert "the deployed template adds this statement" in f.message
        assert "a plugin or the framework added it" in f.message
        [rel] = f.related
        assert rel.file == TEMPLATE
        assert rel.line < s3 <= rel.end_line       # the statement's own span in the template
        assert "IamRoleLambdaExecution" in rel.message
    assert report.coverage["templates"] == 1


def test_template_statements_are_in_the_graph_with_their_origin(tmp_path):
    g = audit(copy("templates-plugin", tmp_path), cache=False).graph
    stmts = {n: d for n, d in g.nodes(data=True) if d["kind"] == "statement"
             and n.startswith("stmt:orders.IamRoleLambdaExecution")}
    by_origin = {}
    for n, d in stmts.items():
        by_origin.setdefault(d["origin"], []).append(d["actions"])
    assert by_origin["template"] == [["s3:*"]]
    assert by_origin["provider.iam"] == [["dynamodb:PutItem"]]
    # the framework's logs statements are the template's own, counted and never reported
    assert sorted(by_origin["framework"]) == [["logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource"],
                                              ["logs:PutLogEvents"]]
    assert all(d["framework"] for d in stmts.values() if d["origin"] == "framework")
    # the serverless.yml statement keeps its line, and knows where it deploys
    written = next(d for d in stmts.values() if d["origin"] == "provider.iam")
    assert written["loc"].file == "serverless.yml" and written["loc"].deployed.file == TEMPLATE


def test_template_wins_a_statement_that_did_not_deploy_is_gone(tmp_path):
    root = copy("templates-plugin", tmp_path)
    yml = root / "serverless.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace(
        "          Resource: !GetAtt OrdersTable.Arn\n",
        "          Resource: !GetAtt OrdersTable.Arn\n        - Effect: Allow\n          Action: sqs:*\n"
        "          Resource: '*'\n", 1), encoding="utf-8")
    # serverless.yml alone: the sqs statement is reported where it is written
    no_tpl = tmp_path / "no-tpl"
    shutil.copytree(root, no_tpl)
    shutil.rmtree(no_tpl / ".serverless")
    assert any("sqs:*" in f.message for f in audit(no_tpl, cache=False).findings)
    # with the template (which does not deploy it): only what deploys is judged
    report = audit(root, cache=False)
    assert not any("sqs:*" in f.message for f in report.findings)
    assert {f.rule for f in report.findings} == {"SLS201", "SLS202", "SLS207"}


# ---- the clean service with its real template ----------------------------------------------

def test_clean_service_with_real_template_has_no_finding():
    report = audit(FIXTURES / "templates-clean", cache=False)
    assert report.findings == []
    assert report.coverage["templates"] == 1
    g = report.graph
    # boilerplate is in the graph, as the framework's: logs, the sqs poller, scoped permissions
    fw = sorted(n for n, d in g.nodes(data=True) if d["kind"] == "statement" and d.get("framework"))
    assert "stmt:shipping.NotifyShippedLambdaPermissionShipmentsentSNS.0" in fw
    assert "stmt:shipping.GetShipmentLambdaPermissionApiGateway.0" in fw
    assert any(n.startswith("stmt:shipping.CreateShipmentIamRoleLambdaExecution.t") for n in fw)
    edges = {(u, v, d.get("authorizer")) for u, v, d in g.edges(data=True) if d["kind"] == "triggers"}
    assert ("res:shipping.ApiGatewayRestApi", "fn:shipping.getShipment", "aws_iam") in edges


# ---- what only the template shows ------------------------------------------------------------

def test_public_permission_added_by_the_template_is_reported_on_the_function(tmp_path):
    root = copy("templates-plugin", tmp_path)
    edit_template(root, lambda res: res.update({"PlaceOrderLambdaPermissionEverybody": {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"FunctionName": {"Fn::GetAtt": ["PlaceOrderLambdaFunction", "Arn"]},
                       "Action": "lambda:InvokeFunction", "Principal": "*"}}}))
    report = audit(root, cache=False)
    [f] = [f for f in report.findings if f.rule == "SLS208"]
    assert (f.file, f.line) == ("serverless.yml", line_of(root / "serverless.yml", "placeOrder:"))
    assert "deployed template adds this permission" in f.message
    assert f.related[0].file == TEMPLATE
    assert f.related[0].line == line_of(root / TEMPLATE, '"PlaceOrderLambdaPermissionEverybody"')


def test_function_url_and_open_method_only_the_template_has(tmp_path):
    root = copy("templates-plugin", tmp_path)

    def change(res):
        res["ApiGatewayMethodOrdersPost"]["Properties"]["AuthorizationType"] = "NONE"
        res["PlaceOrderLambdaFunctionUrl"] = {"Type": "AWS::Lambda::Url", "Properties": {
            "AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": ["PlaceOrderLambdaFunction", "Arn"]}}}
    edit_template(root, change)
    report = audit(root, cache=False)
    by_rule = {f.rule: f for f in report.findings}
    yml = root / "serverless.yml"
    url = by_rule["SLS302"]
    assert (url.file, url.line) == ("serverless.yml", line_of(yml, "placeOrder:"))
    assert "deployed template adds this function URL" in url.message
    api = by_rule["SLS301"]   # serverless.yml says aws_iam; the template deploys it open
    assert (api.file, api.line) == ("serverless.yml", line_of(yml, "- http:"))
    assert "AuthorizationType NONE" in api.message
    assert api.related[0].line == line_of(root / TEMPLATE, '"ApiGatewayMethodOrdersPost"')


def test_environment_comes_from_the_template(tmp_path):
    root = copy("templates-plugin", tmp_path)
    edit_template(root, lambda res: res["PlaceOrderLambdaFunction"]["Properties"]["Environment"]["Variables"]
                  .update({"AUDIT_BUCKET": "audit-trail-bucket"}))
    report = audit(root, cache=False)
    fn = next(f for s in report.project.services for f in s.functions if f.name == "placeOrder")
    assert sorted(fn.environment) == ["AUDIT_BUCKET", "TABLE"]
    assert fn.environment["TABLE"] == {"Ref": "OrdersTable"}


# ---- loading: bad templates, --template, laziness ---------------------------------------------

def test_unreadable_template_is_sls001_with_its_line_and_the_service_still_analyzed(tmp_path, capsys):
    root = copy("templates-plugin", tmp_path)
    (root / TEMPLATE).write_text('{\n  "Resources": {\n    "A": \n  }\n', encoding="utf-8")
    r = cli(capsys, "check", root, "--format", "json", "--no-cache")
    assert "Traceback" not in r.err
    assert r.rc == 1
    bad = [f for f in r.json["findings"] if f["rule"] == "SLS001"]
    assert bad and all(f["file"] == TEMPLATE and f["line"] >= 2 for f in bad)
    assert r.json["coverage"]["services"] == 1 and r.json["coverage"]["templates"] == 0


def test_sam_template_given_with_template_option(capsys):
    case = FIXTURES / "templates-sam"
    r = cli(capsys, "check", case, "--template", case / "template.yaml", "--format", "json", "--no-cache")
    assert r.rc == 1, r.err
    got = sorted((f["rule"], f["file"], f["line"]) for f in r.json["findings"])
    assert got == [("SLS201", "template.yaml", 53), ("SLS202", "template.yaml", 53),
                   ("SLS207", "template.yaml", 53), ("SLS208", "template.yaml", 59),
                   ("SLS302", "template.yaml", 56)]
    assert r.json["coverage"]["templates"] == 1 and r.json["coverage"]["functions"] == 2


def test_template_option_works_for_graph_and_policy(capsys):
    case = FIXTURES / "templates-sam"
    r = cli(capsys, "graph", case, "--template", case / "template.yaml", "--format", "json", "--no-cache")
    assert r.rc == 0, r.err
    ids = {n["id"] for n in json.loads(r.out)["nodes"]}
    assert {"fn:templates-sam.GetItemFunction", "fn:templates-sam.PutItemFunction",
            "role:templates-sam.GetItemFunctionRole"} <= ids
    r = cli(capsys, "policy", case, "--template", case / "template.yaml", "--format", "json", "--no-cache")
    assert r.rc == 0, r.err
    assert "dynamodb:PutItem" in r.out and "dynamodb:GetItem" in r.out


def test_template_option_beside_a_service_merges_into_it(tmp_path, capsys):
    root = copy("templates-plugin", tmp_path)
    r = cli(capsys, "check", root, "--template", root / TEMPLATE, "--format", "json", "--no-cache")
    assert r.rc == 0, r.err   # warnings only
    assert r.json["coverage"]["services"] == 1 and r.json["coverage"]["templates"] == 1
    assert sorted(f["rule"] for f in r.json["findings"]) == ["SLS201", "SLS202", "SLS207"]


def test_missing_template_file_exits_2(tmp_path, capsys):
    r = cli(capsys, "check", FIXTURES / "templates-plugin", "--template", tmp_path / "nope.json")
    assert r.rc == 2 and "nope.json" in r.err and "Traceback" not in r.err


def test_output_is_deterministic_with_templates(tmp_path, capsys):
    root = copy("templates-plugin", tmp_path)
    first = cli(capsys, "check", root, "--format", "sarif", "--no-cache").out
    assert first == cli(capsys, "check", root, "--format", "sarif", "--no-cache").out


@pytest.mark.parametrize("case,imported", [("post", False), ("templates-clean", True)])
def test_cfn_lint_is_imported_only_when_a_template_exists(case, imported):
    code = ("import sys; from analyzer.api import audit; audit(sys.argv[1], code=False); "
            "print('cfnlint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(FIXTURES / case)], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(imported)


def test_template_wins_a_dropped_function_role_says_why():
    """frameworkVersion 4 describes per-function roles; the osls template deploys the shared one."""
    report = audit(FIXTURES / "templates" / "compose", cache=False)
    missing = [f for f in report.findings if f.rule == "SLS210"]
    assert sorted((f.file, f.line) for f in missing) == [("users/src/createUser.js", 11), ("users/src/getUser.js", 10)]
    for f in missing:
        assert "the deployed template gives it role IamRoleLambdaExecution" in f.message
    roles = {n for n, d in report.graph.nodes(data=True) if d["kind"] == "role" and n.startswith("role:users.")}
    assert roles == {"role:users.IamRoleLambdaExecution"}   # the roles that did not deploy are gone


def test_framework_helpers_and_url_permissions_are_boilerplate():
    report = audit(FIXTURES / "templates-boilerplate", cache=False)
    assert report.findings == []
    g = report.graph
    assert [n for n, d in g.nodes(data=True) if d["kind"] == "function"] == ["fn:media.resize"]
    stmts = {n: d for n, d in g.nodes(data=True) if d["kind"] == "statement"}
    assert all(d["framework"] for d in stmts.values())
    assert "stmt:media.ResizeLambdaPermissionEventsRuleSchedule1.0" in stmts
    assert any(d["actions"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] for d in stmts.values())
    urls = [d for _, _, d in g.edges(data=True) if d["kind"] == "triggers" and d["event"] == "url"]
    assert [d["authorizer"] for d in urls] == ["aws_iam"]


def test_url_permissions_the_framework_adds_for_an_open_url_are_not_sls208(tmp_path):
    root = tmp_path / "media"
    shutil.copytree(FIXTURES / "templates-boilerplate", root)
    yml = root / "serverless.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("    url:\n      authorizer: aws_iam\n", "    url: true\n"),
                   encoding="utf-8")

    def change(res):
        res["ResizeLambdaFunctionUrl"]["Properties"]["AuthType"] = "NONE"
        for lid, action, extra in (("ResizeLambdaPermissionFnUrl", "lambda:InvokeFunctionUrl", {"FunctionUrlAuthType": "NONE"}),
                                   ("ResizeLambdaPermissionFn", "lambda:InvokeFunction", {"InvokedViaFunctionUrl": True})):
            res[lid] = {"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": {"Fn::GetAtt": ["ResizeLambdaFunction", "Arn"]}, "Action": action, "Principal": "*",
                **extra}}
    edit_template(root, change)
    report = audit(root, cache=False)
    assert [(f.rule, f.line) for f in report.findings] == [("SLS302", line_of(yml, "url: true"))]


def test_synthesized_templates_are_named_beside_their_service(tmp_path):
    """--synth hands over templates in a scratch folder; reports name them where `sls package`
    writes them (the scratch copy is gone once the graph is built)."""
    from analyzer.api import use_templates
    from analyzer.api import load as load_project
    from analyzer.synth import SynthResult

    root = copy("templates-plugin", tmp_path)
    scratch = tmp_path / "scratch" / "template.json"
    scratch.parent.mkdir()
    shutil.move(root / TEMPLATE, scratch)
    (root / ".serverless").rmdir()
    project, _, _ = load_project(root, code=False, cache=False)
    assert project.templates == []
    use_templates(project, SynthResult(templates={".": scratch}))
    [t] = project.templates
    assert (t.file, t.service_file) == (TEMPLATE, "serverless.yml") and t.text


def test_plaintext_secret_only_the_template_sets(tmp_path):
    root = copy("templates-plugin", tmp_path)
    edit_template(root, lambda res: res["PlaceOrderLambdaFunction"]["Properties"]["Environment"]["Variables"]
                  .update({"STRIPE_SECRET_KEY": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}))
    [f] = [f for f in audit(root, cache=False).findings if f.rule == "SLS303"]
    assert (f.file, f.line) == ("serverless.yml", line_of(root / "serverless.yml", "placeOrder:"))
    assert "STRIPE_SECRET_KEY" in f.message and "deployed template adds this environment variable" in f.message
    assert f.related[0].file == TEMPLATE
    assert f.related[0].line == line_of(root / TEMPLATE, "STRIPE_SECRET_KEY")


def test_http_api_route_the_template_opens(tmp_path):
    root = tmp_path / "clean"
    shutil.copytree(FIXTURES / "templates" / "clean", root)
    tpl = root / "inventory" / TEMPLATE
    assert audit(root, cache=False).findings == []
    doc = json.loads(tpl.read_text(encoding="utf-8"))
    doc["Resources"]["HttpApiRouteGetStockSkuVar"]["Properties"]["AuthorizationType"] = "NONE"
    tpl.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    [f] = audit(root, cache=False).findings
    assert (f.rule, f.file, f.line) == ("SLS301", "inventory/serverless.yml",
                                        line_of(root / "inventory" / "serverless.yml", "- httpApi:"))
    assert "AuthorizationType NONE" in f.message
    assert f.related[0].file == f"inventory/{TEMPLATE}"


def test_sarif_with_template_related_locations_is_valid(tmp_path, capsys):
    try:
        from sarif_schema import assert_valid_sarif
    except ImportError:  # tests/ collected as a package
        from tests.sarif_schema import assert_valid_sarif
    root = copy("templates-plugin", tmp_path)
    r = cli(capsys, "check", root, "--format", "sarif", "--no-cache")
    doc = json.loads(r.out)
    assert_valid_sarif(doc)
    results = doc["runs"][0]["results"]
    assert len(results) == 3
    for res in results:
        [related] = res["relatedLocations"]
        assert related["physicalLocation"]["artifactLocation"]["uri"] == TEMPLATE
    assert doc["runs"][0]["properties"]["coverage"]["templates"] == 1


def test_a_statement_the_template_lacks_makes_the_call_fail_and_says_why(tmp_path):
    root = copy("templates-plugin", tmp_path)

    def change(res):
        stmts = res["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        stmts[:] = [s for s in stmts if "dynamodb:PutItem" not in json.dumps(s)]
    edit_template(root, change)
    [f] = [f for f in audit(root, cache=False).findings if f.rule == "SLS210"]
    assert (f.file, f.line) == ("src/orders.py", line_of(root / "src" / "orders.py", "put_item"))
    assert "the deployed role IamRoleLambdaExecution lacks 1 statement(s) serverless.yml gives it" in f.message


def test_triggers_know_where_they_deploy():
    g = audit(FIXTURES / "templates-clean", cache=False).graph
    deployed = {(u, v): d["loc"].deployed.key_path for u, v, d in g.edges(data=True)
                if d["kind"] == "triggers" and d["loc"].deployed is not None}
    assert deployed == {
        ("res:shipping.ApiGatewayRestApi", "fn:shipping.getShipment"): "Resources.ApiGatewayMethodShipmentsIdVarGet",
        ("res:shipping.SNSTopicShipmentsent", "fn:shipping.notifyShipped"): "Resources.SNSTopicShipmentsent",
        ("res:shipping.ShipmentsQueue", "fn:shipping.createShipment"):
            "Resources.CreateShipmentEventSourceMappingSQSShipmentsQueue",
    }


def test_a_function_only_the_template_has_is_analysed_where_it_deploys(tmp_path):
    """A plugin adds a warmer function with its own role: it is in the graph, and its wide
    statement is reported in the template (serverless.yml has no line for it)."""
    root = copy("templates-plugin", tmp_path)

    def change(res):
        res["WarmerLambdaFunction"] = {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "orders-dev-warmer", "Handler": "warmer.handler", "Runtime": "nodejs20.x",
            "Role": {"Fn::GetAtt": ["WarmerIamRole", "Arn"]}}}
        res["WarmerIamRole"] = {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "warm",
            "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}}]}}
    edit_template(root, change)
    report = audit(root, cache=False)
    g = report.graph
    assert ("fn:orders.warmer", "role:orders.WarmerIamRole") in {
        (u, v) for u, v, d in g.edges(data=True) if d["kind"] == "assumes"}
    wide = [f for f in report.findings if "lambda:*" in f.message and f.rule == "SLS201"]
    assert [(f.file, f.line) for f in wide] == [(TEMPLATE, line_of(root / TEMPLATE, '"WarmerLambdaFunction"'))]
    assert "deployed template adds this statement" in wide[0].message


SAM_POLICY_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  ItemsTable:
    Type: AWS::DynamoDB::Table
  PutItemFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: src/items.put
      Runtime: python3.12
      Environment:
        Variables:
          TABLE: !Ref ItemsTable
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref ItemsTable
"""


def test_sam_policy_templates_expand_to_their_statements(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    shutil.copy(FIXTURES / "templates-sam" / "src" / "items.py", tmp_path / "src" / "items.py")
    tpl = tmp_path / "template.yaml"
    tpl.write_text(SAM_POLICY_TEMPLATE, encoding="utf-8")
    r = cli(capsys, "check", tmp_path, "--template", tpl, "--format", "json", "--no-cache")
    [f] = r.json["findings"]
    assert (f["rule"], f["file"], f["line"]) == ("SLS207", "template.yaml", 14)
    assert "dynamodb:Scan" in f["message"] and "dynamodb:PutItem" not in f["message"].split("needs:")[-1]
    # bound to the stack's table: no `Resource: "*"` finding
    r = cli(capsys, "graph", tmp_path, "--template", tpl, "--format", "json", "--no-cache")
    [st] = [n for n in json.loads(r.out)["nodes"] if n["kind"] == "statement"]
    assert st["resource_keys"][0] == "{res:%s.ItemsTable}" % tmp_path.name
    # an unknown policy template: said so, and the role is opaque (nothing claimed about it)
    tpl.write_text(SAM_POLICY_TEMPLATE + "        - NoSuchPolicyTemplate: {X: 1}\n", encoding="utf-8")
    r = cli(capsys, "check", tmp_path, "--template", tpl, "--format", "json", "--no-cache")
    assert [(f["rule"], f["line"]) for f in r.json["findings"]] == [("SLS002", 16)]
    assert r.json["coverage"]["opaque_roles"] == 1


def test_a_wider_copy_the_template_adds_is_reported_not_the_written_statement(tmp_path):
    """A plugin inserts `dynamodb:PutItem` on `*` before the written PutItem on the table: the
    written one keeps its line, the wide copy is the one reported."""
    root = copy("templates-plugin", tmp_path)

    def change(res):
        stmts = res["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        stmts[:] = [s for s in stmts if s.get("Action") != ["s3:*"]]
        stmts.insert(0, {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": "*"})
    edit_template(root, change)
    report = audit(root, cache=False)
    [f] = report.findings
    assert f.rule == "SLS202" and "deployed template adds this statement" in f.message
    rel = f.related[0]
    assert rel.line < line_of(root / TEMPLATE, '"dynamodb:PutItem"') <= rel.end_line   # the inserted copy
    g = report.graph
    [written] = [d for n, d in g.nodes(data=True) if d["kind"] == "statement" and d["origin"] == "provider.iam"]
    assert written["loc"].line == line_of(root / "serverless.yml", "- Effect: Allow") and not written["loc"].note
    assert written["loc"].deployed.line > f.related[0].line   # matched with the exact deployed copy
