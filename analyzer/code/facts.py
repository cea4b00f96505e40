"""What the handler-code reader reports: small frozen records that round-trip through JSON.

Positions are 1-based lines and 1-based columns counted in characters (not bytes). For a method
call (``s3.put_object(...)``, ``client.send(...)``) the position is that of the method name, so a
call on the second line of a chained expression is reported on that line; for a plain function
call or a ``new`` expression it is the start of the expression.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Bump whenever the reader's output can change for the same input (new forms recognised, a
# mapping table edited, the JSON shape changed): it is part of every cache key.
READER_VERSION = "code-reader-1"

NAME_KINDS = ("literal", "env", "template", "unknown")
INVOCATION_STYLES = ("boto3", "sdk-v2", "sdk-v3", "sdk.invoke")


@dataclass(frozen=True, order=True)
class NameRef:
    """How code names a resource or function.

    ``literal``: the text itself. ``env``: the name of an environment variable whose value is the
    whole name. ``template``: literal text with ``${VAR}`` parts, each an environment variable.
    ``unknown``: anything else; ``value`` is then the source text of the expression (inner unknown
    parts of a composed string appear as ``${<source>}``).
    """

    kind: str
    value: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, data: dict) -> "NameRef":
        return cls(data["kind"], data["value"])


@dataclass(frozen=True)
class SdkCall:
    service: str  # IAM service prefix ("s3", "dynamodb", "states", "execute-api", ...)
    operation: str  # API operation ("PutObject")
    actions: tuple  # IAM actions the operation needs; () when it needs none (sts:GetCallerIdentity)
    resource: NameRef | None  # the argument naming the resource, when the operation has one
    line: int
    column: int

    def sort_key(self):
        res = (self.resource.kind, self.resource.value) if self.resource else ("", "")
        return (self.line, self.column, self.service, self.operation, self.actions, res)

    def to_json(self) -> dict:
        return {
            "service": self.service,
            "operation": self.operation,
            "actions": list(self.actions),
            "resource": self.resource.to_json() if self.resource else None,
            "line": self.line,
            "column": self.column,
        }

    @classmethod
    def from_json(cls, data: dict) -> "SdkCall":
        res = data.get("resource")
        return cls(
            data["service"],
            data["operation"],
            tuple(data["actions"]),
            NameRef.from_json(res) if res else None,
            data["line"],
            data["column"],
        )


@dataclass(frozen=True)
class Invocation:
    """One function invoking another (Lambda Invoke, or the ``sdk.invoke('svc:fn')`` form)."""

    target: NameRef
    style: str  # "boto3" | "sdk-v2" | "sdk-v3" | "sdk.invoke"
    line: int
    column: int

    def sort_key(self):
        return (self.line, self.column, self.style, self.target.kind, self.target.value)

    def to_json(self) -> dict:
        return {"target": self.target.to_json(), "style": self.style,
                "line": self.line, "column": self.column}

    @classmethod
    def from_json(cls, data: dict) -> "Invocation":
        return cls(NameRef.from_json(data["target"]), data["style"], data["line"], data["column"])


@dataclass(frozen=True)
class DynamicSite:
    """Where and why an AWS call could not be resolved (the reason ``CodeFacts.dynamic`` is set)."""

    line: int
    column: int
    reason: str

    def to_json(self) -> dict:
        return {"line": self.line, "column": self.column, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict) -> "DynamicSite":
        return cls(data["line"], data["column"], data["reason"])


@dataclass
class CodeFacts:
    calls: list[SdkCall] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    # True when some AWS call could not be resolved (client from a variable service name,
    # getattr with a computed name, an unknown method on a client...): the minimal policy of the
    # function is then unknown. ``dynamic_sites`` says where and why.
    dynamic: bool = False
    # "line 3: invalid syntax", "line 1: file too large ...": the facts are then incomplete
    # (Python: empty; JavaScript/TypeScript: what tree-sitter could read around the error).
    error: str | None = None
    dynamic_sites: list[DynamicSite] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "calls": [c.to_json() for c in self.calls],
            "invocations": [i.to_json() for i in self.invocations],
            "dynamic": self.dynamic,
            "error": self.error,
            "dynamic_sites": [d.to_json() for d in self.dynamic_sites],
        }

    @classmethod
    def from_json(cls, data: dict) -> "CodeFacts":
        return cls(
            calls=[SdkCall.from_json(c) for c in data["calls"]],
            invocations=[Invocation.from_json(i) for i in data["invocations"]],
            dynamic=bool(data["dynamic"]),
            error=data.get("error"),
            dynamic_sites=[DynamicSite.from_json(d) for d in data.get("dynamic_sites", [])],
        )
