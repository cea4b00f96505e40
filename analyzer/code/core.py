"""Shared machinery of the Python and JavaScript readers.

Both readers are small abstract interpreters: they walk a handler's statements in order, keep
an environment of abstract values (an AWS client of service s3, the string ``${STAGE}-users``,
an object literal...), and when they meet a call on an AWS value they hand the service, the
operation and the parameters to ``Collector``, which turns them into ``SdkCall`` and
``Invocation`` facts, or into a dynamic site when the call cannot be resolved. Evaluation is
pure; only the walker's visit of a call node emits, so every call site is reported once.
"""
from __future__ import annotations

import bisect
import re
from collections import deque

from . import actions as act
from .val import Val, _set
from .facts import CodeFacts, DynamicSite, Invocation, NameRef, SdkCall

MULTI_CAP = 8  # a value is at most this many alternatives; beyond, the surplus is dropped


# --------------------------------------------------------------------------------------------
# Abstract values (all hashable, compared by content)

class Unk(Val):
    """A value the reader cannot follow; ``span`` is the (start, end) byte range of its source."""
    __slots__ = ('span',)

    def __init__(self, span=(0, 0)):
        _set(self, "span", span)


class NoneV(Val):
    """Python None, JavaScript null/undefined: never an AWS value."""
    __slots__ = ()


NONE = NoneV()


class Str(Val):
    """A string: a tuple of parts ('lit', text) | ('env', NAME) | ('unk', (start, end))."""
    __slots__ = ('parts',)

    def __init__(self, parts):
        _set(self, "parts", parts)

    @staticmethod
    def lit(text: str) -> "Str":
        return Str((("lit", text),))

    @staticmethod
    def env(name: str) -> "Str":
        return Str((("env", name),))

    @staticmethod
    def unk(span) -> "Str":
        return Str((("unk", tuple(span)),))

    def literal_text(self) -> str | None:
        if all(p[0] == "lit" for p in self.parts):
            return "".join(p[1] for p in self.parts)
        return None

    def __add__(self, other: "Str") -> "Str":
        return concat([self, other])


def concat(items) -> Str:
    parts = []
    for it in items:
        for p in it.parts:
            if p[0] == "lit":
                if not p[1]:
                    continue
                if parts and parts[-1][0] == "lit":
                    parts[-1] = ("lit", parts[-1][1] + p[1])
                    continue
            parts.append(p)
    if not parts:
        parts = [("lit", "")]
    return Str(tuple(parts))


def as_str(v, span) -> Str:
    """Coerce a value used inside a string (f-string part, concatenation operand)."""
    if isinstance(v, Str):
        return v
    if isinstance(v, Multi):
        return Str.unk(span)
    return Str.unk(span)


class Obj(Val):
    """A dict / object literal: ``entries`` is a tuple of (key Str | None, value); ``complete``
    is False when a spread or ``**x`` could not be followed (missing keys are then unknown)."""
    __slots__ = ('entries', 'complete', 'span')

    def __init__(self, entries, complete=True, span=(0, 0)):
        _set(self, "entries", entries)
        _set(self, "complete", complete)
        _set(self, "span", span)

    def get(self, key: str):
        """The value under a literal key; None when absent."""
        found = None
        for k, v in self.entries:
            if k is not None and k.literal_text() == key:
                found = v
        return found

    def merged(self, other: "Obj") -> "Obj":
        return Obj(self.entries + other.entries, self.complete and other.complete, self.span)


class Seq(Val):
    __slots__ = ('items', 'complete', 'span')

    def __init__(self, items, complete=True, span=(0, 0)):
        _set(self, "items", items)
        _set(self, "complete", complete)
        _set(self, "span", span)


class Multi(Val):
    """One of several values (assigned in different branches)."""
    __slots__ = ('options',)

    def __init__(self, options):
        _set(self, "options", options)


