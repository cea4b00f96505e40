"""The discovery family: how services find each other, and whether they can deploy (SLS401-SLS406).

SLS401 and SLS404 share one pass over every service's resolved document (`_literals`), computed
once per run; SLS402 and SLS404 share the resolution of stack and export names to repository
services (`_Repo`). What the framework itself creates (outputs, role and function names) is
modelled here from the framework's own naming code (osls, the open-source v3 line) and the
serverless-iam-roles-per-function plugin, cited in each rule's references.
"""
from __future__ import annotations

import difflib
import fnmatch
import re

import networkx as nx

from analyzer.findings import Hit
from analyzer.frameworks import (
    PER_FUNCTION_PLUGIN,
    lambda_logical_id,
    normalized_function_name,
)
from analyzer.loaders import symbols as S
from analyzer.loaders.yamlmarks import MDict, MList, names_aws
from analyzer.model import Loc, entry_loc

from .base import Rule

NAME_LIMIT = 64  # AWS: Lambda FunctionName and IAM RoleName are at most 64 characters

# Accounts AWS itself publishes from: an ARN in one of them is not "your" account written out.
# Public layers are excepted whatever their account (see SLS401); this list documents the
# AWS-owned ones met in real configurations and also covers the non-layer case (ELB log
# delivery principals in bucket policies).
AWS_OWNED_ACCOUNTS = {
    "580247275435": "Lambda Insights extension layer (most regions)",
    "901920570463": "AWS Distro for OpenTelemetry layers",
    "017000801446": "Powertools for AWS Lambda (Python) layers",
    "094274105915": "Powertools for AWS Lambda (TypeScript) layers",
    "177933569100": "AWS Parameters and Secrets Lambda Extension layer (us-east-1)",
    "127311923021": "Elastic Load Balancing log delivery, us-east-1",
    "033677994240": "Elastic Load Balancing log delivery, us-east-2",
    "027434742980": "Elastic Load Balancing log delivery, us-west-1",
    "797873946194": "Elastic Load Balancing log delivery, us-west-2",
    "156460612806": "Elastic Load Balancing log delivery, eu-west-1",
    "054676820928": "Elastic Load Balancing log delivery, eu-central-1",
    "652711504416": "Elastic Load Balancing log delivery, eu-west-2",
    "582318560864": "Elastic Load Balancing log delivery, ap-northeast-1",
    "114774131450": "Elastic Load Balancing log delivery, ap-southeast-1",
    "783225319266": "Elastic Load Balancing log delivery, ap-southeast-2",
}

# Stage names accepted as "the stage part" of `<service>-<stage>` besides those the repository
# itself uses (service stages, `params:` and `stages:` keys): `users-legacy` is not a stage of
# `users`, `users-prod` is.
COMMON_STAGES = frozenset((
    "dev", "develop", "development", "test", "testing", "qa", "uat", "int", "integration",
    "staging", "stage", "stg", "preprod", "pre-prod", "perf", "sandbox", "demo", "local",
    "beta", "alpha", "live", "prod", "production", "prd",
))

_ARN = re.compile(
    r"arn:(aws[a-z-]*):([a-z0-9-]+):(\$\{[^}]*\}|[a-z0-9-]*):(\$\{[^}]*\}|[^:/\s\"',]*):"
    r"([^\s\"',]+)")
_QUEUE_URL = re.compile(
    r"https://(?:sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|([a-z0-9-]+)\.queue\.amazonaws\.com)"
    r"/(\d{12}|[^/\s]+)/([A-Za-z0-9_.-]+)")
_ACCOUNT = re.compile(r"^\d{12}$")
_SUB_VAR = re.compile(r"\$\{([^}]+)\}")
_DELIMS = "-_./:"  # what separates the parts of a name (a stage part stands between two)
_DELIM = re.compile(f"[{re.escape(_DELIMS)}]")

# resource type -> (ARN service, name property, what people call it)
_NAMED = {
    "AWS::Lambda::Function": ("lambda", "FunctionName", "function"),
    "AWS::DynamoDB::Table": ("dynamodb", "TableName", "table"),
    "AWS::DynamoDB::GlobalTable": ("dynamodb", "TableName", "table"),
    "AWS::SQS::Queue": ("sqs", "QueueName", "queue"),
    "AWS::SNS::Topic": ("sns", "TopicName", "topic"),
    "AWS::S3::Bucket": ("s3", "BucketName", "bucket"),
    "AWS::Kinesis::Stream": ("kinesis", "Name", "stream"),
    "AWS::Events::EventBus": ("events", "Name", "event bus"),
    "AWS::StepFunctions::StateMachine": ("states", "StateMachineName", "state machine"),
    "AWS::IAM::Role": ("iam", "RoleName", "role"),
}
# kinds a plain name in an `environment` value is compared with (roles and layers are not
# addressed by name from code; SSM parameters and secrets are discovery mechanisms themselves)
_ENV_KINDS = frozenset(("lambda", "dynamodb", "sqs", "sns", "s3", "kinesis", "events", "states"))


# ---- small helpers -----------------------------------------------------------------------------

def _literal(value, svc) -> str | None:
    """The text a value has once deployed, when it is known statically (pseudo parameters of the
    service's own stack included); None for anything symbolic or computed at deploy time."""
    if isinstance(value, str):
        return value
    if not isinstance(value, MDict) or len(value) != 1:
        return None
    if "Ref" in value:
        return _pseudo(S.text_of(value["Ref"]), svc)
    if "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        variables = {}
        if isinstance(sub, list) and len(sub) == 2 and isinstance(sub[1], MDict):
            sub, variables = sub[0], sub[1]
        if not isinstance(sub, str):
            return None
        failed = []

        def rep(m):
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            got = _literal(variables[name], svc) if name in variables else _pseudo(name, svc)
            if got is None:
                failed.append(name)
                return ""
            return got
        out = _SUB_VAR.sub(rep, sub)
        return None if failed else out
    if "Fn::Join" in value:
        join = value["Fn::Join"]
        if isinstance(join, list) and len(join) == 2 and isinstance(join[0], str) and isinstance(join[1], list):
            parts = [_literal(p, svc) for p in join[1]]
            if all(p is not None for p in parts):
                return join[0].join(parts)
    return None


