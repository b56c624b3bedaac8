"""Lua."""

from __future__ import annotations

from .base import Language, words

__all__ = ["LUA"]

_QUERY = """
(variable_declaration (assignment_statement (variable_list name: (identifier) @def)))
(variable_declaration (variable_list name: (identifier) @def))
(parameters name: (identifier) @def)
(for_generic_clause (variable_list name: (identifier) @def))
(for_numeric_clause name: (identifier) @def)
(function_declaration name: (identifier) @def)
(dot_index_expression field: (identifier) @member)
(method_index_expression method: (identifier) @member)
(field name: (identifier) @key)
(identifier) @name
"""

LUA = Language(
    name="lua",
    family="lua",
    require_types=frozenset({"variable_declaration", "assignment_statement"}),
    display_name="Lua",
    filetypes=frozenset({"lua"}),
    extensions=frozenset({".lua"}),
    grammar_module="tree_sitter_lua",
    grammar_function="language",
    line_comment="--",
    block_comment=("--[[", "]]"),
    string_quotes="\"'",
    # The base library, the standard modules, and Neovim's `vim` (this is a Neovim plugin's
    # engine: most Lua it sees is Neovim configuration and plugins).
    builtins=words(
        "self _G _VERSION assert collectgarbage dofile error getmetatable ipairs load loadfile",
        "next pairs pcall print rawequal rawget rawlen rawset require select setmetatable",
        "tonumber tostring type unpack xpcall string table math io os coroutine utf8 debug",
        "package vim",
    ),
    keywords=words(
        "and break do else elseif end false for function goto if in local nil not or repeat",
        "return then true until while",
    ),
    function_types=frozenset({"function_declaration"}),
    lambda_types=frozenset({"function_definition"}),
    brace_blocks=False,
    block_tokens=(frozenset({"function", "if", "do", "repeat"}), frozenset({"end", "until"})),
    keyword_blocks=(
        ("then", frozenset({"end"})),
        ("do", frozenset({"end"})),
        ("else", frozenset({"end"})),
        ("repeat", frozenset({"until"})),
    ),
    block_openers=(
        ("function", "end", "end"),
        ("if", "end", "end"),
        ("do", "end", "end"),
        ("repeat", "until", "until true"),
    ),
    preludes=(("end", b"do\n"),),
    definitions_query=_QUERY,
    scope_types=frozenset({"function_declaration", "function_definition"}),
    operand_field="table",
    siblings="imports",
    sibling_extensions=frozenset({".lua"}),
)
