"""Strings, comments, blocks and unfinished expressions at the cursor."""

from __future__ import annotations

import re

from tree_sitter import Node

from .. import languages, utf8
from .kinds import (
    _CLOSING_TOKENS,
    _CONTAINER_TYPES,
    _INTERPOLATION_TYPES,
    _LUA_FUNCTION_HEADER_RE,
    _PY_COMPOUND_TYPES,
    _PY_HEADER_RE,
    _STRING_CONTENT_RE,
    _STRING_TYPES,
    _WHITESPACE,
    _function_types,
)
from .nodes import _last_leaf, _line_end, _node_at, ancestors


def _in_comment(root: Node, data: bytes, off: int) -> bool:
    if off == 0:
        return False
    for node in ancestors(_node_at(root, off - 1, off)):
        if "comment" not in node.type:
            continue
        start, end = node.start_byte, node.end_byte
        if not start < off <= end:
            return False
        if off < end:
            return True
        # At the comment's end: still inside a line comment, after a block comment's closer.
        body = data[start:end]
        if body.endswith((b"*/", b"-->", b"\n")) or b"\n" in body:
            return False
        return not re.match(rb"--\[=*\[", body)
    return False


def _in_string(root: Node, data: bytes, off: int, lang: str, line_start: int) -> bool:
    if off == 0:
        return False
    leaf = _node_at(root, off - 1, off)
    if leaf.child_count == 0 and _STRING_CONTENT_RE.search(leaf.type):
        return True  # string text, even when the string around it is unterminated (an ERROR)
    for node in ancestors(leaf):
        kind = node.type
        if kind in _INTERPOLATION_TYPES and node.start_byte < off < node.end_byte:
            return False
        if kind in _STRING_TYPES:
            if not node.start_byte < off <= node.end_byte:
                break
            if off < node.end_byte:
                return True
            return _unterminated(node)
        if node.is_error:
            break
    # An unterminated quote often leaves an ERROR on the line instead of a string node: read
    # the line itself, but only when its parse failed.
    if _error_on_line(root, line_start, _line_end(data, line_start)):
        return _lexical_in_string(data[line_start:off], lang)
    return False


def _unterminated(string: Node) -> bool:
    """Whether a string node lacks its closing delimiter (so its end is not a boundary)."""
    count = string.child_count
    if count == 0:
        return False
    last = string.child(count - 1)
    if last.is_missing:
        return True
    if count == 1:  # only the opening delimiter
        return True
    first = string.child(0)
    if first.is_named:  # no delimiter tokens at all (e.g. bash words)
        return False
    return last.is_named and last.type != "string_end"


def _error_on_line(root: Node, line_start: int, line_end: int) -> bool:
    """Whether an ERROR or MISSING node overlaps the byte range of the line."""
    if not root.has_error:
        return False
    cover = _node_at(root, line_start, max(line_start, line_end))
    if any(node.is_error for node in ancestors(cover)):
        return True
    stack = [cover]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return True
        for child in node.children:
            if (
                (child.has_error or child.is_missing)
                and child.start_byte <= line_end
                and child.end_byte >= line_start
            ):
                stack.append(child)
    return False


def _lexical_in_string(line: bytes, lang: str) -> bool:
    """Whether a line prefix ends inside a quote it opened, skipping a trailing line comment."""
    record = languages.get(lang)
    quotes, comment = (
        ("\"'", "//") if record is None else (record.string_quotes, record.line_comment)
    )
    at_word = record is not None and record.comment_at_word
    raw = "" if record is None else record.raw_quotes
    text = utf8.decode(line)
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote not in raw:
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif text.startswith(comment, i):
            if not at_word or i == 0 or text[i - 1] in " \t;":
                return False
        elif ch in quotes:
            quote = ch
        i += 1
    return bool(quote)


def _opens_block(last: Node | None, line_before: bytes, lang: str) -> bool:
    if last is None:
        return False
    kind = last.type
    stripped = line_before.rstrip(_WHITESPACE)
    record = languages.get(lang)
    if record is not None and record.brace_blocks:
        return kind == "{" or (last.is_error and stripped.endswith(b"{"))
    if record is not None and record.colon_blocks:
        if kind != ":" and not stripped.endswith(b":"):
            return False
        parent = last.parent
        if kind == ":" and parent is not None and parent.type in _PY_COMPOUND_TYPES:
            return True
        line = utf8.decode(stripped)
        return bool(_PY_HEADER_RE.match(line)) and not line.lstrip().startswith("lambda")
    if record is not None and kind in {word for word, _closers in record.keyword_blocks}:
        return True  # `then`, `do`, `else`, `repeat`
    if lang == "lua":
        if kind == ")":
            params = last.parent
            if (
                params is not None
                and params.type == "parameters"
                and params.parent is not None
                and params.parent.type in _function_types("lua")
            ):
                return True
            return bool(_LUA_FUNCTION_HEADER_RE.search(utf8.decode(stripped)))
        return False
    return lang == "bash" and kind == "{"  # a brace group: `f() {`


def _unfinished(last: Node | None, off: int) -> bool:
    """Whether the expression that ends with `last` is unfinished at the cursor offset `off`."""
    if last is None:
        return False
    for node in ancestors(last):
        parent = node.parent
        if node.is_error or node.is_missing:
            return True
        if node is not last and node.start_byte < off < node.end_byte:
            return True  # the cursor is inside this node: `foo(a, |b)`
        if node.child_count and _last_leaf(node).is_missing:
            return True  # `foo(a, |` parsed with a MISSING ")"
        if parent is None or parent.is_error or parent.type in _CONTAINER_TYPES:
            break
    if last.is_missing:
        return True
    if not last.is_named:
        return last.type not in _CLOSING_TOKENS
    if "comment" in last.type or last.type in _STRING_TYPES:
        return False
    return last.child_count == 0  # an identifier, number or keyword being typed
