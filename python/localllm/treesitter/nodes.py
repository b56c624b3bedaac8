"""Positions and node walks shared by the analyses."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from .. import utf8
from .kinds import _WHITESPACE


def _locate_line(text: str, data: bytes, row: int) -> tuple[int, int, int]:
    """(row clamped to the text, byte offset of that line's start, byte offset of its end)."""
    row = max(row, 0)
    head = text.split("\n", row)
    if len(head) <= row:  # past the last line: use the last one
        row = len(head) - 1
        head = text.split("\n", row)
    rest = head[-1]
    prefix_chars = len(text) - len(rest)
    line_start = utf8.byte_len(text[:prefix_chars]) if row else 0
    newline = data.find(b"\n", line_start)
    line_end = len(data) if newline < 0 else newline
    return row, line_start, line_end


def _node_at(root: Node, start: int, end: int) -> Node:
    node = root.descendant_for_byte_range(start, end)
    return root if node is None else node


def ancestors(node: Node | None, limit: int | None = None) -> Iterator[Node]:
    """`node`, its parent, and so on up to the root; at most `limit` nodes. Each step up walks
    down from the root, so code nested thousands deep (broken by an unclosed bracket) wants
    a limit."""
    count = 0
    while node is not None and (limit is None or count < limit):
        yield node
        node = node.parent
        count += 1


def _last_leaf(node: Node) -> Node:
    while node.child_count:
        node = node.child(node.child_count - 1)
    return node


def _last_token(root: Node, line_start: int, line_before: bytes) -> Node | None:
    """The node holding the last non-blank byte before the cursor on its line, if any."""
    stripped = line_before.rstrip(_WHITESPACE)
    if not stripped:
        return None
    pos = line_start + len(stripped) - 1
    return _node_at(root, pos, pos + 1)


def _line_end(data: bytes, line_start: int) -> int:
    newline = data.find(b"\n", line_start)
    return len(data) if newline < 0 else newline


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1
