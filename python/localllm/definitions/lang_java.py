"""Java: classes, interfaces, enums, records and annotation types (nested ones too), their
methods and static final fields on their own, fields and enum constants as members; the
package clause."""

from __future__ import annotations

from tree_sitter import Node

from . import brace
from .model import Definition, Extractor, Found, add, add_member
from .text import first_child, named, node_text

__all__ = ["EXTRACTOR"]

FUNCTIONS = brace.Functions(
    kinds=frozenset(
        {
            "method_declaration",
            "constructor_declaration",
            "compact_constructor_declaration",
            "lambda_expression",
        }
    ),
    bodies=frozenset({"block", "constructor_body"}),
)
_TYPES = frozenset(
    {
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "annotation_type_declaration",
    }
)


def _node(node: Node, data: bytes, path: str, found: Found, _lang: str) -> None:
    if node.type == "package_declaration":
        found.package = _package_name(node, data) or found.package
    else:
        _type(node, data, path, found, 0)


def _package_name(declaration: Node, data: bytes) -> str:
    name = ""
    for child in declaration.named_children:
        if child.type in ("scoped_identifier", "identifier"):
            name = node_text(data, child)
    return name


def _type(node: Node, data: bytes, path: str, found: Found, depth: int) -> None:
    if node.type not in _TYPES:
        return
    name = named(node, data)
    body = node.child_by_field_name("body")
    if not name:
        return
    interface = node.type in ("interface_declaration", "annotation_type_declaration")
    text = brace.compact(node, data, "java", FUNCTIONS)
    definition = Definition(
        name, "type" if interface else "class", path, node.start_point.row, text
    )
    add(found.defs, definition)
    if body is None:
        return
    members = list(body.named_children)
    for member in list(members):
        if member.type == "enum_body_declarations":
            members.extend(member.named_children)
    for member in members:
        _member(node, body, member, definition, data, path, found, depth)


def _member(
    node: Node,
    body: Node,
    member: Node,
    definition: Definition,
    data: bytes,
    path: str,
    found: Found,
    depth: int,
) -> None:
    """One member of type `node` (its `definition`): a method, field, constant or nested type."""
    kind = member.type
    row = member.start_point.row
    name = definition.name
    if kind == "method_declaration":  # a constructor shows in its class's text
        method = named(member, data)
        if method:
            text = brace.in_container(node, body, member, data, "java", FUNCTIONS)
            add(found.defs, Definition(method, "method", path, row, text, name))
    elif kind in ("field_declaration", "constant_declaration"):
        modifiers = next((c for c in member.named_children if c.type == "modifiers"), None)
        words = node_text(data, modifiers).split() if modifiers is not None else []
        constant = kind == "constant_declaration" or ("static" in words and "final" in words)
        for declarator in member.children_by_field_name("declarator"):
            field_name = named(declarator, data)
            if not field_name:
                continue
            add_member(found, field_name, definition)
            if constant:
                text = brace.in_container(node, body, member, data, "java", FUNCTIONS)
                add(found.defs, Definition(field_name, "const", path, row, text, name))
    elif kind == "enum_constant":
        constant_name = named(member, data)
        if constant_name:
            add_member(found, constant_name, definition)
    elif kind in _TYPES and depth < 2:
        _type(member, data, path, found, depth + 1)


def _package(root: Node, data: bytes) -> str:
    declaration = first_child(root, "package_declaration")
    return "" if declaration is None else _package_name(declaration, data)


def _owner(node: Node, data: bytes) -> str:
    return named(node, data) if node.type in _TYPES else ""


EXTRACTOR = Extractor(node=_node, parameters=FUNCTIONS.parameters, owner=_owner, package=_package)
