"""What the brace languages (JavaScript/TypeScript, Rust, Java, C/C++) share: a definition's
text with the bodies of its functions elided as `{ ... }`, a member shown inside its class's
header, and the names a function's parameters bind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from .text import block_indent, cap, dedent, dedented, indent_text, node_text, span

__all__ = ["Functions", "compact", "in_container", "parameter_names"]


@dataclass(frozen=True, slots=True)
class Functions:
    """A language's function-like nodes (`kinds`: the ones whose parameters are local to their
    body) and the node kinds of a block body that a compacted text elides."""

    kinds: frozenset[str]
    bodies: frozenset[str]

    def parameters(self, node: Node, data: bytes) -> Iterator[str]:
        """The names a function's parameters bind; none for a node that is no function (an
        Extractor's `parameters` hook)."""
        if node.type in self.kinds:
            yield from parameter_names(node, data)


def compact(outer: Node, data: bytes, lang: str, functions: Functions) -> str:
    """`outer`'s source with the bodies of the functions in it elided, dedented and capped."""
    cuts: list[tuple[int, int]] = []
    stack = [outer]
    while stack:
        node = stack.pop()
        if node.type in functions.kinds:
            body = node.child_by_field_name("body")
            if body is not None and body.type in functions.bodies:
                cuts.append((body.start_byte, body.end_byte))
                stack.extend(c for c in node.named_children if c.start_byte < body.start_byte)
                continue
        stack.extend(node.named_children)
    cuts.sort()
    parts: list[str] = []
    pos = outer.start_byte
    for start, end in cuts:
        if start < pos:
            continue
        parts.append(span(data, pos, start))
        parts.append("{ ... }")
        pos = end
    parts.append(span(data, pos, outer.end_byte))
    return cap(dedent(data, outer.start_byte, "".join(parts)).rstrip(), lang)


def in_container(
    container: Node, body: Node, member: Node, data: bytes, lang: str, functions: Functions
) -> str:
    """A member's compacted text inside its container's header: `class X {\\n  m() { ... }\\n}`."""
    header = dedented(data, container.start_byte, body.start_byte).rstrip()
    inner = compact(member, data, lang, functions)
    indent = block_indent(member, container.start_point.row, container.start_point.column, data)
    return cap(f"{header} {{\n{indent_text(inner, indent)}\n}}", lang)


# Fields of a parameter that hold no name it binds: its default value, its type.
_DEFAULTS = frozenset({"value", "right", "default_value", "type", "return_type"})


def parameter_names(function: Node, data: bytes) -> Iterator[str]:
    """The names a function's parameters bind (not the identifiers of their default values)."""
    params = function.child_by_field_name("parameters") or function.child_by_field_name("parameter")
    if params is None:  # C/C++: `int f(int a)` has them in its function declarator
        declarator = function.child_by_field_name("declarator")
        while declarator is not None and declarator.type != "function_declarator":
            declarator = declarator.child_by_field_name("declarator")
        if declarator is not None:
            params = declarator.child_by_field_name("parameters")
    if params is None:
        return
    stack = [params]
    while stack:
        node = stack.pop()
        if node.type == "identifier":
            yield node_text(data, node)
            continue
        for i, child in enumerate(node.children):
            if child.is_named and node.field_name_for_child(i) not in _DEFAULTS:
                stack.append(child)
