"""Syntax facts about the cursor position, from tree-sitter grammars.

Pure functions over a buffer's text: which language a buffer is in, whether the cursor sits in a
string or a comment, whether the line is an unfinished expression or opens a block, the header of
the enclosing function and the file's imports. The completion engine uses them to shape the
prompt and to decide between single-line and multi-line suggestions.

Every grammar is an optional wheel (``tree_sitter_go`` …). A grammar that fails to import or load
makes its language unavailable: the functions then return ``None`` (or ``""``/``-1``), they never
raise. Broken and half-typed code is the normal case here: ERROR and MISSING nodes are expected.

Positions follow tree-sitter and Neovim: rows are 0-based, columns are 0-based byte offsets in the
UTF-8 encoding of the line.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Language, Node, Parser, Tree

from . import languages, utf8
from .languages.base import BRACES

__all__ = [
    "SyntaxInfo",
    "analyze",
    "available_languages",
    "get_parser",
    "imports_of",
    "language_for",
    "parse_errors",
]

# --------------------------------------------------------------------------------------------
# Languages and grammars

# File extension (lower case, with the dot) -> language id; derived from the registry.
EXTENSIONS: dict[str, str] = {ext: lang.name for lang in languages.all() for ext in lang.extensions}


def language_for(filetype: str, path: str = "") -> str | None:
    """Our language id for a buffer: by Neovim filetype first, else by the file's extension.

    Returns one of the registry's ids ("go", "python", "tsx" …, see `languages`); None for
    anything else (zsh included: it is not bash).
    """
    lang = languages.for_buffer(filetype, path)
    return None if lang is None else lang.name


_lock = threading.Lock()
_languages: dict[str, Language | None] = {}
_parsers: dict[str, Parser] = {}
_parse_locks: dict[str, threading.Lock] = {}


def _language(lang: str) -> Language | None:
    """The loaded grammar for `lang`, or None when it is unknown or does not load (cached)."""
    if lang in _languages:
        return _languages[lang]
    record = languages.get(lang)
    if record is None:
        return None
    with _lock:
        if lang in _languages:
            return _languages[lang]
        loaded: Language | None
        try:
            loaded = record.load_grammar()
        except Exception:  # a missing, broken or ABI-incompatible grammar wheel
            loaded = None
        _languages[lang] = loaded
        return loaded


def available_languages() -> list[str]:
    """The language ids whose grammar imports and loads, in a fixed order."""
    return [lang.name for lang in languages.all() if _language(lang.name) is not None]


def get_parser(lang: str) -> Parser | None:
    """The shared parser for `lang` (created once, thread-safe), or None without a grammar.

    A Parser is not safe to use from two threads at once; this module serialises its own use.
    """
    parser = _parsers.get(lang)
    if parser is not None:
        return parser
    language = _language(lang)
    if language is None:
        return None
    with _lock:
        parser = _parsers.get(lang)
        if parser is None:
            parser = Parser(language)
            _parse_locks[lang] = threading.Lock()  # before the parser: _parse() needs it
            _parsers[lang] = parser
        return parser


def _parse(lang: str, data: bytes) -> Tree | None:
    parser = get_parser(lang)
    if parser is None:
        return None
    with _parse_locks[lang]:
        return parser.parse(data)


_last_trees: OrderedDict[tuple[str, str], tuple[bytes, Tree]] = OrderedDict()
_MAX_TREES = 16


def parse_text(lang: str, data: bytes, key: str = "", via: Sequence[bytes] = ()) -> Tree | None:
    """The tree of a buffer's text, reparsed incrementally from the last text of that buffer.

    `key` names the buffer (its path). Successive requests differ by a keystroke, so this
    costs a fraction of a full parse, and every user of the same text (analyze(), the
    definitions) shares one tree. Callers must not edit the returned tree.

    `via` are texts the last one became on its way to `data`, when the caller knows them: the
    change then is several small edits rather than one span from the first to the last (a
    line blanked at one place and restored at another, far away).
    """
    parser = get_parser(lang)
    if parser is None:
        return None
    with _parse_locks[lang]:
        slot = (lang, key)
        with _lock:
            last = _last_trees.get(slot)
        if last is not None and last[0] == data:
            return last[1]
        if last is None:
            tree = parser.parse(data)
        else:
            old = last[1].copy()  # the cached tree stays as it is: readers may hold it
            before = last[0]
            for after in (*via, data):
                if after != before:
                    describe_edit(old, before, after)
                    before = after
            tree = parser.parse(data, old)
        with _lock:
            _last_trees[slot] = (data, tree)
            _last_trees.move_to_end(slot)
            while len(_last_trees) > _MAX_TREES:
                _last_trees.popitem(last=False)
        return tree


def describe_edit(tree: Tree, old: bytes, new: bytes) -> None:
    """Tell `tree` (parsed from `old`) that its text became `new`: one replaced span."""
    start = _common_prefix(old, new)
    tail = _common_suffix(old, new, min(len(old), len(new)) - start)
    tree.edit(
        start_byte=start,
        old_end_byte=len(old) - tail,
        new_end_byte=len(new) - tail,
        start_point=_point(old, start),
        old_end_point=_point(old, len(old) - tail),
        new_end_point=_point(new, len(new) - tail),
    )


def _common_prefix(a: bytes, b: bytes) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search over slice comparisons (memcmp), not a byte loop
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    lo, hi = 0, max(limit, 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


# --------------------------------------------------------------------------------------------
# Node kinds, per language family

_STRING_TYPES = frozenset(
    {
        "string",  # python, javascript/typescript, lua, bash
        "template_string",  # javascript/typescript
        "interpreted_string_literal",  # go
        "raw_string_literal",  # go, rust, c++
        "rune_literal",  # go
        "string_literal",  # rust, c, c++, java
        "char_literal",  # rust, c, c++
        "character_literal",  # java
        "raw_string",  # bash
        "ansi_c_string",  # bash
        "translated_string",  # bash
        "heredoc_body",  # bash
        "system_lib_string",  # c, c++: <stdio.h>
    }
)

# Code nested inside a string: the cursor strictly inside one of these is not "in a string".
_INTERPOLATION_TYPES = frozenset(
    {
        "interpolation",  # python f-strings
        "template_substitution",  # javascript/typescript `${}`
        "command_substitution",  # bash $( )
        "expansion",  # bash ${ }
        "arithmetic_expansion",  # bash $(( ))
        "string_interpolation",  # java string templates
    }
)

# Nodes whose children are statements: the statement containing the cursor is the child of one.
_CONTAINER_TYPES = frozenset(
    {
        # go
        "source_file",
        "block",
        "statement_list",
        "expression_case",
        "default_case",
        "type_case",
        "communication_case",
        # python
        "module",
        # lua
        "chunk",
        # javascript / typescript
        "program",
        "statement_block",
        "class_body",
        "switch_body",
        "switch_case",
        "switch_default",
        "interface_body",
        "enum_body",
        # rust
        "declaration_list",
        "field_declaration_list",
        "match_block",
        # c / c++
        "translation_unit",
        "compound_statement",
        "case_statement",
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        # java
        "constructor_body",
        "enum_body_declarations",
        "switch_block",
        "switch_block_statement_group",
        "annotation_type_body",
        "module_body",
        # bash
        "do_group",
        "if_statement",
        "elif_clause",
        "else_clause",
        "case_item",
        "subshell",
    }
)

# A function that is the value of one of these starts its signature at the binding:
# `const f = (a) => {`, `handler := func(w http.ResponseWriter) {`, `local f = function(x)`.
_BINDING_TYPES = frozenset(
    {
        "variable_declarator",
        "lexical_declaration",
        "variable_declaration",
        "assignment_expression",
        "pair",
        "field_definition",
        "public_field_definition",
        "short_var_declaration",
        "assignment_statement",
        "var_spec",
        "const_spec",
        "export_statement",
    }
)
_BINDING_WRAPPERS = frozenset({"expression_list"})
_BINDABLE_TYPES = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function",
        "generator_function",
        "func_literal",
        "function_definition",
        # `export function f() {`: the export is part of the declaration
        "function_declaration",
        "generator_function_declaration",
    }
)


def _function_types(lang: str) -> frozenset[str]:
    """The functions whose header is shown: the named ones, and the anonymous ones that can be
    bound to a name (`const f = (a) => {`, `handler := func(w http.ResponseWriter) {`)."""
    record = languages.get(lang)
    if record is None:
        return frozenset()
    return record.function_types | (record.lambda_types & _BINDABLE_TYPES)


# Leading children of a function node that are not part of its header.
_DECORATION_TYPES = frozenset(
    {
        "decorator",
        "marker_annotation",
        "annotation",
        "attribute_item",
        "attribute_declaration",
        "comment",
        "line_comment",
        "block_comment",
    }
)

_PARAMETER_TYPES = frozenset(
    {"parameters", "parameter_list", "formal_parameters", "function_declarator"}
)

# Tokens that close a construct: an expression ending with one of them is complete.
_CLOSING_TOKENS = frozenset(
    {
        ")",
        "]",
        "}",
        ";",
        '"',
        "'",
        "`",
        "string_end",
        "end",
        "fi",
        "done",
        "esac",
        "break",
        "continue",
        "pass",
        "fallthrough",
        "++",
        "--",
        "?",
        "*/",
        "]]",
        "))",
    }
)

_PY_COMPOUND_TYPES = frozenset(
    {
        "if_statement",
        "elif_clause",
        "else_clause",
        "for_statement",
        "while_statement",
        "try_statement",
        "except_clause",
        "except_group_clause",
        "finally_clause",
        "with_statement",
        "function_definition",
        "class_definition",
        "match_statement",
        "case_clause",
    }
)
_PY_HEADER_RE = re.compile(
    r"^\s*(?:async\s+)?(?:if|elif|else|for|while|try|except|finally|with|def|class|match|case)\b"
    r".*:\s*$"
)
_LUA_FUNCTION_HEADER_RE = re.compile(r"\bfunction\b[^()]*\([^()]*\)\s*$")

_WHITESPACE = b" \t\r\n\f\v"

# Leaves holding the text of a string: string_content, string_fragment, *_literal_content, ...
_STRING_CONTENT_RE = re.compile(r"string.*(?:content|fragment)$")

# --------------------------------------------------------------------------------------------
# Results


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


def statement_window(
    text: str, lang: str, start: int, cursor: int, end: int, key: str = ""
) -> tuple[int, int]:
    """Move a window [start, end) of rows so it neither starts nor ends inside a multi-line
    string, comment or expression: the start moves down past it, the end up before it (never
    past the cursor row). Unchanged without a grammar."""
    tree = parse_text(lang, utf8.encode(text), key)
    if tree is None:
        return start, end
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


def analyze(text: str, row: int, col: int, lang: str, key: str = "") -> SyntaxInfo | None:
    """Syntax facts at (row, col) of `text`; None when `lang` has no grammar.

    `text` is the buffer's lines joined with "\\n"; `row` is 0-based and `col` a 0-based byte
    column within that line (as Neovim reports it). Positions past the end are clamped.
    """
    data = utf8.encode(text)
    tree = parse_text(lang, data, key)
    if tree is None:
        return None
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
    imports, imports_end_row = _imports(root, data, lang)
    return SyntaxInfo(
        language=lang,
        in_string=in_string,
        in_comment=in_comment,
        mid_expression=mid_expression,
        block_opener=block_opener,
        enclosing_signature=signature,
        enclosing_signature_row=signature_row,
        imports=imports,
        imports_end_row=imports_end_row,
    )


def imports_of(text: str, lang: str, key: str = "") -> str:
    """The package clause and imports of `text` (the head of a file), as SyntaxInfo.imports.
    With a `key` (the buffer's), the parse is cached and incremental like parse_text()."""
    data = utf8.encode(text)
    tree = parse_text(lang, data, key) if key else _parse(lang, data)
    if tree is None:
        return ""
    return _imports(tree.root_node, data, lang)[0]


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


# --------------------------------------------------------------------------------------------
# Positions


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


def with_line_blanked(lines: Sequence[str], row: int, lang: str | None) -> str:
    """The text with line `row` reduced to its indentation, so that what is typed there does
    not change the tree. Python gets `pass` there: its parser reparses far around a
    whitespace-only line (the indentation scanner), a statement keeps the reparse local."""
    line = lines[row]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    blank = indent + "pass" if lang == "python" else indent
    return "\n".join([*lines[:row], blank, *lines[row + 1 :]])


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


# --------------------------------------------------------------------------------------------
# Strings and comments


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


def _line_end(data: bytes, line_start: int) -> int:
    newline = data.find(b"\n", line_start)
    return len(data) if newline < 0 else newline


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
    text = utf8.decode(line)
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and not (lang == "bash" and quote == "'"):
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


# --------------------------------------------------------------------------------------------
# Blocks and expressions


def _opens_block(last: Node | None, line_before: bytes, lang: str) -> bool:
    if last is None:
        return False
    kind = last.type
    stripped = line_before.rstrip(_WHITESPACE)
    record = languages.get(lang)
    if record is not None and record.brace_blocks:
        return kind == "{" or (last.is_error and stripped.endswith(b"{"))
    if lang == "python":
        if kind != ":" and not stripped.endswith(b":"):
            return False
        parent = last.parent
        if kind == ":" and parent is not None and parent.type in _PY_COMPOUND_TYPES:
            return True
        line = utf8.decode(stripped)
        return bool(_PY_HEADER_RE.match(line)) and not line.lstrip().startswith("lambda")
    if lang == "lua":
        if kind in ("then", "do", "else", "repeat"):
            return True
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
    if lang == "bash":
        return kind in ("then", "do", "else", "{")
    return False


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


# --------------------------------------------------------------------------------------------
# Enclosing function


def _enclosing_signature(
    root: Node, data: bytes, off: int, lang: str, line_start: int
) -> tuple[str | None, int | None]:
    if languages.get(lang) is None:
        return None, None
    kinds = _function_types(lang)
    indent = _cursor_indent(data, line_start, off) if lang == "python" else 0
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
    if lang == "python":
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
        if lang == "python":
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
            if lang == "python":
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


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


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


# --------------------------------------------------------------------------------------------
# Imports


def _imports(root: Node, data: bytes, lang: str) -> tuple[str, int]:
    nodes = list(_import_nodes(root, data, lang))
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