def _pseudo(name: str, svc) -> str | None:
    return {"AWS::StackName": svc.stack_name, "AWS::Region": svc.region, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com"}.get(name)


def _known(text) -> bool:
    """A name whose every character is known (no `${...}` or `<accountId>` placeholder left)."""
    return isinstance(text, str) and bool(text) and "${" not in text and "<" not in text and "*" not in text


def _span_loc(container, key, file: str, key_path: str = "") -> Loc:
    if isinstance(container, MDict):
        span = container.vspans.get(key) or container.kspans.get(key) or container.span
    elif isinstance(container, MList) and isinstance(key, int) and key < len(container.ispans):
        span = container.ispans[key]
    else:
        span = getattr(container, "span", (1, 1, 1, 1))
    return Loc(file, span[0], span[1], span[2], span[3], key_path)


def _key_loc(container, key, file: str, key_path: str = "") -> Loc:
    """The key and its value (`name: users-dev-x`)."""
    if isinstance(container, MDict) and key in container.kspans:
        return entry_loc(container, key, file, key_path)
    return _span_loc(container, key, file, key_path)


def _path_text(path: tuple) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _semantic_path(path: tuple) -> str:
    """A key path without list positions, for fingerprints."""
    return ".".join(str(p) for p in path if not isinstance(p, int))


def _svc_file(container, svc) -> str:
    return getattr(container, "source", None) or svc.file


def _has_fallback(ref: str) -> bool:
    """`cf:stack.Out, 'default'`: a top-level comma means the framework falls back when missing."""
    depth = 0
    for c in ref:
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        elif c == "," and depth == 0:
            return True
    return False


def _globs(config, key: str) -> list:
    ext = getattr(config, "external", None) or {}
    return list(ext.get(key) or ())


def _matches_any(text: str, globs: list) -> bool:
    return any(fnmatch.fnmatchcase(text, g) for g in globs)


def _external_stack_or_export(name: str, config) -> bool:
    """A stack or export name that lives outside the repository according to `external:`.

    `external.stacks` globs match stack names and export names; a stack glob also covers the
    exports named after it (`shared-vpc` covers `shared-vpc-PrivateSubnets`), and an
    `external.services` entry covers its stacks and exports (`legacy` covers `legacy-dev`,
    `legacy-dev-TopicArn`).
    """
    stacks = _globs(config, "stacks")
    services = _globs(config, "services")
    return (_matches_any(name, stacks) or _matches_any(name, [g + "-*" for g in stacks])
            or _matches_any(name, [g + "-*" for g in services]))


def framework_outputs(svc) -> set[str]:
    """Outputs the framework adds to a service's stack by itself (AWS provider), from osls:

    `ServerlessDeploymentBucketName` always; `ServiceEndpoint` with `http` events (and, to stay on
    the safe side, `httpApi` ones); `HttpApiId`/`HttpApiUrl` with `httpApi` events unless
    `provider.httpApi.id` names an existing API; `ServiceEndpointWebsocket` with `websocket`
    events; `<Fn>LambdaFunctionQualifiedArn` per versioned function (`versionFunctions` defaults
    to true; provisioned concurrency and SnapStart version a function anyway);
    `<Fn>LambdaFunctionUrl` per function URL; `<Layer>LambdaLayerQualifiedArn`, `...Hash` and
    `...S3Key` per layer.
    """
    if svc.provider != "aws":
        return set()
    doc = svc.doc if isinstance(svc.doc, MDict) else MDict()
    provider = doc.get("provider") if isinstance(doc.get("provider"), MDict) else MDict()
    out = {"ServerlessDeploymentBucketName"}
    version_default = provider.get("versionFunctions") is not False
    http_api = provider.get("httpApi")
    external_http_api = isinstance(http_api, MDict) and http_api.get("id") is not None
    for fn in svc.functions:
        cfg = fn.config if isinstance(fn.config, MDict) else MDict()
        types = {ev.type for ev in fn.events}
        if "http" in types or "httpApi" in types:
            out.add("ServiceEndpoint")
        if "httpApi" in types and not external_http_api:
            out.update(("HttpApiId", "HttpApiUrl"))
        if "websocket" in types:
            out.add("ServiceEndpointWebsocket")
        versioned = cfg.get("versionFunction", version_default) is not False
        if versioned or cfg.get("provisionedConcurrency") or cfg.get("snapStart"):
            out.add(lambda_logical_id(fn.name) + "QualifiedArn")
        if cfg.get("url"):
            out.add(normalized_function_name(fn.name) + "LambdaFunctionUrl")
    layers = doc.get("layers")
    if isinstance(layers, MDict):
        for name in layers:
            base = normalized_function_name(str(name)) + "LambdaLayer"
            out.update((base + "QualifiedArn", base + "Hash", base + "S3Key"))
    return out


def _defined_outputs(svc) -> set[str]:
    return {o.key for o in svc.outputs} | framework_outputs(svc)


# ---- what the repository owns and how its names are spelt ---------------------------------------

class _Repo:
    """Services, their stacks, exports and owned names, with the stage made a variable."""

    def __init__(self, context):
        project = context.project
        self.services = list(project.services)
        self.by_name: dict[str, list] = {}
        for svc in self.services:
            self.by_name.setdefault(svc.name, []).append(svc)
        self.stacks = dict(context.index.stacks)
        self.stages = set(COMMON_STAGES)
        for svc in self.services:
            self.stages.add(svc.stage)
            doc = svc.doc if isinstance(svc.doc, MDict) else MDict()
            for key in ("params", "stages"):
                block = doc.get(key)
                if isinstance(block, MDict):
                    self.stages.update(str(k) for k in block if k != "default")
        # default stack naming `<service>-<stage>` lets a stack of another stage be recognised
        self.default_stack = {}
        for svc in self.services:
            if svc.stack_name == f"{svc.name}-{svc.stage}":
                self.default_stack.setdefault(svc.name, svc)
        # export names (literal), and templates with the producer's stage as the variable part
        self.exports: dict[str, tuple] = {}
        self.export_templates: dict[str, list] = {}
        for svc in self.services:
            for out in sorted(svc.outputs, key=lambda o: str(o.key)):
                if out.export_name is None:
                    continue
                name = _literal(out.export_name, svc)
                if not _known(name):
                    continue
                self.exports.setdefault(name, (svc, out))
                for prefix, suffix in _stage_slots(name, svc.stage):
                    self.export_templates.setdefault(prefix, []).append((suffix, svc, out))
        # names of things each service owns, by ARN service kind
        self.owned: dict[str, list] = {}
        self.owned_templates: dict[str, list] = {}
        self.outputs_of: dict[tuple, list] = {}
        self._matching: dict[tuple, list] = {}  # names_matching's answers, read-only lists
        for svc in self.services:
            for out in svc.outputs:
                logical = _logical_of(out.value)
                if logical is not None:
                    self.outputs_of.setdefault((svc.id, logical), []).append(out)
            for kind, name, label, node, logical in _owned_names(svc):
                entry = (kind, svc, label, node, logical)
                self.owned.setdefault(name, []).append(entry)
                for prefix, suffix in _stage_slots(name, svc.stage):
                    self.owned_templates.setdefault(prefix, []).append((suffix, entry))

    def is_stage(self, text: str) -> bool:
        return text in self.stages

    def service_of_stack(self, stack: str):
        """(service, stage part) for a stack of the repository, at this or another stage."""
        svc = self.stacks.get(stack)
        if svc is not None:
            return svc, (svc.stage if stack == f"{svc.name}-{svc.stage}" else None)
        best = None
        for i, c in enumerate(stack):
            if c != "-":
                continue
            owner = self.default_stack.get(stack[:i])
            stage = stack[i + 1:]
            if owner is not None and stage and self.is_stage(stage):
                best = (owner, stage)  # the longest service name wins
        return best if best is not None else (None, None)

    def export_at_other_stage(self, name: str):
        """(service, output, stage part) when `name` is a repository export spelt for another stage."""
        for i in _boundaries(name):
            for suffix, svc, out in self.export_templates.get(name[:i], ()):
                if name.endswith(suffix) and len(name) - len(suffix) > i:
                    stage = name[i:len(name) - len(suffix)]
                    if self.is_stage(stage) and stage != svc.stage:
                        return svc, out, stage
        return None

    def names_matching(self, name: str, kinds) -> list:
        """[(entry, stage part)] for an owned name written at this stage or another one (a
        service's environment repeats its own functions' names: each is looked up once)."""
        key = (name, kinds)
        out = self._matching.get(key)
        if out is None:
            out = self._matching[key] = self._names_matching(name, kinds)
        return out

    def _names_matching(self, name: str, kinds) -> list:
        out = [(e, e[1].stage) for e in self.owned.get(name, ()) if e[0] in kinds]
        for i in _boundaries(name):
            for suffix, entry in self.owned_templates.get(name[:i], ()):
                if entry[0] not in kinds or not name.endswith(suffix) or len(name) - len(suffix) <= i:
                    continue
                stage = name[i:len(name) - len(suffix)]
                if stage != entry[1].stage and self.is_stage(stage):
                    out.append((entry, stage))
        return out


def _boundaries(name: str):
    """Positions right after a delimiter, and 0: where a stage part may start."""
    yield 0
    for m in _DELIM.finditer(name):
        yield m.end()


def _stage_slots(name: str, stage: str) -> list[tuple[str, str]]:
    """(prefix, suffix) around each delimited occurrence of `stage` in `name`."""
    out = []
    if not stage:
        return out
    i = name.find(stage)
    while i >= 0:
        j = i + len(stage)
        if (i == 0 or name[i - 1] in _DELIMS) and (j == len(name) or name[j] in _DELIMS):
            out.append((name[:i], name[j:]))
        i = name.find(stage, i + 1)
    return out


def _stage_var(name: str, stage: str) -> str:
    """`users-dev-X` -> `users-${sls:stage}-X` (the first delimited occurrence of the stage)."""
    slots = _stage_slots(name, stage)
    if not slots:
        return name
    prefix, suffix = slots[0]
    return prefix + "${sls:stage}" + suffix


_logical_of = S.referenced_logical_id


def _owned_names(svc):
    """(kind, name, label, graph node, logical id) of what a service names and owns."""
    if svc.provider != "aws":
        return
    prefix = svc.id[4:]
    for fn in svc.functions:
        cfg = fn.config if isinstance(fn.config, MDict) else MDict()
        explicit = cfg.get("name")
        if (explicit is None or isinstance(explicit, str)) and _known(fn.deployed_name):
            yield "lambda", fn.deployed_name, f"function {svc.name}.{fn.name}", fn.id, fn.logical_id
        for ev in fn.events:
            c = ev.config
            if ev.type == "sns":
                arn = ev.arn
                topic = c.get("topicName") if isinstance(c, MDict) else None
                topic = topic or (arn if isinstance(arn, str) and not arn.startswith("arn:") else None)
                if _known(topic):
                    yield "sns", topic, f"topic {topic} (created by an sns event of {svc.name}.{fn.name})", None, None
            elif ev.type == "s3":
                bucket = c.get("bucket") if isinstance(c, MDict) else c
                existing = isinstance(c, MDict) and c.get("existing") is True
                if _known(bucket) and not existing:
                    yield "s3", bucket, f"bucket {bucket} (created by an s3 event of {svc.name}.{fn.name})", None, None
    for r in svc.resources:
        spec = _NAMED.get(r.type)
        if spec is None or not isinstance(r.properties, MDict):
            continue
        kind, prop, what = spec
        name = _literal(r.properties.get(prop), svc)
        if _known(name):
            yield kind, name, f"{what} {prefix}.{r.logical_id}", r.id, r.logical_id
    doc = svc.doc if isinstance(svc.doc, MDict) else MDict()
    layers = doc.get("layers")
    if isinstance(layers, MDict):
        for key, cfg in layers.items():
            name = cfg.get("name") if isinstance(cfg, MDict) and cfg.get("name") else key
            if _known(name):
                yield "layer", str(name), f"layer {svc.name}.{key}", None, None
    role = shared_role_name(svc)
    if role is not None and _known(role[0]):
        yield "iam", role[0], f"execution role of {svc.name}", None, None


def _repo(context) -> _Repo:
    cached = getattr(context, "_discovery_repo", None)
    if cached is None:
        cached = _Repo(context)
        context._discovery_repo = cached
    return cached


# ---- SLS401/SLS404: literal ARNs, URLs and names --------------------------------------------------

class _Site:
    """One literal string of a service's config that names something, classified."""

    __slots__ = ("accounts", "loc", "names", "original", "path", "pinned", "raw_accounts", "svc", "text")

    def __init__(self, svc, text):
        self.svc, self.text, self.loc, self.path = svc, text, None, ()
        self.raw_accounts: list = []  # (account id, in a same-account position)
        self.accounts: list = []      # the account ids reported
        self.names: list = []         # (entry, written) another service owns, at the analyzed stage
        self.pinned: list = []        # (entry, written, stage part) at another stage
        self.original = True


# Keys whose IAM role or policy ARN must be in the deploying account: Lambda execution roles,
# permission boundaries and attached managed policies cannot come from another account.
SAME_ACCOUNT_KEYS = frozenset((
    "role", "Role", "deploymentRole", "cfnRole", "permissionsBoundary", "permissionBoundary",
    "rolePermissionsBoundary", "managedPolicies", "iamManagedPolicies", "ManagedPolicyArns",
    "PermissionsBoundary", "iamPermissionsBoundary", "iamGlobalPermissionsBoundary",
))


def _literals(context) -> list:
    cached = getattr(context, "_discovery_literals", None)
    if cached is None:
        cached = _scan_literals(context)
        context._discovery_literals = cached
    return cached


def _scan_literals(context) -> list:
    """Every string of every service naming another service's thing or a literal account.

    Iterative and visiting each container once (aliases and `${file()}` includes are shared
    objects), so its cost is one pass over the resolved documents.
    """
    repo = _repo(context)
    ext_arns = _globs(context.config, "arns")
    # keys the chosen framework ignores (SLS005) are not part of what deploys
    ignored: dict[str, list] = {}
    for d in context.diagnostics:
        if d.rule == "SLS005" and d.key_path:
            ignored.setdefault(d.file, []).append(d.key_path)
    sites: list = []
    groups: list = []
    for svc in repo.services:
        doc = svc.doc
        if not isinstance(doc, MDict):
            continue
        skip = ignored.get(svc.file, ())
        by_object: dict[int, list] = {}
        # records are (parent record, key, container, in an `environment` block); paths and
        # files are rebuilt from them only for the few strings that name something
        stack = [(doc, None)]
        seen: set[int] = set()
        while stack:
            c, rec = stack.pop()
            if id(c) in seen:
                continue
            seen.add(id(c))
            env = rec is not None and rec[3]
            for k, v in (c.items() if isinstance(c, dict) else enumerate(c)):
                t = type(v)
                if t is str:
                    if not env and not names_aws(v):
                        continue
                    text = v
                elif t is MDict or t is MList:
                    if v.hot:  # the loader saw an ARN, a host name, a variable or environment below
                        stack.append((v, (rec, k, c, k == "environment" and _env_parent(rec))))
                    continue
                elif isinstance(v, (dict, list)):
                    stack.append((v, (rec, k, c, k == "environment" and _env_parent(rec))))
                    continue
                elif t is S.SymStr:
                    text = "".join(p if isinstance(p, str) else "${" + p.ref + "}" for p in v.parts)
                    if not env and not names_aws(text):
                        continue
                else:
                    continue
                memo: list = []

                def written(v=v, c=c, k=k, memo=memo, region=svc.region):
                    if not memo:
                        memo.append(_written_here(v, c, k, region))
                    return memo[0]
                site = _classify(svc, text, env, written, repo, ext_arns)
                if site is None:
                    continue
                full = _path_of(rec) + (k,)
                if any(iam for _, iam in site.raw_accounts):
                    same_account_key = _last_key(full) in SAME_ACCOUNT_KEYS
                    site.raw_accounts = [(a, iam and same_account_key) for a, iam in site.raw_accounts]
                key_path = _path_text(full)
                if skip and any(key_path == p or key_path.startswith((p + ".", p + "[")) for p in skip):
                    continue
                site.loc = _span_loc(c, k, _file_of(c, rec, svc), key_path)
                site.path = full
                sites.append(site)
                by_object.setdefault(id(v), []).append((site, written))  # called only for copies
        groups.extend(g for g in by_object.values() if len(g) > 1)
    # an account written where it must be the deploying account is the repository's account:
    # the same account written anywhere else is reported too; other literal accounts may be
    # other accounts' resources (cross-account access) and are left alone
    learned = {a for s in sites for a, strict in s.raw_accounts if strict}
    for s in sites:
        s.accounts = list(dict.fromkeys(a for a, strict in s.raw_accounts if strict or a in learned))
    # a literal copied by `${self:...}` into other places is reported where it is written
    for group in groups:
        keep = next((s for s, w in group if w()), None) or min(
            (s for s, _ in group), key=lambda s: (s.loc.file, s.loc.line, s.loc.column))
        for s, _ in group:
            s.original = s is keep
    return [s for s in sites if s.original and (s.accounts or s.names or s.pinned)]


def _env_parent(rec) -> bool:
    """Whether a container at `rec` is `provider` or `functions.<name>` (its `environment` child
    holds environment values)."""
    if rec is None:
        return False
    parent = rec[0]
    if parent is None:
        return rec[1] == "provider"
    return parent[0] is None and parent[1] == "functions"


def _path_of(rec) -> tuple:
    out = []
    while rec is not None:
        out.append(rec[1])
        rec = rec[0]
    return tuple(reversed(out))


def _file_of(container, rec, svc) -> str:
    """The file a container was written in: the nearest one (itself or above) that knows it."""
    src = getattr(container, "source", None)
    while src is None and rec is not None:
        src = getattr(rec[2], "source", None)
        rec = rec[0]
    return src or svc.file


def _last_key(path: tuple):
    for p in reversed(path):
        if not isinstance(p, int):
            return p
    return None


# how the region field of an ARN is usually written: a value built from these and otherwise
# literal is still "written literally" for the names in it
_REGION_FORMS = ("${aws:region}", "${self:provider.region}", "${opt:region}")


def _written_here(value, container, key, region: str = "") -> bool:
    """True when the value's text is written literally where it stands (a region variable
    aside): its span is as wide as the text (plus quotes), symbolic parts counted as the
    `${...}` they were written as. A value built from other variables (`users-${sls:stage}-x`)
    or copied from elsewhere (`${self:custom.x}`) has a span of another width."""
    if isinstance(container, MDict):
        span = container.vspans.get(key)
    elif isinstance(container, MList) and isinstance(key, int) and key < len(container.ispans):
        span = container.ispans[key]
    else:
        span = None
    if not span or span[0] != span[2]:
        return False
    if isinstance(value, S.SymStr):
        base = sum(len(p) if isinstance(p, str) else len(p.ref) + 3 for p in value.parts)
    else:
        base = len(value)
    width = span[3] - span[1]
    if isinstance(container, MDict) and isinstance(key, str) and container.span == span:
        # a short tag (`!Sub '...'`): its span starts at the tag
        width -= len(key.replace("Fn::", "!", 1)) + 1 if key.startswith("Fn::") else len("!" + key) + 1
    deltas = {0} | ({len(f) - len(region) for f in _REGION_FORMS} if region else set())
    return any(width - quotes - base in deltas for quotes in (0, 2))


def _classify(svc, text: str, env: bool, written, repo: _Repo, ext_arns: list):
    """A site for `text`, or None. `written()` tells whether the text is written literally where
    it stands; `raw_accounts` flags the accounts of IAM role/policy ARNs (strict once the key is
    known to be a same-account one).

    Most texts are plain environment values: the regexes run only on texts holding what they
    start with, and a site is made only for a text that names something."""
    raw_accounts: list = []
    candidates: list = []  # (kind, name)
    if "arn:" in text:
        for m in _ARN.finditer(text):
            arn = m.group(0)
            if ext_arns and _matches_any(arn, ext_arns):
                continue
            service, account, resource = m.group(2), m.group(4), m.group(5)
            kind, name = _arn_name(service, resource)
            if (_ACCOUNT.match(account) and account not in AWS_OWNED_ACCOUNTS
                    and (kind != "layer" or (name and repo.names_matching(name, ("layer",))))):
                raw_accounts.append((account, service == "iam" and resource.startswith(("role/", "policy/"))))
            if kind and name:
                candidates.append((kind, name))
    if "https://" in text:
        for m in _QUEUE_URL.finditer(text):
            if ext_arns and _matches_any(m.group(0), ext_arns):
                continue
            account, name = m.group(3), m.group(4)
            if _ACCOUNT.match(account) and account not in AWS_OWNED_ACCOUNTS:
                raw_accounts.append((account, False))
            candidates.append(("sqs", name))
    if env and not candidates and _known(text):
        candidates.append((None, text))
    names: list = []
    pinned: list = []
    for kind, name in candidates:
        if not _known(name):
            continue
        kinds = _ENV_KINDS if kind is None else (kind,)
        for entry, stage in repo.names_matching(name, kinds):
            if entry[1].id == svc.id:
                continue  # the service's own resources
            if stage != svc.stage:
                pinned.append((entry, name, stage))
            elif not _stage_slots(name, svc.stage) or written():
                names.append((entry, name))
            # else: built from variables with the analyzed stage in it (`users-${sls:stage}-x`):
            # the convention-built name the framework documents, not a hardcoded one
    if not (raw_accounts or names or pinned):
        return None
    site = _Site(svc, text)
    site.raw_accounts, site.names, site.pinned = raw_accounts, names, pinned
    return site


def _arn_name(service: str, resource: str):
    """(kind, name) an ARN's resource part names, for the kinds names are compared on."""
    head, sep, rest = resource.partition(":")
    if service == "lambda":
        if head == "function" and sep:
            return "lambda", rest.split(":")[0]
        if head == "layer" and sep:
            return "layer", rest.split(":")[0]
        return None, None
    if service == "dynamodb" and resource.startswith("table/"):
        return "dynamodb", resource.split("/")[1]
    if service == "sqs":
        return "sqs", resource
    if service == "sns":
        return "sns", head
    if service == "s3":
        return "s3", resource.split("/")[0]
    if service == "kinesis" and resource.startswith("stream/"):
        return "kinesis", resource.split("/")[1]
    if service == "events" and resource.startswith("event-bus/"):
        return "events", resource.split("/")[1]
    if service == "states" and head == "stateMachine" and sep:
        return "states", rest.split(":")[0]
    if service == "iam" and resource.startswith("role/"):
        return "iam", resource.rsplit("/", 1)[-1]
    return None, None


def _reference_hint(repo: _Repo, entry) -> str:
    """How to reach what a literal names through the producer's outputs."""
    kind, owner, _, _, logical = entry
    stack = owner.stack_name
    stack_ref = (f"{owner.name}-${{sls:stage}}" if owner.stack_name == f"{owner.name}-{owner.stage}"
                 else stack)
    for out in repo.outputs_of.get((owner.id, logical), ()) if logical else ():
        name = _literal(out.export_name, owner) if out.export_name is not None else None
        if _known(name):
            spelt = _stage_var(name, owner.stage)
            return f"`!ImportValue {spelt}` (an export of {owner.name})"
        return f"`${{cf:{stack_ref}.{out.key}}}` (an output of {owner.name})"
    if kind == "lambda" and logical:
        return (f"`${{cf:{stack_ref}.{logical}QualifiedArn}}` (an output the framework adds to "
                f"{owner.name}), or an output of your own")
    what = f" for {logical} (`Value: !GetAtt {logical}.Arn` or `!Ref {logical}`)" if logical else ""
    return (f"an output of {owner.name}{what}, read with `${{cf:{stack_ref}.<Output>}}`, `!ImportValue` "
            f"or a Compose param,")


# ---- the rules -------------------------------------------------------------------------------------

class HardcodedReference(Rule):
    id = "SLS401"
    name = "hardcoded-reference"
    severity = "warning"
    summary = ("A literal ARN, URL or name of something another service owns, or a literal account "
               "id in an ARN, instead of a discovered reference.")
    tags = ("discovery", "portability")
    what = """
Two kinds of literal in a service's configuration (after its variables are resolved):

- an ARN, an SQS queue URL or a plain name that spells something **another service of the
  repository** owns: a function's deployed name (`users-dev-getUser`, in an ARN or alone as an
  `environment` value), a table, queue, topic, bucket, stream, event bus, state machine or role
  named in its `resources:` (or a topic or bucket its `sns`/`s3` events create), one of its
  layers, or its generated execution role. ARNs and queue URLs are looked at everywhere; a plain
  name only as a whole `environment` value. A name is hardcoded when it is written out: the
  framework's convention with the stage as a variable (`users-${sls:stage}-getUser`) is not
  reported (to tell them apart the rule compares the width of what is written with the resolved
  text, allowing a region variable such as `${aws:region}`), a name written through
  `${self:custom.x}` is reported where the literal is. SSM parameters and secrets are not
  reported: they are a discovery mechanism themselves;
- a literal 12-digit **account id** in an ARN or queue URL that is the repository's own account:
  an IAM role or policy ARN where it must be the deploying account (an execution `role`,
  `permissionsBoundary`, `managedPolicies`, `deploymentRole`, `cfnRole`, a role's
  `ManagedPolicyArns`/`PermissionsBoundary`), and that same account written anywhere else in
  the repository. Other accounts are left alone (cross-account access names other accounts on
  purpose), and so are AWS-owned ARNs (`arn:aws:iam::aws:policy/...` has no account), public
  layers (a `:layer:` ARN is published outside the repository, by AWS or a vendor, unless its
  name is a layer a repository service publishes) and a short list of AWS-owned accounts
  (Lambda Insights `580247275435`, ADOT, Powertools, ELB log delivery).

What matches a glob of `external.arns` is never reported, and neither is what the chosen
framework ignores (SLS005). One finding per literal, where it is written, naming everything it
hardcodes. A name of another service spelt for another stage than the analyzed one is SLS404
instead.
"""
    why = """
A hardcoded ARN or name ties this service to how another service happens to be deployed today:
its stage, its region, its account, its naming. Rename a function, set `provider.stackName`,
deploy a second stage or move to another account, and this service keeps pointing at the old
thing, or at nothing. Nothing in the repository records the dependency either, so no deploy
order is derived from it. A discovered reference (`${cf:}`, `!ImportValue`, a Compose param,
`${ssm:}`) fails loudly when the target is missing and follows it when it moves.
"""
    example = """
provider:
  iam:
    role:
      statements:
        - Effect: Allow
          Action: lambda:InvokeFunction
          Resource: arn:aws:lambda:eu-west-1:123456789012:function:users-dev-getUser
functions:
  placeOrder:
    environment:
      GET_USER_FUNCTION: users-dev-getUser
"""
    instead = """
provider:
  iam:
    role:
      statements:
        - Effect: Allow
          Action: lambda:InvokeFunction
          Resource: !ImportValue users-${sls:stage}-GetUserFunctionArn
functions:
  placeOrder:
    environment:
      GET_USER_FUNCTION: !ImportValue users-${sls:stage}-GetUserFunctionArn
# users/serverless.yml exports it:
#   Outputs:
#     GetUserFunctionArn:
#       Value: !GetAtt GetUserLambdaFunction.Arn
#       Export:
#         Name: ${self:service}-${sls:stage}-GetUserFunctionArn
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/guide/variables#reference-cloudformation-outputs",
        "https://www.serverless.com/framework/docs/guides/compose",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-importvalue.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/Lambda-Insights-extension-versionsx86-64.html",
    )

    def check(self, graph, context):
        repo = _repo(context)
        for site in _literals(context):
            if site.pinned:
                continue  # SLS404 reports the literal
            if not site.names and not site.accounts:
                continue
            parts = []
            nodes = [site.svc.id]
            targets = []
            for entry, written in _unique_entries(site.names):
                parts.append(f"the name of {entry[2]}" + (f" (`{written}`)" if written != site.text else ""))
                targets.append(entry)
                if entry[3]:
                    nodes.append(entry[3])
            if site.accounts:
                parts.append("account " + ", ".join(site.accounts))
            msg = f"`{_short(site.text)}` hardcodes " + " and ".join(parts)
            if targets:
                fix = "use " + _reference_hint(repo, targets[0]) + " instead"
                if site.accounts:
                    fix += "; write the account as `${aws:accountId}`"
            else:
                fix = ("write the account as `${aws:accountId}` (`${AWS::AccountId}` inside `!Sub`), or "
                       "list the ARN under `external.arns` when it belongs to another account")
            related = tuple((e[3], f"{e[2]} is defined here") for e in targets if e[3])
            yield Hit(msg, loc=site.loc, names=(site.svc.name, _semantic_path(site.path), site.text),
                      nodes=tuple(dict.fromkeys(nodes)), related=related, fix=fix)


def _unique_entries(pairs):
    seen = set()
    for entry, written in pairs:
        key = (entry[2], written)
        if key not in seen:
            seen.add(key)
            yield entry, written


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class DanglingReference(Rule):
    id = "SLS402"
    name = "dangling-reference"
    severity = "error"
    summary = ("`${cf:}`, `!ImportValue` or a Compose `${service.Output}` to an output or export no "
               "service defines, or to a stack neither in the repository nor listed in `external:`.")
    tags = ("discovery", "deploy")
    what = """
A reference to another stack that cannot be satisfied, one finding per place it is written:

- `${cf:stack.Output}` (also `${cf(region):...}`) whose stack is a repository service's but that
  service defines no such output, or whose stack is not in the repository and matches no
  `external.stacks` glob (nor `<name>-*` of an `external.services` entry);
- `!ImportValue name` that no service of the repository exports and that `external:` does not
  cover (a stack glob also covers the exports named after it: `shared-vpc` covers
  `shared-vpc-PrivateSubnets`);
- a Compose param `${service.Output}` naming a service that `serverless-compose.yml` does not
  list, or an output that service does not define.

Outputs the framework adds itself count as defined: `ServerlessDeploymentBucketName`,
`ServiceEndpoint` (http or httpApi events), `HttpApiId`/`HttpApiUrl` (httpApi events, unless
`provider.httpApi.id` is set), `ServiceEndpointWebsocket` (websocket events),
`<Function>LambdaFunctionQualifiedArn` (each versioned function), `<Function>LambdaFunctionUrl`
(function URLs) and `<Layer>LambdaLayerQualifiedArn`/`Hash`/`S3Key` (layers). Export names
written as `!Sub '${AWS::StackName}-X'` are resolved for the comparison.

In a repository of one service whose configuration has no `external:` section, stacks and
exports outside it are not reported (every other stack lives elsewhere there, and nothing could
tell a typo from an external stack); its own stack's outputs still are.

Not reported: a `${cf:}` with a fallback (`${cf:stack.Out, 'x'}`: the framework uses it when the
output is missing), names that stay symbolic, a reference to a repository service spelt for
another stage (SLS404 reports the stage; the output is still checked), and `${ssm:}`
parameters for now (the graph does not record which service defines a parameter yet).
"""
    why = """
The framework resolves `${cf:}` when it packages, and CloudFormation resolves `!ImportValue` when
it deploys: a missing output or export stops the deploy with "Stack ... does not exist" or "No
export named ... found" — usually in CI, after the other services have already moved on. A stack
that lives outside the repository is fine, but it is declared once in `external:` so that a typo
in a stack name is not mistaken for it.
"""
    example = """
functions:
  notify:
    environment:
      USERS_TABLE_ARN: ${cf:users-${sls:stage}.UsersTableArn}   # users outputs UserTableArn
      EVENT_BUS: !ImportValue platform-${sls:stage}-EventBus    # nothing exports it
"""
    instead = """
functions:
  notify:
    environment:
      USERS_TABLE_ARN: ${cf:users-${sls:stage}.UserTableArn}
      EVENT_BUS: !ImportValue platform-${sls:stage}-EventBusName
# and, for stacks deployed from another repository, in .sls-audit.yml:
# external:
#   stacks: [shared-network-*]
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/guide/variables#reference-cloudformation-outputs",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-importvalue.html",
        "https://www.serverless.com/framework/docs/guides/compose",
        "https://github.com/oss-serverless/serverless/blob/main/lib/plugins/aws/lib/naming.js",
    )

    def check(self, graph, context):
        repo = _repo(context)
        config = context.config
        # an unknown stack or export is judged in a monorepo, or once `external:` is written;
        # in a one-service repository without it every other stack lives elsewhere
        judge_unknown = len(repo.services) > 1 or bool(getattr(config, "external", None))
        defined: dict[str, set] = {}

        def outputs(svc):
            if svc.id not in defined:
                defined[svc.id] = _defined_outputs(svc)
            return defined[svc.id]

        seen: set = set()
        for svc in repo.services:
            for sym in svc.symbols:
                if not isinstance(sym, S.CfOutput):
                    continue
                key = (sym.file, sym.line, sym.column, sym.ref)
                if key in seen or _has_fallback(sym.ref):
                    continue
                seen.add(key)
                stack, output = sym.stack, sym.output
                if not _known(stack) or not _known(output):
                    continue
                loc = Loc(sym.file, sym.line, sym.column, sym.line, sym.column)
                text = "${" + sym.ref + "}"
                producer, _ = repo.service_of_stack(stack)
                if producer is not None:
                    if output not in outputs(producer):
                        yield Hit(f"`{text}`: stack {stack} (service {producer.name}) has no output {output}"
                                  + _did_you_mean(output, outputs(producer)),
                                  loc=loc, names=(svc.name, stack, output),
                                  nodes=(svc.id, producer.id), related=((producer.id, f"service {producer.name}"),),
                                  fix=f"add output {output} to {producer.name}, or read one it defines")
                elif judge_unknown and not _external_stack_or_export(stack, config):
                    yield Hit(f"`{text}`: stack {stack} is not a stack of this repository and is not listed "
                              f"in `external.stacks`" + _did_you_mean(stack, repo.stacks),
                              loc=loc, names=(svc.name, stack, output), nodes=(svc.id,),
                              fix=f"correct the stack name, or declare it in .sls-audit.yml: "
                                  f"`external: {{stacks: [{stack}]}}`")
            for value, file, span in svc.import_values:
                key = (file, span[0], span[1])
                if key in seen:
                    continue
                seen.add(key)
                name = _literal(value, svc)
                if not _known(name):
                    continue
                if name in repo.exports or repo.export_at_other_stage(name) is not None:
                    continue
                if not judge_unknown or _external_stack_or_export(name, config):
                    continue
                yield Hit(f"`!ImportValue {name}`: no service of this repository exports {name}, and "
                          f"`external:` does not list it" + _did_you_mean(name, repo.exports),
                          loc=Loc(file, span[0], span[1], span[2], span[3]), names=(svc.name, name),
                          nodes=(svc.id,),
                          fix="correct the export name, or declare the stack that exports it under "
                              "`external.stacks` in .sls-audit.yml")
        for comp in context.project.compose:
            listed = {cs.name for cs in comp.services}
            for cs in comp.services:
                for param, value in sorted(cs.params.items(), key=lambda kv: str(kv[0])):
                    if not isinstance(value, S.ComposeOutput):
                        continue
                    key = (value.file, value.line, value.column, value.ref, cs.name)
                    if key in seen:
                        continue
                    seen.add(key)
                    loc = Loc(value.file, value.line, value.column, value.line, value.column,
                              f"services.{cs.name}.params.{param}")
                    text = "${" + value.ref + "}"
                    producer = context.index.compose_services.get(value.service)
                    if producer is None:
                        if value.service in listed:
                            continue  # listed, but its config could not be read (SLS001 says why)
                        yield Hit(f"`{text}` (param {param} of {cs.name}): {value.service} is not a service "
                                  f"of {comp.file}" + _did_you_mean(value.service, listed),
                                  loc=loc, names=(cs.name, param, value.service, value.output),
                                  fix=f"name one of the services {comp.file} lists")
                    elif value.output not in outputs(producer):
                        yield Hit(f"`{text}` (param {param} of {cs.name}): service {producer.name} has no "
                                  f"output {value.output}" + _did_you_mean(value.output, outputs(producer)),
                                  loc=loc, names=(cs.name, param, value.service, value.output),
                                  nodes=(producer.id,), related=((producer.id, f"service {producer.name}"),),
                                  fix=f"add output {value.output} to {producer.name}, or read one it defines")


