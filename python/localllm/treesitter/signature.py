"""The header of the function around the cursor, also in half-typed (ERROR) code."""

from __future__ import annotations

import re

from tree_sitter import Node

from .. import languages, utf8
from ..languages.base import BRACES
from .grammars import _parse
from .kinds import (
    _BINDABLE_TYPES,
    _BINDING_TYPES,
    _BINDING_WRAPPERS,
    _DECORATION_TYPES,
    _PARAMETER_TYPES,
    _WHITESPACE,
    _function_types,
)
from .nodes import _last_leaf, _line_end, _line_start, _node_at, ancestors


def _enclosing_signature(
    root: Node, data: bytes, off: int, lang: str, line_start: int
) -> tuple[str | None, int | None]:
    record = languages.get(lang)
    if record is None:
        return None, None
    kinds = _function_types(lang)
    indent = _cursor_indent(data, line_start, off) if record.offside else 0
    anchor = _anchor(root, data, off)
    found = None
    crossed_error = False
    for node in ancestors(anchor):
        if node.is_error:
            crossed_error = True
        if node.type in kinds and _encloses(node, off, lang, indent):
            found = node
            break
    if root.has_error and (found is None or crossed_error):
        # Half-typed code can turn the functions around the cursor into ERROR nodes. The text
        # before the cursor line, parsed alone, often closes them with MISSING tokens; where it
        # does not, the tokens left flat inside an ERROR still show the function's header.
        candidates = [
            candidate
            for candidate in (
                _enclosing_in_error(anchor, data, off, lang, indent, found),
                _enclosing_in_prefix(data, line_start, lang, kinds, indent),
            )
            if candidate is not None
        ]
        if candidates:
            best = max(candidates, key=lambda candidate: candidate[1])
            if found is None:
                return best[0], data.count(b"\n", 0, best[1])
            signature, start = _signature(found, data)
            if best[1] >= start + utf8.byte_len(signature):  # inside `found`'s body
                return best[0], data.count(b"\n", 0, best[1])
            return signature, data.count(b"\n", 0, start)
    if found is None:
        return None, None
    signature, start = _signature(found, data)
    return signature, data.count(b"\n", 0, start)


def _offside(lang: str) -> bool:
    """Whether the language's blocks end with their indentation (a function with its last
    statement), not at a closing token."""
    record = languages.get(lang)
    return record is not None and record.offside


def _anchor(root: Node, data: bytes, off: int) -> Node | None:
    """The node holding the last non-blank byte before `off`."""
    pos = off - 1
    while pos >= 0 and data[pos] in _WHITESPACE:
        pos -= 1
    if pos < 0:
        return None
    return _node_at(root, pos, pos + 1)


def _cursor_indent(data: bytes, line_start: int, off: int) -> int:
    """The indentation (in bytes) that the cursor's line has, or will have when it is blank."""
    line = data[line_start : _line_end(data, line_start)]
    before = data[line_start:off]
    if before and not before.strip(_WHITESPACE):
        return len(before)  # a blank line: the indentation typed so far
    return len(line) - len(line.lstrip(b" \t"))


def _encloses(node: Node, off: int, lang: str, indent: int) -> bool:
    if not node.start_byte < off:
        return False
    if off < node.end_byte:
        return True
    if _offside(lang):
        # A Python function ends with its last statement: a cursor on the lines after it is
        # still inside while it is indented deeper than the `def`.
        return indent > node.start_point.column
    return node.end_byte == off and _last_leaf(node).is_missing


def _enclosing_in_prefix(
    data: bytes, line_start: int, lang: str, kinds: frozenset[str], indent: int
) -> tuple[str, int] | None:
    """The innermost function left open by the text before the cursor's line, parsed alone."""
    prefix = data[:line_start]
    if not prefix.strip(_WHITESPACE):
        return None
    tree = _parse(lang, prefix)
    if tree is None:
        return None
    end = len(prefix)
    anchor = _anchor(tree.root_node, prefix, end)
    for node in ancestors(anchor):
        if node.type not in kinds:
            continue
        if _offside(lang):
            if indent <= node.start_point.column:
                continue
        elif not _last_leaf(node).is_missing:
            continue  # closed before the cursor's line
        return _signature(node, prefix)
    if tree.root_node.has_error:
        return _enclosing_in_error(anchor, prefix, end, lang, indent, None)
    return None


def _enclosing_in_error(
    anchor: Node | None, data: bytes, off: int, lang: str, indent: int, stop: Node | None
) -> tuple[str, int] | None:
    """A function header among the flat tokens of the ERROR nodes around the cursor."""
    for node in ancestors(anchor):
        if stop is not None and node == stop:
            break
        if node.is_error:
            if _offside(lang):
                found = _scan_python_error(node, data, off, indent)
            else:
                found = _scan_error(node, data, off, lang)
            if found is not None:
                return found
    return None


def _scan_error(error: Node, data: bytes, off: int, lang: str) -> tuple[str, int] | None:
    """Walk back from the cursor over an ERROR's children to the innermost unclosed function."""
    record = languages.get(lang)
    openers, closers = BRACES if record is None else record.block_tokens
    children = [child for child in error.children if child.end_byte <= off]
    depth = 0
    for index in range(len(children) - 1, -1, -1):
        child = children[index]
        if child.is_named:
            continue
        if child.type in closers:
            depth += 1
        elif child.type in openers:
            if depth:
                depth -= 1
                continue
            header = _flat_header(error, children, index, data, lang)
            if header is not None:
                return header
    return None


