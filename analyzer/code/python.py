"""Python handlers: boto3 (clients, resources, sessions) read through the standard ``ast``.

The module body is walked first, then every function body (once per distinct set of argument
values seen at its local call sites, or once with unknown parameters when it is an entry point),
until interprocedural facts (what a function returns, what ``self.x`` holds) are stable.
"""
from __future__ import annotations

import ast

from . import actions as act
from .core import (NONE, Client, Collector, FunctionQueue, Multi, Obj, Params, Rounds, Seq, Str, Unk,
                   alternatives, as_str, concat, join)
from .val import BoundFunc, ClassV, Func, Instance, Val, _set
from .facts import CodeFacts, DynamicSite

# --------------------------------------------------------------------------------------------
# Python-only abstract values


class Mod(Val):
    __slots__ = ('name',)
    # name: "boto3", "boto3.session", "botocore", "botocore.session", "os", "os.environ"


class Builtin(Val):
    __slots__ = ('name',)
    # name: "boto3.client", "boto3.resource", "boto3.Session", "os.getenv", "getattr", ...


class Session(Val):
    __slots__ = ()


class SvcRes(Val):  # boto3.resource('dynamodb')
    __slots__ = ('service',)


class SubRes(Val):  # dynamodb.Table(name), s3.Bucket(name), s3.Object(bucket, key), sqs.Queue(url)
    __slots__ = ('service', 'rtype', 'ident')
    # ident: ((param name, value), ...)


class Coll(Val):  # bucket.objects, dynamodb.tables
    __slots__ = ('service', 'op', 'ident', 'elem', 'emitted')
    _defaults = {'emitted': False}


class ResMeta(Val):
    __slots__ = ('service',)


class Paginator(Val):
    __slots__ = ('service', 'op')


class Waiter(Val):
    __slots__ = ('service', 'op')


class IterOf(Val):  # what a for loop over this value binds
    __slots__ = ('elem',)


class Method(Val):
    __slots__ = ('recv', 'name')

    def __init__(self, recv, name):
        _set(self, "recv", recv)
        _set(self, "name", name)
    # name: None: computed (getattr with a variable)


AWS_VALUES = (Client, SvcRes, SubRes, Coll, Paginator, Waiter, Session, ResMeta)

MOD_ATTRS = {
    ("boto3", "client"): Builtin("boto3.client"),
    ("boto3", "resource"): Builtin("boto3.resource"),
    ("boto3", "Session"): Builtin("boto3.Session"),
    ("boto3", "session"): Mod("boto3.session"),
    ("boto3.session", "Session"): Builtin("boto3.Session"),
    ("aioboto3", "Session"): Builtin("boto3.Session"),
    ("aioboto3", "session"): Mod("boto3.session"),
    ("aioboto3.session", "Session"): Builtin("boto3.Session"),
    ("botocore", "session"): Mod("botocore.session"),
    ("botocore.session", "get_session"): Builtin("boto3.Session"),
    ("botocore.session", "Session"): Builtin("boto3.Session"),
    ("os", "environ"): Mod("os.environ"),
    ("os", "getenv"): Builtin("os.getenv"),
    ("os.environ", "get"): Builtin("os.getenv"),
    ("os.environ", "setdefault"): Builtin("os.getenv"),
}
BUILTINS = {"getattr": Builtin("getattr"), "str": Builtin("str"), "dict": Builtin("dict")}
# Client methods that make no AWS call (local helpers, token signing).
CLIENT_NON_CALLS = frozenset({"can_paginate", "close", "exceptions", "meta", "waiter_names",
                              "get_available_subresources", "generate_db_auth_token",
                              "generate_db_connect_auth_token",
                              "generate_db_connect_admin_auth_token"})

# boto3 s3 transfer helpers: method -> (operation, positional parameter names)
CLIENT_TRANSFER = {
    "upload_file": ("PutObject", ("Filename", "Bucket", "Key")),
    "upload_fileobj": ("PutObject", ("Fileobj", "Bucket", "Key")),
    "download_file": ("GetObject", ("Bucket", "Key", "Filename")),
    "download_fileobj": ("GetObject", ("Bucket", "Key", "Fileobj")),
    "copy": ("CopyObject", ("CopySource", "Bucket", "Key")),
}


class ResSpec(Val):
    __slots__ = ('ident', 'alias', 'transfer', 'coll', 'sub', 'iters', 'returns')
    _defaults = {'ident': (), 'alias': None, 'transfer': None, 'coll': None, 'sub': None,
                 'iters': None, 'returns': None}
    # ident: operation parameter names filled from the constructor arguments
    # alias: method -> operation, where the method is not the operation's snake name
    # transfer: method -> (operation, positional parameter names)
    # coll: attribute -> (list operation, element type)
    # sub: method -> (sub-resource type, extra identifier parameter names)
    # iters: method -> element type of what it returns (receive_messages)
    # returns: method -> (resource type, parameter holding its identifier)


_OBJECT_ALIAS = {"get": "GetObject", "put": "PutObject", "delete": "DeleteObject",
                 "load": "HeadObject", "reload": "HeadObject", "copy_from": "CopyObject",
                 "restore_object": "RestoreObject", "head": "HeadObject",
                 "initiate_multipart_upload": "CreateMultipartUpload",
                 "wait_until_exists": "HeadObject", "wait_until_not_exists": "HeadObject"}
_OBJECT_TRANSFER = {"upload_file": ("PutObject", ("Filename",)),
                    "upload_fileobj": ("PutObject", ("Fileobj",)),
                    "download_file": ("GetObject", ("Filename",)),
                    "download_fileobj": ("GetObject", ("Fileobj",)),
                    "copy": ("CopyObject", ("CopySource",))}

