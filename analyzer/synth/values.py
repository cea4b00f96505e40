"""What the offline stub answers: the repository's own values where the model knows them,
placeholders everywhere else.

A stack output whose value is a plain string in the producing service's `Outputs` is served as
is (known); any other output, parameter or account id the framework asks for is a placeholder
(`placeholder-cf-users-dev.TopicArn`, `000000000000`), recorded so the report can list it.
"""
from __future__ import annotations

from ..loaders import symbols as S
from .stub import Values, placeholder


def _literal(value) -> str | None:
    return value if isinstance(value, str) and "${" not in value else None


def repository_values(project) -> Values:
    """Outputs of every stack the repository defines or references, and its SSM parameters."""
    outputs: dict[str, dict[str, tuple[str, bool]]] = {}
    parameters: dict[str, tuple[str, bool]] = {}
    for svc in project.services:
        if svc.provider != "aws":
            continue
        stack = str(svc.stack_name)
        mine = outputs.setdefault(stack, {})
        for out in svc.outputs:
            lit = _literal(out.value)
            mine[str(out.key)] = (lit, True) if lit is not None else (placeholder("cf", f"{stack}.{out.key}"), False)
        for res in svc.resources:
            props = res.properties if isinstance(res.properties, dict) else {}
            if res.type == "AWS::SSM::Parameter":
                name, value = _literal(props.get("Name")), _literal(props.get("Value"))
                if name and value is not None:
                    parameters[name] = (value, True)
    for sym in project.symbols:
        if isinstance(sym, S.CfOutput) and isinstance(sym.stack, str) and isinstance(sym.output, str):
            outputs.setdefault(sym.stack, {}).setdefault(
                sym.output, (placeholder("cf", f"{sym.stack}.{sym.output}"), False))
    return Values(outputs=outputs, parameters=parameters)


def compose_output(project, service: str, output: str) -> tuple[str, bool]:
    """`${orders.TopicArn}` in serverless-compose.yml: the orders stack's output."""
    for svc in project.services:
        if svc.compose_name == service or (svc.compose_name is None and svc.name == service):
            for out in svc.outputs:
                if str(out.key) == output:
                    lit = _literal(out.value)
                    if lit is not None:
                        return lit, True
            return placeholder("cf", f"{svc.stack_name}.{output}"), False
    return placeholder("cf", f"{service}.{output}"), False


def refs_for(svc, source: str, name: str) -> tuple:
    """Where the `${...}` a served value stands for is written in this service's files."""
    out = set()
    for sym in svc.symbols:
        hit = ((source == "aws" and isinstance(sym, S.AccountId))
               or (source == "cf" and isinstance(sym, S.CfOutput) and f"{sym.stack}.{sym.output}" == name)
               or (source == "ssm" and isinstance(sym, S.SsmRef) and sym.path == name)
               or (source == "env" and isinstance(sym, S.EnvRef) and sym.name == name)
               or (source == "param" and isinstance(sym, S.ParamRef) and sym.name == name))
        if hit and sym.file:
            out.add((sym.file, sym.line, sym.column, "${" + sym.ref + "}"))
    return tuple(sorted(out))
