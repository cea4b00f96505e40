"""The discovery family (SLS401-SLS406) beyond the marker fixtures: stages, configuration,
framework-created names, and the properties the design asks of them (SCC, one finding per cause,
fingerprints from names)."""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from analyzer.api import audit
from analyzer.config import Config
from rules import discovery as D

try:
    from samples import write
except ImportError:  # tests/ collected as a package
    from tests.samples import write

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rules"


def found(report, rule: str) -> list[tuple[str, int]]:
    return sorted((f.file, f.line) for f in report.findings if f.rule == rule)


def run(root: Path, **kw):
    return audit(root, cache=False, code=False, **kw)


# --- SLS404: one fixture, two stages ------------------------------------------------------------

def test_stage_pinned_reference_depends_on_the_analyzed_stage():
    repo = FIXTURES / "SLS404" / "bad" / "monorepo"
    dev = run(repo)
    assert found(dev, "SLS404") == [("orders/serverless.yml", 12), ("orders/serverless.yml", 13),
                                    ("orders/serverless.yml", 14), ("orders/serverless.yml", 22)]
    # pinned to another stage of a repository service: not dangling, not hardcoded twice
    assert found(dev, "SLS402") == [] and found(dev, "SLS401") == []
    prod = run(repo, stage="prod")
    assert found(prod, "SLS404") == []
    assert found(prod, "SLS402") == []
    # at prod, the two literal names are plain hardcoded references
    assert found(prod, "SLS401") == [("orders/serverless.yml", 14), ("orders/serverless.yml", 22)]


def test_a_suffix_that_is_no_stage_is_not_a_stage_pin(tmp_path):
    repo = write(tmp_path / "r", {
        "users/serverless.yml": USERS,
        "orders/serverless.yml": """\
            service: orders
            provider:
              name: aws
              environment:
                ARCHIVE: ${cf:users-legacy.ArchiveBucket}
                PROD: ${cf:users-prod.UserTableArn}
            functions:
              f:
                handler: h.f
            """,
    })
    report = run(repo)
    assert [f.message for f in report.findings if f.rule == "SLS404"] == [
        "`${cf:users-prod.UserTableArn}` reads stage prod of service users while orders is analyzed for stage dev"]
    # users-legacy is not users at stage `legacy`: an unknown stack in a monorepo
    assert [f.line for f in report.findings if f.rule == "SLS402"] == [5]


USERS = """\
    service: users
    provider:
      name: aws
      region: us-east-1
    functions:
      getUser:
        handler: src/getUser.handler
        events:
          - httpApi:
              method: GET
              path: /users/{id}
              authorizer:
                type: aws_iam
    resources:
      Resources:
        UsersTable:
          Type: AWS::DynamoDB::Table
          Properties:
            TableName: users-${sls:stage}-table
      Outputs:
        UserTableArn:
          Value: !GetAtt UsersTable.Arn
          Export:
            Name: !Sub '${AWS::StackName}-UserTableArn'
    """


# --- SLS402 -------------------------------------------------------------------------------------

def test_framework_outputs_count_as_defined(tmp_path):
    repo = write(tmp_path / "r", {
        "users/serverless.yml": USERS,
        "orders/serverless.yml": """\
            service: orders
            provider:
              name: aws
              environment:
                A: ${cf:users-dev.HttpApiUrl}
                B: ${cf:users-dev.HttpApiId}
                C: ${cf:users-dev.ServiceEndpoint}
                D: ${cf:users-dev.GetUserLambdaFunctionQualifiedArn}
                E: ${cf:users-dev.ServerlessDeploymentBucketName}
                F: ${cf:users-dev.ServiceEndpointWebsocket}
                G: ${cf:users-dev.CreateUserLambdaFunctionQualifiedArn}
            functions:
              f:
                handler: h.f
            """,
    })
    report = run(repo)
    assert [(f.line, f.message) for f in report.findings if f.rule == "SLS402"] == [
        (10, ("`${cf:users-dev.ServiceEndpointWebsocket}`: stack users-dev (service users) has no output "
              "ServiceEndpointWebsocket")),
        (11, ("`${cf:users-dev.CreateUserLambdaFunctionQualifiedArn}`: stack users-dev (service users) has no "
              "output CreateUserLambdaFunctionQualifiedArn (did you mean GetUserLambdaFunctionQualifiedArn?)")),
    ]