# The boto3 resource API, for the services whose resources handlers use.
RESOURCES = {
    ("dynamodb", None): ResSpec(
        sub={"Table": ("Table", ("TableName",))},
        coll={"tables": ("ListTables", "Table")},
        returns={"create_table": ("Table", "TableName")}),
    ("dynamodb", "Table"): ResSpec(
        ident=("TableName",),
        alias={"batch_writer": "BatchWriteItem", "load": "DescribeTable",
               "reload": "DescribeTable", "delete": "DeleteTable", "update": "UpdateTable",
               "wait_until_exists": "DescribeTable", "wait_until_not_exists": "DescribeTable"}),
    ("s3", None): ResSpec(
        sub={"Bucket": ("Bucket", ("Bucket",)), "Object": ("Object", ("Bucket", "Key")),
             "ObjectSummary": ("Object", ("Bucket", "Key")),
             "BucketPolicy": ("BucketPolicy", ("Bucket",)),
             "ObjectVersion": ("ObjectVersion", ("Bucket", "Key", "VersionId"))},
        coll={"buckets": ("ListBuckets", "Bucket")},
        returns={"create_bucket": ("Bucket", "Bucket")}),
    ("s3", "Bucket"): ResSpec(
        ident=("Bucket",),
        alias={"create": "CreateBucket", "delete": "DeleteBucket", "load": "ListBuckets",
               "wait_until_exists": "HeadBucket", "wait_until_not_exists": "HeadBucket"},
        transfer={"upload_file": ("PutObject", ("Filename", "Key")),
                  "upload_fileobj": ("PutObject", ("Fileobj", "Key")),
                  "download_file": ("GetObject", ("Key", "Filename")),
                  "download_fileobj": ("GetObject", ("Key", "Fileobj")),
                  "copy": ("CopyObject", ("CopySource", "Key"))},
        coll={"objects": ("ListObjects", "Object"),
              "object_versions": ("ListObjectVersions", "ObjectVersion"),
              "multipart_uploads": ("ListMultipartUploads", None)},
        sub={"Object": ("Object", ("Key",)), "Policy": ("BucketPolicy", ())}),
    ("s3", "Object"): ResSpec(ident=("Bucket", "Key"), alias=_OBJECT_ALIAS,
                              transfer=_OBJECT_TRANSFER),
    ("s3", "ObjectVersion"): ResSpec(ident=("Bucket", "Key", "VersionId"),
                                     alias={"get": "GetObject", "delete": "DeleteObject",
                                            "head": "HeadObject"}),
    ("s3", "BucketPolicy"): ResSpec(ident=("Bucket",),
                                    alias={"put": "PutBucketPolicy", "delete": "DeleteBucketPolicy",
                                           "load": "GetBucketPolicy", "reload": "GetBucketPolicy"}),
    ("sqs", None): ResSpec(
        sub={"Queue": ("Queue", ("QueueUrl",)), "Message": ("Message", ("QueueUrl", "ReceiptHandle"))},
        coll={"queues": ("ListQueues", "Queue")},
        alias={"get_queue_by_name": "GetQueueUrl"},
        returns={"get_queue_by_name": ("Queue", "QueueName"), "create_queue": ("Queue", "QueueName")}),
    ("sqs", "Queue"): ResSpec(
        ident=("QueueUrl",),
        alias={"send_messages": "SendMessageBatch", "receive_messages": "ReceiveMessage",
               "delete_messages": "DeleteMessageBatch", "purge": "PurgeQueue",
               "delete": "DeleteQueue", "load": "GetQueueAttributes",
               "reload": "GetQueueAttributes", "set_attributes": "SetQueueAttributes"},
        iters={"receive_messages": "Message"}),
    ("sqs", "Message"): ResSpec(ident=("QueueUrl", "ReceiptHandle"),
                                alias={"delete": "DeleteMessage",
                                       "change_visibility": "ChangeMessageVisibility"}),
    ("sns", None): ResSpec(
        sub={"Topic": ("Topic", ("TopicArn",)), "PlatformEndpoint": ("PlatformEndpoint", ("TargetArn",)),
             "Subscription": ("Subscription", ("SubscriptionArn",))},
        coll={"topics": ("ListTopics", "Topic"), "subscriptions": ("ListSubscriptions", "Subscription")},
        returns={"create_topic": ("Topic", "Name")}),
    ("sns", "Topic"): ResSpec(ident=("TopicArn",),
                              alias={"delete": "DeleteTopic", "load": "GetTopicAttributes",
                                     "reload": "GetTopicAttributes",
                                     "set_attributes": "SetTopicAttributes"}),
    ("sns", "PlatformEndpoint"): ResSpec(ident=("TargetArn",), alias={"publish": "Publish"}),
    ("sns", "Subscription"): ResSpec(ident=("SubscriptionArn",),
                                     alias={"delete": "Unsubscribe",
                                            "load": "GetSubscriptionAttributes"}),
}


class Scope:
    __slots__ = ("vars", "parent", "kind", "globals", "nonlocals")

    def __init__(self, kind, parent=None):
        self.vars = {}
        self.parent = parent
        self.kind = kind  # "module" | "function" | "class"
        self.globals = set()
        self.nonlocals = set()


# --------------------------------------------------------------------------------------------