def _did_you_mean(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.8)
    return f" (did you mean {close[0]}?)" if close else ""


class DependencyCycle(Rule):
    id = "SLS403"
    name = "dependency-cycle"
    severity = "error"
    summary = "Services depend on each other in a cycle: no deploy order exists."
    tags = ("discovery", "deploy")
    what = """
Services whose dependencies form a cycle: `orders` imports an output of `users`, and `users`
reads one of `orders` (through `${cf:}`, `!ImportValue`, a Compose param or Compose
`dependsOn`). One finding per group of services that depend on each other (a strongly connected
component of the `depends_on` edges), naming one cycle through them in order and every
dependency of the group as evidence; it is located at the first dependency of that cycle.
"""
    why = """
Each service of the cycle needs another one deployed first. A first deploy (a new stage, a new
account, disaster recovery) cannot succeed, and Compose refuses the configuration. Cycles usually
creep in one harmless-looking reference at a time and stay invisible while every stack already
exists.
"""
    example = """
# users/serverless.yml
provider:
  environment:
    ORDERS_TOPIC: ${cf:orders-${sls:stage}.TopicArn}
# orders/serverless.yml
provider:
  environment:
    USERS_TABLE: ${cf:users-${sls:stage}.UserTableArn}
"""
    instead = """
# break the cycle: one side publishes, the other discovers it, e.g. through a third service
# (or SSM) that owns what both need
# users/serverless.yml
provider:
  environment:
    ORDERS_TOPIC: ${ssm:/events/${sls:stage}/orders-topic-arn}
"""
    references = (
        "https://www.serverless.com/framework/docs/guides/compose",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/walkthrough-crossstackref.html",
    )

    def check(self, graph, context):
        services = {s.id for s in context.project.services if s.id in graph}
        # the groups come from the `depends_on` edges copied into a graph of their own: walking a
        # filtered view of the whole graph costs far more
        deps = nx.MultiDiGraph()
        for u in sorted(services):
            for v, keyed in graph.succ[u].items():
                if v in services:
                    for k, d in keyed.items():
                        if d.get("kind") == "depends_on":
                            deps.add_edge(u, v, k)
        if not deps.number_of_edges():
            return
        groups = [sorted(c) for c in nx.strongly_connected_components(deps) if len(c) > 1]
        for members in sorted(groups):
            # built in sorted order, so the cycle found does not depend on set order (hash seed)
            inside = set(members)
            sub = nx.MultiDiGraph()
            for u in members:
                for v in sorted(deps.succ[u]):
                    if v in inside:
                        for k in deps.succ[u][v]:
                            sub.add_edge(u, v, k, **graph.edges[u, v, k])
            cycle = nx.find_cycle(sub, source=members[0])
            order = [e[0] for e in cycle]
            start = order.index(min(order))
            order = order[start:] + order[:start]
            first = next(e for e in cycle if e[0] == order[0])
            names = [graph.nodes[n].get("name", n) for n in order]
            path = " → ".join(names + [names[0]])
            all_names = sorted(graph.nodes[n].get("name", n) for n in members)
            msg = f"services {', '.join(all_names)} depend on each other in a cycle ({path}): no deploy order exists"
            related = []
            for u, v, d in sorted(sub.edges(data=True), key=lambda t: (t[0], t[1])):
                related.append((d["loc"], (f"{graph.nodes[u].get('name')} depends on "
                                           f"{graph.nodes[v].get('name')} ({d.get('reason', '')})")))
            loc = graph.edges[first[0], first[1], first[2]]["loc"]
            yield Hit(msg, loc=loc, names=tuple(all_names), nodes=tuple(members), related=tuple(related),
                      fix="remove one of these references, or move what both need into a service they both read")


