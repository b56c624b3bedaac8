"""The source text of nodes and its layout: dedenting, indenting, capping at MAX_LINES."""

from __future__ import annotations

from tree_sitter import Node

from .. import languages, utf8
from .model import MAX_LINES

__all__ = [
    "block_indent",
    "cap",
    "dedent",
    "dedented",
    "first_child",
    "indent_text",
    "line_end",
    "line_start",
    "named",
    "node_text",
    "simple_name",
    "span",
]

# Last lines a capped text keeps after its marker: what closes a brace block.
_CLOSERS = frozenset({"}", ")", "})", "}}", "};"})


def span(data: bytes, start: int, end: int) -> str:
    return utf8.decode(data[start:end])


def node_text(data: bytes, node: Node) -> str:
    return span(data, node.start_byte, node.end_byte)


def line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def line_end(data: bytes, pos: int) -> int:
    newline = data.find(b"\n", pos)
    return len(data) if newline < 0 else newline


def dedent(data: bytes, start: int, text: str) -> str:
    """`text` (the source from `start` on, maybe edited), its later lines stripped of the
    indentation of the line of `start`."""
    lead = data[line_start(data, start) : start]
    if not lead or lead.strip(b" \t"):
        return text  # `start` is not the first token of its line: leave the text as it is
    width = len(lead)
    lines = text.split("\n")
    for i in range(1, len(lines)):
        line = lines[i]
        strip = len(line) - len(line.lstrip(" \t"))
        lines[i] = line[min(strip, width) :]
    return "\n".join(lines)


def dedented(data: bytes, start: int, end: int) -> str:
    """data[start:end], its later lines stripped of the indentation of the line of `start`."""
    return dedent(data, start, span(data, start, end))


def indent_text(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in text.split("\n"))


def block_indent(first: Node, header_row: int, column: int, data: bytes) -> str:
    """The indentation of a block whose first node is `first`, relative to `column` (where its
    header starts); four spaces when `first` is on the header's row `header_row`."""
    if first.start_point.row > header_row:
        lead = span(data, line_start(data, first.start_byte), first.start_byte)
        if not lead.strip():
            return lead[column:] or "    "
    return "    "


def cap(text: str, lang: str) -> str:
    """At most MAX_LINES lines: the head, a marker (a comment), and the closing line of a brace
    block; in a language of indented blocks (Python) the head and `...`."""
    lines = text.split("\n")
    if len(lines) <= MAX_LINES:
        return text
    inner = lines[1] if len(lines) > 1 else ""
    indent = inner[: len(inner) - len(inner.lstrip(" \t"))]
    record = languages.get(lang)
    if record is None or record.colon_blocks:
        return "\n".join([*lines[: MAX_LINES - 1], indent + "..."])
    last = lines[-1]
    tail = [last] if last.strip() in _CLOSERS else []
    kept = lines[: MAX_LINES - 1 - len(tail)]
    return "\n".join([*kept, f"{indent}{record.line_comment} ...", *tail])


def named(node: Node, data: bytes) -> str:
    """The text of a node's `name` field ("" without one)."""
    name = node.child_by_field_name("name")
    if name is None or name.is_missing:
        return ""
    return node_text(data, name)


def simple_name(node: Node | None, data: bytes) -> str:
    """The name of a type node: `Stack<T>` -> "Stack", `&mut a::B` -> "B"."""
    while node is not None:
        if node.type in ("type_identifier", "identifier", "field_identifier"):
            return node_text(data, node)
        inner = node.child_by_field_name("type") or node.child_by_field_name("name")
        if inner is None and node.named_child_count:
            inner = node.named_children[-1 if node.type == "scoped_type_identifier" else 0]
        node = inner
    return ""


def first_child(root: Node, kind: str) -> Node | None:
    """The first named child of `root` of type `kind`."""
    return next((node for node in root.named_children if node.type == kind), None)