class PyReader(FunctionQueue):

    def __init__(self, source: bytes, tree: ast.Module):
        self.source = source
        self.tree = tree
        self.rounds = Rounds()
        self.global_names = set()
        if b"global" in source:
            self.global_names = {n for node in ast.walk(tree) if isinstance(node, ast.Global)
                                 for n in node.names}
        self.col: Collector | None = None

    # positions ----------------------------------------------------------------------------------
    def off(self, lineno, col_offset) -> int:
        return self.col.line_start(lineno) + col_offset

    def span(self, node) -> tuple:
        starts = self.col._line_starts
        try:
            return (starts[node.lineno - 1] + node.col_offset,
                    starts[node.end_lineno - 1] + node.end_col_offset)
        except (AttributeError, TypeError, IndexError):
            return (0, 0)

    def call_pos(self, node: ast.Call) -> int:
        f = node.func
        if isinstance(f, ast.Attribute) and f.end_lineno is not None:
            return self.off(f.end_lineno, f.end_col_offset) - len(f.attr.encode("utf-8"))
        return self.off(node.lineno, node.col_offset)

    # driver -------------------------------------------------------------------------------------
    def run(self) -> CodeFacts:
        for _ in range(Rounds.MAX):
            self.rounds.start_round()
            self.col = Collector(self.source)
            self.reset_queue()
            self.class_members = {}
            self.module = Scope("module")
            self.cur_func = None
            self.memo = {}
            self.walk_body(self.tree.body, self.module, False)
            self.process_units()
            if not self.rounds.dirty:
                break
        return self.col.facts()

    def unit_key(self, func: Func):
        return (id(func.node), id(func.closure))

    def bind_key(self, func: Func):
        return func.node

    def walk_function(self, func: Func, binding) -> None:
        self.memo = {}
        node = func.node
        scope = Scope("function", func.closure)
        self.bind_params(func, scope, binding)
        saved = self.cur_func
        self.cur_func = node
        try:
            if isinstance(node, ast.Lambda):
                self.visit(node.body, scope)
                self.rounds.join_into(("ret", node), self.ev(node.body, scope))
            else:
                self.walk_body(node.body, scope, False)
        finally:
            self.cur_func = saved

    def bind_params(self, func: Func, scope: Scope, binding) -> None:
        a = func.node.args
        positional = list(a.posonlyargs) + list(a.args)
        defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        if binding is None:
            pos_vals, kw_vals = [], {}
            if func.cls is not None and positional:
                kind = _method_kind(func.node)
                if kind == "method":
                    pos_vals = [Instance(func.cls)]
                elif kind == "classmethod":
                    pos_vals = [ClassV(func.cls)]
        else:
            pos_vals, kw_items = binding
            kw_vals = dict(kw_items)
        for i, arg in enumerate(positional):
            if i < len(pos_vals):
                v = pos_vals[i]
            elif arg.arg in kw_vals:
                v = kw_vals[arg.arg]
            elif defaults[i] is not None:
                v = self.ev(defaults[i], func.closure)
            else:
                v = Unk(self.span(arg))
            scope.vars[arg.arg] = v
        for arg, default in zip(a.kwonlyargs, a.kw_defaults):
            if arg.arg in kw_vals:
                v = kw_vals[arg.arg]
            elif default is not None:
                v = self.ev(default, func.closure)
            else:
                v = Unk(self.span(arg))
            scope.vars[arg.arg] = v
        for extra in (a.vararg, a.kwarg):
            if extra is not None:
                scope.vars[extra.arg] = Unk(self.span(extra))

    # statements -----------------------------------------------------------------------------------
    def walk_body(self, body, scope, cond) -> None:
        for st in body:
            self.stmt(st, scope, cond)

    def stmt(self, st, scope, cond) -> None:
        t = type(st)
        if t is ast.Expr:
            self.visit(st.value, scope)
        elif t is ast.Assign:
            self.visit(st.value, scope)
            v = self.ev(st.value, scope)
            for target in st.targets:
                self.assign(target, v, scope, cond)
        elif t is ast.AnnAssign:
            if st.value is not None:
                self.visit(st.value, scope)
                self.assign(st.target, self.ev(st.value, scope), scope, cond)
        elif t is ast.AugAssign:
            self.visit(st.value, scope)
            if isinstance(st.op, ast.Add):
                cur = self.ev(st.target, scope)
                add = self.ev(st.value, scope)
                if isinstance(cur, Str):
                    self.assign(st.target, concat([cur, as_str(add, self.span(st.value))]), scope, cond)
        elif t in (ast.FunctionDef, ast.AsyncFunctionDef):
            for d in st.decorator_list:
                self.visit(d, scope)
            self.visit_defaults(st.args, scope)
            func = Func(st, scope)
            self.bind(scope, st.name, func, cond)
            if st.decorator_list:
                self.rounds.join_into(("esc", st), True)
            self.register(func)
        elif t is ast.ClassDef:
            self.class_def(st, scope, cond)
        elif t is ast.Return:
            if st.value is not None:
                self.visit(st.value, scope)
                if self.cur_func is not None:
                    self.rounds.join_into(("ret", self.cur_func), self.ev(st.value, scope))
        elif t is ast.If:
            if scope is self.module and _is_main_guard(st.test):
                return  # `if __name__ == "__main__":` never runs in Lambda (local test calls)
            self.visit(st.test, scope)
            self.walk_body(st.body, scope, True)
            self.walk_body(st.orelse, scope, True)
        elif t in (ast.For, ast.AsyncFor):
            self.visit(st.iter, scope)
            self.assign(st.target, _elem(self.ev(st.iter, scope), self.span(st.target)), scope, True)
            self.walk_body(st.body, scope, True)
            self.walk_body(st.orelse, scope, True)
        elif t is ast.While:
            self.visit(st.test, scope)
            self.walk_body(st.body, scope, True)
            self.walk_body(st.orelse, scope, True)
        elif t in (ast.With, ast.AsyncWith):
            for item in st.items:
                self.visit(item.context_expr, scope)
                if item.optional_vars is not None:
                    v = self.ev(item.context_expr, scope)
                    self.assign(item.optional_vars, v, scope, cond)
            self.walk_body(st.body, scope, cond)
        elif t is ast.Try or t.__name__ == "TryStar":
            self.walk_body(st.body, scope, cond)
            for h in st.handlers:
                if h.type is not None:
                    self.visit(h.type, scope)
                if h.name:
                    self.bind(scope, h.name, Unk(self.span(h)), True)
                self.walk_body(h.body, scope, True)
            self.walk_body(st.orelse, scope, True)
            self.walk_body(st.finalbody, scope, cond)
        elif t is ast.Global:
            scope.globals.update(st.names)
        elif t is ast.Nonlocal:
            scope.nonlocals.update(st.names)
        elif t is ast.Import:
            for alias in st.names:
                if alias.asname:
                    self.bind(scope, alias.asname, Mod(alias.name), cond)
                else:
                    top = alias.name.split(".")[0]
                    self.bind(scope, top, Mod(top), cond)
        elif t is ast.ImportFrom:
            for alias in st.names:
                if alias.name == "*":
                    continue
                if st.level:
                    v = Unk(self.span(st))
                else:
                    v = self.attr(Mod(st.module or ""), alias.name, st)
                    if isinstance(v, Unk):
                        v = Mod(f"{st.module}.{alias.name}")
                self.bind(scope, alias.asname or alias.name, v, cond)
        elif t.__name__ == "Match":
            self.visit(st.subject, scope)
            for case in st.cases:
                if case.guard is not None:
                    self.visit(case.guard, scope)
                self.walk_body(case.body, scope, True)
        else:  # Raise, Assert, Delete, Pass, Break, Continue, and anything newer
            for child in ast.iter_child_nodes(st):
                if isinstance(child, ast.stmt):
                    self.stmt(child, scope, True)
                elif isinstance(child, ast.expr):
                    self.visit(child, scope)

    def visit_defaults(self, args: ast.arguments, scope) -> None:
        for d in list(args.defaults) + [d for d in args.kw_defaults if d is not None]:
            self.visit(d, scope)

    def class_def(self, st: ast.ClassDef, scope, cond) -> None:
        for d in st.decorator_list + st.bases + [k.value for k in st.keywords]:
            self.visit(d, scope)
        cls_scope = Scope("class", scope)
        members = self.class_members.setdefault(st, {})
        for item in st.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for d in item.decorator_list:
                    self.visit(d, scope)
                self.visit_defaults(item.args, scope)
                func = Func(item, scope, st)  # methods do not see the class scope
                members[item.name] = func
                cls_scope.vars[item.name] = func
                self.register(func)
            else:
                self.stmt(item, cls_scope, False)
        for name, v in cls_scope.vars.items():
            if name not in members:
                members[name] = v
        self.bind(scope, st.name, ClassV(st), cond)

    def assign(self, target, v, scope, cond) -> None:
        t = type(target)
        if t is ast.Name:
            self.bind(scope, target.id, v, cond)
        elif t in (ast.Tuple, ast.List):
            elts = target.elts
            if isinstance(v, Seq) and v.complete and len(v.items) == len(elts) and not any(
                    isinstance(e, ast.Starred) for e in elts):
                for e, item in zip(elts, v.items):
                    self.assign(e, item, scope, cond)
            else:
                for e in elts:
                    self.assign(e.value if isinstance(e, ast.Starred) else e,
                                Unk(self.span(e)), scope, cond)
        elif t is ast.Attribute:
            for base in alternatives(self.ev(target.value, scope)):
                if isinstance(base, (Instance, ClassV)):
                    cls = base.cls if isinstance(base, Instance) else base.node
                    self.rounds.join_into(("attr", cls, target.attr), v)
                    self.memo.clear()
        elif t is ast.Starred:
            self.assign(target.value, Unk(self.span(target)), scope, cond)

    def bind(self, scope: Scope, name: str, v, cond) -> None:
        self.memo.clear()
        if scope.kind != "module" and name in scope.globals:
            self.rounds.join_into(("global", name), v)
            return
        if name in scope.nonlocals:
            s = scope.parent
            while s is not None and (s.kind == "class" or name not in s.vars):
                s = s.parent
            if s is not None:
                s.vars[name] = join(s.vars[name], v)
            return
        if cond and name in scope.vars:
            scope.vars[name] = join(scope.vars[name], v)
        else:
            scope.vars[name] = v

    def visit(self, node, scope) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            t = type(n)
            if t is ast.Lambda:
                self.visit_defaults(n.args, scope)
                self.rounds.join_into(("esc", n), True)
                self.register(Func(n, scope))
                continue
            if t in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
                for gen in n.generators:
                    self.visit(gen.iter, scope)
                    self.assign(gen.target, _elem(self.ev(gen.iter, scope), self.span(gen.target)),
                                scope, True)
                    for cond in gen.ifs:
                        self.visit(cond, scope)
                for part in ((n.key, n.value) if t is ast.DictComp else (n.elt,)):
                    self.visit(part, scope)
                continue
            if t is ast.Call:
                self.call(n, scope, True)
            elif t is ast.NamedExpr:
                self.assign(n.target, self.ev(n.value, scope), scope, True)
            fields = _CHILD_FIELDS.get(t)
            if fields is None:
                fields = _CHILD_FIELDS[t] = tuple(f for f in t._fields if f not in _LEAF_FIELDS)
            for f in fields:
                v = getattr(n, f, None)
                if v is None:
                    continue
                if type(v) is list:
                    stack.extend(x for x in v if isinstance(x, ast.AST))
                elif isinstance(v, ast.AST):
                    stack.append(v)

    def ev(self, node, scope):
        """The value of an expression; memoised within a walk until the next assignment."""
        key = id(node)
        memo = self.memo
        if key in memo:
            return memo[key]
        v = memo[key] = self._ev(node, scope)
        return v

    def _ev(self, node, scope):
        t = type(node)
        if t is ast.Constant:
            v = node.value
            if isinstance(v, str):
                return Str.lit(v)
            if v is None:
                return NONE
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return Str.lit(str(v))
            return Unk(self.span(node))
        if t is ast.Name:
            v = self.lookup(node.id, scope, node)
            if isinstance(v, (Func, BoundFunc)):
                self.rounds.join_into(("esc", v.node if isinstance(v, Func) else v.func.node), True)
            return v
        if t is ast.Attribute:
            return self.map1(self.ev(node.value, scope), lambda b: self.attr(b, node.attr, node))
        if t is ast.Call:
            return self.call(node, scope, False)
        if t is ast.JoinedStr:
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    parts.append(Str.lit(str(value.value)))
                elif isinstance(value, ast.FormattedValue):
                    inner = self.ev(value.value, scope)
                    if value.format_spec is not None or value.conversion not in (-1, 115):
                        inner = Unk(self.span(value.value))
                    parts.append(as_str(inner, self.span(value.value)))
                else:
                    parts.append(Str.unk(self.span(value)))
            return concat(parts)
        if t is ast.Subscript:
            base = self.ev(node.value, scope)
            key = self.ev(node.slice, scope)
            return self.map1(base, lambda b: self.index(b, key, node))
        if t is ast.BinOp:
            left, right = self.ev(node.left, scope), self.ev(node.right, scope)
            if isinstance(node.op, ast.Add) and (isinstance(left, Str) or isinstance(right, Str)):
                return concat([as_str(left, self.span(node.left)), as_str(right, self.span(node.right))])
            if isinstance(node.op, ast.Mod) and isinstance(left, Str):
                args = right.items if isinstance(right, Seq) and right.complete else (right,)
                return _percent_format(left, args, self.span(node))
            return Unk(self.span(node))
        if t is ast.BoolOp:
            vals = [self.ev(v, scope) for v in node.values]
            if isinstance(node.op, ast.Or):
                if isinstance(vals[0], Str):
                    return vals[0]
                out = None
                for v in vals:
                    out = join(out, v)
                return out
            return vals[-1]
        if t is ast.IfExp:
            return join(self.ev(node.body, scope), self.ev(node.orelse, scope))
        if t is ast.Dict:
            entries, complete = [], True
            for k, v in zip(node.keys, node.values):
                if k is None:
                    inner = self.ev(v, scope)
                    if isinstance(inner, Obj):
                        entries.extend(inner.entries)
                        complete = complete and inner.complete
                    else:
                        complete = False
                    continue
                kv = self.ev(k, scope)
                entries.append((kv if isinstance(kv, Str) else None, self.ev(v, scope)))
            return Obj(tuple(entries), complete, self.span(node))
        if t in (ast.List, ast.Tuple, ast.Set):
            items, complete = [], True
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    complete = False
                    continue
                items.append(self.ev(e, scope))
            return Seq(tuple(items), complete, self.span(node))
        if t is ast.Await:
            return self.ev(node.value, scope)
        if t is ast.NamedExpr:
            return self.ev(node.value, scope)
        if t is ast.Lambda:
            return Func(node, scope)
        return Unk(self.span(node))

    @staticmethod
    def map1(base, fn):
        out = None
        for b in alternatives(base):
            out = join(out, fn(b))
        return out

    def lookup(self, name, scope, node):
        s = scope
        first = True
        while s is not None:
            if s.kind == "class" and not first:
                s = s.parent
                continue
            if name in s.globals and s.kind != "module":
                s = self.module
                continue
            if name in s.vars:
                v = s.vars[name]
                if s is self.module and name in self.global_names:
                    v = join(v, self.rounds.get(("global", name)))
                return v
            first = False
            s = s.parent
        if name in self.global_names:
            v = self.rounds.get(("global", name))
            if v is not None:
                return v
        return BUILTINS.get(name) or Unk(self.span(node))

    def attr(self, base, name, node):
        if isinstance(base, Mod):
            return MOD_ATTRS.get((base.name, name)) or Unk(self.span(node))
        if isinstance(base, Client):
            if name in ("meta", "exceptions"):
                return Unk(self.span(node))
            return Method(base, name)
        if isinstance(base, SvcRes):
            spec = RESOURCES.get((base.service, None))
            if name == "meta":
                return ResMeta(base.service)
            if spec and spec.coll and name in spec.coll:
                op, elem = spec.coll[name]
                return Coll(base.service, op, (), elem)
            return Method(base, name)
        if isinstance(base, ResMeta):
            return Client(base.service, "boto3") if name == "client" else Unk(self.span(node))
        if isinstance(base, SubRes):
            spec = RESOURCES.get((base.service, base.rtype))
            if name == "meta":
                return ResMeta(base.service)
            if spec and spec.coll and name in spec.coll:
                op, elem = spec.coll[name]
                return Coll(base.service, op, base.ident, elem)
            for pname, pval in base.ident:  # bucket.name, table.name, queue.url
                if _ident_attr(pname) == name:
                    return pval
            return Method(base, name)
        if isinstance(base, (Coll, Paginator, Waiter, Session, Str, Obj)):
            return Method(base, name)
        if isinstance(base, Instance):
            v = self.rounds.get(("attr", base.cls, name))
            member = self.class_members.get(base.cls, {}).get(name)
            if isinstance(member, Func):
                kind = _method_kind(member.node)
                if kind == "staticmethod":
                    return member
                return BoundFunc(member, ClassV(base.cls) if kind == "classmethod" else base)
            v = join(v, member)
            return v if v is not None else Unk(self.span(node))
        if isinstance(base, ClassV):
            member = self.class_members.get(base.node, {}).get(name)
            if isinstance(member, Func) and _method_kind(member.node) == "classmethod":
                return BoundFunc(member, base)
            v = join(self.rounds.get(("attr", base.node, name)), member)
            return v if v is not None else Unk(self.span(node))
        return Unk(self.span(node))

    def index(self, base, key, node):
        if isinstance(base, Mod) and base.name == "os.environ":
            if isinstance(key, Str) and key.literal_text() is not None:
                return Str.env(key.literal_text())
            return Unk(self.span(node))
        if isinstance(base, Obj) and isinstance(key, Str) and key.literal_text() is not None:
            v = base.get(key.literal_text())
            return v if v is not None else Unk(self.span(node))
        if isinstance(base, Seq) and isinstance(key, Str):
            try:
                return base.items[int(key.literal_text() or "x")]
            except (ValueError, IndexError):
                return Unk(self.span(node))
        return Unk(self.span(node))

    # calls ---------------------------------------------------------------------------------------
    def ev_callee(self, node, scope):
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope, node)
        return self.ev(node, scope)

    def args(self, node: ast.Call, scope):
        pos, kw, complete = [], {}, True
        for a in node.args:
            if isinstance(a, ast.Starred):
                complete = False
                continue
            pos.append(self.ev(a, scope))
        for k in node.keywords:
            v = self.ev(k.value, scope)
            if k.arg is None:
                if isinstance(v, Obj):
                    for kk, vv in v.entries:
                        if kk is not None and kk.literal_text() is not None:
                            kw[kk.literal_text()] = vv
                    complete = complete and v.complete
                else:
                    complete = False
                continue
            kw[k.arg] = v
        return pos, kw, complete

    def params(self, node: ast.Call, scope, positional=(), ident=()) -> Params:
        pos, kw, complete = self.args(node, scope)
        values = dict(ident)
        for name, v in zip(positional, pos):
            values[name] = v
        values.update(kw)
        span = self.span(node)
        for k in node.keywords:
            if k.arg is None:
                span = self.span(k.value)
        return Params(values, complete, span)

    def call(self, node: ast.Call, scope, emit):
        fval = self.ev_callee(node.func, scope)
        out = None
        for f in alternatives(fval):
            out = join(out, self.apply(f, node, scope, emit))
        if out is None:
            out = Unk(self.span(node))
        if emit:  # the value is the same as a pure evaluation's: spare ev() the work
            self.memo[id(node)] = out
        return out

    def first_arg(self, node, scope, kwname):
        if node.args and not isinstance(node.args[0], ast.Starred):
            return self.ev(node.args[0], scope)
        for k in node.keywords:
            if k.arg == kwname:
                return self.ev(k.value, scope)
        return None

    def kwarg(self, node, scope, name):
        for k in node.keywords:
            if k.arg == name:
                return self.ev(k.value, scope)
        return None

    def apply(self, f, node: ast.Call, scope, emit):
        span = self.span(node)
        if isinstance(f, Builtin):
            n = f.name
            if n in ("boto3.client", "boto3.resource"):
                return self.make_client(node, scope, emit, n == "boto3.resource")
            if n == "boto3.Session":
                return Session()
            if n == "os.getenv":
                arg = self.first_arg(node, scope, "key")
                if isinstance(arg, Str) and arg.literal_text() is not None:
                    return Str.env(arg.literal_text())
                return Unk(span)
            if n == "getattr":
                if len(node.args) < 2:
                    return Unk(span)
                obj = self.ev(node.args[0], scope)
                name = self.ev(node.args[1], scope)
                if isinstance(name, Str) and name.literal_text() is not None:
                    return self.map1(obj, lambda b: self.attr(b, name.literal_text(), node))
                if any(isinstance(o, AWS_VALUES) for o in alternatives(obj)):
                    return Method(obj, None)
                return Unk(span)
            if n == "str":
                arg = self.first_arg(node, scope, "object")
                return arg if isinstance(arg, Str) else Unk(span)
            if n == "dict":
                pos, kw, complete = self.args(node, scope)
                entries = tuple((Str.lit(k), v) for k, v in kw.items())
                return Obj(entries, complete and not pos, span)
            return Unk(span)
        if isinstance(f, Method):
            recv, name = f.recv, f.name
            if isinstance(recv, Multi):
                out = None
                for r in recv.options:
                    out = join(out, self.apply(Method(r, name), node, scope, emit))
                return out
            if isinstance(recv, Session):
                if name in ("client", "create_client", "resource"):
                    return self.make_client(node, scope, emit, name == "resource")
                return Unk(span)
            if isinstance(recv, Client):
                return self.client_method(recv, name, node, scope, emit)
            if isinstance(recv, (SvcRes, SubRes)):
                return self.resource_method(recv, name, node, scope, emit)
            if isinstance(recv, Coll):
                return self.coll_method(recv, name, node, scope, emit)
            if isinstance(recv, (Paginator, Waiter)):
                # `paginator.paginate(...)` / `waiter.wait(...)` run the operation they were made for
                if name == ("paginate" if isinstance(recv, Paginator) else "wait"):
                    if emit:
                        self.col.operation(recv.service, recv.op, self.params(node, scope),
                                           self.call_pos(node), "boto3")
                    return Unk(span)
                return self.unresolved(recv.service, name, node, emit)
            if isinstance(recv, Str):
                if name == "format":
                    pos, kw, _c = self.args(node, scope)
                    return _brace_format(recv, pos, kw, span)
                if name in ("strip", "rstrip", "lstrip") and not node.args:
                    return recv
                return Unk(span)
            if isinstance(recv, Obj):
                if name == "get" and node.args:
                    key = self.ev(node.args[0], scope)
                    if isinstance(key, Str) and key.literal_text() is not None:
                        v = recv.get(key.literal_text())
                        if v is not None:
                            return v
                        if len(node.args) > 1 and recv.complete:
                            return self.ev(node.args[1], scope)
                return Unk(span)
            if isinstance(recv, (ResMeta,)) or name is None:
                if emit and isinstance(recv, AWS_VALUES):
                    self.col.dynamic(self.call_pos(node), "AWS method name is computed")
                return Unk(span)
            return Unk(span)
        if isinstance(f, Func):
            return self.call_func(f, None, node, scope, emit)
        if isinstance(f, BoundFunc):
            return self.call_func(f.func, f.self_val, node, scope, emit)
        if isinstance(f, ClassV):
            inst = Instance(f.node)
            init = self.class_members.get(f.node, {}).get("__init__")
            if isinstance(init, Func):
                self.call_func(init, inst, node, scope, emit)
            return inst
        return Unk(span)

    def call_func(self, func: Func, self_val, node, scope, emit):
        if emit:
            pos, kw, complete = self.args(node, scope)
            if self_val is not None:
                pos = [self_val] + pos
            if complete:
                binding = (tuple(pos), tuple(sorted(kw.items(), key=lambda kv: kv[0])))
                self.rounds.add_to_set(("bind", func.node), binding)
            else:
                self.rounds.join_into(("esc", func.node), True)
        ret = self.rounds.get(("ret", func.node))
        return ret if ret is not None else Unk(self.span(node))

    def unresolved(self, service, name, node, emit):
        if emit:
            self.col.operation(service, None, Params({}), self.call_pos(node), "boto3", label=name)
        return Unk(self.span(node))

    def make_client(self, node, scope, emit, resource: bool):
        svc = self.first_arg(node, scope, "service_name")
        if isinstance(svc, Multi):  # one of several literal names: a client for each
            out = None
            for alt in svc.options:
                out = join(out, self._make_client(alt, node, scope, emit, resource))
            return out
        return self._make_client(svc, node, scope, emit, resource)

    def _make_client(self, svc, node, scope, emit, resource: bool):
        text = svc.literal_text() if isinstance(svc, Str) else None
        pos = self.off(node.lineno, node.col_offset)
        what = "resource" if resource else "client"
        if text is None:
            if emit:
                self.col.dynamic(pos, f"boto3 {what} for a service name that is not static")
            return Unk(self.span(node))
        name = act.boto3_service(text)
        if name is None:
            if emit:
                self.col.dynamic(pos, f"boto3 {what} of unknown service '{text}'")
            return Unk(self.span(node))
        if resource:
            if (name, None) not in RESOURCES:
                if emit:
                    self.col.dynamic(pos, f"boto3 resource API of '{name}' is not modelled")
                return Unk(self.span(node))
            return SvcRes(name)
        endpoint = self.kwarg(node, scope, "endpoint_url")
        return Client(name, "boto3", endpoint=endpoint if isinstance(endpoint, Str) else None)

    def client_method(self, c: Client, name, node, scope, emit):
        span = self.span(node)
        pos = self.call_pos(node)
        if name is None:
            if emit:
                self.col.dynamic(pos, f"{c.service} client method name is computed")
            return Unk(span)
        info = act.service_info(c.service)
        op = info.snake.get(name) if info else None
        if op is not None:
            if emit:
                self.col.operation(c.service, op, self.params(node, scope), pos, "boto3", c.endpoint)
            return Unk(span)
        if name == "get_paginator":
            arg = self.first_arg(node, scope, "operation_name")
            text = arg.literal_text() if isinstance(arg, Str) else None
            op = info.snake.get(text) if (info and text) else None
            if op is None:
                if emit:
                    self.col.dynamic(pos, f"{c.service} paginator for an operation that is not static")
                return Unk(span)
            return Paginator(c.service, op)
        if name == "get_waiter":
            arg = self.first_arg(node, scope, "waiter_name")
            text = arg.literal_text() if isinstance(arg, Str) else None
            op = act.waiter_operation(c.service, text) if text else None
            if op is None:
                if emit:
                    self.col.dynamic(pos, f"{c.service} waiter that cannot be resolved")
                return Unk(span)
            return Waiter(c.service, op)
        if name == "generate_presigned_url":
            arg = self.first_arg(node, scope, "ClientMethod")
            text = arg.literal_text() if isinstance(arg, Str) else None
            op = info.snake.get(text) if (info and text) else None
            if emit:
                if op is None:
                    self.col.dynamic(pos, f"presigned URL for a {c.service} method that is not static")
                else:
                    p = self.kwarg(node, scope, "Params")
                    params = Params.from_obj(p, self.span(node)) if p is not None else Params({})
                    self.col.operation(c.service, op, params, pos, "boto3", c.endpoint)
            return Unk(span)
        if c.service == "s3" and name == "generate_presigned_post":
            if emit:
                self.col.operation("s3", "PutObject", self.params(node, scope, ("Bucket", "Key")),
                                   pos, "boto3")
            return Unk(span)
        if c.service == "s3" and name in CLIENT_TRANSFER:
            op, positional = CLIENT_TRANSFER[name]
            if emit:
                self.col.operation("s3", op, self.params(node, scope, positional), pos, "boto3")
            return Unk(span)
        if name in CLIENT_NON_CALLS:
            return Unk(span)
        return self.unresolved(c.service, name, node, emit)

    def resource_method(self, r, name, node, scope, emit):
        span = self.span(node)
        pos = self.call_pos(node)
        service = r.service
        rtype = r.rtype if isinstance(r, SubRes) else None
        ident = r.ident if isinstance(r, SubRes) else ()
        spec = RESOURCES.get((service, rtype))
        if name is None or spec is None:
            if emit:
                what = f"{service} {rtype or 'resource'}"
                self.col.dynamic(pos, f"{what} method that cannot be resolved")
            return Unk(span)
        if spec.sub and name in spec.sub:
            rtype2, names = spec.sub[name]
            pos_vals, kw, _complete = self.args(node, scope)
            new_ident = list(ident)
            for i, pname in enumerate(names):
                if i < len(pos_vals):
                    v = pos_vals[i]
                else:
                    v = kw.get(_ident_kw(pname), Unk(span))
                new_ident.append((pname, v))
            return SubRes(service, rtype2, tuple(new_ident))
        info = act.service_info(service)
        op, positional = None, ()
        if spec.transfer and name in spec.transfer:
            op, positional = spec.transfer[name]
        elif spec.alias and name in spec.alias:
            op = spec.alias[name]
        elif info is not None and name in info.snake:
            cand = info.snake[name]
            resparam = info.ops[cand][1]
            if rtype is None or (spec.ident and resparam == spec.ident[0]):
                op = cand
        if op is None:
            if name in CLIENT_NON_CALLS:
                return Unk(span)
            return self.unresolved(service, name, node, emit)
        params = self.params(node, scope, positional, ident)
        if emit:
            self.col.operation(service, op, params, pos, "boto3",
                               fallback=ident[0][1] if ident else None)
        if spec.iters and name in spec.iters:
            return IterOf(SubRes(service, spec.iters[name], ident))
        if spec.returns and name in spec.returns:
            rtype2, pname = spec.returns[name]
            sub = RESOURCES.get((service, rtype2))
            _f, v = params.get(pname)
            return SubRes(service, rtype2, ((sub.ident[0], v if v is not None else Unk(span)),))
        return Unk(span)

    def coll_method(self, c: Coll, name, node, scope, emit):
        span = self.span(node)
        pos = self.call_pos(node)
        if name in ("all", "filter", "limit", "page_size", "pages"):
            if emit and not c.emitted:
                self.col.operation(c.service, c.op, self.params(node, scope, (), c.ident), pos, "boto3")
            return Coll(c.service, c.op, c.ident, c.elem, True)
        if name == "delete":
            if emit:
                params = self.params(node, scope, (), c.ident)
                if not c.emitted:
                    self.col.operation(c.service, c.op, params, pos, "boto3")
                batch = {"ListObjects": "DeleteObjects", "ListObjectVersions": "DeleteObjects"}
                if c.op in batch:
                    self.col.operation(c.service, batch[c.op], params, pos, "boto3")
                else:
                    self.col.dynamic(pos, f"batch delete on a {c.service} collection")
            return Unk(span)
        return self.unresolved(c.service, name, node, emit)


