"""Where the cursor is: the statement above it, the block around it, what follows."""

from __future__ import annotations

import re

from tree_sitter import Node

from ... import treesitter, utf8
from .functions import _Function
from .syntax import _FUNCTIONS, _MAX_DEPTH, _text

_BLOCKS = frozenset(
    {
        *("block", "statement_list", "expression_case", "type_case"),
        *("default_case", "communication_case"),
    }
)


def _statement_above(root: Node, row: int, above: str) -> Node | None:
    """The statement that ends on the line above the cursor (in a block or a case clause)."""
    stripped = above.rstrip()
    if row <= 0 or not stripped:
        return None
    col = utf8.byte_len(stripped) - 1
    node: Node | None = root.descendant_for_point_range((row - 1, col), (row - 1, col))
    steps = 0
    while node is not None and steps < _MAX_DEPTH:
        parent = node.parent
        if parent is None or parent.type in _FUNCTIONS:
            return None
        if parent.type in _BLOCKS and node.type not in ("expression_list", "comment"):
            return node if node.end_point.row == row - 1 else None
        node = parent
        steps += 1
    return None


def _block_at(node: Node | None, fn: Node) -> Node | None:
    """The innermost block around the cursor, inside `fn`."""
    while node is not None and node != fn:
        if node.type in _BLOCKS:
            while (
                node.parent is not None
                and node.parent.type == "block"
                and node.type == "statement_list"
            ):
                node = node.parent
            return node
        node = node.parent
    return fn.child_by_field_name("body")


def _if_above(root: Node, row: int, column: int) -> Node | None:
    node = root.descendant_for_point_range((row - 1, column), (row - 1, column + 2))
    return next(
        (n for n in treesitter.ancestors(node, _MAX_DEPTH) if n.type == "if_statement"), None
    )


def _err_in_sight(fn: _Function, fn_node: Node, row: int, data: bytes) -> bool:
    """Whether `err` is declared above the cursor in the function, or is a named result."""
    if any(name == "err" for name, _ in fn.results):
        return True
    lines = data[fn_node.start_byte :].split(b"\n")
    first = fn_node.start_point.row
    for line in lines[: max(0, row - first)]:
        if re.search(rb"\berr\b\s*(?::=|=)|\berr\s+error\b|, err\b[^=]*:?=", line):
            return True
    return False


def _next_line(lines: list[str], row: int) -> str:
    """The first non-blank line after the cursor line (within 200 lines), or ""."""
    return next((line for line in lines[row + 1 : row + 200] if line.strip()), "")


def _block_has_body(lines: list[str], row: int, block_indent: str) -> bool:
    """Whether the block opened on the line above the cursor already has a statement below
    the cursor: a line indented deeper than the block, before its `}` (an unclosed block that
    swallows the rest of the function in the parse has none: the next line is not deeper)."""
    line = _next_line(lines, row)
    indentation = line[: len(line) - len(line.lstrip())]
    return (
        bool(line)
        and len(indentation) > len(block_indent)
        and indentation.startswith(block_indent)
        and not line.strip().startswith("}")
    )


def _block_closed(lines: list[str], row: int, block_indent: str) -> bool:
    """Whether a `}` at the block's indentation follows the cursor line (autopairs, or the
    user's own) before another statement at that indentation."""
    for line in lines[row + 1 : row + 200]:
        if not line.strip():
            continue
        indentation = line[: len(line) - len(line.lstrip())]
        if len(indentation) < len(block_indent):
            return False
        if indentation == block_indent:
            return line.strip().startswith("}")
    return False


def _assigns_err(statement: Node, data: bytes) -> bool:
    kind = statement.type
    if kind in ("short_var_declaration", "assignment_statement"):
        left = statement.child_by_field_name("left")
        if left is None:
            return False
        return any(c.type == "identifier" and _text(data, c) == "err" for c in left.named_children)
    if kind == "var_declaration":
        for spec in statement.named_children:
            if spec.type == "var_spec" and spec.child_by_field_name("value") is not None:
                names = spec.children_by_field_name("name")
                if any(_text(data, n) == "err" for n in names):
                    return True
    return False


def _statement_before(block: Node, row: int) -> Node | None:
    """The last statement of the block (list) containing the cursor row that ends above it."""
    last = None
    for child in block.named_children:
        if child.type == "statement_list":
            inner = _statement_before(child, row)
            if inner is not None:
                last = inner
            continue
        if child.end_point.row < row:
            last = child
        else:
            break
    return last
