"""Line ranges of a handler file's exported functions.

Several functions often share one file (`handler.createUser`, `handler.sendEmail`).
An SDK call inside one export's body belongs to that function only; a call
anywhere else (module level, shared helpers) may serve any of them. Never runs
the code.
"""
from __future__ import annotations

import ast
from pathlib import Path

Ranges = dict  # export name -> (first line, last line), 1-based, inclusive


def export_ranges(path: Path) -> Ranges:
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if path.suffix == ".py":
        return _python(data)
    if path.suffix in (".js", ".mjs", ".cjs", ".ts", ".mts"):
        return _javascript(data, typescript=path.suffix in (".ts", ".mts"))
    return {}


def _python(data: bytes) -> Ranges:
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return {}
    out: Ranges = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = (node.lineno, node.end_lineno or node.lineno)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = (node.lineno, node.end_lineno or node.lineno)
    return out


_FUNCTION_TYPES = {"function", "function_expression", "arrow_function", "generator_function",
                   "function_declaration", "generator_function_declaration"}


def _javascript(data: bytes, typescript: bool) -> Ranges:
    from tree_sitter import Language, Parser

    if typescript:
        import tree_sitter_typescript as grammar

        lang = Language(grammar.language_typescript())
    else:
        import tree_sitter_javascript as grammar

        lang = Language(grammar.language())
    tree = Parser(lang).parse(data)
    root = tree.root_node
    defined: Ranges = {}    # top-level function definitions by name
    exported: dict = {}     # export name -> node or local name
    for stmt in root.children:
        node = stmt.child_by_field_name("declaration") if stmt.type == "export_statement" else stmt
        is_export = stmt.type == "export_statement"
        if node is None:
            for clause in stmt.children:  # `export { two, three as four }`
                if clause.type == "export_clause":
                    for spec in clause.children:
                        if spec.type == "export_specifier":
                            local = _text(spec.child_by_field_name("name"))
                            alias = spec.child_by_field_name("alias")
                            exported[_text(alias) if alias is not None else local] = local
            continue
        if node.type in ("function_declaration", "generator_function_declaration"):
            name = _text(node.child_by_field_name("name"))
            defined[name] = _span(node)
            if is_export:
                exported[name] = name
        elif node.type in ("lexical_declaration", "variable_declaration"):
            for decl in node.children:
                if decl.type != "variable_declarator":
                    continue
                name = _text(decl.child_by_field_name("name"))
                value = decl.child_by_field_name("value")
                if value is not None and value.type in _FUNCTION_TYPES:
                    defined[name] = _span(decl)
                    if is_export:
                        exported[name] = name
        elif node.type == "expression_statement":
            expr = node.children[0] if node.children else None
            if expr is None or expr.type != "assignment_expression":
                continue
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            target = _text(left)
            if target.startswith(("module.exports.", "exports.")):
                name = target.rsplit(".", 1)[-1]
                exported[name] = _span(right) if right.type in _FUNCTION_TYPES else _text(right)
            elif target == "module.exports" and right is not None and right.type == "object":
                for prop in right.children:
                    if prop.type == "shorthand_property_identifier":
                        exported[_text(prop)] = _text(prop)
                    elif prop.type == "pair":
                        key, value = prop.child_by_field_name("key"), prop.child_by_field_name("value")
                        exported[_text(key).strip("'\"")] = (
                            _span(value) if value.type in _FUNCTION_TYPES else _text(value))
    out: Ranges = {}
    for name, where in exported.items():
        if isinstance(where, tuple):
            out[name] = where
        elif where in defined:
            out[name] = defined[where]
    return out


def _text(node) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _span(node) -> tuple[int, int]:
    return (node.start_point[0] + 1, node.end_point[0] + 1)
