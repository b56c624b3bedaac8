"""Lua: functions as `function m.f(a) ... end`, the functions and values of module tables,
top-level variables; the modules of the same folder that the buffer binds with
`local m = require("pkg.m")`."""

from __future__ import annotations

from tree_sitter import Node

from . import brace
from .model import Definition, Extractor, Found, Imports, add, add_member
from .text import cap, dedented, node_text

__all__ = ["EXTRACTOR"]

# Functions, whose parameters are local to them (none has a body elided: a function's text is
# its header and `... end`, see _function_text).
FUNCTIONS = brace.Functions(
    kinds=frozenset({"function_declaration", "function_definition"}), bodies=frozenset()
)


def _function_text(outer: Node, function: Node, data: bytes) -> str:
    """`local function f(a, b) ... end`: the header up to the parameters, the body elided."""
    params = function.child_by_field_name("parameters")
    if params is None:
        return cap(dedented(data, outer.start_byte, outer.end_byte), "lua")
    return dedented(data, outer.start_byte, params.end_byte) + " ... end"


def _target(node: Node | None, data: bytes) -> tuple[str, str]:
    """(name, owner) of a function or variable name: `M.f` -> ("f", "M"), `M:m` -> ("m", "M")."""
    if node is None:
        return "", ""
    if node.type == "identifier":
        return node_text(data, node), ""
    field_name = {"dot_index_expression": "field", "method_index_expression": "method"}
    inner = field_name.get(node.type)
    if inner is None:
        return "", ""
    name = node.child_by_field_name(inner)
    table = node.child_by_field_name("table")
    if name is None or table is None:
        return "", ""
    return node_text(data, name), node_text(data, table)


def _node(node: Node, data: bytes, path: str, found: Found, _lang: str) -> None:
    inner = node
    if node.type == "variable_declaration":  # `local function f` parses as one, too
        declared = next((c for c in node.named_children if c.type != "comment"), None)
        if declared is None:
            return
        inner = declared
    if inner.type == "function_declaration":
        name, owner = _target(inner.child_by_field_name("name"), data)
        if not name:
            return
        text = _function_text(node, inner, data)
        kind = "method" if owner else "func"
        add(found.defs, Definition(name, kind, path, node.start_point.row, text, owner))
    elif inner.type == "assignment_statement":
        _assignment(node, inner, data, path, found)


def _assignment(outer: Node, node: Node, data: bytes, path: str, found: Found) -> None:
    """`x = 1`, `M.MAX = 8`, `M.f = function(a) ... end` (not `local m = require("m")`)."""
    targets = next((c for c in node.named_children if c.type == "variable_list"), None)
    values = next((c for c in node.named_children if c.type == "expression_list"), None)
    if targets is None:
        return
    value_nodes = values.named_children if values is not None else []
    for i, target in enumerate(targets.children_by_field_name("name")):
        name, owner = _target(target, data)
        if not name:
            continue
        value = value_nodes[i] if i < len(value_nodes) else None
        if value is not None and _require(value, data) is not None:
            continue  # `local m = require("m")` is an import
        if value is not None and value.type == "function_definition":
            text = _function_text(outer, value, data)
            kind = "method" if owner else "func"
        else:
            text = cap(dedented(data, outer.start_byte, outer.end_byte), "lua")
            constant = name.upper() == name and any(ch.isalpha() for ch in name)
            kind = "const" if constant else "var"
        definition = Definition(name, kind, path, outer.start_point.row, text, owner)
        add(found.defs, definition)
        if owner and kind != "method":
            add_member(found, name, definition)  # `M.MAX`


def _require(node: Node, data: bytes) -> str | None:
    """The module stem of `require("a.b")` (with or without parentheses): "b"."""
    if node.type != "function_call":
        return None
    function = node.child_by_field_name("name")
    arguments = node.child_by_field_name("arguments")
    if function is None or arguments is None or node_text(data, function) != "require":
        return None
    strings = [c for c in (*arguments.named_children, arguments) if c.type == "string"]
    if not strings:
        return None
    content = strings[0].child_by_field_name("content")
    module = node_text(data, content) if content is not None else ""
    stem = module.replace("/", ".").rsplit(".", 1)[-1]
    return stem or None


def _imports(root: Node, data: bytes) -> Imports:
    """`local m = require("pkg.m")` -> module alias m of the sibling m.lua."""
    found = Imports()
    for node in root.named_children:
        if node.type != "variable_declaration":
            continue
        for statement in node.named_children:
            if statement.type != "assignment_statement":
                continue
            targets = next((c for c in statement.named_children if c.type == "variable_list"), None)
            values = next(
                (c for c in statement.named_children if c.type == "expression_list"), None
            )
            if targets is None or values is None:
                continue
            for target, value in zip(
                targets.children_by_field_name("name"), values.named_children, strict=False
            ):
                stem = _require(value, data)
                if stem is not None and target.type == "identifier":
                    found.modules[node_text(data, target)] = stem
    return found


def _no_owner(_node: Node, _data: bytes) -> str:
    return ""


EXTRACTOR = Extractor(
    node=_node,
    parameters=FUNCTIONS.parameters,
    owner=_no_owner,
    imports=_imports,
    module_members=True,
)
