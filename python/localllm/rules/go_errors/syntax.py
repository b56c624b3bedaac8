"""Reading Go syntax: a node's text, a parameter (or result) list, the built-in types."""

from __future__ import annotations

from tree_sitter import Node

from ... import languages, treesitter, utf8

_FUNCTIONS = languages.GO.function_types | languages.GO.lambda_types
_MAX_DEPTH = 200  # deeper than this: code broken past reasoning about (bounded work)

_NIL_KINDS = frozenset(
    {"pointer_type", "slice_type", "map_type", "channel_type", "function_type", "interface_type"}
)
_NUMBERS = frozenset(
    {
        *("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32"),
        *("uint64", "uintptr", "float32", "float64", "complex64", "complex128", "byte", "rune"),
    }
)
_NIL_NAMES = frozenset({"error", "any"})


def _text(data: bytes, node: Node) -> str:
    return utf8.decode(data[node.start_byte : node.end_byte])


def _params(plist: Node | None, data: bytes) -> list[tuple[str, Node]]:
    out: list[tuple[str, Node]] = []
    if plist is None:
        return out
    if plist.type != "parameter_list":
        return [("", plist)]  # a single unnamed result type
    for decl in plist.named_children:
        if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        kind = decl.child_by_field_name("type")
        if kind is None:
            continue
        names = decl.children_by_field_name("name")
        if names:
            out.extend((_text(data, n), kind) for n in names)
        else:
            out.append(("", kind))
    return out


def _enclosing_function(node: Node | None) -> Node | None:
    """The function (declaration or literal) `node` is in, or `node` itself if it is one."""
    return next((n for n in treesitter.ancestors(node, _MAX_DEPTH) if n.type in _FUNCTIONS), None)
