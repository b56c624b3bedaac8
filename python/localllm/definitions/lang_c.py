"""C and C++: functions and prototypes, methods defined as `T::m`, structs, unions, enums and
classes (their fields, methods and enumerators as members; the methods on their own too),
typedefs and `using` aliases, macros, global variables; inside namespaces, `extern "C"` and #if
blocks too. The headers of the same folder that the buffer includes with quotes."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from . import brace
from .model import Definition, Extractor, Found, Imports, add, add_member
from .text import named, node_text, simple_name

__all__ = ["EXTRACTOR"]

FUNCTIONS = brace.Functions(
    kinds=frozenset({"function_definition", "lambda_expression"}),
    bodies=frozenset({"compound_statement"}),
)
# Blocks whose declarations count as top level.
_DESCEND = frozenset(
    {
        "preproc_ifdef",
        "preproc_if",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "linkage_specification",
        "declaration_list",
        "namespace_definition",
    }
)
_RECORDS = frozenset({"struct_specifier", "union_specifier", "class_specifier"})
_DECLARATORS = frozenset(
    {
        "pointer_declarator",
        "reference_declarator",
        "array_declarator",
        "init_declarator",
        "parenthesized_declarator",
        "attributed_declarator",
        "function_declarator",
    }
)


def _declarator(node: Node | None) -> tuple[Node | None, bool]:
    """The name node of a declarator, and whether it declares a function."""
    function = False
    while node is not None and node.type in _DECLARATORS:
        if node.type == "function_declarator":
            function = True
        inner = node.child_by_field_name("declarator")
        if inner is None and node.named_child_count:
            inner = node.named_children[0]
        node = inner
    return node, function


def _node(node: Node, data: bytes, path: str, found: Found, lang: str, depth: int = 0) -> None:
    outer = node
    if node.type == "template_declaration":
        inner = next((c for c in node.named_children if c.type != "template_parameter_list"), None)
        if inner is None:
            return
        node = inner
    kind = node.type
    if kind in _DESCEND:
        if depth < 4:
            body = node.child_by_field_name("body")
            for child in (body or node).named_children:
                _node(child, data, path, found, lang, depth + 1)
    elif kind in ("preproc_def", "preproc_function_def"):
        _macro(outer, node, data, path, found)
    elif kind == "function_definition":
        _definition(outer, node, data, path, found, lang)
    elif kind == "declaration":
        _declaration(outer, node, data, path, found, lang)
    elif kind == "type_definition":
        text = brace.compact(outer, data, lang, FUNCTIONS)
        type_node = node.child_by_field_name("type")
        for declarator in node.children_by_field_name("declarator"):
            name_node, _function = _declarator(declarator)
            if name_node is None or name_node.type not in ("type_identifier", "identifier"):
                continue
            name = node_text(data, name_node)
            definition = Definition(name, "type", path, outer.start_point.row, text)
            add(found.defs, definition)
            for member in _members(type_node, data):
                add_member(found, member, definition)
    elif kind == "alias_declaration":
        name = named(node, data)
        if name:
            text = brace.compact(outer, data, lang, FUNCTIONS)
            add(found.defs, Definition(name, "type", path, outer.start_point.row, text))
    elif kind in _RECORDS or kind == "enum_specifier":
        _record(outer, node, data, path, found, lang)


def _macro(outer: Node, node: Node, data: bytes, path: str, found: Found) -> None:
    """`#define N 8` is a constant (one without a value is none), `#define F(x) ...` a function."""
    name = named(node, data)
    function = node.type == "preproc_function_def"
    if name and (function or node.child_by_field_name("value") is not None):
        kind = "func" if function else "const"
        text = node_text(data, node).rstrip()
        add(found.defs, Definition(name, kind, path, outer.start_point.row, text))


def _definition(outer: Node, node: Node, data: bytes, path: str, found: Found, lang: str) -> None:
    """A function definition: a function, or a method `T::m` of T."""
    name_node, _function = _declarator(node.child_by_field_name("declarator"))
    if name_node is None:
        return
    text = brace.compact(outer, data, lang, FUNCTIONS)
    row = outer.start_point.row
    if name_node.type == "qualified_identifier":
        scope = name_node.child_by_field_name("scope")
        method = name_node.child_by_field_name("name")
        if scope is None or method is None:
            return
        owner = simple_name(scope, data)
        add(found.defs, Definition(node_text(data, method), "method", path, row, text, owner))
    elif name_node.type in ("identifier", "field_identifier"):
        add(found.defs, Definition(node_text(data, name_node), "func", path, row, text))


def _declaration(outer: Node, node: Node, data: bytes, path: str, found: Found, lang: str) -> None:
    """Prototypes and global variables; the struct, union or enum a declaration defines."""
    text = brace.compact(outer, data, lang, FUNCTIONS)
    words = {node_text(data, c) for c in node.children if c.type == "type_qualifier"}
    for declarator in node.children_by_field_name("declarator"):
        name_node, function = _declarator(declarator)
        if name_node is None or name_node.type != "identifier":
            continue
        if function:
            kind = "func"
        else:
            kind = "const" if "const" in words or "constexpr" in words else "var"
        add(
            found.defs,
            Definition(node_text(data, name_node), kind, path, outer.start_point.row, text),
        )
    type_node = node.child_by_field_name("type")
    if type_node is not None and type_node.type in (*_RECORDS, "enum_specifier"):
        _record(outer, type_node, data, path, found, lang)


def _members(record: Node | None, data: bytes) -> Iterator[str]:
    """The field, method and enumerator names of a struct, class, union or enum."""
    body = None if record is None else record.child_by_field_name("body")
    for member in body.named_children if body is not None else ():
        if member.type == "enumerator":
            name = named(member, data)
            if name:
                yield name
        elif member.type in ("field_declaration", "function_definition", "declaration"):
            for declarator in member.children_by_field_name("declarator"):
                name_node, _function = _declarator(declarator)
                if name_node is not None and name_node.type in ("field_identifier", "identifier"):
                    yield node_text(data, name_node)


def _record(outer: Node, record: Node, data: bytes, path: str, found: Found, lang: str) -> None:
    """A struct, union, class or enum with a name and a body."""
    name = named(record, data)
    body = record.child_by_field_name("body")
    if not name or body is None:
        return
    kind = "class" if record.type == "class_specifier" else "type"
    if lang == "cpp" and record.type == "struct_specifier":
        has_methods = any(m.type == "function_definition" for m in body.named_children)
        kind = "class" if has_methods else "type"
    text = brace.compact(outer, data, lang, FUNCTIONS)
    definition = Definition(name, kind, path, outer.start_point.row, text)
    add(found.defs, definition)
    for member_name in _members(record, data):
        add_member(found, member_name, definition)
    for member in body.named_children:
        if member.type != "function_definition":
            continue
        name_node, _function = _declarator(member.child_by_field_name("declarator"))
        if name_node is not None and name_node.type in ("field_identifier", "identifier"):
            text = brace.in_container(outer, body, member, data, lang, FUNCTIONS)
            method = node_text(data, name_node)
            add(found.defs, Definition(method, "method", path, member.start_point.row, text, name))


def _imports(root: Node, data: bytes) -> Imports:
    """The files of the same folder that a C/C++ file includes with quotes."""
    names: set[str] = set()
    stack = list(root.named_children)
    while stack:
        node = stack.pop()
        if node.type == "preproc_include":
            target = node.child_by_field_name("path")
            if target is not None and target.type == "string_literal":
                name = node_text(data, target).strip('"').removeprefix("./")
                if name and "/" not in name:
                    names.add(name)
        elif node.type in ("preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"):
            stack.extend(node.named_children)
    return Imports(includes=frozenset(names))


def _siblings(imports: Imports) -> frozenset[str]:
    """Only the headers the buffer includes count."""
    return imports.includes


def _declared(name: Node) -> Node:
    """A declared name as `scope.in_scope` wants it: a child of what declares it (for
    `int *f(void)`, of the function definition or declaration, not of its declarators)."""
    node = name
    parent = name.parent
    while parent is not None and parent.type in _DECLARATORS:
        node, parent = parent, parent.parent
    return node


def _owner(node: Node, data: bytes) -> str:
    """The struct, union or class a node is in; the T of a `T::m` definition."""
    if node.type in _RECORDS:
        return named(node, data)
    if node.type == "function_definition":
        name, _function = _declarator(node.child_by_field_name("declarator"))
        if name is not None and name.type == "qualified_identifier":
            return simple_name(name.child_by_field_name("scope"), data)
    return ""


EXTRACTOR = Extractor(
    node=_node,
    parameters=FUNCTIONS.parameters,
    owner=_owner,
    imports=_imports,
    declared=_declared,
    siblings=_siblings,
)
