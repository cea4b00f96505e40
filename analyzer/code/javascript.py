"""JavaScript and TypeScript handlers: AWS SDK v2 and v3, read through tree-sitter.

Recognised: ``require``/``import`` of ``aws-sdk`` (and ``aws-sdk/clients/x``), v2 clients
(``new AWS.S3()``, ``new AWS.DynamoDB.DocumentClient()``) and their methods; v3 packages
(``@aws-sdk/client-x``, ``@aws-sdk/lib-dynamodb``), ``client.send(new XCommand(...))``,
aggregated clients (``new S3().putObject``), paginators, waiters, ``getSignedUrl``,
``lib-storage``'s ``Upload``, X-Ray's ``captureAWSClient`` wrappers; and the ``sdk.invoke``
form of the "Future of Serverless" post. The same abstract interpreter as the Python reader:
module body first, then each function body per distinct argument values at local call sites.
"""
from __future__ import annotations

import re

from . import actions as act
from .core import (NONE, Client, Collector, FunctionQueue, Multi, NoneV, Obj, Params, Rounds, Seq, Str, Unk,
                   alternatives, as_str, concat, join)
from .val import BoundFunc, ClassV, Func, Instance, Val, _set
from .facts import CodeFacts

# --------------------------------------------------------------------------------------------
# JavaScript-only abstract values


class JsMod(Val):
    __slots__ = ('kind', 'service', 'suffix')
    _defaults = {'service': None, 'suffix': ""}
    # kind: "aws-sdk" | "v3" | "v3doc" | "lib-storage" | "presigner" | "presigned-post"
    #            "xray" | "serverless-sdk" | "v3?" (an @aws-sdk/client-x we cannot map)
    # suffix: the X of @aws-sdk/client-X


class V2Class(Val):  # AWS.S3, AWS.DynamoDB.DocumentClient, require('aws-sdk/clients/s3')
    __slots__ = ('service', 'name', 'doc', 'special')
    _defaults = {'doc': False, 'special': None}
    # special: "ManagedUpload"


class V3Export(Val):  # a named export of an @aws-sdk package: S3Client, PutObjectCommand, paginateX...
    __slots__ = ('mod', 'name')


class Command(Val):
    __slots__ = ('service', 'name', 'doc', 'params', 'pos', 'span')
    # name: "PutObject" (from PutObjectCommand), or lib-dynamodb's "Put"


class Method(Val):
    __slots__ = ('recv', 'name')

    def __init__(self, recv, name):
        _set(self, "recv", recv)
        _set(self, "name", name)


class Builtin(Val):
    __slots__ = ('name',)
    # name: "require" | "String" | "import"


class ProcessV(Val):
    __slots__ = ()


class EnvV(Val):
    __slots__ = ()


class SdkV(Val):  # the post's `sdk` object: sdk.invoke('service:function', params, cb)
    __slots__ = ()


AWS_VALUES = (Client, JsMod, V2Class, V3Export, Command)
_MAIN_GUARD = re.compile(r"\(\s*(require\.main\s*===?\s*module|module\s*===?\s*require\.main)\s*\)")
FUNCTION_NODES = frozenset({"arrow_function", "function_expression", "function",
                            "generator_function", "function_declaration",
                            "generator_function_declaration", "method_definition"})
TRANSPARENT = frozenset({"parenthesized_expression", "as_expression", "non_null_expression",
                         "satisfies_expression", "await_expression", "type_assertion"})
V2_NON_CALLS = frozenset({"config", "endpoint", "api", "setupRequestListeners",
                          "customizeRequests", "defineService", "createSet", "serviceIdentifier"})
V3_NON_CALLS = frozenset({"destroy", "middlewareStack", "config"})


class Scope:
    __slots__ = ("vars", "parent", "kind")

    def __init__(self, kind, parent=None):
        self.vars = {}
        self.parent = parent
        self.kind = kind


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def rep(m):
        s = m.group(0)
        c = s[1]
        simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
        if c in simple and len(s) == 2:
            return simple[c]
        if c == "x":
            return chr(int(s[2:], 16))
        if c == "u":
            return chr(int(s[2:].strip("{}"), 16))
        if c in "\r\n":
            return ""
        return s[1:]

    try:
        return re.sub(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|.)", rep, text,
                      flags=re.S)
    except (ValueError, OverflowError):
        return text


