"""Rust: structs, enums, unions, traits and type aliases (their fields, variants and trait
methods as members), functions, const and static items, the methods of impl blocks."""

from __future__ import annotations

from tree_sitter import Node

from . import brace
from .model import Definition, Extractor, Found, add, add_member
from .text import named, simple_name

__all__ = ["EXTRACTOR"]

FUNCTIONS = brace.Functions(
    kinds=frozenset({"function_item", "closure_expression"}), bodies=frozenset({"block"})
)
_TYPES = frozenset({"struct_item", "enum_item", "union_item", "type_item", "trait_item"})


def _node(node: Node, data: bytes, path: str, found: Found, lang: str) -> None:
    kind = node.type
    row = node.start_point.row
    if kind in ("function_item", "function_signature_item"):
        name = named(node, data)
        if name:
            text = brace.compact(node, data, lang, FUNCTIONS)
            add(found.defs, Definition(name, "func", path, row, text))
    elif kind in _TYPES:
        name = named(node, data)
        if not name:
            return
        definition = Definition(name, "type", path, row, brace.compact(node, data, lang, FUNCTIONS))
        add(found.defs, definition)
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            member_name = named(member, data)
            if member_name:
                add_member(found, member_name, definition)
    elif kind in ("const_item", "static_item"):
        name = named(node, data)
        if name:
            kind_ = "const" if kind == "const_item" else "var"
            text = brace.compact(node, data, lang, FUNCTIONS)
            add(found.defs, Definition(name, kind_, path, row, text))
    elif kind == "impl_item":
        _impl(node, data, path, found, lang)


def _impl(node: Node, data: bytes, path: str, found: Found, lang: str) -> None:
    """The methods of an impl block, each inside the block's header."""
    owner = simple_name(node.child_by_field_name("type"), data)
    body = node.child_by_field_name("body")
    if not owner or body is None:
        return
    for member in body.named_children:
        if member.type != "function_item":
            continue
        name = named(member, data)
        if name:
            text = brace.in_container(node, body, member, data, lang, FUNCTIONS)
            add(found.defs, Definition(name, "method", path, member.start_point.row, text, owner))


def _owner(node: Node, data: bytes) -> str:
    """The trait a node is in, the type of an impl block."""
    if node.type == "trait_item":
        return named(node, data)
    if node.type == "impl_item":
        return simple_name(node.child_by_field_name("type"), data)
    return ""


EXTRACTOR = Extractor(node=_node, parameters=FUNCTIONS.parameters, owner=_owner)