# Fields that never hold a call: operator and context singletons, identifiers, constants.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "value_kind", "kind", "conversion",
                          "type_comment", "arg", "name", "names", "level", "module"})
_CHILD_FIELDS: dict = {}


def _is_main_guard(test) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [x.id for x in sides if isinstance(x, ast.Name)]
    consts = [x.value for x in sides if isinstance(x, ast.Constant)]
    return names == ["__name__"] and consts == ["__main__"]


def _method_kind(node) -> str:
    for d in getattr(node, "decorator_list", ()):
        if isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod"):
            return d.id
    return "method"


def _ident_attr(pname: str) -> str:
    return {"Bucket": "name", "TableName": "name", "QueueUrl": "url", "TopicArn": "arn",
            "Key": "key", "TargetArn": "arn"}.get(pname, "")


def _ident_kw(pname: str) -> str:
    return {"Bucket": "bucket_name", "TableName": "name", "QueueUrl": "url", "TopicArn": "arn",
            "Key": "key", "TargetArn": "arn", "VersionId": "id"}.get(pname, pname)


def _elem(v, span):
    """What ``for x in v`` binds."""
    if isinstance(v, IterOf):
        return v.elem
    if isinstance(v, Coll) and v.elem:
        sub = RESOURCES.get((v.service, v.elem))
        if sub is not None and v.ident:
            return SubRes(v.service, v.elem, tuple(v.ident) + tuple(
                (p, Unk(span)) for p in sub.ident[len(v.ident):]))
        if sub is not None:
            return SubRes(v.service, v.elem, tuple((p, Unk(span)) for p in sub.ident))
    if isinstance(v, Seq) and v.complete and v.items:
        out = None
        for item in v.items:
            out = join(out, item)
        return out
    return Unk(span)


