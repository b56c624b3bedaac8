"""The public analyses: syntax facts at the cursor, statement windows, imports, errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tree_sitter import Node, Tree

from .. import languages, utf8
from .grammars import _parse
from .imports import _imports
from .kinds import _WHITESPACE
from .nodes import _last_token, _locate_line
from .signature import _enclosing_signature
from .syntax import _in_comment, _in_string, _opens_block, _unfinished


@dataclass(frozen=True, slots=True)
class SyntaxInfo:
    """What the syntax tree says about one cursor position.

    `in_string`/`in_comment`: the cursor is inside a string literal (not at its boundary) or a
    comment. `mid_expression`: the text before the cursor on its line is an unfinished
    expression, argument list or call (a single-line completion fits). `block_opener`: the line
    up to the cursor ends with what opens a block (`{`, a Python header's `:`, Lua `then`/`do`/a
    function header, bash `then`/`do`/`{`). `enclosing_signature`: the header of the innermost
    function around the cursor, from the start of its declaration up to its body, with its
    0-based row. `imports`: the package clause and import declarations, each node whole, joined
    with newlines; `imports_end_row` is the row after the last of them (0 if none).
    """

    language: str
    in_string: bool
    in_comment: bool
    mid_expression: bool
    block_opener: bool
    enclosing_signature: str | None
    enclosing_signature_row: int | None
    imports: str
    imports_end_row: int


# --------------------------------------------------------------------------------------------
# Public functions


_INSIDE_WORDS = (
    "string",
    "comment",
    "argument",
    "parameter",
    "call",
    "literal",
    "expression",
    "list",
    "dictionary",
    "tuple",
    "composite",
    "table",
    "array",
    "object",
    "heredoc",
    "template",
)


def _not_to_split(node: Node) -> bool:
    """Nodes a window must not start or end inside: strings, comments, expressions, argument
    lists, literals (statements and blocks may be cut: the header shows the signature)."""
    kind = node.type
    return any(word in kind for word in _INSIDE_WORDS) and "statement" not in kind


def statement_window(text: str, lang: str, start: int, cursor: int, end: int) -> tuple[int, int]:
    """Move a window [start, end) of rows so it neither starts nor ends inside a multi-line
    string, comment or expression: the start moves down past it, the end up before it (never
    past the cursor row). Unchanged without a grammar."""
    tree = _parse(lang, utf8.encode(text))
    if tree is None:
        return start, end
    return window_in_tree(tree, start, cursor, end)


def window_in_tree(tree: Tree, start: int, cursor: int, end: int) -> tuple[int, int]:
    """statement_window() on the tree of the text (rows of that tree)."""
    root = tree.root_node
    new_start = start
    if 0 < start < cursor:
        node: Node | None = root.descendant_for_point_range((start, 0), (start, 0))
        while node is not None and node != root:
            # Only what ends above the cursor: an expression around the cursor (a closure in a
            # call, a test inside describe(...)) has to be cut, or nothing would be left.
            if node.start_point.row < start and node.end_point.row < cursor and _not_to_split(node):
                new_start = max(new_start, node.end_point.row + 1)
            node = node.parent
        new_start = min(new_start, cursor)
    new_end = end
    last = end - 1
    if cursor < last:
        node = root.descendant_for_point_range((last, 0), (last, 0))
        while node is not None and node != root:
            if (
                node.end_point.row > last
                and cursor < node.start_point.row <= last
                and _not_to_split(node)
            ):
                new_end = min(new_end, node.start_point.row)
            node = node.parent
        new_end = max(new_end, cursor + 1)
    return new_start, new_end


def analyze(text: str, row: int, col: int, lang: str) -> SyntaxInfo | None:
    """Syntax facts at (row, col) of `text`; None when `lang` has no grammar.

    `text` is the buffer's lines joined with "\\n"; `row` is 0-based and `col` a 0-based byte
    column within that line (as Neovim reports it). Positions past the end are clamped.
    """
    data = utf8.encode(text)
    tree = _parse(lang, data)
    if tree is None:
        return None
    return analyze_tree(tree, text, data, row, col, lang)


def analyze_tree(
    tree: Tree, text: str, data: bytes, row: int, col: int, lang: str, *, imports: bool = True
) -> SyntaxInfo:
    """analyze() on the tree of `text` (`data` is its UTF-8). Without `imports`, the file's
    imports are left out (empty), for a caller that takes them from elsewhere."""
    root = tree.root_node
    row, line_start, line_end = _locate_line(text, data, row)
    off = min(line_start + max(col, 0), line_end)
    line_before = data[line_start:off]

    in_comment = _in_comment(root, data, off)
    in_string = False if in_comment else _in_string(root, data, off, lang, line_start)

    last = _last_token(root, line_start, line_before)
    block_opener = not in_string and not in_comment and _opens_block(last, line_before, lang)
    mid_expression = (
        bool(line_before.strip(_WHITESPACE))
        and not in_comment
        and not block_opener
        and (in_string or _unfinished(last, off))
    )

    signature, signature_row = _enclosing_signature(root, data, off, lang, line_start)
    imports_text, imports_end_row = _imports(root, data, lang) if imports else ("", 0)
    return SyntaxInfo(
        language=lang,
        in_string=in_string,
        in_comment=in_comment,
        mid_expression=mid_expression,
        block_opener=block_opener,
        enclosing_signature=signature,
        enclosing_signature_row=signature_row,
        imports=imports_text,
        imports_end_row=imports_end_row,
    )


def imports_of(text: str, lang: str) -> str:
    """The package clause and imports of `text` (the head of a file), as SyntaxInfo.imports."""
    data = utf8.encode(text)
    tree = _parse(lang, data)
    if tree is None:
        return ""
    return _imports(tree.root_node, data, lang)[0]


def imports_in_tree(tree: Tree, data: bytes, lang: str, rows: int | None = None) -> str:
    """imports_of() on the tree of `data`; with `rows`, only imports starting above that row
    (as imports_of() of the first `rows` lines, without parsing them apart)."""
    return _imports(tree.root_node, data, lang, rows)[0]


def parse_errors(text: str, lang: str) -> int:
    """How many ERROR and MISSING nodes the parse of `text` has; -1 when `lang` has no grammar."""
    return count_errors(_parse(lang, utf8.encode(text)))


def count_errors(tree: Tree | None) -> int:
    """ERROR and MISSING nodes in `tree`; -1 without a tree."""
    if tree is None:
        return -1
    root = tree.root_node
    if not root.has_error:
        return 0
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        stack.extend(child for child in node.children if child.has_error)
    return count


def with_line_blanked(lines: Sequence[str], row: int, lang: str | None) -> str:
    """The text with line `row` reduced to its indentation, so that what is typed there does
    not change the tree. Python gets `pass` there: its parser reparses far around a
    whitespace-only line (the indentation scanner), a statement keeps the reparse local."""
    line = lines[row]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    record = None if lang is None else languages.get(lang)
    blank = indent + ("" if record is None else record.blank_statement)
    return "\n".join([*lines[:row], blank, *lines[row + 1 :]])