class JsReader(FunctionQueue):

    def __init__(self, source: bytes, root):
        self.source = source
        self.root = root
        self.rounds = Rounds()
        self.col: Collector | None = None

    # helpers --------------------------------------------------------------------------------------
    def text(self, node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    @staticmethod
    def span(node) -> tuple:
        return (node.start_byte, node.end_byte)

    @staticmethod
    def call_pos(node) -> int:
        f = node.child_by_field_name("function")
        if f is not None and f.type == "member_expression":
            prop = f.child_by_field_name("property")
            if prop is not None:
                return prop.start_byte
        return node.start_byte

    # driver ----------------------------------------------------------------------------------------
    def run(self) -> CodeFacts:
        for _ in range(Rounds.MAX):
            self.rounds.start_round()
            self.col = Collector(self.source)
            self.reset_queue()
            self.class_members = {}
            self.commands = {}
            self.consumed = set()
            self.cur_func = None
            self.memo = {}
            self.module = Scope("module")
            self.walk_block(self.root, self.module, False)
            self.process_units()
            if not self.rounds.dirty:
                break
        for pos, cmd in sorted(self.commands.items()):  # built but never seen sent: report at `new`
            if pos not in self.consumed:
                self.emit_command(cmd, pos, None)
        return self.col.facts()

    def unit_key(self, func: Func):
        return (func.node.start_byte, func.node.end_byte, id(func.closure))

    def bind_key(self, func: Func):
        return self.fkey(func.node)

    @staticmethod
    def fkey(func_node):
        return ("fn", func_node.start_byte, func_node.end_byte)

    def walk_function(self, func: Func, binding) -> None:
        self.memo = {}
        node = func.node
        scope = Scope("function", func.closure)
        if func.cls is not None:
            this = binding[0] if binding else Instance(func.cls)
            args = list(binding[1:]) if binding else []
            scope.vars["this"] = this
        else:
            args = list(binding) if binding else []
            if node.type != "arrow_function":
                scope.vars["this"] = Unk(self.span(node))
        params = node.child_by_field_name("parameters")
        single = node.child_by_field_name("parameter")
        if single is not None:
            self.assign(single, args[0] if args else Unk(self.span(single)), scope, False)
        elif params is not None:
            i = 0
            for p in params.named_children:
                if p.type in ("comment", "decorator"):
                    continue
                v = args[i] if i < len(args) else None
                i += 1
                self.bind_param(p, v, scope, func)
        saved = self.cur_func
        self.cur_func = self.fkey(node)
        try:
            body = node.child_by_field_name("body")
            if body is None:
                return
            if body.type == "statement_block":
                self.walk_block(body, scope, False)
            else:
                self.visit(body, scope)
                self.rounds.join_into(("ret", self.cur_func), self.ev(body, scope))
        finally:
            self.cur_func = saved

    def bind_param(self, p, v, scope, func) -> None:
        t = p.type
        if t in ("required_parameter", "optional_parameter"):
            pattern = p.child_by_field_name("pattern")
            default = p.child_by_field_name("value")
            if v is None or isinstance(v, (Unk, NoneV)):
                v = self.ev(default, func.closure) if default is not None else Unk(self.span(p))
            if pattern is not None:
                self.assign(pattern, v, scope, False)
                # TypeScript parameter properties: constructor(private readonly s3: S3Client)
                if func.cls is not None and any(c.type == "accessibility_modifier" or
                                                c.type == "readonly" for c in p.children):
                    if pattern.type == "identifier":
                        self.rounds.join_into(("attr", self.fkey(func.cls), self.text(pattern)), v)
            return
        if t == "assignment_pattern":
            left, right = p.child_by_field_name("left"), p.child_by_field_name("right")
            if v is None or isinstance(v, (Unk, NoneV)):
                v = self.ev(right, func.closure) if right is not None else Unk(self.span(p))
            if left is not None:
                self.assign(left, v, scope, False)
            return
        if t == "rest_pattern":
            for c in p.named_children:
                self.assign(c, Unk(self.span(p)), scope, False)
            return
        self.assign(p, v if v is not None else Unk(self.span(p)), scope, False)

    # statements -------------------------------------------------------------------------------------
    def walk_block(self, block, scope, cond) -> None:
        children = block.named_children
        for st in children:  # hoisting: function declarations are visible before they appear
            decl = st
            if st.type == "export_statement":
                decl = st.child_by_field_name("declaration") or st
            if decl.type in ("function_declaration", "generator_function_declaration"):
                name = decl.child_by_field_name("name")
                if name is not None:
                    func = Func(decl, scope)
                    self.bind(scope, self.text(name), func, cond)
                    self.register(func)
                    if decl is not st:
                        self.rounds.join_into(("esc", self.fkey(decl)), True)
        for st in children:
            self.stmt(st, scope, cond)

    def stmt(self, st, scope, cond) -> None:
        t = st.type
        if t in ("lexical_declaration", "variable_declaration"):
            for d in st.named_children:
                if d.type != "variable_declarator":
                    continue
                name, value = d.child_by_field_name("name"), d.child_by_field_name("value")
                if value is not None:
                    self.visit(value, scope)
                    v = self.ev(value, scope, binding=True)
                else:
                    v = NONE
                if name is not None:
                    self.assign(name, v, scope, cond)
        elif t == "expression_statement":
            for c in st.named_children:
                self.visit(c, scope)
        elif t in ("function_declaration", "generator_function_declaration"):
            pass  # hoisted by walk_block
        elif t == "class_declaration" or t == "abstract_class_declaration":
            self.class_def(st, scope, cond)
        elif t == "return_statement":
            for c in st.named_children:
                self.visit(c, scope)
                if self.cur_func is not None:
                    self.rounds.join_into(("ret", self.cur_func), self.ev(c, scope))
        elif t == "if_statement":
            c = st.child_by_field_name("condition")
            parts = ("consequence", "alternative")
            if c is not None and scope is self.module and _MAIN_GUARD.fullmatch(self.text(c)):
                parts = ("alternative",)  # `if (require.main === module)`: local runs only
            elif c is not None:
                self.visit(c, scope)
            for part in parts:
                n = st.child_by_field_name(part)
                if n is not None:
                    self.stmt_or_block(n, scope, True)
        elif t == "for_in_statement":
            right = st.child_by_field_name("right")
            left = st.child_by_field_name("left")
            if right is not None:
                self.visit(right, scope)
                if left is not None:
                    self.assign(left, self.elem(self.ev(right, scope), left), scope, True)
            body = st.child_by_field_name("body")
            if body is not None:
                self.stmt_or_block(body, scope, True)
        elif t in ("for_statement", "while_statement", "do_statement"):
            for c in st.named_children:
                if c.type in ("lexical_declaration", "variable_declaration"):
                    self.stmt(c, scope, True)
                elif c.type == "statement_block" or c.type.endswith("_statement"):
                    self.stmt_or_block(c, scope, True)
                else:
                    self.visit(c, scope)
        elif t == "try_statement":
            body = st.child_by_field_name("body")
            if body is not None:
                self.walk_block(body, scope, cond)
            handler = st.child_by_field_name("handler")
            if handler is not None:
                param = handler.child_by_field_name("parameter")
                if param is not None:
                    self.assign(param, Unk(self.span(param)), scope, True)
                hb = handler.child_by_field_name("body")
                if hb is not None:
                    self.walk_block(hb, scope, True)
            fin = st.child_by_field_name("finalizer")
            if fin is not None:
                for c in fin.named_children:
                    if c.type == "statement_block":
                        self.walk_block(c, scope, cond)
        elif t == "switch_statement":
            v = st.child_by_field_name("value")
            if v is not None:
                self.visit(v, scope)
            body = st.child_by_field_name("body")
            if body is not None:
                for case in body.named_children:
                    for c in case.named_children:
                        if c.type.endswith("statement") or c.type.endswith("declaration"):
                            self.stmt(c, scope, True)
                        else:
                            self.visit(c, scope)
        elif t == "statement_block":
            self.walk_block(st, scope, cond)
        elif t == "labeled_statement":
            for c in st.named_children:
                if c.type != "statement_identifier":
                    self.stmt_or_block(c, scope, cond)
        elif t == "export_statement":
            decl = st.child_by_field_name("declaration")
            if decl is not None:
                self.stmt(decl, scope, cond)
                self.escape_declared(decl, scope)
            else:
                for c in st.named_children:
                    if c.type == "export_clause":
                        for spec in c.named_children:
                            name = spec.child_by_field_name("name")
                            if name is not None:
                                self.ev(name, scope)
                    elif c.type not in ("string", "comment"):
                        if c.type in ("function_declaration", "generator_function_declaration"):
                            continue
                        self.visit(c, scope)
                        self.ev(c, scope)
        elif t == "import_statement":
            self.import_stmt(st, scope, cond)
        elif t in ("comment", "empty_statement", "break_statement", "continue_statement",
                   "debugger_statement", "type_alias_declaration", "interface_declaration",
                   "enum_declaration", "ambient_declaration", "hash_bang_line"):
            pass
        else:  # throw_statement, anything else: visit what it contains
            self.visit(st, scope)

    def stmt_or_block(self, node, scope, cond) -> None:
        if node.type == "else_clause":
            for c in node.named_children:
                self.stmt_or_block(c, scope, cond)
        elif node.type == "statement_block":
            self.walk_block(node, scope, cond)
        else:
            self.stmt(node, scope, cond)

    def escape_declared(self, decl, scope) -> None:
        if decl.type in ("lexical_declaration", "variable_declaration"):
            for d in decl.named_children:
                name = d.child_by_field_name("name") if d.type == "variable_declarator" else None
                if name is not None and name.type == "identifier":
                    self.ev(name, scope)
        elif decl.type in ("class_declaration", "abstract_class_declaration"):
            pass

    def import_stmt(self, st, scope, cond) -> None:
        if any(c.type == "type" for c in st.children):  # import type {...}
            return
        source = st.child_by_field_name("source")
        modname = self.string_value(source) if source is not None else None
        mod = self.module_value(modname) if modname is not None else Unk(self.span(st))
        for clause in st.named_children:
            if clause.type == "import_require_clause":  # TS: import AWS = require('aws-sdk')
                ident = next((c for c in clause.named_children if c.type == "identifier"), None)
                src = clause.child_by_field_name("source")
                if ident is not None and src is not None:
                    name = self.string_value(src)
                    self.bind(scope, self.text(ident), self.module_value(name) if name else
                              Unk(self.span(clause)), cond)
            if clause.type != "import_clause":
                continue
            for c in clause.named_children:
                if c.type == "identifier":  # default import
                    self.bind(scope, self.text(c), self.default_export(mod, c), cond)
                elif c.type == "namespace_import":
                    for ident in c.named_children:
                        if ident.type == "identifier":
                            self.bind(scope, self.text(ident), mod, cond)
                elif c.type == "named_imports":
                    for spec in c.named_children:
                        if spec.type != "import_specifier":
                            continue
                        if any(x.type == "type" for x in spec.children):
                            continue
                        name = spec.child_by_field_name("name")
                        alias = spec.child_by_field_name("alias") or name
                        if name is None:
                            continue
                        self.bind(scope, self.text(alias), self.member(mod, self.text(name), spec),
                                  cond)

    def default_export(self, mod, node):
        if isinstance(mod, JsMod) and mod.kind in ("v3", "v3doc", "v3?"):
            return Unk(self.span(node))
        return mod

    def class_def(self, st, scope, cond) -> None:
        name = st.child_by_field_name("name")
        body = st.child_by_field_name("body")
        key = self.fkey(st)
        members = self.class_members.setdefault(key, {})
        inst = Instance(st)
        if body is not None:
            field_scope = Scope("function", scope)
            field_scope.vars["this"] = inst
            for m in body.named_children:
                if m.type == "method_definition":
                    mname = m.child_by_field_name("name")
                    func = Func(m, scope, st)
                    if mname is not None:
                        members[self.text(mname)] = func
                    self.register(func)
                elif m.type in ("field_definition", "public_field_definition"):
                    prop = m.child_by_field_name("property") or m.child_by_field_name("name")
                    value = m.child_by_field_name("value")
                    if prop is not None and value is not None:
                        self.visit(value, field_scope)
                        self.rounds.join_into(("attr", key, self.text(prop)),
                                              self.ev(value, field_scope))
        if name is not None:
            self.bind(scope, self.text(name), ClassV(st), cond)

    # patterns and bindings --------------------------------------------------------------------------
    def assign(self, target, v, scope, cond) -> None:
        t = target.type
        if t in ("identifier", "shorthand_property_identifier_pattern"):
            self.bind(scope, self.text(target), v, cond)
        elif t == "object_pattern":
            for c in target.named_children:
                if c.type == "shorthand_property_identifier_pattern":
                    self.bind(scope, self.text(c), self.member(v, self.text(c), c), cond)
                elif c.type == "pair_pattern":
                    key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                    if key is None or value is None:
                        continue
                    k = self.prop_name(key, scope)
                    inner = self.member(v, k, c) if k is not None else Unk(self.span(c))
                    self.assign(value, inner, scope, cond)
                elif c.type == "object_assignment_pattern":
                    left, right = c.child_by_field_name("left"), c.child_by_field_name("right")
                    if left is None:
                        continue
                    inner = self.member(v, self.text(left), c)
                    if isinstance(inner, (Unk, NoneV)) and right is not None:
                        inner = self.ev(right, scope)
                    self.assign(left, inner, scope, cond)
                elif c.type == "rest_pattern":
                    for r in c.named_children:
                        self.assign(r, Unk(self.span(c)), scope, cond)
        elif t == "array_pattern":
            for i, c in enumerate(x for x in target.named_children if x.type != "comment"):
                item = Unk(self.span(c))
                if isinstance(v, Seq) and i < len(v.items):
                    item = v.items[i]
                self.assign(c, item, scope, cond)
        elif t == "assignment_pattern":
            left, right = target.child_by_field_name("left"), target.child_by_field_name("right")
            if isinstance(v, (Unk, NoneV)) and right is not None:
                v = self.ev(right, scope)
            if left is not None:
                self.assign(left, v, scope, cond)
        elif t == "member_expression":
            obj = target.child_by_field_name("object")
            prop = target.child_by_field_name("property")
            if obj is None or prop is None:
                return
            for base in alternatives(self.ev(obj, scope)):
                if isinstance(base, Instance):
                    self.rounds.join_into(("attr", self.fkey(base.cls), self.text(prop)), v)
                    self.memo.clear()
        elif t in TRANSPARENT:
            inner = target.named_children[0] if target.named_children else None
            if inner is not None:
                self.assign(inner, v, scope, cond)

    def bind(self, scope, name, v, cond) -> None:
        self.memo.clear()
        if cond and name in scope.vars:
            scope.vars[name] = join(scope.vars[name], v)
        else:
            scope.vars[name] = v

    def lookup(self, name, scope, node):
        s = scope
        while s is not None:
            if name in s.vars:
                return s.vars[name]
            s = s.parent
        if name == "require":
            return Builtin("require")
        if name == "process":
            return ProcessV()
        if name == "sdk":
            return SdkV()
        if name == "String":
            return Builtin("String")
        if name == "undefined":
            return NONE
        return Unk(self.span(node))

    # visiting (emits) ---------------------------------------------------------------------------------
    def visit(self, node, scope) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            t = n.type
            if t in FUNCTION_NODES:
                self.register(Func(n, scope))
                continue
            if t in ("class", "class_declaration"):
                self.class_def(n, scope, True)
                continue
            if t == "call_expression":
                self.call(n, scope, True)
            elif t == "new_expression":
                self.new(n, scope, True)
            elif t == "assignment_expression":
                left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
                if left is not None and right is not None:
                    self.assign(left, self.ev(right, scope, binding=True), scope, True)
            elif t == "augmented_assignment_expression":
                left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
                op = n.child_by_field_name("operator")
                if left is not None and right is not None and op is not None and self.text(op) == "+=":
                    cur = self.ev(left, scope)
                    if isinstance(cur, Str):
                        self.assign(left, concat([cur, as_str(self.ev(right, scope),
                                                              self.span(right))]), scope, True)
            elif t in ("type_annotation", "type_arguments", "type_parameters"):
                continue
            stack.extend(n.named_children)

    # evaluation (pure) --------------------------------------------------------------------------------
    def ev(self, node, scope, binding=False):
        """The value of an expression; memoised within a walk until the next assignment."""
        key = node.id
        memo = self.memo
        if key in memo:
            return memo[key]
        v = memo[key] = self._ev(node, scope, binding)
        return v

    def _ev(self, node, scope, binding=False):
        t = node.type
        if t == "identifier":
            v = self.lookup(self.text(node), scope, node)
            if isinstance(v, (Func, BoundFunc)):
                f = v if isinstance(v, Func) else v.func
                self.rounds.join_into(("esc", self.fkey(f.node)), True)
            return v
        if t == "string":
            return Str.lit(self.string_content(node))
        if t == "template_string":
            parts = []
            for c in node.named_children:
                if c.type == "string_fragment":
                    parts.append(Str.lit(self.text(c)))
                elif c.type == "escape_sequence":
                    parts.append(Str.lit(_unescape(self.text(c))))
                elif c.type == "template_substitution":
                    inner = c.named_children[0] if c.named_children else None
                    if inner is None:
                        continue
                    parts.append(as_str(self.ev(inner, scope), self.span(inner)))
            return concat(parts)
        if t == "number":
            return Str.lit(self.text(node))
        if t in ("null", "undefined"):
            return NONE
        if t == "this":
            return self.lookup("this", scope, node)
        if t == "member_expression":
            obj = node.child_by_field_name("object")
            prop = node.child_by_field_name("property")
            if obj is None or prop is None or prop.type == "private_property_identifier":
                return Unk(self.span(node))
            name = self.text(prop)
            return self.map1(self.ev(obj, scope), lambda b: self.member(b, name, node))
        if t == "subscript_expression":
            obj = node.child_by_field_name("object")
            idx = node.child_by_field_name("index")
            if obj is None or idx is None:
                return Unk(self.span(node))
            key = self.ev(idx, scope)
            base = self.ev(obj, scope)
            if isinstance(key, Str) and key.literal_text() is not None:
                name = key.literal_text()
                return self.map1(base, lambda b: self.member(b, name, node))
            if any(isinstance(b, JsMod) and b.kind == "aws-sdk" for b in alternatives(base)):
                return V2Class(None, self.text(node), special="computed")  # new AWS[name]()
            if any(isinstance(b, AWS_VALUES) for b in alternatives(base)):
                return Method(base, None)
            return Unk(self.span(node))
        if t == "call_expression":
            return self.call(node, scope, False)
        if t == "new_expression":
            return self.new(node, scope, False)
        if t in TRANSPARENT:
            kids = [c for c in node.named_children if c.type not in ("type_arguments",)]
            if not kids:
                return Unk(self.span(node))
            inner = kids[-1] if t == "type_assertion" else kids[0]
            return self.ev(inner, scope, binding)
        if t == "sequence_expression":
            kids = node.named_children
            return self.ev(kids[-1], scope) if kids else Unk(self.span(node))
        if t == "binary_expression":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            op = node.child_by_field_name("operator")
            opt = self.text(op) if op is not None else ""
            if left is None or right is None:
                return Unk(self.span(node))
            if opt == "+":
                lv, rv = self.ev(left, scope), self.ev(right, scope)
                if isinstance(lv, Str) or isinstance(rv, Str):
                    return concat([as_str(lv, self.span(left)), as_str(rv, self.span(right))])
                return Unk(self.span(node))
            if opt in ("||", "??"):
                lv = self.ev(left, scope)
                if isinstance(lv, Str):
                    return lv
                return join(lv, self.ev(right, scope))
            if opt == "&&":
                return self.ev(right, scope)
            return Unk(self.span(node))
        if t == "ternary_expression":
            a = node.child_by_field_name("consequence")
            b = node.child_by_field_name("alternative")
            if a is None or b is None:
                return Unk(self.span(node))
            return join(self.ev(a, scope), self.ev(b, scope))
        if t == "object":
            return self.object_value(node, scope)
        if t == "array":
            items, complete = [], True
            for c in node.named_children:
                if c.type == "spread_element":
                    inner = self.ev(c.named_children[0], scope) if c.named_children else None
                    if isinstance(inner, Seq):
                        items.extend(inner.items)
                        complete = complete and inner.complete
                    else:
                        complete = False
                elif c.type != "comment":
                    items.append(self.ev(c, scope))
            return Seq(tuple(items), complete, self.span(node))
        if t in FUNCTION_NODES:
            return Func(node, scope)
        if t == "assignment_expression":
            right = node.child_by_field_name("right")
            return self.ev(right, scope) if right is not None else Unk(self.span(node))
        if t in ("class", "class_declaration"):
            return ClassV(node)
        return Unk(self.span(node))

    @staticmethod
    def map1(base, fn):
        out = None
        for b in alternatives(base):
            out = join(out, fn(b))
        return out

    def string_content(self, node) -> str:
        out = []
        for c in node.named_children:
            if c.type == "string_fragment":
                out.append(self.text(c))
            elif c.type == "escape_sequence":
                out.append(_unescape(self.text(c)))
        return "".join(out)

    def string_value(self, node) -> str | None:
        if node is None:
            return None
        if node.type == "string":
            return self.string_content(node)
        if node.type == "template_string" and all(
                c.type in ("string_fragment",) for c in node.named_children):
            return "".join(self.text(c) for c in node.named_children)
        return None

    def prop_name(self, key, scope) -> str | None:
        if key.type in ("property_identifier", "identifier", "shorthand_property_identifier"):
            return self.text(key)
        if key.type == "string":
            return self.string_content(key)
        if key.type == "number":
            return self.text(key)
        if key.type == "computed_property_name":
            inner = key.named_children[0] if key.named_children else None
            if inner is not None:
                v = self.ev(inner, scope)
                if isinstance(v, Str):
                    return v.literal_text()
        return None

    def object_value(self, node, scope) -> Obj:
        entries, complete = [], True
        for c in node.named_children:
            t = c.type
            if t == "pair":
                key, value = c.child_by_field_name("key"), c.child_by_field_name("value")
                if key is None or value is None:
                    continue
                if key.type == "computed_property_name":
                    inner = key.named_children[0] if key.named_children else None
                    kv = self.ev(inner, scope) if inner is not None else None
                    k = kv if isinstance(kv, Str) else None
                else:
                    name = self.prop_name(key, scope)
                    k = Str.lit(name) if name is not None else None
                entries.append((k, self.ev(value, scope)))
            elif t == "shorthand_property_identifier":
                name = self.text(c)
                entries.append((Str.lit(name), self.lookup_value(name, scope, c)))
            elif t == "spread_element":
                inner = self.ev(c.named_children[0], scope) if c.named_children else None
                if isinstance(inner, Obj):
                    entries.extend(inner.entries)
                    complete = complete and inner.complete
                else:
                    complete = False
            elif t == "method_definition":
                name = c.child_by_field_name("name")
                if name is not None:
                    entries.append((Str.lit(self.text(name)), Func(c, scope)))
        return Obj(tuple(entries), complete, self.span(node))

    def lookup_value(self, name, scope, node):
        v = self.lookup(name, scope, node)
        if isinstance(v, (Func, BoundFunc)):
            f = v if isinstance(v, Func) else v.func
            self.rounds.join_into(("esc", self.fkey(f.node)), True)
        return v

    def elem(self, v, node):
        if isinstance(v, Seq) and v.complete and v.items:
            out = None
            for item in v.items:
                out = join(out, item)
            return out
        return Unk(self.span(node))

    # members ------------------------------------------------------------------------------------------
    def member(self, base, name, node):
        if name is None:
            return Unk(self.span(node))
        if isinstance(base, JsMod):
            return self.module_member(base, name, node)
        if isinstance(base, V2Class):
            if base.service == "dynamodb" and name == "DocumentClient" and not base.doc:
                return V2Class("dynamodb", "DocumentClient", True)
            if base.service == "s3" and name == "ManagedUpload":
                return V2Class("s3", "ManagedUpload", special="ManagedUpload")
            return Unk(self.span(node))
        if isinstance(base, V3Export):
            return Method(base, name) if name == "from" else Unk(self.span(node))
        if isinstance(base, Client):
            if base.style == "sdk-v2" and name in V2_NON_CALLS:
                return Unk(self.span(node))
            if base.style == "sdk-v3" and name in V3_NON_CALLS:
                return Unk(self.span(node))
            return Method(base, name)
        if isinstance(base, ProcessV):
            return EnvV() if name == "env" else Unk(self.span(node))
        if isinstance(base, EnvV):
            return Str.env(name)
        if isinstance(base, SdkV):
            return Method(base, name)
        if isinstance(base, Obj):
            v = base.get(name)
            return v if v is not None else Unk(self.span(node))
        if isinstance(base, Str):
            return Method(base, name)
        if isinstance(base, Instance):
            key = self.fkey(base.cls)
            m = self.class_members.get(key, {}).get(name)
            if isinstance(m, Func):
                return BoundFunc(m, base)
            v = self.rounds.get(("attr", key, name))
            return v if v is not None else Unk(self.span(node))
        if isinstance(base, Seq) and name.isdigit():
            i = int(name)
            return base.items[i] if i < len(base.items) else Unk(self.span(node))
        return Unk(self.span(node))

    def module_value(self, name: str):
        if name in ("aws-sdk", "aws-sdk/global", "aws-sdk/index"):
            return JsMod("aws-sdk")
        if name.startswith("aws-sdk/clients/"):
            cls = name[len("aws-sdk/clients/"):].split("/")[0].removesuffix(".js")
            svc = act.js_v2_service(cls) or _lower_alias(cls)
            return V2Class(svc, cls)
        if name == "aws-sdk/lib/dynamodb/document_client":
            return V2Class("dynamodb", "DocumentClient", True)
        if name.startswith("@aws-sdk/client-"):
            suffix = name[len("@aws-sdk/client-"):]
            svc = act.js_v3_service(suffix)
            return JsMod("v3" if svc else "v3?", svc, suffix)
        if name == "@aws-sdk/lib-dynamodb":
            return JsMod("v3doc", "dynamodb", "dynamodb")
        if name == "@aws-sdk/lib-storage":
            return JsMod("lib-storage", "s3")
        if name == "@aws-sdk/s3-request-presigner":
            return JsMod("presigner")
        if name == "@aws-sdk/s3-presigned-post":
            return JsMod("presigned-post", "s3")
        if name in ("aws-xray-sdk", "aws-xray-sdk-core"):
            return JsMod("xray")
        if "serverless" in name and "sdk" in name:
            return JsMod("serverless-sdk")
        return Unk((0, 0))

    def module_member(self, mod: JsMod, name, node):
        k = mod.kind
        if k == "aws-sdk":
            if name in act.JS_V2_NON_SERVICES or not name[:1].isupper():
                return Unk(self.span(node))
            return V2Class(act.js_v2_service(name), name)
        if k in ("v3", "v3?", "v3doc", "lib-storage", "presigner", "presigned-post"):
            return V3Export(mod, name)
        if k == "xray":
            return Method(mod, name)
        if k == "serverless-sdk":
            return SdkV() if name in ("sdk", "default") else Method(SdkV(), name)
        return Unk(self.span(node))

    # calls ----------------------------------------------------------------------------------------------
    def arg_nodes(self, node):
        args = node.child_by_field_name("arguments")
        if args is None or args.type != "arguments":
            return []
        return [c for c in args.named_children if c.type != "comment"]

    def arg_values(self, node, scope):
        vals, complete = [], True
        for a in self.arg_nodes(node):
            if a.type == "spread_element":
                complete = False
                continue
            vals.append(self.ev(a, scope))
        return vals, complete

    def params_arg(self, node, scope, index=0) -> Params:
        args = self.arg_nodes(node)
        if index >= len(args):
            return Params({})
        a = args[index]
        v = self.ev(a, scope)
        if isinstance(v, (Func, BoundFunc)):  # callback only: no parameters
            return Params({})
        return Params.from_obj(v, self.span(a))

    def call(self, node, scope, emit):
        fnode = node.child_by_field_name("function")
        if fnode is None:
            return Unk(self.span(node))
        if fnode.type == "import":  # import('@aws-sdk/client-s3')
            return self.load_module(node, scope, emit)
        if fnode.type == "identifier":
            fval = self.lookup(self.text(fnode), scope, fnode)
        else:
            fval = self.ev(fnode, scope)
        out = None
        for f in alternatives(fval):
            out = join(out, self.apply(f, node, scope, emit))
        if out is None:
            out = Unk(self.span(node))
        if emit:  # the value is the same as a pure evaluation's: spare ev() the work
            self.memo[node.id] = out
        return out

    def apply(self, f, node, scope, emit):
        span = self.span(node)
        pos = self.call_pos(node)
        if isinstance(f, Builtin):
            args = self.arg_nodes(node)
            if f.name == "require":
                return self.load_module(node, scope, emit)
            if f.name == "String":
                v = self.ev(args[0], scope) if args else None
                return v if isinstance(v, Str) else Unk(span)
            return Unk(span)
        if isinstance(f, Method):
            recv, name = f.recv, f.name
            if isinstance(recv, Multi):
                out = None
                for r in recv.options:
                    out = join(out, self.apply(Method(r, name), node, scope, emit))
                return out
            if isinstance(recv, Client):
                return self.client_method(recv, name, node, scope, emit)
            if isinstance(recv, V3Export) and name == "from":
                if recv.mod.kind == "v3doc" and recv.name in ("DynamoDBDocumentClient",
                                                               "DynamoDBDocument"):
                    return Client("dynamodb", "sdk-v3", doc=True,
                                  agg=recv.name == "DynamoDBDocument")
                return Unk(span)
            if isinstance(recv, JsMod) and recv.kind == "xray":
                vals, _ = self.arg_values(node, scope)
                return vals[0] if vals else Unk(span)
            if isinstance(recv, SdkV):
                if name == "invoke":
                    if emit:
                        args = self.arg_nodes(node)
                        target = self.ev(args[0], scope) if args else NONE
                        ref = self.col.name_ref(target, self.span(args[0]) if args else span)
                        self.col.invocation(ref, "sdk.invoke", pos)
                    return Unk(span)
                return Unk(span)
            if isinstance(recv, Str):
                if name in ("toString", "trim", "valueOf") and not self.arg_nodes(node):
                    return recv
                if name == "concat":
                    vals, _ = self.arg_values(node, scope)
                    return concat([recv] + [as_str(v, span) for v in vals])
                return Unk(span)
            if name is None and any(isinstance(r, AWS_VALUES) for r in alternatives(recv)):
                if emit:
                    self.col.dynamic(pos, "AWS method name is computed")
                return Unk(span)
            if isinstance(recv, Unk) and name == "send":
                return self.send(None, node, scope, emit)
            return Unk(span)
        if isinstance(f, V3Export):
            return self.v3_function(f, node, scope, emit)
        if isinstance(f, Func):
            return self.call_func(f, None, node, scope, emit)
        if isinstance(f, BoundFunc):
            return self.call_func(f.func, f.self_val, node, scope, emit)
        if isinstance(f, Unk) and emit:
            fnode = node.child_by_field_name("function")
            if fnode is not None and fnode.type == "member_expression":
                prop = fnode.child_by_field_name("property")
                if prop is not None and self.text(prop) == "send":
                    return self.send(None, node, scope, emit)
        return Unk(span)

    def load_module(self, node, scope, emit):
        """require('x') / import('x'); an SDK package whose name is computed is dynamic."""
        args = self.arg_nodes(node)
        if not args:
            return Unk(self.span(node))
        name = self.string_value(args[0])
        if name is not None:
            return self.module_value(name)
        v = self.ev(args[0], scope)
        if isinstance(v, Str) and v.literal_text() is None and v.parts[0][0] == "lit" and (
                v.parts[0][1].startswith(("aws-sdk", "@aws-sdk/"))):
            if emit:
                self.col.dynamic(node.start_byte, "AWS SDK package chosen at run time")
        elif isinstance(v, Str) and v.literal_text() is not None:
            return self.module_value(v.literal_text())
        return Unk(self.span(node))

    def call_func(self, func: Func, self_val, node, scope, emit):
        if emit:
            vals, complete = self.arg_values(node, scope)
            if self_val is not None:
                vals = [self_val] + vals
            key = self.fkey(func.node)
            if complete:
                self.rounds.add_to_set(("bind", key), tuple(vals))
            else:
                self.rounds.join_into(("esc", key), True)
        ret = self.rounds.get(("ret", self.fkey(func.node)))
        return ret if ret is not None else Unk(self.span(node))

    def new(self, node, scope, emit):
        span = self.span(node)
        cnode = node.child_by_field_name("constructor")
        if cnode is None:
            return Unk(span)
        out = None
        for c in alternatives(self.ev(cnode, scope)):
            out = join(out, self.construct(c, node, scope, emit))
        if out is None:
            out = Unk(span)
        if emit:
            self.memo[node.id] = out
        return out

    def options(self, node, scope):
        args = self.arg_nodes(node)
        v = self.ev(args[0], scope) if args else NONE
        return v if isinstance(v, Obj) else None

    def construct(self, c, node, scope, emit):
        span = self.span(node)
        pos = node.start_byte
        if isinstance(c, V2Class):
            if c.service is None:
                if emit:
                    self.col.dynamic(pos, "AWS SDK v2 service chosen at run time"
                                     if c.special == "computed" else
                                     f"AWS SDK v2 class '{c.name}' is not a known service")
                return Unk(span)
            opts = self.options(node, scope)
            if c.special == "ManagedUpload":
                if emit:
                    p = opts.get("params") if opts else None
                    params = Params.from_obj(p, span) if p is not None else Params({}, False, span)
                    self.col.operation("s3", "PutObject", params, pos, "sdk-v2")
                return Unk(span)
            endpoint = opts.get("endpoint") if opts else None
            defaults = opts.get("params") if opts else None
            return Client(c.service, "sdk-v2", doc=c.doc,
                          endpoint=endpoint if isinstance(endpoint, Str) else None,
                          defaults=defaults if isinstance(defaults, Obj) else None)
        if isinstance(c, V3Export):
            mod, name = c.mod, c.name
            if mod.kind == "v3?":
                if emit:
                    self.col.dynamic(pos, f"unknown AWS SDK v3 package @aws-sdk/client-{mod.suffix}")
                return Unk(span)
            if mod.kind == "lib-storage" and name == "Upload":
                if emit:
                    opts = self.options(node, scope)
                    p = opts.get("params") if opts else None
                    params = Params.from_obj(p, span) if p is not None else Params({}, False, span)
                    self.col.operation("s3", "PutObject", params, pos, "sdk-v3")
                return Unk(span)
            if mod.kind not in ("v3", "v3doc"):
                return Unk(span)
            if name.endswith("Command") and len(name) > 7:
                args = self.arg_nodes(node)
                pv = self.ev(args[0], scope) if args else NONE
                cmd = Command(mod.service, name[:-7], mod.kind == "v3doc", pv, pos,
                              self.span(args[0]) if args else span)
                if emit:
                    self.commands.setdefault(pos, cmd)
                return cmd
            opts = self.options(node, scope)
            endpoint = opts.get("endpoint") if opts else None
            endpoint = endpoint if isinstance(endpoint, Str) else None
            if name.endswith("Client"):
                return Client(mod.service, "sdk-v3", doc=mod.kind == "v3doc", endpoint=endpoint)
            if name.lower() == mod.suffix.replace("-", "") or (
                    mod.kind == "v3doc" and name == "DynamoDBDocument"):
                return Client(mod.service, "sdk-v3", doc=mod.kind == "v3doc", agg=True,
                              endpoint=endpoint)
            return Unk(span)
        if isinstance(c, ClassV):
            inst = Instance(c.node)
            ctor = self.class_members.get(self.fkey(c.node), {}).get("constructor")
            if isinstance(ctor, Func):
                self.call_func(ctor, inst, node, scope, emit)
            return inst
        if isinstance(c, Method) and c.name is None and isinstance(c.recv, AWS_VALUES):
            if emit:
                self.col.dynamic(pos, "AWS SDK class chosen at run time")
            return Unk(span)
        if isinstance(c, Func):  # new of a plain function: treat as a call
            self.call_func(c, None, node, scope, emit)
            return Unk(span)
        return Unk(span)

    def client_method(self, c: Client, name, node, scope, emit):
        span = self.span(node)
        pos = self.call_pos(node)
        if name is None:
            if emit:
                self.col.dynamic(pos, f"{c.service} client method name is computed")
            return Unk(span)
        if c.style == "sdk-v3" and name == "send":
            return self.send(c, node, scope, emit)
        if c.style == "sdk-v3" and not c.agg:
            if emit:
                self.col.dynamic(pos, f"'{name}' on a v3 {c.service} client (only send is known)")
            return Unk(span)
        info = act.service_info(c.service)
        if c.doc:
            op = act.DOCUMENT_CLIENT_OPERATIONS.get(name)
            if op is not None:
                if emit:
                    self.col.operation("dynamodb", op,
                                       self.params_arg(node, scope).with_defaults(c.defaults),
                                       pos, c.style)
                return Unk(span)
            if name in ("createSet", "wrapNumbers", "options", "service"):
                return Unk(span)
            if emit:
                self.col.dynamic(pos, f"'{name}' is not a DocumentClient method")
            return Unk(span)
        if c.style == "sdk-v2":
            args = self.arg_nodes(node)
            if name in ("getSignedUrl", "getSignedUrlPromise", "makeRequest",
                        "makeUnauthenticatedRequest", "waitFor"):
                first = self.ev(args[0], scope) if args else NONE
                text = first.literal_text() if isinstance(first, Str) else None
                if name == "waitFor":
                    op = act.waiter_operation(c.service, text) if text else None
                else:
                    op = info.operation_for_camel(text) if (info and text) else None
                if emit:
                    if op is None:
                        self.col.dynamic(pos, f"{c.service}.{name} with an operation that is not static")
                    else:
                        self.col.operation(c.service, op,
                                           self.params_arg(node, scope, 1).with_defaults(c.defaults),
                                           pos, c.style, c.endpoint)
                return Unk(span)
            if c.service == "s3" and name in ("upload", "createPresignedPost"):
                if emit:
                    self.col.operation("s3", "PutObject",
                                       self.params_arg(node, scope).with_defaults(c.defaults),
                                       pos, c.style)
                return Unk(span)
        op = info.operation_for_camel(name) if info else None
        if op is None:
            if emit:
                self.col.operation(c.service, None, Params({}), pos, c.style, label=name)
            return Unk(span)
        if emit:
            self.col.operation(c.service, op, self.params_arg(node, scope).with_defaults(c.defaults),
                               pos, c.style, c.endpoint)
        return Unk(span)

    def send(self, c: Client | None, node, scope, emit):
        span = self.span(node)
        pos = self.call_pos(node)
        args = self.arg_nodes(node)
        cmdv = self.ev(args[0], scope) if args else NONE
        if not self.send_commands(cmdv, pos, c, emit) and c is not None and emit:
            self.col.dynamic(pos, f"{c.service} client sends a command that cannot be resolved")
        return Unk(span)

    def send_commands(self, cmdv, pos, c: Client | None, emit) -> bool:
        """Every command the value may be, sent at `pos`; False when it is none we know."""
        found = False
        for cmd in alternatives(cmdv):
            if isinstance(cmd, Command):
                found = True
                if emit:
                    self.consumed.add(cmd.pos)
                    self.emit_command(cmd, pos, c)
        return found

    def emit_command(self, cmd: Command, pos, client: Client | None) -> None:
        params = Params.from_obj(cmd.params, cmd.span)
        endpoint = client.endpoint if client is not None else None
        if cmd.service is None:
            self.col.dynamic(pos, f"{cmd.name}Command of an unknown AWS SDK v3 package")
            return
        if cmd.doc:
            op = act.LIB_DYNAMODB_COMMANDS.get(cmd.name)
            if op is None:  # low-level commands are re-exported too
                op = cmd.name
        else:
            op = cmd.name
        self.col.operation(cmd.service, op, params, pos, "sdk-v3", endpoint,
                           label=f"{cmd.name}Command")

    def v3_function(self, f: V3Export, node, scope, emit):
        span = self.span(node)
        pos = node.start_byte
        mod, name = f.mod, f.name
        args = self.arg_nodes(node)
        if mod.kind in ("v3", "v3doc") and name.startswith("paginate") and len(name) > 8:
            opname = name[8:]
            op = act.LIB_DYNAMODB_COMMANDS.get(opname, opname) if mod.kind == "v3doc" else opname
            if emit:
                self.col.operation(mod.service, op, self.params_arg(node, scope, 1), pos, "sdk-v3")
            return Unk(span)
        if mod.kind == "v3" and (name.startswith("waitUntil") or name.startswith("waitFor")):
            wname = name[9:] if name.startswith("waitUntil") else name[7:]
            op = act.waiter_operation(mod.service, wname)
            if emit:
                if op is None:
                    self.col.dynamic(pos, f"unknown waiter {name} of {mod.service}")
                else:
                    self.col.operation(mod.service, op, self.params_arg(node, scope, 1), pos, "sdk-v3")
            return Unk(span)
        if mod.kind == "presigner" and name == "getSignedUrl":
            cmdv = self.ev(args[1], scope) if len(args) > 1 else NONE
            if not self.send_commands(cmdv, pos, None, emit) and emit:
                self.col.dynamic(pos, "getSignedUrl for a command that cannot be resolved")
            return Unk(span)
        if mod.kind == "presigned-post" and name == "createPresignedPost":
            if emit:
                self.col.operation("s3", "PutObject", self.params_arg(node, scope, 1), pos, "sdk-v3")
            return Unk(span)
        return Unk(span)


def _lower_alias(cls: str) -> str | None:
    for k, v in act.JS_V2_CLASS_ALIASES.items():
        if k.lower() == cls.lower():
            return v
    return None


# --------------------------------------------------------------------------------------------

_LANGS: dict = {}


def _parser(kind: str):
    if kind not in _LANGS:
        import tree_sitter

        if kind == "js":
            import tree_sitter_javascript as tsj

            lang = tree_sitter.Language(tsj.language())
        else:
            import tree_sitter_typescript as tst

            lang = tree_sitter.Language(tst.language_tsx() if kind == "tsx"
                                        else tst.language_typescript())
        _LANGS[kind] = tree_sitter.Parser(lang)
    return _LANGS[kind]


def _first_error(node):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return n
        if n.has_error:
            stack.extend(reversed(n.children))
    return None


def scan_javascript(source: bytes, kind: str = "js") -> CodeFacts:
    """Read a JavaScript (kind "js") or TypeScript ("ts", "tsx") handler. Never raises."""
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source[:exc.start].count(b"\n") + 1
        return CodeFacts(error=f"line {line}: not UTF-8 text")
    tree = _parser(kind).parse(source)
    root = tree.root_node
    error = None
    if root.has_error:
        # tree-sitter recovers around the error (and, rarely, rejects code node accepts): what
        # it could read is still reported, with the error; the facts are then incomplete.
        bad = _first_error(root)
        line = (bad.start_point[0] + 1) if bad is not None else 1
        what = f"missing {bad.type}" if bad is not None and bad.is_missing else "syntax error"
        error = f"line {line}: {what}"
    if b"sdk" not in source:  # aws-sdk, @aws-sdk/*, aws-xray-sdk, the post's sdk.invoke
        return CodeFacts(error=error)
    try:
        facts = JsReader(source, root).run()
    except RecursionError:  # valid code, but too deep to follow: the policy is unknown
        from .python import too_deep

        facts = too_deep()
    facts.error = error
    return facts