class StagePinnedReference(Rule):
    id = "SLS404"
    name = "stage-pinned-reference"
    severity = "warning"
    summary = "A reference to another service spelt for a fixed stage other than the one analyzed."
    tags = ("discovery", "portability")
    what = """
A reference to another service of the repository whose stage part is fixed and differs from the
stage this service is analyzed for (`--stage`, else `provider.stage`, else `dev`):

- `${cf:users-prod.UserTableArn}` while analyzing `dev` (the stack is `<service>-<stage>` of a
  repository service; services with a custom `provider.stackName` are not matched);
- `!ImportValue users-prod-UserTableArn` where `users` exports `users-<stage>-UserTableArn`;
- a literal ARN or name (see SLS401) of another service's function or resource spelt with
  another stage (`arn:aws:lambda:...:function:users-prod-getUser`).

The stage part is compared after variables are resolved, so `users-${sls:stage}` never matches,
and the same reference is fine when the analyzed stage is the one it names: a reference pinned to
`prod` is reported when analyzing `dev` and not when analyzing `prod` (a literal then is SLS401).
A stage part is recognised when the repository uses it (service stages, `params:` and `stages:`
keys) or it is a common stage name (dev, test, qa, staging, prod, ...), so `users-legacy` is not
mistaken for a stage of `users`.
"""
    why = """
A stage is a copy of the whole system. A `dev` function that reads `prod`'s table or invokes
`prod`'s functions writes test data into production, or breaks every other stage when production
changes. It usually starts as a temporary shortcut and survives because it works.
"""
    example = """
provider:
  environment:
    USERS_TABLE_ARN: ${cf:users-prod.UserTableArn}
    GET_USER_ARN: !ImportValue users-prod-GetUserFunctionArn
"""
    instead = """
provider:
  environment:
    USERS_TABLE_ARN: ${cf:users-${sls:stage}.UserTableArn}
    GET_USER_ARN: !ImportValue users-${sls:stage}-GetUserFunctionArn
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/guide/variables#referencing-cli-options",
        "https://www.serverless.com/framework/docs/guides/parameters",
    )

    def check(self, graph, context):
        repo = _repo(context)
        seen: set = set()
        for svc in repo.services:
            for sym in svc.symbols:
                if not isinstance(sym, S.CfOutput) or not _known(sym.stack):
                    continue
                key = (sym.file, sym.line, sym.column, sym.ref)
                if key in seen:
                    continue
                seen.add(key)
                producer, stage = repo.service_of_stack(sym.stack)
                if producer is None or producer.id == svc.id or stage is None or stage == svc.stage:
                    continue
                if producer.stack_name != f"{producer.name}-{producer.stage}":
                    continue
                spelt = f"{producer.name}-${{sls:stage}}"
                yield Hit(f"`${{{sym.ref}}}` reads stage {stage} of service {producer.name} while "
                          f"{svc.name} is analyzed for stage {svc.stage}",
                          loc=Loc(sym.file, sym.line, sym.column, sym.line, sym.column),
                          names=(svc.name, producer.name, stage, sym.output), nodes=(svc.id, producer.id),
                          fix=f"use `${{cf:{spelt}.{sym.output}}}`")
            for value, file, span in svc.import_values:
                key = (file, span[0], span[1])
                if key in seen:
                    continue
                seen.add(key)
                name = _literal(value, svc)
                if not _known(name) or name in repo.exports:
                    continue
                found = repo.export_at_other_stage(name)
                if found is None:
                    continue
                producer, out, stage = found
                if producer.id == svc.id or stage == svc.stage:
                    continue
                spelt = _stage_var(_literal(out.export_name, producer), producer.stage)
                yield Hit(f"`!ImportValue {name}` reads stage {stage} of service {producer.name} while "
                          f"{svc.name} is analyzed for stage {svc.stage}",
                          loc=Loc(file, span[0], span[1], span[2], span[3]),
                          names=(svc.name, producer.name, stage, out.key), nodes=(svc.id, producer.id),
                          related=((out.loc, f"{producer.name} exports it here"),) if out.loc else (),
                          fix=f"use `!ImportValue {spelt}`")
        for site in _literals(context):
            if not site.pinned:
                continue
            entry, written, stage = site.pinned[0]
            others = sorted({e[2] for e, _, _ in site.pinned[1:]} - {entry[2]})
            msg = (f"`{_short(site.text)}` names {entry[2]} at stage {stage}"
                   + (f" (`{written}`)" if written != site.text else "")
                   + f" while {site.svc.name} is analyzed for stage {site.svc.stage}")
            if others:
                msg += " (also " + ", ".join(others) + ")"
            if site.accounts:
                msg += "; it also hardcodes account " + ", ".join(site.accounts)
            yield Hit(msg, loc=site.loc, names=(site.svc.name, _semantic_path(site.path), site.text),
                      nodes=tuple(dict.fromkeys([site.svc.id] + [e[3] for e, _, _ in site.pinned if e[3]])),
                      related=((entry[3], f"{entry[2]} is defined here"),) if entry[3] else (),
                      fix="use " + _reference_hint(repo, entry) + " instead")


class DuplicateName(Rule):
    id = "SLS405"
    name = "duplicate-name"
    severity = "error"
    summary = "Two services, functions, stacks or exports resolve to the same name."
    tags = ("discovery", "deploy")
    what = """