class Client(Val):
    """An SDK client of a botocore service.

    style: "boto3" | "sdk-v2" | "sdk-v3"; doc: a DynamoDB DocumentClient; agg: a v3 aggregated
    client (``new S3()`` with methods) rather than a bare ``S3Client`` that only ``send``s;
    endpoint: the endpoint the client was built with (names the API for execute-api);
    defaults: v2 constructor ``params`` (bound parameters).
    """
    __slots__ = ('service', 'style', 'doc', 'agg', 'endpoint', 'defaults')

    def __init__(self, service, style, doc=False, agg=False, endpoint=None, defaults=None):
        _set(self, "service", service)
        _set(self, "style", style)
        _set(self, "doc", doc)
        _set(self, "agg", agg)
        _set(self, "endpoint", endpoint)
        _set(self, "defaults", defaults)


def alternatives(v):
    return v.options if isinstance(v, Multi) else (v,)


def _weak(v) -> bool:
    return v is None or isinstance(v, (Unk, NoneV))


def join(a, b):
    """Join two possible values of one variable. Unknown and None give way to anything known."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if _weak(b):
        return a
    if _weak(a):
        return b
    opts = list(alternatives(a))
    for o in alternatives(b):
        if o not in opts and not _weak(o):
            opts.append(o)
    opts = opts[:MULTI_CAP]
    return opts[0] if len(opts) == 1 else Multi(tuple(opts))


# --------------------------------------------------------------------------------------------
# Parameters of a call

class Params(Val):
    """The parameters of one SDK call, as far as they are known."""
    __slots__ = ('values', 'complete', 'unknown_span')
    _defaults = {'complete': True, 'unknown_span': (0, 0)}

    # unknown_span: the source of what could not be read (``**kwargs``, ``params``)

    @staticmethod
    def from_obj(v, span) -> "Params":
        """Parameters given as one object (JS ``{Bucket: ...}``, boto3 ``Params=``)."""
        if isinstance(v, Obj):
            vals = {}
            for k, val in v.entries:
                t = k.literal_text() if k is not None else None
                if t is not None:
                    vals[t] = val
            return Params(vals, v.complete, v.span if not v.complete else span)
        if isinstance(v, NoneV):
            return Params({}, True, span)
        return Params({}, False, span)

    def with_defaults(self, defaults: Obj | None) -> "Params":
        if defaults is None:
            return self
        base = Params.from_obj(defaults, defaults.span)
        vals = dict(base.values)
        vals.update(self.values)
        return Params(vals, self.complete, self.unknown_span)

    def get(self, key):
        """(found, value): found False with value None when certainly absent."""
        if key in self.values:
            return True, self.values[key]
        if not self.complete:
            return True, Unk(self.unknown_span)
        return False, None


# --------------------------------------------------------------------------------------------
# The collector: resolved calls -> facts

_PARTIQL_VERB = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|EXISTS)\b", re.I)
_PARTIQL_TABLE = re.compile(
    r'^\s*(?:SELECT\b.*?\bFROM|INSERT\s+INTO|UPDATE|DELETE\s+FROM|EXISTS\s*\(\s*SELECT\b.*?\bFROM)'
    r'\s+"([^"]+)"', re.I | re.S)
_TRANSACT_KEYS = {
    "Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem",
}
INVOKE_OPERATIONS = ("Invoke", "InvokeAsync", "InvokeWithResponseStream")


class FunctionQueue:
    """The walk schedule both readers share: each function once per closure, walked once per
    argument binding seen at its call sites (and unbound when it escapes or bindings overflow),
    at most MAX_WALKS walks a round. Readers say how they key a function."""

    MAX_WALKS = 400  # function-body walks per round

    def reset_queue(self) -> None:
        self.units = deque()
        self.unit_seen = set()
        self.walks = 0

    def unit_key(self, func):  # pragma: no cover - interface
        raise NotImplementedError

    def bind_key(self, func):  # pragma: no cover - interface
        raise NotImplementedError

    def register(self, func) -> None:
        key = self.unit_key(func)
        if key not in self.unit_seen:
            self.unit_seen.add(key)
            self.units.append(func)

    def process_units(self) -> None:
        while self.units:
            func = self.units.popleft()
            key = self.bind_key(func)
            bindings = list(self.rounds.get(("bind", key)) or [])
            escaped = self.rounds.get(("esc", key))
            plans = [b for b in bindings if b != "overflow"]
            if not plans or escaped or "overflow" in bindings:
                plans.append(None)
            for binding in plans:
                if self.walks >= self.MAX_WALKS:
                    return
                self.walks += 1
                self.walk_function(func, binding)


class Collector:
    def __init__(self, source: bytes):
        self.source = source
        starts = [0]
        find = source.find
        i = find(b"\n")
        while i >= 0:
            starts.append(i + 1)
            i = find(b"\n", i + 1)
        self._line_starts = starts
        self.calls: dict = {}
        self.invocations: dict = {}
        self.dynamic_sites: dict = {}

    # positions ------------------------------------------------------------------------------
    def position(self, byte_offset: int) -> tuple[int, int]:
        """1-based (line, column in characters) of a byte offset."""
        idx = bisect.bisect_right(self._line_starts, byte_offset) - 1
        start = self._line_starts[idx]
        col = len(self.source[start:byte_offset].decode("utf-8", "replace")) + 1
        return idx + 1, col

    def line_start(self, line: int) -> int:
        """Byte offset where 1-based ``line`` starts."""
        return self._line_starts[line - 1] if 0 < line <= len(self._line_starts) else 0

    def text(self, span) -> str:
        s, e = span
        t = self.source[s:e].decode("utf-8", "replace")
        t = " ".join(t.split())
        return t if len(t) <= 200 else t[:197] + "..."

    # names -----------------------------------------------------------------------------------
    def name_ref(self, v, fallback_span) -> NameRef:
        if isinstance(v, Str):
            parts = v.parts
            if all(p[0] == "lit" for p in parts):
                return NameRef("literal", "".join(p[1] for p in parts))
            if len(parts) == 1 and parts[0][0] == "env":
                return NameRef("env", parts[0][1])
            if len(parts) == 1 and parts[0][0] == "unk":
                return NameRef("unknown", self.text(parts[0][1]))
            out = []
            unknown = False
            for kind, val in parts:
                if kind == "lit":
                    out.append(val)
                elif kind == "env":
                    out.append("${" + val + "}")
                else:
                    unknown = True
                    out.append("${" + self.text(val) + "}")
            return NameRef("unknown" if unknown else "template", "".join(out))
        span = v.span if isinstance(v, (Unk, Obj, Seq)) else fallback_span
        return NameRef("unknown", self.text(span))

    def name_refs(self, v, fallback_span) -> list[NameRef]:
        """All names a value may be (several for alternatives, list items or object keys)."""
        out = []
        for o in alternatives(v):
            if isinstance(o, Seq):
                for item in o.items:
                    out.extend(self.name_refs(item, o.span))
                if not o.complete or not o.items:
                    out.append(NameRef("unknown", self.text(o.span)))
            elif isinstance(o, Obj):  # DynamoDB RequestItems: the keys are table names
                for k, _val in o.entries:
                    out.append(self.name_ref(k, o.span) if k is not None
                               else NameRef("unknown", self.text(o.span)))
                if not o.complete or not o.entries:
                    out.append(NameRef("unknown", self.text(o.span)))
            else:
                out.append(self.name_ref(o, fallback_span))
        seen, uniq = set(), []
        for r in out:
            if r not in seen:
                seen.add(r)
                uniq.append(r)
        return uniq

    # facts ------------------------------------------------------------------------------------
    def dynamic(self, byte_offset: int, reason: str) -> None:
        line, col = self.position(byte_offset)
        self.dynamic_sites.setdefault((line, col, reason), DynamicSite(line, col, reason))

    def _add_call(self, call: SdkCall) -> None:
        self.calls.setdefault(call, call)

    def invocation(self, target: NameRef, style: str, byte_offset: int) -> None:
        line, col = self.position(byte_offset)
        inv = Invocation(target, style, line, col)
        self.invocations.setdefault(inv, inv)

    def operation(self, service: str, operation: str | None, params: Params, byte_offset: int,
                  style: str, endpoint: Str | None = None, label: str | None = None,
                  fallback=None) -> None:
        """Record one SDK call of ``operation`` on botocore ``service``."""
        info = act.service_info(service)
        if info is None:
            self.dynamic(byte_offset, f"unknown AWS service '{service}'")
            return
        if operation is None or operation not in info.ops:
            self.dynamic(byte_offset, f"'{label or operation}' is not an operation of {service}")
            return
        actions, resparam = info.ops[operation]
        line, col = self.position(byte_offset)
        groups = self._special(service, operation, params, actions)
        if groups is None:
            if actions is None:
                self.dynamic(byte_offset, f"no IAM action known for {service} {operation}")
                return
            groups = [(actions, self._resources(service, resparam, params, endpoint, fallback))]
        for acts, refs in groups:
            for ref in refs:
                self._add_call(SdkCall(info.prefix, operation, tuple(acts), ref, line, col))
        if service == "lambda" and operation in INVOKE_OPERATIONS:
            for ref in self._resources(service, resparam, params, endpoint):
                self.invocation(ref or NameRef("unknown", ""), style, byte_offset)

    def _resources(self, service, resparam, params: Params, endpoint, fallback=None) -> list:
        if service == "apigatewaymanagementapi":  # the client's endpoint names the API
            return [self.name_ref(endpoint, params.unknown_span) if endpoint is not None
                    else NameRef("unknown", "endpoint")]
        if resparam is None:
            return [None]
        found, v = params.get(resparam)
        if not found:
            if fallback is not None:  # a boto3 resource's identifier (table.batch_writer())
                return self.name_refs(fallback, params.unknown_span) or [None]
            return [None]
        return self.name_refs(v, params.unknown_span) or [None]

    def _special(self, service, operation, params: Params, actions):
        """Operations whose actions or resources depend on the parameters."""
        if service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
            found, items = params.get("TransactItems")
            if found and isinstance(items, Seq) and items.complete and items.items:
                groups: dict = {}
                for item in items.items:
                    if not isinstance(item, Obj) or not item.complete:
                        return None
                    for key, action in _TRANSACT_KEYS.items():
                        inner = item.get(key)
                        if inner is None:
                            continue
                        tp = Params.from_obj(inner, item.span)
                        f, table = tp.get("TableName")
                        refs = self.name_refs(table, item.span) if f else [None]
                        for r in refs:
                            groups.setdefault(r, set()).add(action)
                if groups:
                    by_actions: dict = {}
                    for ref, acts in groups.items():
                        by_actions.setdefault(tuple(sorted(acts)), []).append(ref)
                    return [(a, refs) for a, refs in sorted(by_actions.items(),
                                                            key=lambda kv: kv[0])]
            return [(actions, [self._unknown_arg(items if found else None, params)])]
        if service == "dynamodb" and operation == "ExecuteStatement":
            found, stmt = params.get("Statement")
            if found and isinstance(stmt, Str):
                text = "".join(p[1] if p[0] == "lit" else "${" + (p[1] if p[0] == "env" else "?")
                               + "}" for p in stmt.parts)
                m = _PARTIQL_VERB.match(text)
                if m:
                    verb = m.group(1).upper()
                    verb = "Select" if verb == "EXISTS" else verb.capitalize()
                    t = _PARTIQL_TABLE.match(text)
                    ref = None
                    if t:
                        name = t.group(1)
                        envs = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", name)
                        if "${?}" in name:
                            ref = NameRef("unknown", name)
                        elif envs:
                            ref = NameRef("env", envs.group(1))
                        elif "${" in name:
                            ref = NameRef("template", name)
                        else:
                            ref = NameRef("literal", name)
                    return [((f"dynamodb:PartiQL{verb}",),
                             [ref or self._unknown_arg(stmt, params)])]
            return [(actions, [self._unknown_arg(stmt if found else None, params)])]
        if service == "dynamodb" and operation in ("BatchExecuteStatement", "ExecuteTransaction"):
            key = "Statements" if operation == "BatchExecuteStatement" else "TransactStatements"
            found, stmts = params.get(key)
            return [(actions, [self._unknown_arg(stmts if found else None, params)])]
        if service == "s3" and operation in ("CopyObject", "UploadPartCopy"):
            dest = self._resources(service, "Bucket", params, None)
            found, src = params.get("CopySource")
            src_refs = [None]
            if found:
                src_refs = [self._source_bucket(o) for o in alternatives(src)]
            return [(actions, dest), (("s3:GetObject",), src_refs)]
        return None

    def _unknown_arg(self, v, params: Params) -> NameRef:
        if isinstance(v, Str):
            return NameRef("unknown", self.name_ref(v, params.unknown_span).value)
        if isinstance(v, (Unk, Obj, Seq)):
            return NameRef("unknown", self.text(v.span))
        return NameRef("unknown", self.text(params.unknown_span))

    def _source_bucket(self, v) -> NameRef:
        """The bucket of an S3 CopySource: "bucket/key" or {"Bucket": ..., "Key": ...}."""
        if isinstance(v, Obj):
            b = v.get("Bucket")
            return self.name_ref(b, v.span) if b is not None else NameRef("unknown", self.text(v.span))
        if isinstance(v, Str):
            parts = []
            for kind, val in v.parts:
                if kind == "lit":
                    text = val if parts else val.lstrip("/")
                    if "/" in text:
                        head = text.split("/", 1)[0]
                        if head:
                            parts.append(("lit", head))
                        return self.name_ref(Str(tuple(parts)) if parts else Str.lit(""), (0, 0))
                parts.append((kind, val))
            return self.name_ref(v, (0, 0))
        return self.name_ref(v, (0, 0))

    # result -----------------------------------------------------------------------------------
    def facts(self) -> CodeFacts:
        calls = sorted(self.calls.values(), key=SdkCall.sort_key)
        invs = sorted(self.invocations.values(), key=Invocation.sort_key)
        sites = sorted(self.dynamic_sites.values(), key=lambda d: (d.line, d.column, d.reason))
        return CodeFacts(calls=calls, invocations=invs, dynamic=bool(sites), error=None,
                         dynamic_sites=sites)


# --------------------------------------------------------------------------------------------
# Round bookkeeping shared by both interpreters

class Rounds:
    """Interprocedural state that a walk reads and later walks may change.

    Function summaries (returned values), call-site bindings, attributes of ``self``/``this`` and
    globals written from functions are joined monotonically; reading a key that is later changed
    in the same round marks the round dirty, and the file is walked again (at most MAX times).
    """

    MAX = 4

    def __init__(self):
        self.store: dict = {}
        self.read: set = set()
        self.dirty = False

    def start_round(self):
        self.read = set()
        self.dirty = False

    def get(self, key, default=None):
        self.read.add(key)
        return self.store.get(key, default)

    def join_into(self, key, value) -> None:
        old = self.store.get(key)
        new = join(old, value)
        if new != old:
            self.store[key] = new
            if key in self.read:
                self.dirty = True

    def add_to_set(self, key, item, cap: int = 8) -> None:
        s = self.store.get(key)
        if s is None:
            s = self.store[key] = []
        if item in s:
            return
        if len(s) >= cap:
            if "overflow" not in s:
                s.append("overflow")
                if key in self.read:
                    self.dirty = True
            return
        s.append(item)
        if key in self.read:
            self.dirty = True
