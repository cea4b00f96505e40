"""The project model: small dataclasses with stable ids and source locations.

Loaders fill these from configuration; graph builders read them. Nothing here
reads files or knows about rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .loaders.yamlmarks import MDict


@dataclass(frozen=True)
class Loc:
    """Where something was written: 1-based line and column (code points)."""

    file: str
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    key_path: str = ""
    deployed: "Loc | None" = None   # where the synthesized template deploys it (a related location)
    note: str = ""                  # why the template disagrees with serverless.yml, for messages

    def as_dict(self) -> dict:
        out = {
            "file": self.file, "line": self.line, "column": self.column,
            "end_line": self.end_line, "end_column": self.end_column, "key_path": self.key_path,
        }
        if self.deployed is not None:
            out["deployed"] = self.deployed.as_dict()
        return out


def entry_loc(container, key, file: str, key_path: str = "") -> Loc:
    """Where `container[key]` was written: from its key to the end of its value (for a list
    item, the item), from the spans the loader kept; the container itself when the entry has none."""
    kspans = getattr(container, "kspans", None)
    if kspans is not None and key in kspans:
        k = kspans[key]
        v = container.vspans.get(key, k)
        return Loc(file, k[0], k[1], v[2], v[3], key_path)
    ispans = getattr(container, "ispans", None)
    if ispans is not None and isinstance(key, int) and 0 <= key < len(ispans):
        s = ispans[key]
        return Loc(file, s[0], s[1], s[2], s[3], key_path)
    s = getattr(container, "span", (1, 1, 1, 1))
    return Loc(file, s[0], s[1], s[2], s[3], key_path)


@dataclass
class Statement:
    """One IAM statement, values kept as written (intrinsics and symbolic values included)."""

    id: str
    effect: str
    actions: tuple = ()
    not_actions: tuple = ()
    resources: tuple = ()
    not_resources: tuple = ()
    principals: object = None
    conditions: object = None
    sid: str | None = None
    origin: str = ""          # provider.iam, legacy, function, plugin, framework, resource, policy
    framework: bool = False   # added by the framework itself: counted, never reported
    loc: Loc | None = None


@dataclass
class Role:
    id: str
    logical_id: str
    kind: str                 # shared, per-function, arn, resource
    statements: list = field(default_factory=list)
    managed_policies: list = field(default_factory=list)
    permissions_boundary: object = None
    arn: object = None        # for roles given as an ARN
    opaque: bool = False
    loc: Loc | None = None


@dataclass
class Event:
    type: str
    index: int
    config: object
    loc: Loc
    deployed: dict = field(default_factory=dict)   # trigger attributes the template decides (authorizer)

    @property
    def arn(self):
        """What the event names as its source: the `arn:` of its mapping, or the value itself
        (`sqs: arn:aws:sqs:...`, `sns: topicName`)."""
        return self.config.get("arn") if isinstance(self.config, MDict) else self.config


@dataclass
class Function:
    id: str
    service: str              # service node id
    name: str
    handler: str | None
    runtime: str | None
    deployed_name: str
    arn: str
    logical_id: str
    subscribable: bool = False
    calling: list = field(default_factory=list)     # [(text, Loc)]
    events: list = field(default_factory=list)     # [Event]
    environment: dict = field(default_factory=dict)
    role: str | None = None   # role node id
    destinations: dict = field(default_factory=dict)
    config: object = None
    handler_file: str | None = None  # repository-relative, when the source file exists
    code: dict = field(default_factory=lambda: {"status": "off"})  # facts from handler code
    deployed_environment: object = None  # the template's Environment.Variables, when synthesized
    loc: Loc | None = None


@dataclass
class Resource:
    id: str
    logical_id: str
    type: str
    properties: object
    framework: bool = False
    loc: Loc | None = None


@dataclass
class Output:
    id: str                   # export node id
    key: str
    value: object
    export_name: object = None
    loc: Loc | None = None


@dataclass
class Service:
    id: str
    name: str
    file: str                 # repository-relative path of its config
    provider: str
    stage: str
    region: str
    stack_name: str
    framework: str
    runtime: str | None = None
    functions: list = field(default_factory=list)
    resources: list = field(default_factory=list)
    roles: list = field(default_factory=list)
    resource_policies: list = field(default_factory=list)   # (resource id, Statement)
    outputs: list = field(default_factory=list)
    symbols: list = field(default_factory=list)             # symbolic values met while resolving
    import_values: list = field(default_factory=list)       # (name, file, span) of Fn::ImportValue
    plugins: tuple = ()
    compose_name: str | None = None
    loc: Loc | None = None
    doc: object = None        # the resolved document, for locating key paths


@dataclass
class ComposeService:
    name: str
    path: str
    depends_on: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    loc: Loc | None = None


@dataclass
class Compose:
    file: str
    services: list = field(default_factory=list)


@dataclass(frozen=True)
class SuppressionComment:
    """A `# sls-audit: ignore[SLS201] reason` comment as written; analyzer/suppressions.py applies it.

    `scope` is "line" (the finding must start on `target`) or "file"; `target` is the comment's own
    line for a trailing comment, the next line holding something else for a comment on its own line
    (0 when there is none). `problem` says why a malformed directive cannot apply.
    """

    file: str
    line: int
    column: int
    end_column: int
    text: str
    scope: str = "line"
    ids: tuple = ()
    reason: str = ""
    own_line: bool = False
    target: int = 0
    target_text: str = ""
    problem: str = ""


@dataclass
class Project:
    """Everything loaded from one repository, plus what went wrong while loading."""

    root: str
    services: list = field(default_factory=list)
    compose: list = field(default_factory=list)
    diagnostics: list = field(default_factory=list)
    documents: dict = field(default_factory=dict)   # rel path -> resolved document
    symbols: list = field(default_factory=list)
    files_seen: int = 0
    suppressions: list = field(default_factory=list)   # SuppressionComment, in file and line order
    templates: list = field(default_factory=list)   # loaders.template.Template, synthesized or given
    synth: object = None      # analyzer.synth.SynthResult when --synth ran