Names that must be unique but are not, after variables are resolved:

- two services with the same `service:` value anywhere in the repository;
- two functions whose deployed names are equal in the same region (`name:` overrides included);
- two services whose stacks have the same name in the same region (`provider.stackName`);
- two outputs exporting the same `Export.Name` in the same region.

One finding per extra occurrence (in path order, then by name within a file; the first is the
reference), with the first one as related location. A collision that follows from two services sharing one `service:` name
is reported once, as the service duplicate, not again for each of their functions, stacks and
exports.
"""
    why = """
Service names are how `calling: users:getUser`, `function` events and Compose refer to a
service: with two `users`, those references are ambiguous and the two services deploy over each
other's stack. Function names, stack names and export names are unique per account and region:
the second deploy fails ("already exists"), or, for stacks, silently replaces the first
service's resources.
"""
    example = """
# billing/serverless.yml
service: payments
# payments/serverless.yml
service: payments
"""
    instead = """
# billing/serverless.yml
service: billing
# payments/serverless.yml
service: payments
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/guide/services",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html",
    )

    def check(self, graph, context):
        repo = _repo(context)
        services = sorted(repo.services, key=lambda s: (s.file, s.id))
        # services
        for name, group in sorted(_groups(services, lambda s: s.name).items()):
            first = group[0]
            for other in group[1:]:
                same_stack = (other.provider == first.provider == "aws" and other.region == first.region
                              and other.stack_name == first.stack_name)
                yield Hit(f"service name {name} is also used by {first.file}: references to {name} are "
                          f"ambiguous" + (f", and both deploy to stack {other.stack_name} ({other.region})"
                                          if same_stack else ""),
                          node=other.id, names=("service", name),
                          nodes=(other.id, first.id), related=((first.id, f"service {name} is defined here too"),),
                          fix="give each service its own `service:` name")
        # stacks
        aws = [s for s in services if s.provider == "aws"]
        for (region, stack), group in sorted(_groups(aws, lambda s: (s.region, s.stack_name)).items()):
            first = group[0]
            for other in group[1:]:
                if other.name == first.name:
                    continue  # the service duplicate above
                yield Hit(f"stack {stack} ({region}) is also the stack of service {first.name} "
                          f"({first.file}): the second deploy replaces the first",
                          loc=_stack_loc(other), names=("stack", region, stack, other.name),
                          nodes=(other.id, first.id), related=((first.id, f"service {first.name}"),),
                          fix="give each service its own `provider.stackName` (or none)")
        # functions
        # within one file by name, not by position: reordering functions must not change which
        # one is reported (its fingerprint is what baselines match)
        functions = [(svc, fn) for svc in services for fn in sorted(svc.functions, key=lambda f: f.name)
                     if svc.provider == "aws" and _known(fn.deployed_name)]
        for (region, name), group in sorted(_groups(functions, lambda t: (t[0].region, t[1].deployed_name)).items()):
            (fsvc, ffn) = group[0]
            for svc, fn in group[1:]:
                if svc.id != fsvc.id and svc.name == fsvc.name:
                    continue  # the service duplicate above
                where = f"function {fsvc.name}.{ffn.name}" + (f" ({fsvc.file})" if svc.id != fsvc.id else "")
                yield Hit(f"function {svc.name}.{fn.name} deploys as {name} ({region}), like {where}",
                          loc=_function_name_loc(fn), names=("function", region, name, svc.name, fn.name),
                          nodes=(fn.id, ffn.id), related=((ffn.id, f"{fsvc.name}.{ffn.name} is defined here"),),
                          fix="give one of them another `name:`")
        # exports
        exports = []
        for svc in services:
            for out in sorted(svc.outputs, key=lambda o: str(o.key)):
                if out.export_name is not None:
                    name = _literal(out.export_name, svc)
                    if _known(name):
                        exports.append((svc, out, name))
        for (region, name), group in sorted(_groups(exports, lambda t: (t[0].region, t[2])).items()):
            fsvc, fout, _ = group[0]
            for svc, out, _ in group[1:]:
                if svc.id != fsvc.id and svc.name == fsvc.name:
                    continue
                yield Hit(f"output {out.key} of {svc.name} exports {name} ({region}), like output {fout.key} "
                          f"of {fsvc.name}", loc=out.loc, names=("export", region, name, svc.name, out.key),
                          nodes=(svc.id, fsvc.id),
                          related=((fout.loc, f"{fsvc.name} exports {name} here"),) if fout.loc else (),
                          fix="export names are unique per account and region: include the stack name "
                              "(`${self:service}-${sls:stage}-...`)")


