"""The Serverless Framework variable resolver (`${source:address, fallback}`).

Resolves in place every framework variable of a loaded service document for one
stage and region. What the framework would look up in the cloud becomes a typed
symbolic value (symbols.py); what fails as written (a cycle, a missing key with
no fallback, a file outside the repository) becomes `Unresolved` plus an SLS002
diagnostic. `${...}` that belongs to CloudFormation (`${AWS::Region}`,
`${Table.Arn}` inside `Fn::Sub`) is left as text, as the framework leaves it.
Nothing here reads the process environment: `${env:X}` is its fallback or an
`EnvRef`, so the same input always gives the same output.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

from . import symbols as S
from . import comments
from .yamlmarks import MAX_FILE_BYTES, MDict, MList, ParseError, load_bytes

_VAR_HEAD = re.compile(r"\s*([A-Za-z][\w-]*)\s*(\(|:(?!:))")
_SOURCE = re.compile(r"^([A-Za-z][\w-]*)(?:\((.*?)\))?(?::(.*))?$", re.S)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
MAX_CHAIN = 64


_PLAIN_TYPES = frozenset((str, int, float, bool))


class _Missing:
    __slots__ = ()


MISSING = _Missing()


@dataclass
class Var:
    """One `${...}`: its fallback sources, each a list of text and nested Vars."""

    sources: list
    text: str


@dataclass
class Diagnostic:
    """A loader-level problem, located directly (rules turn these into findings)."""

    rule: str
    message: str
    file: str
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    key_path: str = ""
    names: tuple = ()
    node: str | None = None    # the graph node it is about, when there is one
    fix: str | None = None


@dataclass
class Options:
    """What the command line and configuration say about the target environment."""

    stage: str | None = None
    region: str | None = None
    params: dict = field(default_factory=dict)         # --param and config params
    compose_params: dict = field(default_factory=dict)  # from serverless-compose.yml
    config_params: dict = field(default_factory=dict)   # `params:` of .sls-audit.yml (lowest)


@lru_cache(maxsize=65536)
def parse(s: str) -> list:
    """Split a string into literal text and Var parts (CloudFormation `${}` stays text).

    Cached: monorepos repeat the same strings (`${sls:stage}`) thousands of times.
    Callers must not mutate the result.
    """
    parts: list = []
    buf: list[str] = []
    i, n = 0, len(s)
    while i < n:
        j = s.find("${", i)
        if j < 0:
            buf.append(s[i:])
            break
        buf.append(s[i:j])
        end = _match_brace(s, j + 2)
        if end < 0:  # unbalanced: leave the rest as text
            buf.append(s[j:])
            break
        inner = s[j + 2:end]
        if _VAR_HEAD.match(inner) and not inner.lstrip().startswith("AWS::"):
            text = "".join(buf)
            if text:
                parts.append(text)
            buf = []
            parts.append(Var([parse(src.strip()) for src in _split_top(inner)], s[j:end + 1]))
        else:
            buf.append(s[j:end + 1])
        i = end + 1
    text = "".join(buf)
    if text:
        parts.append(text)
    return parts


def _match_brace(s: str, i: int) -> int:
    depth, quote = 1, None
    n = len(s)
    while i < n:
        c = s[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "$" and i + 1 < n and s[i + 1] == "{":
            depth += 1
            i += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_top(s: str) -> list[str]:
    out, depth, quote, start = [], 0, None, 0
    for i, c in enumerate(s):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(s[start:i])
            start = i + 1
    out.append(s[start:])
    return out


class _Shared:
    """State one service's resolver shares with the resolvers of the files it includes."""

    __slots__ = ("depth", "files", "walking")

    def __init__(self):
        self.depth = 0
        self.files: dict = {}
        self.walking: set = set()


@lru_cache(maxsize=16)
def _resolved(root: Path) -> Path:
    """The root's real path, looked up once per run rather than once per service."""
    return root.resolve()


