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

The modules: `grammars` (languages, grammars, parsers), `analysis` (the public analyses),
`syntax` (strings, comments, blocks), `signature` (the enclosing function), `imports`, `kinds`
(node types) and `nodes` (positions, walks). No tree is cached here: a request's trees live
in its `localllm.document.Document`.
"""

from __future__ import annotations

from .analysis import (
    SyntaxInfo,
    analyze,
    analyze_tree,
    count_errors,
    imports_in_tree,
    imports_of,
    parse_errors,
    statement_window,
    window_in_tree,
    with_line_blanked,
)
from .grammars import (
    EXTENSIONS,
    OwnParsers,
    TreeOf,
    available_languages,
    describe_edit,
    get_parser,
    language_for,
    parse,
)
from .nodes import ancestors

__all__ = [
    "EXTENSIONS",
    "OwnParsers",
    "SyntaxInfo",
    "TreeOf",
    "analyze",
    "analyze_tree",
    "ancestors",
    "available_languages",
    "count_errors",
    "describe_edit",
    "get_parser",
    "imports_in_tree",
    "imports_of",
    "language_for",
    "parse",
    "parse_errors",
    "statement_window",
    "window_in_tree",
    "with_line_blanked",
]