def _groups(items, key) -> dict:
    out: dict = {}
    for it in items:
        out.setdefault(key(it), []).append(it)
    return {k: v for k, v in out.items() if len(v) > 1}


def _stack_loc(svc) -> Loc | None:
    doc = svc.doc if isinstance(svc.doc, MDict) else None
    provider = doc.get("provider") if doc is not None else None
    if isinstance(provider, MDict) and "stackName" in provider:
        return _span_loc(provider, "stackName", _svc_file(provider, svc), "provider.stackName")
    return svc.loc


def _function_name_loc(fn) -> Loc | None:
    cfg = fn.config
    if isinstance(cfg, MDict) and "name" in cfg and fn.loc is not None:
        return _span_loc(cfg, "name", getattr(cfg, "source", None) or fn.loc.file,
                         f"{fn.loc.key_path}.name")
    return fn.loc


def shared_role_name(svc):
    """(name, Loc) of the execution role the framework creates for a service, or None.

    From osls `merge-iam-templates.js` and `naming.getRoleName`: the role is created unless
    `provider.iam.role` (or the legacy `provider.role`) names an existing role, or every function
    sets `role:`; its name is `provider.iam.role.name`, else `<service>-<stage>-<region>-lambdaRole`.
    """
    if svc.provider != "aws" or not svc.functions:
        return None
    doc = svc.doc if isinstance(svc.doc, MDict) else MDict()
    provider = doc.get("provider") if isinstance(doc.get("provider"), MDict) else MDict()
    iam = provider.get("iam") if isinstance(provider.get("iam"), MDict) else MDict()
    role = iam.get("role")
    if (role is not None and not isinstance(role, MDict)) or "role" in provider:
        return None
    if all(isinstance(f.config, MDict) and "role" in f.config for f in svc.functions):
        return None
    if isinstance(role, MDict) and role.get("name") is not None:
        name = role.get("name")
        if not isinstance(name, str):
            return None
        return name, _span_loc(role, "name", _svc_file(role, svc), "provider.iam.role.name")
    return f"{svc.name}-{svc.stage}-{svc.region}-lambdaRole", svc.loc


