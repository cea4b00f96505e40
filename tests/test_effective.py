"""Effective policies as rules read them (DESIGN §3): framework flavours, conditions, denies, managed policies."""
from __future__ import annotations

from pathlib import Path

from analyzer.api import load
from analyzer.iam.effective import effective_policy, resource_matches

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def policy(repo: Path, fn: str, **kw):
    _, g, _ = load(repo, code=False, **kw)
    return effective_policy(g, fn)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "serverless.yml").write_text(text, encoding="utf-8")
    return tmp_path


BASE = """\
service: shop
frameworkVersion: '3'
provider:
  name: aws
  iam:
    role:
      statements:
        - Effect: Allow
          Action: dynamodb:*
          Resource: !GetAtt CartTable.Arn
        - Effect: Deny
          Action: dynamodb:DeleteItem
          Resource: "*"
        - Effect: Allow
          Action: s3:PutObject
          Resource: arn:aws:s3:::shop-exports/*
          Condition:
            Bool: {aws:SecureTransport: "true"}
      managedPolicies:
        - arn:aws:iam::aws:policy/AmazonSQSFullAccess
functions:
  cart:
    handler: cart.handler
resources:
  Resources:
    CartTable:
      Type: AWS::DynamoDB::Table
"""


def test_wildcards_denies_conditions_and_managed_policies(tmp_path):
    p = policy(write(tmp_path, BASE), "fn:shop.cart")
    table = "{res:shop.CartTable}"
    assert p.allows("dynamodb:GetItem", table)
    assert not p.allows("dynamodb:GetItem", "{res:shop.OtherTable}")
    assert not p.allows("dynamodb:DeleteItem", table)                  # the Deny wins
    assert p.allows("s3:PutObject", "arn:aws:s3:::shop-exports/a.csv")  # conditional counts for "can happen"
    assert not p.allows("s3:PutObject", "arn:aws:s3:::shop-exports/a.csv", count_conditional=False)
    assert p.allows("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:anything")  # AmazonSQSFullAccess
    assert p.allows("logs:PutLogEvents", "arn:aws:logs:us-east-1:<accountId>:log-group:/aws/lambda/shop-dev-cart:*")
    assert not p.allows("sns:Publish", "*")


def test_function_level_iam_is_the_effective_policy_only_under_v4():
    repo = FIXTURES / "frameworks"
    v3 = policy(repo / "v3", "fn:greeter.greet")
    v4 = policy(repo / "v4", "fn:greeter.greet")
    osls = policy(repo / "osls", "fn:greeter.greet")
    assert v3.role.endswith(".IamRoleLambdaExecution") and osls.role == v3.role
    assert v4.role.endswith(".GreetIamRoleLambdaExecution")
    assert v4.allows("dynamodb:GetItem") and not v3.allows("dynamodb:GetItem")


def test_role_given_as_an_arn_is_opaque():
    p = policy(FIXTURES / "iam" / "role-arn", "fn:reports.buildReport")
    assert p.opaque and p.grants == []


def test_per_function_plugin_inherits_only_when_asked():
    repo = FIXTURES / "iam" / "per-function-plugin"
    update = policy(repo, "fn:catalog.updateProduct")
    listing = policy(repo, "fn:catalog.listProducts")
    assert update.allows("events:PutEvents") and not listing.allows("events:PutEvents")


def test_literal_account_is_the_repository_account():
    assert resource_matches("arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sqs:us-east-1:<accountId>:q")
    assert resource_matches("arn:aws:lambda:*:*:function:users-dev-*", "arn:aws:lambda:eu-west-1:<accountId>:function:users-dev-get")
    assert not resource_matches("arn:aws:lambda:*:*:function:users-prod-*", "arn:aws:lambda:eu-west-1:<accountId>:function:users-dev-get")


def test_a_built_graph_gives_each_function_the_role_the_graph_query_names():
    """effective_policy reads a frozen graph's roles from one pass over its `assumes` edges:
    the same role as `queries.role_of` (the first in id order when a function has several)."""
    import networkx as nx

    from analyzer.graph import queries as Q

    for repo in ("post", "iam"):
        if not (FIXTURES / repo).is_dir():
            continue
        _, g, _ = load(FIXTURES / repo, code=False)
        assert nx.is_frozen(g)
        for fn, _d in Q.nodes_of_kind(g, "function"):
            assert effective_policy(g, fn).role == Q.role_of(g, fn)
    g = nx.MultiDiGraph()
    g.add_node("fn:a", kind="function")
    g.add_node("fn:b", kind="function")
    for role in ("role:z", "role:m"):
        g.add_node(role, kind="role")
        g.add_edge("fn:a", role, kind="assumes")
    nx.freeze(g)
    assert effective_policy(g, "fn:a").role == Q.role_of(g, "fn:a") == "role:m"
    assert effective_policy(g, "fn:b").role is None and effective_policy(g, "fn:b").opaque
