"""Variable resolution (DESIGN §1.2): every form, for the chosen stage and region."""
from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import load
from analyzer.loaders import symbols as S
from analyzer.loaders.variables import Options, Resolver, parse
from analyzer.loaders.yamlmarks import load_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def storefront(stage=None):
    project, graph, index = load(FIXTURES / "variables", stage=stage)
    svc = next(s for s in project.services if s.name == "storefront")
    return svc, svc.doc


def test_storefront_resolves_every_form_for_dev():
    svc, doc = storefront()
    p, env = doc["provider"], doc["provider"]["environment"]
    assert (svc.stage, svc.region, svc.stack_name) == ("dev", "eu-west-1", "storefront-dev")
    assert p["stage"] == "dev"                                  # ${opt:stage, self:custom.defaultStage}
    assert p["memorySize"] == 512                               # via ${self:} into ${file()}
    assert p["logRetentionInDays"] == 14                        # ${file(./config/${sls:stage}.yml):key}
    assert p["tracing"]["lambda"] is False                      # ${strToBool(${env:X, 'false'})}
    assert env["DEPLOY_STAGE"] == "dev" and env["STAGE"] == "dev"
    assert env["LOG_LEVEL"] == "info"                           # params.default
    assert env["PUBLIC_DOMAIN"] == "dev.shop.example.com"
    assert env["LOG_FORMAT"] == "json"                          # env fallback, environment never read
    assert env["PARTITION"] == "aws"
    assert env["SUPPORT_EMAIL"] == "support+dev@shop.example.com"
    assert env["PRODUCTS_TABLE"] == {"Ref": "ProductsTable"}
    assert env["PRODUCTS_TABLE_ARN"] == {"Fn::GetAtt": ["ProductsTable", "Arn"]}
    assert env["EVENT_BUS_NAME"] == {"Fn::ImportValue": "platform-dev-EventBusName"}
    assert isinstance(env["DEPLOYMENT_ID"], S.InstanceId)
    assert isinstance(env["ACCOUNT_ID"], S.AccountId) and env["ACCOUNT_ID"].pattern() == "<accountId>"
    ssm = env["SEARCH_ENDPOINT"]
    assert isinstance(ssm, S.SsmRef) and ssm.path == "/platform/dev/search-endpoint"
    assert (ssm.file, ssm.line) == ("storefront/serverless.yml", 49)
    assert env["PAYMENT_API_KEY"].path == "/aws/reference/secretsmanager/storefront/dev/payment-api-key"
    s3 = env["FEATURE_FLAGS"]
    assert isinstance(s3, S.S3Ref) and (s3.bucket, s3.key) == ("acme-storefront-config", "dev/feature-flags.json")
    assert isinstance(env["ANALYTICS_WRITE_KEY"], S.DashboardOutput)
    assets = env["ASSETS_URL"]  # ${aws:accountId} inside a string; #{AWS::Region} left to the plugin
    assert isinstance(assets, S.SymStr)
    assert assets.pattern() == "https://storefront-dev-assets-<accountId>.s3.#{AWS::Region}.amazonaws.com"
    sg = p["vpc"]["securityGroupIds"][0]
    assert isinstance(sg, S.CfOutput) and (sg.stack, sg.output) == ("platform-dev", "LambdaSecurityGroupId")
    split = p["vpc"]["subnetIds"]["Fn::Split"]
    assert split[0] == "," and (split[1].stack, split[1].output) == ("platform-dev", "PrivateSubnetIds")
    cert = doc["resources"]["Resources"]["AssetsDistribution"]["Properties"]["DistributionConfig"]["ViewerCertificate"]
    assert cert["AcmCertificateArn"].region == "us-east-1"      # ${cf(us-east-1):...}
    manifest = doc["resources"]["Resources"]["ServiceManifestParameter"]["Properties"]["Value"]["Fn::Sub"]
    assert manifest == ('{"service":"storefront","account":"${AWS::AccountId}","region":"${AWS::Region}",'
                        '"table":"${ProductsTable.Arn}"}')        # CloudFormation's ${} untouched
    alarm = doc["resources"]["Resources"]["ErrorRateAlarm"]["Properties"]["AlarmActions"][0]["Fn::Sub"]
    assert alarm[1] == {"Topic": "storefront-dev-alarms"}
    assert doc["resources"]["Conditions"]["IsProd"] == {"Fn::Equals": ["dev", "prod"]}