class NameTooLong(Rule):
    id = "SLS406"
    name = "name-too-long"
    severity = "error"
    summary = "A deployed function name or a generated role name is over AWS's 64-character limit."
    tags = ("discovery", "deploy")
    what = """
Names the deploy sends to AWS that exceed 64 characters, computed the way the framework builds
them (nothing is truncated, by the framework or here):

- a function's deployed name: `<service>-<stage>-<function>`, or its `name:`;
- the shared execution role the framework creates: `provider.iam.role.name`, else
  `<service>-<stage>-<region>-lambdaRole` (osls `naming.getRoleName`; the framework checks
  nothing and IAM rejects the role);
- the per-function roles of the serverless-iam-roles-per-function plugin:
  `iamRoleStatementsName`, else `<service>-<stage>-<function>-<region>-lambdaRole`, which the
  plugin shortens by dropping `-lambdaRole` and refuses to package when it is still too long.

Roles of the framework v4's built-in function-level `iam` are not checked: their naming is not
published. With `provider.iam.role.name` set, the plugin cannot derive names at all (it stops
with another error), so only its explicit `iamRoleStatementsName` values are checked then.
Names that stay symbolic are skipped.
"""
    why = """
Lambda function names and IAM role names are limited to 64 characters. CloudFormation rejects
the stack ("Member must have length less than or equal to 64") after everything before it
has been packaged and uploaded, and the limit is usually hit only by the longest stage name
(`feature-1234-new-checkout`), in CI.
"""
    example = """
service: customer-notification-preferences
provider:
  region: ap-southeast-2
functions:
  synchronizeMarketingSubscriptions:
    handler: src/sync.handler
"""
    instead = """
service: notification-prefs
provider:
  region: ap-southeast-2
  iam:
    role:
      name: notification-prefs-${sls:stage}
functions:
  synchronizeMarketingSubscriptions:
    handler: src/sync.handler
    name: notification-prefs-${sls:stage}-sync
"""
    references = (
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-FunctionName",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
        "https://github.com/oss-serverless/serverless/blob/main/lib/plugins/aws/lib/naming.js",
        "https://github.com/functionalone/serverless-iam-roles-per-function#usage",
        "https://github.com/serverless/serverless/issues/6338",
    )

    def check(self, graph, context):
        for svc in sorted(context.project.services, key=lambda s: (s.file, s.id)):
            if svc.provider != "aws":
                continue
            for fn in svc.functions:
                name = fn.deployed_name
                cfg = fn.config if isinstance(fn.config, MDict) else MDict()
                explicit = cfg.get("name")
                if (explicit is not None and not isinstance(explicit, str)) or not _known(name):
                    continue
                if len(name) > NAME_LIMIT:
                    yield Hit(f"function {svc.name}.{fn.name} deploys as `{name}`, {len(name)} characters: "
                              f"Lambda allows {NAME_LIMIT}", loc=_function_name_loc(fn),
                              names=("function", svc.name, fn.name), nodes=(fn.id,),
                              fix="set a shorter `name:` (or shorten the service or function name)")
            role = shared_role_name(svc)
            if role is not None and _known(role[0]) and len(role[0]) > NAME_LIMIT:
                generated = role[1] is svc.loc
                yield Hit(f"the execution role of {svc.name} is named `{role[0]}`, {len(role[0])} characters: "
                          f"IAM allows {NAME_LIMIT}" + (" (the framework generates this name)" if generated else ""),
                          loc=role[1], names=("role", svc.name), nodes=(svc.id,),
                          fix="set a shorter `provider.iam.role.name`")
            if PER_FUNCTION_PLUGIN in svc.plugins:
                yield from self._plugin_roles(svc)

    def _plugin_roles(self, svc):
        doc = svc.doc if isinstance(svc.doc, MDict) else MDict()
        provider = doc.get("provider") if isinstance(doc.get("provider"), MDict) else MDict()
        iam = provider.get("iam") if isinstance(provider.get("iam"), MDict) else MDict()
        role = iam.get("role") if isinstance(iam.get("role"), MDict) else MDict()
        # with `provider.iam.role.name` the plugin cannot derive names from the shared one (it
        # stops with "Global Role Name is not in expected format"): only explicit names count
        derived = role.get("name") is None
        for fn in svc.functions:
            cfg = fn.config if isinstance(fn.config, MDict) else None
            if cfg is None or "iamRoleStatements" not in cfg or "role" in cfg:
                continue
            file = getattr(cfg, "source", None) or (fn.loc.file if fn.loc else svc.file)
            base = fn.loc.key_path if fn.loc else f"functions.{fn.name}"
            given = cfg.get("iamRoleStatementsName")
            if given is not None:
                if isinstance(given, str) and _known(given) and len(given) > NAME_LIMIT:
                    yield Hit(f"the role of {svc.name}.{fn.name} is named `{given}`, {len(given)} characters: "
                              f"IAM allows {NAME_LIMIT}",
                              loc=_span_loc(cfg, "iamRoleStatementsName", file, f"{base}.iamRoleStatementsName"),
                              names=("plugin-role", svc.name, fn.name), nodes=(fn.id,),
                              fix="set a shorter `iamRoleStatementsName`")
                continue
            name = f"{svc.name}-{svc.stage}-{fn.name}-{svc.region}"
            if derived and _known(name) and len(name) > NAME_LIMIT:
                yield Hit(f"{PER_FUNCTION_PLUGIN} names the role of {svc.name}.{fn.name} `{name}` (already "
                          f"without `-lambdaRole`), {len(name)} characters: IAM allows {NAME_LIMIT}, and the "
                          f"plugin refuses to package",
                          loc=_key_loc(cfg, "iamRoleStatements", file, f"{base}.iamRoleStatements"),
                          names=("plugin-role", svc.name, fn.name), nodes=(fn.id,),
                          fix="set `iamRoleStatementsName` to a name of at most 64 characters")


RULES: list = [HardcodedReference, DanglingReference, DependencyCycle, StagePinnedReference,
               DuplicateName, NameTooLong]