def _flat_header(
    error: Node, children: list[Node], index: int, data: bytes, lang: str
) -> tuple[str, int] | None:
    """The function header that the unclosed opener `children[index]` belongs to, if any."""
    opener = children[index]
    if lang == "lua":
        if opener.type != "function":
            return None
        for child in children[index + 1 : index + 4]:
            if child.type == "parameters":
                start = _line_start(data, opener.start_byte)
                lead = data[start : opener.start_byte]
                if re.fullmatch(rb"\s*(?:local\s+)?|.*=\s*", lead, re.DOTALL):
                    start += len(lead) - len(lead.lstrip(_WHITESPACE))
                else:
                    start = opener.start_byte
                return utf8.decode(data[start : child.end_byte]), start
        return None
    if lang == "bash":
        if opener.type != "{":
            return None
        start = _line_start(data, opener.start_byte)
        lead = data[start : opener.start_byte]
        if not lead.strip(_WHITESPACE) and start > 0:  # `{` on a line of its own
            start = _line_start(data, start - 1)
            lead = data[start : opener.start_byte]
        match = re.fullmatch(rb"\s*((?:function\s+)?[\w.:@-]+\s*(?:\(\s*\))?)\s*", lead)
        if match is None:
            return None
        return utf8.decode(match.group(1)).rstrip(), start + match.start(1)
    if opener.type != "{":
        return None
    # Brace languages: a parameter list shortly before the `{`, in the same statement.
    for child in reversed(children[max(0, index - 6) : index]):
        if child.type in (";", "{", "}"):
            return None
        if child.type in _PARAMETER_TYPES:
            start = _line_start(data, child.start_byte)
            lead = data[start : child.start_byte]
            start += len(lead) - len(lead.lstrip(_WHITESPACE))
            text = utf8.decode(data[start : opener.start_byte]).rstrip()
            return text, start
    if index == 0:
        # `func f() {` whose body broke: the header parsed as a function without a body, and
        # the ERROR with the rest of the function follows it.
        previous = error.prev_sibling
        kinds = _function_types(lang)
        if previous is not None and previous.type in kinds:
            start = _header_start(previous)
            text = utf8.decode(data[start : previous.end_byte]).rstrip()
            return text, start
    return None


def _scan_python_error(error: Node, data: bytes, off: int, indent: int) -> tuple[str, int] | None:
    """The innermost `def` among an ERROR's flat tokens that is indented less than the cursor."""
    children = [child for child in error.children if child.end_byte <= off]
    outdent = indent  # the least indentation of a line between the cursor and the `def`
    for index in range(len(children) - 1, -1, -1):
        child = children[index]
        column = child.start_point.column
        if child.type != "def" or column >= outdent:
            if not data[_line_start(data, child.start_byte) : child.start_byte].strip():
                outdent = min(outdent, column + 1)  # a line at `column` ends deeper blocks
            continue
        start = child.start_byte
        if index and children[index - 1].type == "async":
            start = children[index - 1].start_byte
        seen_parameters = False
        for follower in children[index + 1 :]:
            if follower.type == "parameters":
                seen_parameters = True
            elif follower.type == ":" and seen_parameters:
                return utf8.decode(data[start : follower.end_byte]), start
        # A header still being typed (the cursor is in it): look further out.
    return None


def _signature(node: Node, data: bytes) -> tuple[str, int]:
    """The header of a function node (start of its declaration up to its body), and its start."""
    start = _header_start(node)
    body = node.child_by_field_name("body")
    if body is not None and body.start_byte > start:
        end = body.start_byte
    else:
        end = _header_end_without_body(node)
    # Half-typed statements the parser could not place can sit between the header and the body.
    seen_parameters = False
    for child in node.children:
        if child.start_byte >= end:
            break
        if child.type in _PARAMETER_TYPES:
            seen_parameters = True
        elif (
            seen_parameters
            and child.start_byte > start
            and (child.is_error or "comment" in child.type)
        ):
            end = child.start_byte
            break
    text = utf8.decode(data[start:end]).rstrip()
    return text, start


def _header_start(node: Node) -> int:
    binding = _binding_of(node)
    if binding is not None:
        return binding.start_byte
    for child in node.children:
        if child.type in _DECORATION_TYPES:
            continue
        if child.type == "modifiers":  # java: annotations live among the modifiers
            for modifier in child.children:
                if modifier.type not in _DECORATION_TYPES:
                    return modifier.start_byte
            continue
        return child.start_byte
    return node.start_byte


def _binding_of(node: Node) -> Node | None:
    """The declaration that binds a function value to a name, when there is one."""
    parent = node.parent
    if parent is None or node.type not in _BINDABLE_TYPES:
        return None
    if node.type == "function_definition" and parent.type != "expression_list":
        return None  # only Lua's anonymous `function ... end` is a value
    binding = None
    child = node
    while parent is not None and (
        parent.type in _BINDING_TYPES or parent.type in _BINDING_WRAPPERS
    ):
        named = parent.named_children
        if not named or named[-1] != child:
            break
        if parent.type in _BINDING_TYPES:
            binding = parent
        child = parent
        parent = parent.parent
    return binding


def _header_end_without_body(node: Node) -> int:
    """Where the header ends for a function without a body node (e.g. an empty Lua function)."""
    end = None
    for child in node.children:
        if child.type in _PARAMETER_TYPES:
            end = child.end_byte
        elif end is not None and child.is_named and "type" in child.type:
            end = child.end_byte  # a return type after the parameters
    return node.end_byte if end is None else end
