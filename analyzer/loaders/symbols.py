"""Typed symbolic values: what a variable stands for when it cannot be known offline.

A symbolic value remembers the reference text and where it was written, so later
rules can match on it (an ARN pattern with `*` where a part is unknown) and
findings can point back at the `${...}` that produced it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ACCOUNT_TOKEN = "<accountId>"


@dataclass(frozen=True)
class Symbolic:
    """Base class: `kind` names the source (ssm, cf, env, ...), `ref` the text inside `${}`."""

    kind: str
    ref: str
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)

    def pattern(self) -> str:
        """The glob this value can match in an ARN or name."""
        return "*"

    def display(self) -> str:
        return "${" + self.ref + "}"

    def __str__(self) -> str:
        return self.display()


@dataclass(frozen=True)
class SsmRef(Symbolic):
    path: str = ""


@dataclass(frozen=True)
class CfOutput(Symbolic):
    stack: str = ""
    output: str = ""
    region: str | None = None


@dataclass(frozen=True)
class S3Ref(Symbolic):
    bucket: str = ""
    key: str = ""


@dataclass(frozen=True)
class EnvRef(Symbolic):
    name: str = ""


@dataclass(frozen=True)
class ParamRef(Symbolic):
    name: str = ""


@dataclass(frozen=True)
class ComposeOutput(Symbolic):
    """`${orders.TopicArn}` in serverless-compose.yml: another service's stack output."""

    service: str = ""
    output: str = ""


@dataclass(frozen=True)
class DashboardOutput(Symbolic):
    pass


@dataclass(frozen=True)
class OptionRef(Symbolic):
    """`${opt:x}`: a command-line option given at deploy time."""

    name: str = ""


@dataclass(frozen=True)
class PluginValue(Symbolic):
    """A variable source a plugin provides (serverless-lift's `construct:`, ...)."""

    source: str = ""


@dataclass(frozen=True)
class AccountId(Symbolic):
    def pattern(self) -> str:
        return ACCOUNT_TOKEN

    def display(self) -> str:
        return ACCOUNT_TOKEN


@dataclass(frozen=True)
class InstanceId(Symbolic):
    pass


@dataclass(frozen=True)
class Unresolved(Symbolic):
    """A reference that fails as written (cycle, missing key, escaped file): SLS002."""

    reason: str = ""


@dataclass(frozen=True)
class SymStr:
    """A string made of literal text and symbolic parts, e.g. an ARN with `${aws:accountId}`."""

    parts: tuple

    def pattern(self) -> str:
        return "".join(p if isinstance(p, str) else p.pattern() for p in self.parts)

    def display(self) -> str:
        return "".join(p if isinstance(p, str) else p.display() for p in self.parts)

    def symbols(self) -> list[Symbolic]:
        return [p for p in self.parts if isinstance(p, Symbolic)]

    def __str__(self) -> str:
        return self.display()


def is_symbolic(value) -> bool:
    return isinstance(value, (Symbolic, SymStr))


def text_of(value) -> str:
    """Readable text for any scalar or symbolic value."""
    if type(value) is str:  # the common case, asked some 60,000 times of 1,000 services
        return value
    if isinstance(value, (Symbolic, SymStr)):
        return value.display()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pattern_of(value) -> str:
    """A glob for matching: symbolic parts become `*` (the account id its token)."""
    if type(value) is str:
        return value
    if isinstance(value, (Symbolic, SymStr)):
        return value.pattern()
    return text_of(value)


def plain(v):
    """A JSON-friendly copy of a configuration value: mappings, lists and scalars as they are,
    symbolic values as their text."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return text_of(v)


def referenced_logical_id(value) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` (list, or `A.Arn` string) names, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return text_of(value["Ref"])
        ga = value.get("Fn::GetAtt")
        if isinstance(ga, list) and ga:
            return text_of(ga[0]).split(".")[0]
        if isinstance(ga, str):
            return ga.split(".")[0]
    return None
