"""Node kinds, per language family: strings, containers, bindings, decorations, closers."""

from __future__ import annotations

import re

from .. import languages

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