def test_framework_outputs_follow_the_configuration(tmp_path):
    repo = write(tmp_path / "r", {"svc/serverless.yml": """\
        service: svc
        provider:
          name: aws
          versionFunctions: false
          httpApi:
            id: abc123
        layers:
          shared-libs:
            path: layer
        functions:
          api:
            handler: h.api
            events:
              - httpApi: GET /x
          pinned:
            handler: h.pinned
            versionFunction: true
            url: true
          socket:
            handler: h.socket
            events:
              - websocket: $connect
        """})
    svc = run(repo).project.services[0]
    assert D.framework_outputs(svc) == {
        "ServerlessDeploymentBucketName", "ServiceEndpoint", "ServiceEndpointWebsocket",
        "PinnedLambdaFunctionQualifiedArn", "PinnedLambdaFunctionUrl",
        "SharedDashlibsLambdaLayerQualifiedArn", "SharedDashlibsLambdaLayerHash",
        "SharedDashlibsLambdaLayerS3Key",
    }


def test_sub_export_names_are_resolved_and_exports_checked(tmp_path):
    repo = write(tmp_path / "r", {
        "users/serverless.yml": USERS,
        "orders/serverless.yml": """\
            service: orders
            provider:
              name: aws
              environment:
                OK: !ImportValue users-${sls:stage}-UserTableArn
                TYPO: !ImportValue users-${sls:stage}-UsersTableArn
                UNKNOWN: ${ssm:/nobody/defines/this}
            functions:
              f:
                handler: h.f
            """,
    })
    report = run(repo)
    assert [(f.line, f.message) for f in report.findings if f.rule == "SLS402"] == [
        (6, ("`!ImportValue users-dev-UsersTableArn`: no service of this repository exports "
             "users-dev-UsersTableArn, and `external:` does not list it (did you mean users-dev-UserTableArn?)")),
    ]


SINGLE = {"svc/serverless.yml": """\
    service: reports
    provider:
      name: aws
      environment:
        A: ${cf:shared-network-${sls:stage}.VpcId}
        B: !ImportValue shared-network-${sls:stage}-SubnetIds
        C: ${cf:legacy-billing-dev.TopicArn}
        D: ${cf:reports-${sls:stage}.Missing}
    functions:
      f:
        handler: h.f
    """}


def test_unknown_stacks_of_a_one_service_repository_are_judged_once_external_is_written(tmp_path):
    repo = write(tmp_path / "r", SINGLE)
    # no `external:`: only the service's own stack is judged
    assert found(run(repo, config=Config()), "SLS402") == [("svc/serverless.yml", 8)]
    config = Config(external={"stacks": ["shared-network-*"], "services": ["legacy-billing"]})
    assert found(run(repo, config=config), "SLS402") == [("svc/serverless.yml", 8)]
    config = Config(external={"stacks": ["shared-network-*"]})
    assert found(run(repo, config=config), "SLS402") == [("svc/serverless.yml", 7), ("svc/serverless.yml", 8)]


def test_compose_params_are_checked(tmp_path):
    repo = write(tmp_path / "r", {
        "serverless-compose.yml": """\
            services:
              users:
                path: users
              orders:
                path: orders
                params:
                  ok: ${users.UserTableArn}
                  framework: ${users.HttpApiUrl}
                  missing: ${users.Nope}
                  unknown: ${billing.TopicArn}
            """,
        "users/serverless.yml": USERS,
        "orders/serverless.yml": "service: orders\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: h.f\n",
    })
    report = run(repo)
    assert [(f.file, f.line, f.message.split(":")[0]) for f in report.findings if f.rule == "SLS402"] == [
        ("serverless-compose.yml", 9, "`${users.Nope}` (param missing of orders)"),
        ("serverless-compose.yml", 10, "`${billing.TopicArn}` (param unknown of orders)"),
    ]