class Resolver:
    """Resolves one service document; `diagnostics` collects SLS002 problems."""

    def __init__(self, doc: MDict, file: Path, root: Path, rel: str, options: Options):
        self.doc = doc
        self.file = file
        self.root = _resolved(root)
        self.rel = rel
        self.options = options
        self.diagnostics: list[Diagnostic] = []
        self.symbols: list[S.Symbolic] = []
        self.import_values: list = []   # (value, file, span) of every Fn::ImportValue
        self.comments: list = []        # suppression comments of the files this service includes
        self._imports_seen: set = set()
        self._memo: dict = {}
        self._busy: set = set()
        self._shared = _Shared()   # chain depth and loaded files, shared with included files
        self._entry: tuple | None = None   # (container, key) being resolved: see _site()
        self._stage: str | None = options.stage
        self._region: str | None = options.region
        self._service_params = doc.get("params") if isinstance(doc, MDict) else None
        plugins = doc.get("plugins") if isinstance(doc, MDict) else None
        self.plugins = bool(plugins)

    # ---- public -------------------------------------------------------------
    _resolving_stage = False
    _resolving_region = False

    @property
    def stage(self) -> str:
        if self._stage is None:
            self._stage = "dev"  # provisional, so `${sls:stage}` inside provider.stage ends
            self._resolving_stage = True
            try:
                v = self._self_path("provider.stage")
            finally:
                self._resolving_stage = False
            self._stage = v if isinstance(v, str) and v else "dev"
            self._memo.clear()  # values computed with the provisional stage
        return self._stage

    @property
    def region(self) -> str:
        if self._region is None:
            self._region = "us-east-1"
            self._resolving_region = True
            try:
                v = self._self_path("provider.region")
            finally:
                self._resolving_region = False
            self._region = v if isinstance(v, str) and v else "us-east-1"
            self._memo.clear()
        return self._region

    def resolve_all(self, sites=None) -> None:
        """Resolve every string of the document in place.

        With the loader's `sites` only the strings holding `${` are visited; without
        them the whole document is walked.
        """
        _ = self.stage, self.region
        if sites is None:
            self._walk(self.doc)
            return
        for container, key in sites.vars:
            value = container[key]
            if isinstance(value, str) and "${" in value:
                value = self._resolve_entry(container, key)
            if isinstance(value, (MDict, MList)):
                self._walk(value)  # e.g. a whole file included by ${file()}
        for c in sites.imports:
            self._record_import(c)

    # ---- walking ------------------------------------------------------------
    def _walk(self, top) -> None:
        seen: set[int] = set()
        stack = [top]
        while stack:
            c = stack.pop()
            if id(c) in seen:
                continue
            seen.add(id(c))
            items = c.items() if isinstance(c, dict) else enumerate(c)
            for k, v in list(items):
                if isinstance(v, str) and "${" in v:
                    v = self._resolve_entry(c, k)
                if isinstance(v, (MDict, MList)) and id(v) not in seen:
                    stack.append(v)
            if isinstance(c, MDict) and "Fn::ImportValue" in c:
                self._record_import(c)

    def _resolve_entry(self, container, key):
        token = (id(container), key)
        value = container[key]
        if not (isinstance(value, str) and "${" in value):
            return value
        if token in self._busy:
            return S.Unresolved("cycle", value, self.rel, reason="cycle")
        saved = self._entry
        self._entry = (container, key)
        self._busy.add(token)
        try:
            result = self.resolve_string(value)
        finally:
            self._busy.discard(token)
            self._entry = saved
        container[key] = result
        return result

    def _site(self) -> tuple:
        """(file, line, column, span, key) of the entry being resolved, for what is reported
        about it; worked out only then (most entries report nothing). The key names the site in
        fingerprints (two `${self:custom.x}` under different keys are two findings); a list
        index would change when the list is reordered."""
        if self._entry is None:
            return (self.rel, 0, 0)
        container, key = self._entry
        span = _span_of(container, key)
        return (self.rel, span[0], span[1], span, key if isinstance(key, str) else "")

    def _record_import(self, c) -> None:
        if id(c) not in self._imports_seen:
            self._imports_seen.add(id(c))
            self.import_values.append((c["Fn::ImportValue"], self._source_of(c), c.span))

    def _source_of(self, c) -> str:
        return getattr(c, "source", None) or self.rel

    # ---- strings ------------------------------------------------------------
    def resolve_string(self, s: str):
        parts = parse(s)
        if len(parts) == 1 and isinstance(parts[0], Var):
            return self._eval_var(parts[0])
        if not any(isinstance(p, Var) for p in parts):
            return s
        out: list = []
        for p in parts:
            out.append(self._eval_var(p) if isinstance(p, Var) else p)
        return _concat(out)

    def _eval_var(self, var: Var):
        """A variable's value; plain results are memoized per service (`${sls:stage}` x 1000)."""
        memo = self._memo
        hit = memo.get(var.text, MISSING)
        if hit is not MISSING:
            return hit
        before = len(self.diagnostics)
        value = self._eval_var_uncached(var)
        if type(value) in _PLAIN_TYPES and len(self.diagnostics) == before:
            memo[var.text] = value
        return value

    def _eval_var_uncached(self, var: Var):
        shared = self._shared
        shared.depth += 1
        try:
            if shared.depth > MAX_CHAIN:
                return self._unresolved(var.text, f"variable chain deeper than {MAX_CHAIN}")
            last_symbolic = None
            for src in var.sources:
                v = self._eval_source(src, var)
                if v is MISSING:
                    continue
                if isinstance(v, S.Unresolved) and v.reason == "cycle":
                    return self._unresolved(var.text, "variable references form a cycle")
                if isinstance(v, S.EnvRef) and len(var.sources) > 1:
                    last_symbolic = v
                    continue
                return v
            if last_symbolic is not None:
                return last_symbolic
            return self._missing(var)
        finally:
            shared.depth -= 1

    def _missing(self, var: Var):
        first = var.sources[0] if var.sources else []
        text = "".join(p if isinstance(p, str) else S.text_of(self._eval_var(p)) for p in first)
        m = _SOURCE.match(text.strip())
        kind = m.group(1) if m else ""
        if kind == "env":
            return self._sym(S.EnvRef, var.text, name=(m.group(3) or "").strip())
        if kind == "param":
            return self._sym(S.ParamRef, var.text, name=(m.group(3) or "").strip())
        return self._unresolved(var.text, f"no value found for '{text.strip()}' and no fallback")

    def _eval_source(self, parts: list, var: Var):
        if len(parts) == 1 and isinstance(parts[0], Var):
            return self._eval_var(parts[0])
        pieces = []
        for p in parts:
            if isinstance(p, Var):
                v = self._eval_var(p)
                if isinstance(v, S.Unresolved):
                    return v
                pieces.append(S.text_of(v))
            else:
                pieces.append(p)
        text = "".join(pieces).strip()
        if not text:
            return MISSING
        if text[0] in "'\"" and text[-1] == text[0] and len(text) >= 2:
            return text[1:-1]
        if _NUMBER.match(text):
            return float(text) if "." in text else int(text)
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        m = _SOURCE.match(text)
        if not m or (m.group(2) is None and m.group(3) is None):
            return text  # a bare word fallback: the framework takes it as text
        kind, param, address = m.group(1), m.group(2), (m.group(3) or "")
        handler = getattr(self, "_src_" + kind.replace("-", "_"), None)
        if handler is None:
            if self.plugins:  # sources such as serverless-lift's `construct:` come from plugins
                return self._sym(S.PluginValue, var.text, source=kind)
            return self._unresolved(var.text, f"unknown variable source '{kind}' (and no plugin loaded)")
        return handler(param, address.strip(), var)

    # ---- sources ------------------------------------------------------------
    def _src_self(self, param, address, var):
        return self._self_path(address)

    def _self_path(self, address: str):
        cur = self.doc
        if not address:
            return cur
        keys = address.split(".")
        for i, key in enumerate(keys):
            if isinstance(cur, MDict):
                if key not in cur:
                    if i == len(keys) - 1 and address in ("provider.stage", "provider.region"):
                        return self.stage if address.endswith("stage") else self.region
                    return MISSING
                v = cur[key]
                if isinstance(v, str) and "${" in v:
                    v = self._resolve_entry(cur, key)
                cur = v
            elif isinstance(cur, MList) and key.isdigit() and int(key) < len(cur):
                idx = int(key)
                v = cur[idx]
                if isinstance(v, str) and "${" in v:
                    v = self._resolve_entry(cur, idx)
                cur = v
            elif isinstance(cur, (S.Symbolic, S.SymStr)):
                return cur  # a part of an unknown value is unknown too (already reported once)
            else:
                return MISSING
        if isinstance(cur, (MDict, MList)):
            self._walk(cur)
        return cur

    def _src_opt(self, param, address, var):
        if address == "stage":
            if self.options.stage:
                return self.options.stage
            # `${opt:stage}` alone: deploys pass --stage; analyze the effective stage
            return MISSING if len(var.sources) > 1 or self._resolving_stage else self.stage
        if address == "region":
            if self.options.region:
                return self.options.region
            return MISSING if len(var.sources) > 1 or self._resolving_region else self.region
        if len(var.sources) > 1:
            return MISSING
        return self._sym(S.OptionRef, var.text, name=address)

    def _src_sls(self, param, address, var):
        if address == "stage":
            return self.stage
        if address == "instanceId":
            return self._sym(S.InstanceId, var.text)
        return MISSING

    def _src_env(self, param, address, var):
        return MISSING

    def _src_aws(self, param, address, var):
        if address == "accountId":
            return self._sym(S.AccountId, var.text)
        if address == "region":
            return self.region
        if address == "partition":
            r = self.region
            return "aws-cn" if r.startswith("cn-") else "aws-us-gov" if r.startswith("us-gov") else "aws"
        return MISSING

    def _src_cf(self, param, address, var):
        stack, _, output = address.partition(".")
        return self._sym(S.CfOutput, var.text, stack=stack, output=output, region=param)

    def _src_ssm(self, param, address, var):
        path = address.split("~")[0]
        return self._sym(S.SsmRef, var.text, path=path)

    def _src_s3(self, param, address, var):
        bucket, _, key = address.partition("/")
        return self._sym(S.S3Ref, var.text, bucket=bucket, key=key)

    def _src_output(self, param, address, var):
        return self._sym(S.DashboardOutput, var.text)

    def _src_param(self, param, address, var):
        o = self.options
        if address in o.params:
            return o.params[address]
        if address in o.compose_params:
            return o.compose_params[address]
        sp = self._service_params
        if isinstance(sp, MDict):
            for section in (self.stage, "default"):
                block = sp.get(section)
                if isinstance(block, MDict) and address in block:
                    v = block[address]
                    if isinstance(v, str) and "${" in v:
                        v = self._resolve_entry(block, address)
                    return v
        if address in o.config_params:
            return o.config_params[address]
        return MISSING

    def _src_strToBool(self, param, address, var):
        text = (param or "").strip().strip("'\"")
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        return self._unresolved(var.text, f"strToBool cannot convert '{text}'")

    def _src_file(self, param, address, var):
        if not param:
            return self._unresolved(var.text, "file() needs a path")
        rel = param.strip().strip("'\"")
        target = (self.file.parent / rel)
        try:
            real = target.resolve()
        except (OSError, RuntimeError) as e:  # Python raises RuntimeError on a symlink loop
            if isinstance(e, RecursionError):
                raise
            return self._unresolved(var.text, f"cannot read '{rel}' (symlink loop?)")
        if not _inside(real, self.root):
            return self._unresolved(var.text, f"'{rel}' is outside the repository root")
        if real.suffix in (".js", ".cjs", ".mjs", ".ts"):
            return self._sym(S.Unresolved, var.text, reason="JavaScript file variables are not static")
        loaded = self._load_file(real, var)
        if loaded is MISSING:
            if len(var.sources) > 1:
                return MISSING
            return self._unresolved(var.text, f"file '{rel}' does not exist")
        if isinstance(loaded, S.Unresolved):
            if loaded.reason == "cycle":
                return self._unresolved(var.text, f"'{rel}' includes itself through ${{file()}}: a cycle")
            return loaded
        doc, sub = loaded
        # Resolve only what is used, as the framework does: `${file(./serverless.yml):x}` is fine.
        cur, container, key = doc, None, None
        for part in address.split(".") if address else ():
            if isinstance(cur, MDict) and part in cur:
                container, key = cur, part
            elif isinstance(cur, MList) and part.isdigit() and int(part) < len(cur):
                container, key = cur, int(part)
            elif isinstance(cur, (S.Symbolic, S.SymStr)):
                return cur
            else:
                if len(var.sources) > 1:
                    return MISSING
                return self._unresolved(var.text, f"'{rel}' has no key '{address}'")
            cur = container[key]
            if isinstance(cur, str) and "${" in cur:
                cur = sub._resolve_entry(container, key)
        if isinstance(cur, (MDict, MList)):
            walking = self._shared.walking
            if real in walking:  # a.yml includes b.yml includes a.yml: the data would be infinite
                return self._unresolved(var.text, f"'{rel}' includes itself through ${{file()}}: a cycle")
            walking.add(real)
            try:
                sub._walk(cur)
            finally:
                walking.discard(real)
        return cur

    def _load_file(self, real: Path, var: Var):
        """(document, its resolver), MISSING, or Unresolved; each file is read once per service."""
        files = self._shared.files
        if real in files:
            return files[real]
        files[real] = S.Unresolved("cycle", var.text, reason="cycle")
        try:
            if not real.is_file():
                result = MISSING if not real.exists() else self._unresolved(
                    var.text, f"'{real.name}' is not a regular file")
                files[real] = result
                return result
            if real.stat().st_size > MAX_FILE_BYTES:
                result = self._unresolved(var.text, f"'{real.name}' is too large to read")
                files[real] = result
                return result
            data = real.read_bytes()
        except OSError as e:
            result = self._unresolved(var.text, f"cannot read '{real.name}': {e.strerror}")
            files[real] = result
            return result
        try:
            doc, _ = load_bytes(data)
        except ParseError as e:
            rel = os.path.relpath(real, self.root)
            result = self._unresolved(var.text, f"'{rel}' cannot be parsed: {e.message} (line {e.line})")
            files[real] = result
            return result
        doc_src = os.path.relpath(real, self.root).replace(os.sep, "/")
        _set_source(doc, doc_src)
        self.comments.extend(comments.scan_bytes(data, doc_src))
        # Variables inside an included file resolve in the including service's context.
        sub = Resolver(doc if isinstance(doc, MDict) else MDict(), real, self.root, doc_src, self.options)
        sub._stage, sub._region = self.stage, self.region
        sub.plugins = self.plugins
        sub._shared = self._shared
        # problems and symbols found inside an included file belong to this service
        sub.diagnostics, sub.symbols, sub.import_values = self.diagnostics, self.symbols, self.import_values
        sub.comments = self.comments
        sub._imports_seen = self._imports_seen
        sub._self_path = self._self_path  # `${self:}` means the including service
        files[real] = (doc, sub)
        return doc, sub

    # ---- helpers ------------------------------------------------------------
    def _sym(self, cls, text: str, **kw):
        site = self._site()
        sym = cls(kind=cls.__name__, ref=text[2:-1], file=site[0], line=site[1], column=site[2], **kw)
        self.symbols.append(sym)
        return sym

    def _unresolved(self, text: str, reason: str):
        site = self._site()
        span = site[3] if len(site) > 3 else (site[1], site[2], site[1], site[2])
        self.diagnostics.append(Diagnostic(
            "SLS002", f"cannot resolve {text}: {reason}", site[0], span[0], span[1], span[2], span[3],
            names=(text, site[4]) if len(site) > 4 else (text,),
        ))
        return S.Unresolved("unresolved", text[2:-1], site[0], site[1], site[2], reason=reason)


