"""A file's package clause and imports, as each language's record describes them."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from .. import languages, utf8
from ..languages.base import Language


def _imports(root: Node, data: bytes, lang: str, rows: int | None = None) -> tuple[str, int]:
    nodes = list(_import_nodes(root, data, lang))
    if rows is not None:
        nodes = [n for n in nodes if n.start_point.row < rows]
    if not nodes:
        return "", 0
    texts = [utf8.decode(data[n.start_byte : n.end_byte]).rstrip() for n in nodes]
    return "\n".join(texts), max(_row_after(n) for n in nodes)


def _row_after(node: Node) -> int:
    """The first row after a node (a node that ends with its newline ends at column 0)."""
    end = node.end_point
    if end.column == 0 and end.row > node.start_point.row:
        return end.row
    return end.row + 1


def _import_nodes(root: Node, data: bytes, lang: str) -> Iterator[Node]:
    """The top-level nodes of `root` that import something, as the language's record says."""
    record = languages.get(lang)
    if record is not None:
        yield from _imports_in(root, data, record, 0)


def _imports_in(node: Node, data: bytes, record: Language, depth: int) -> Iterator[Node]:
    for child in node.children:
        kind = child.type
        if kind in record.import_types or _imports_by_value(child, data, record):
            yield child
        elif depth < 4 and kind in record.import_containers:
            yield from _imports_in(child, data, record, depth + 1)
        elif record.imports_first and kind not in ("comment", "ERROR") and child.is_named:
            return


def _imports_by_value(node: Node, data: bytes, record: Language) -> bool:
    """A declaration that imports by what it holds: `require(...)`, a `mod x;` without a body,
    a `source file` command."""
    kind = node.type
    if kind in record.require_types:
        return _requires(node, data)
    if kind in record.bodiless_imports:
        return node.child_by_field_name("body") is None
    if kind == "command" and record.import_commands:
        name = node.child_by_field_name("name")
        return name is not None and utf8.decode(data[name.start_byte : name.end_byte]) in (
            record.import_commands
        )
    return False


def _requires(declaration: Node, data: bytes) -> bool:
    """Whether a declaration's value calls `require(...)` (JS/TS/Lua module imports)."""
    stack = list(declaration.named_children)
    while stack:
        node = stack.pop()
        if node.type in ("call_expression", "function_call"):
            callee = node.child_by_field_name("function") or node.child_by_field_name("name")
            if callee is not None and data[callee.start_byte : callee.end_byte] == b"require":
                return True
        if node.type in (
            "variable_declarator",
            "assignment_statement",
            "expression_list",
            "call_expression",
            "function_call",
            "member_expression",
            "dot_index_expression",
            "await_expression",
        ):
            stack.extend(node.named_children)
    return False