# --- SLS403 -------------------------------------------------------------------------------------

def test_dependency_cycles_come_from_strongly_connected_components(monkeypatch):
    def refuse(*a, **k):  # pragma: no cover - must not be called
        raise AssertionError("simple_cycles must not be used")
    monkeypatch.setattr(nx, "simple_cycles", refuse)
    report = run(FIXTURES / "SLS403" / "bad")
    msgs = sorted(f.message for f in report.findings if f.rule == "SLS403")
    assert msgs == [
        ("services billing, orders, users depend on each other in a cycle (billing → users → orders → billing): "
         "no deploy order exists"),
        ("services catalog, search depend on each other in a cycle (catalog → search → catalog): no deploy "
         "order exists"),
    ]
    cycle = next(f for f in report.findings if f.rule == "SLS403" and "billing" in f.message)
    assert len(cycle.related) == 3  # every dependency of the group is evidence


def test_a_dependency_chain_is_no_cycle():
    assert found(run(FIXTURES / "SLS403" / "good"), "SLS403") == []


# --- SLS401 -------------------------------------------------------------------------------------

def test_hardcoded_references_name_what_they_hardcode():
    report = run(FIXTURES / "SLS401" / "bad" / "monorepo")
    by_line = {(f.file, f.line): f for f in report.findings if f.rule == "SLS401"}
    env = by_line[("orders/serverless.yml", 37)]
    assert env.message == "`users-dev-getUser` hardcodes the name of function users.getUser"
    assert env.fix == "use `!ImportValue users-${sls:stage}-GetUserFunctionArn` (an export of users) instead"
    assert "fn:users.getUser" in env.nodes
    # the literal copied by ${self:custom.getUserArn} is reported where it is written (line 7) only
    assert ("orders/serverless.yml", 23) not in by_line and ("orders/serverless.yml", 38) not in by_line
    role = by_line[("reports/serverless.yml", 10)]
    assert role.message == "`arn:aws:iam::123456789012:role/reports-execution` hardcodes account 123456789012"


def test_keys_the_framework_ignores_are_not_scanned(tmp_path):
    repo = write(tmp_path / "r", {"svc/serverless.yml": """\
        service: svc
        frameworkVersion: '3'
        provider:
          name: aws
        functions:
          f:
            handler: h.f
            iam:
              role:
                statements:
                  - Effect: Allow
                    Action: sqs:SendMessage
                    Resource: arn:aws:sqs:us-east-1:123456789012:q
          g:
            handler: h.g
            role: arn:aws:iam::123456789012:role/svc-g
        """})
    # the role ARN deploys (line 16); the function-level iam block does not under v3 (SLS005)
    report = run(repo)
    assert found(report, "SLS005") == [("svc/serverless.yml", 8)]
    assert found(report, "SLS401") == [("svc/serverless.yml", 16)]


def test_external_arns_and_aws_owned_accounts_are_not_reported(tmp_path):
    repo = write(tmp_path / "r", {"svc/serverless.yml": """\
        service: svc
        provider:
          name: aws
          iam:
            role:
              permissionsBoundary: arn:aws:iam::111122223333:policy/boundary
              managedPolicies:
                - arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess
          layers:
            - arn:aws:lambda:us-east-1:464622532012:layer:Datadog-Node20-x:112
            - arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:38
        functions:
          f:
            handler: h.f
        """})
    assert found(run(repo, config=Config()), "SLS401") == [("svc/serverless.yml", 6)]
    config = Config(external={"arns": ["arn:aws:iam::111122223333:*"]})
    assert found(run(repo, config=config), "SLS401") == []


# --- SLS405 -------------------------------------------------------------------------------------

def test_duplicates_are_reported_once_per_cause():
    report = run(FIXTURES / "SLS405" / "bad" / "monorepo")
    messages = [f.message for f in report.findings if f.rule == "SLS405"]
    # billing/ and payments/ are both `payments` with a function `charge`: one finding, the service
    assert sum("payments" in m for m in messages) == 1
    assert len(messages) == 4


# --- SLS406 -------------------------------------------------------------------------------------