def _concat(parts: list):
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    out: list = []
    for p in parts:
        if isinstance(p, S.SymStr):
            out.extend(p.parts)
        elif isinstance(p, S.Symbolic):
            out.append(p)
        elif isinstance(p, (dict, list)):
            out.append(S.Unresolved("object", "<object in string>", reason="object inside a string"))
        else:
            out.append(S.text_of(p))
    merged: list = []
    for p in out:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    if all(isinstance(p, str) for p in merged):
        return "".join(merged)
    return S.SymStr(tuple(merged))


def _span_of(container, key) -> tuple:
    if isinstance(container, MDict):
        return container.vspans.get(key, container.span)
    if isinstance(container, MList) and isinstance(key, int) and key < len(container.ispans):
        return container.ispans[key]
    return getattr(container, "span", (0, 0, 0, 0))


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _set_source(doc, src: str) -> None:
    """Mark every mapping and list of an included document with its file, so whatever part
    of it lands in the service (`functions: ${file(./fns.yml):functions}`) locates correctly."""
    stack = [doc]
    seen: set[int] = set()
    while stack:
        c = stack.pop()
        if id(c) in seen or not isinstance(c, (MDict, MList)):
            continue
        seen.add(id(c))
        c.source = src  # type: ignore[attr-defined]
        stack.extend(v for v in (c.values() if isinstance(c, MDict) else c) if isinstance(v, (MDict, MList)))
