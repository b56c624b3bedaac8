"""A file's package clause and imports, per language."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from .. import utf8


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
    if lang == "go":
        for node in root.children:
            if node.type in ("package_clause", "import_declaration"):
                yield node
            elif node.type not in ("comment", "ERROR") and node.is_named:
                return  # imports come first in Go
    elif lang == "python":
        for node in root.children:
            if node.type in (
                "import_statement",
                "import_from_statement",
                "future_import_statement",
            ):
                yield node
    elif lang in ("javascript", "typescript", "tsx"):
        for node in root.children:
            if node.type == "import_statement" or (
                node.type in ("lexical_declaration", "variable_declaration")
                and _requires(node, data)
            ):
                yield node
    elif lang == "rust":
        for node in root.children:
            if node.type in ("use_declaration", "extern_crate_declaration") or (
                node.type == "mod_item" and node.child_by_field_name("body") is None
            ):
                yield node
    elif lang in ("c", "cpp"):
        yield from _includes(root)
    elif lang == "java":
        for node in root.children:
            if node.type in ("package_declaration", "import_declaration"):
                yield node
    elif lang == "lua":
        for node in root.children:
            if node.type in ("variable_declaration", "assignment_statement") and _requires(
                node, data
            ):
                yield node
    elif lang == "bash":
        for node in root.children:
            if node.type == "command":
                name = node.child_by_field_name("name")
                if name is not None and data[name.start_byte : name.end_byte] in (
                    b"source",
                    b".",
                ):
                    yield node


def _includes(node: Node, depth: int = 0) -> Iterator[Node]:
    for child in node.children:
        if child.type == "preproc_include":
            yield child
        elif depth < 4 and child.type in (
            "preproc_if",
            "preproc_ifdef",
            "preproc_else",
            "preproc_elif",
            "preproc_elifdef",
        ):
            yield from _includes(child, depth + 1)


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
