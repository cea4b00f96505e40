"""References between services: exports, imports (cf, ImportValue, ssm, Compose), depends_on, deploy order."""
from __future__ import annotations

from pathlib import Path

from analyzer.api import load
from analyzer.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def edges(g, kind):
    return {(u, v, d.get("via") or d.get("reason")) for u, v, d in g.edges(data=True) if d["kind"] == kind}


def test_every_service_dependency_has_its_reasons():
    _, g, _ = load(FIXTURES / "compose", code=False)
    assert edges(g, "depends_on") == {
        ("svc:orders", "svc:users", "compose, import"),
        ("svc:billing", "svc:users", "compose, import"),
        ("svc:billing", "svc:orders", "compose"),
        ("svc:notifications", "svc:users", "compose, import, ssm"),
        ("svc:notifications", "svc:billing", "compose"),
    }
    imports = edges(g, "imports")
    assert ("svc:notifications", "export:ssm:/users/dev/table-name", "ssm") in imports
    assert ("svc:billing", "export:orders-dev.TopicArn", "compose") in imports
    assert ("svc:notifications", "export:users-dev-UserTableArn", "cf") in imports


def test_ssm_parameter_value_flows_into_policies():
    _, g, _ = load(FIXTURES / "compose", code=False)
    st = g.nodes["stmt:notifications.IamRoleLambdaExecution.0"]
    assert st["resource_keys"] == ["{res:users.UsersTable}"]  # ${cf:users-dev.UserTableArn}


def test_deploy_order(capsys):
    assert main(["graph", str(FIXTURES / "compose"), "--format", "order", "--no-code"]) == 0
    out = capsys.readouterr().out
    waves = [line.split(". ", 1)[1] for line in out.splitlines() if line[:1].isdigit()]
    assert waves == ["users", "orders", "billing", "notifications"]
    assert "notifications after users (compose, import, ssm)" in out


def test_deploy_order_reports_a_cycle(tmp_path, capsys):
    for name, other in (("alpha", "beta"), ("beta", "alpha")):
        d = tmp_path / name
        d.mkdir()
        (d / "serverless.yml").write_text(
            f"service: {name}\nprovider:\n  name: aws\n  environment:\n    PEER: ${{cf:{other}-dev.Url}}\n"
            f"functions:\n  f:\n    handler: h.main\nresources:\n  Outputs:\n    Url:\n      Value: x\n",
            encoding="utf-8")
    assert main(["graph", str(tmp_path), "--format", "order", "--no-code"]) == 1
    out = capsys.readouterr().out
    assert "cycle: alpha, beta" in out
    assert "alpha depends on beta (import)" in out and "beta depends on alpha (import)" in out


def test_graph_limited_to_one_service_and_its_neighbours(capsys):
    def services(*extra):
        assert main(["graph", str(FIXTURES / "compose"), "--no-code", "--service", "orders", *extra]) == 0
        return sorted(line.split('"')[1] for line in capsys.readouterr().out.splitlines() if "subgraph" in line)

    assert services("--depth", "0") == ["orders"]
    assert services() == ["billing", "orders", "users"]
    assert services("--depth", "2") == ["billing", "notifications", "orders", "users"]
    assert main(["graph", str(FIXTURES / "compose"), "--no-code", "--service", "nope"]) == 2