def test_storefront_for_prod_stage():
    svc, doc = storefront(stage="prod")
    env = doc["provider"]["environment"]
    assert (svc.stage, svc.stack_name) == ("prod", "storefront-prod")
    assert env["LOG_LEVEL"] == "warn" and env["PUBLIC_DOMAIN"] == "shop.example.com"  # params.prod
    assert env["DEPLOY_STAGE"] == "prod"
    fn = svc.functions[0]
    assert fn.deployed_name == "storefront-prod-listProducts"
    assert fn.arn == "arn:aws:lambda:eu-west-1:<accountId>:function:storefront-prod-listProducts"


def resolve(text: str, **opts):
    doc, _ = load_text(text)
    r = Resolver(doc, Path("/repo/serverless.yml"), Path("/repo"), "serverless.yml", Options(**opts))
    r.resolve_all()
    return doc, r


def test_cloudformation_dollar_braces_stay_text():
    doc, r = resolve("service: a\nx: !Sub 'arn:aws:s3:::${AWS::AccountId}-${self:service}-${Bucket.Arn}'\n")
    assert doc["x"] == {"Fn::Sub": "arn:aws:s3:::${AWS::AccountId}-a-${Bucket.Arn}"}
    assert r.diagnostics == []


def test_nested_defaults_and_options():
    text = ("service: a\nprovider:\n  stage: ${opt:stage, self:custom.s}\ncustom:\n  s: qa\n"
            "  r: ${opt:region, 'eu-north-1'}\n  n: ${self:custom.missing, ${self:custom.s}}\n"
            "  num: ${self:custom.nope, 3}\n  b: ${strToBool(true)}\n")
    doc, r = resolve(text)
    assert (r.stage, doc["custom"]["r"], doc["custom"]["n"], doc["custom"]["num"], doc["custom"]["b"]) == \
        ("qa", "eu-north-1", "qa", 3, True)
    doc, r = resolve(text, stage="prod", region="ap-south-1")
    assert (r.stage, doc["custom"]["r"]) == ("prod", "ap-south-1")


def test_param_precedence():
    text = "service: a\nparams:\n  default:\n    k: own\nx: ${param:k}\n"
    assert resolve(text)[0]["x"] == "own"
    assert resolve(text, config_params={"k": "config"})[0]["x"] == "own"
    assert resolve(text, compose_params={"k": "compose"})[0]["x"] == "compose"
    assert resolve(text, params={"k": "cli"}, compose_params={"k": "compose"})[0]["x"] == "cli"
    assert resolve("service: a\nx: ${param:k}\n", config_params={"k": "config"})[0]["x"] == "config"


def test_cycles_and_missing_values_are_reported_once_not_followed():
    doc, r = resolve("service: a\nc:\n  a: ${self:c.b}\n  b: ${self:c.a}\n  d: ${self:c.a}-x\n")
    assert [d.rule for d in r.diagnostics] == ["SLS002"]
    assert "cycle" in r.diagnostics[0].message
    assert isinstance(doc["c"]["a"], S.SymStr | S.Unresolved)


def test_long_reference_chains_are_bounded():
    lines = ["service: a", "c:"] + [f"  k{i}: ${{self:c.k{i + 1}}}" for i in range(200)] + ["  k200: end"]
    doc, r = resolve("\n".join(lines) + "\n")
    assert any("deeper" in d.message for d in r.diagnostics)


@pytest.mark.parametrize("text", ["${self:a", "${}", "${, 'x'}", "${opt:}", "$${self:a}}"])
def test_malformed_variables_never_crash(text):
    doc, r = resolve(f'service: a\na: b\nx: "{text}"\n')
    assert "x" in doc


def test_parse_keeps_cloudformation_and_splits_fallbacks():
    parts = parse("a-${opt:stage, 'dev'}-${AWS::Region}")
    assert parts[0] == "a-" and parts[-1] == "-${AWS::Region}"
    assert len(parts[1].sources) == 2