def _percent_format(fmt: Str, args, span) -> Str:
    text = fmt.literal_text()
    if text is None:
        return Str.unk(span)
    pieces = text.split("%s")
    if len(pieces) - 1 != len(args) or "%" in "".join(pieces).replace("%%", ""):
        return Str.unk(span)
    out = [Str.lit(pieces[0].replace("%%", "%"))]
    for arg, piece in zip(args, pieces[1:]):
        out.append(as_str(arg, span))
        out.append(Str.lit(piece.replace("%%", "%")))
    return concat(out)


def _brace_format(fmt: Str, pos, kw, span) -> Str:
    import string

    text = fmt.literal_text()
    if text is None:
        return Str.unk(span)
    out = []
    auto = 0
    try:
        for literal, field, spec, conv in string.Formatter().parse(text):
            out.append(Str.lit(literal))
            if field is None:
                continue
            if spec or conv:
                return Str.unk(span)
            if field == "":
                v = pos[auto] if auto < len(pos) else None
                auto += 1
            elif field.isdigit():
                v = pos[int(field)] if int(field) < len(pos) else None
            else:
                v = kw.get(field)
            out.append(as_str(v, span) if v is not None else Str.unk(span))
    except ValueError:
        return Str.unk(span)
    return concat(out)


def _newer_runtime(runtime: str | None) -> str:
    """A note for syntax errors when the function's runtime is a newer Python than ours."""
    import re
    import sys

    m = re.fullmatch(r"python(\d+)\.(\d+)", (runtime or "").strip().lower())
    if m and (int(m.group(1)), int(m.group(2))) > sys.version_info[:2]:
        return (f" (read with Python {sys.version_info[0]}.{sys.version_info[1]}; "
                f"the runtime is {runtime})")
    return ""


def scan_python(source: bytes, runtime: str | None = None) -> CodeFacts:
    """Read a Python handler's source. Never raises for bad input."""
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        return CodeFacts(error=f"line 1: cannot decode source ({exc})")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return CodeFacts(error=f"line {exc.lineno or 1}: {exc.msg}{_newer_runtime(runtime)}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return CodeFacts(error=f"line 1: cannot parse ({type(exc).__name__})")
    utf8 = text.encode("utf-8")
    if b"boto" not in utf8:  # no boto3/botocore/aioboto3: nothing can reach AWS through the SDK
        return CodeFacts()
    try:
        return PyReader(utf8, tree).run()
    except RecursionError:  # valid code, but too deep to follow: the policy is unknown
        return too_deep()


def too_deep() -> CodeFacts:
    return CodeFacts(dynamic=True,
                     dynamic_sites=[DynamicSite(1, 1, "code nested too deeply to analyze")])