def test_generated_names_follow_the_framework(tmp_path):
    repo = write(tmp_path / "r", {"svc/serverless.yml": """\
        service: a-service-name-of-exactly-thirty-six
        frameworkVersion: '4'
        provider:
          name: aws
          region: eu-west-1
          iam:
            role:
              mode: perFunction
        functions:
          f:
            handler: h.f
            iam:
              role:
                statements:
                  - Effect: Allow
                    Action: sqs:SendMessage
                    Resource: arn:aws:sqs:eu-west-1:${aws:accountId}:q
        """})
    report = run(repo)
    svc = report.project.services[0]
    assert D.shared_role_name(svc)[0] == "a-service-name-of-exactly-thirty-six-dev-eu-west-1-lambdaRole"
    # 61 characters for the shared role; v4's own per-function role names are not published
    assert found(report, "SLS406") == []


def test_function_names_at_the_limit(tmp_path):
    fn = "f" * (64 - len("svc-dev-"))
    repo = write(tmp_path / "r", {"svc/serverless.yml": f"""\
        service: svc
        provider:
          name: aws
        functions:
          {fn}:
            handler: h.f
          {fn}x:
            handler: h.g
        """})
    assert found(run(repo), "SLS406") == [("svc/serverless.yml", 7)]


# --- every rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["SLS401", "SLS402", "SLS403", "SLS404", "SLS405", "SLS406"])
def test_fingerprints_survive_inserted_lines(tmp_path, rule):
    import shutil

    src = FIXTURES / rule / "bad"
    repos = [src] if any((src / n).exists() for n in ("serverless.yml", "serverless-compose.yml")) else sorted(
        p for p in src.iterdir() if p.is_dir())
    for i, repo in enumerate(repos):
        copy = tmp_path / f"{i}"
        shutil.copytree(repo, copy)
        before = sorted(f.fingerprint for f in run(copy).findings if f.rule == rule)
        for p in copy.rglob("*.yml"):
            if p.name != ".sls-audit.yml":
                p.write_text("# a comment\n\n" + p.read_text(encoding="utf-8"), encoding="utf-8")
        after = sorted(f.fingerprint for f in run(copy).findings if f.rule == rule)
        assert before and before == after


def test_rules_are_registered_with_documentation():
    from rules.registry import builtin_rules

    ids = {r.id: r for r in builtin_rules()}
    for rid in ("SLS401", "SLS402", "SLS403", "SLS404", "SLS405", "SLS406"):
        r = ids[rid]
        assert r.what.strip() and r.why.strip() and r.example.strip() and r.instead.strip()
        assert r.references and r.tags


def test_names_matching_lists_every_stage_spelling_in_definition_order(tmp_path):
    """`svc-pre-prod` is the queue `svc-dev` at stage `pre-prod` and the table `svc-dev-prod` at
    stage `pre`: both are found, in the order the service defines them, however the lookup
    goes, and asking twice gives the same answer."""
    from analyzer.api import load
    from analyzer.engine import Context

    repo = write(tmp_path / "r", {"svc/serverless.yml": """\
        service: svc
        params:
          pre: {}
        provider:
          name: aws
        functions:
          f:
            handler: h.f
        resources:
          Resources:
            Queue:
              Type: AWS::SQS::Queue
              Properties:
                QueueName: svc-dev
            Table:
              Type: AWS::DynamoDB::Table
              Properties:
                TableName: svc-dev-prod
        """})
    project, graph, index = load(repo, Config(), code=False, cache=False)
    names = D._Repo(Context(project=project, index=index, config=Config(), graph=graph))
    got = [(entry[2], stage) for entry, stage in names.names_matching("svc-pre-prod", D._ENV_KINDS)]
    assert got == [("queue svc.Queue", "pre-prod"), ("table svc.Table", "pre")]
    assert [(e[2], s) for e, s in names.names_matching("svc-pre-prod", D._ENV_KINDS)] == got
    assert [(e[2], s) for e, s in names.names_matching("svc-dev-f", ("lambda",))] == [("function svc.f", "dev")]
    assert names.names_matching("svc-pre-prod", ("lambda",)) == []
