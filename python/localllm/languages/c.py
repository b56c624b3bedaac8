"""C and C++: one family, two grammars."""

from __future__ import annotations

from dataclasses import replace

from .base import Language, words

__all__ = ["CPP", "C"]

_QUERY = """
(declaration declarator: (identifier) @def)
(init_declarator declarator: (identifier) @def)
(parameter_declaration declarator: (identifier) @def)
(pointer_declarator declarator: (identifier) @def)
(array_declarator declarator: (identifier) @def)
(function_declarator declarator: (identifier) @def)
(preproc_include) @import
(field_expression field: (field_identifier) @member)
(identifier) @name
(type_identifier) @type
"""
_CPP_QUERY = (
    _QUERY
    + """
(reference_declarator (identifier) @def)
(for_range_loop declarator: (identifier) @def)
(qualified_identifier scope: (namespace_identifier) name: (_) @skip)
(using_declaration) @import
"""
)
_SCOPES = frozenset(
    {"function_definition", "lambda_expression", "field_declaration_list", "template_declaration"}
)

C = Language(
    name="c",
    family="c",
    import_types=frozenset({"preproc_include"}),
    import_containers=frozenset(
        {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"}
    ),
    display_name="C",
    filetypes=frozenset({"c"}),
    extensions=frozenset({".c", ".h"}),
    grammar_module="tree_sitter_c",
    grammar_function="language",
    line_comment="//",
    block_comment=("/*", "*/"),
    string_quotes="\"'",
    # The standard library's most used types, macros and functions (their headers are included
    # in nearly every file, and their definitions are not worth showing).
    builtins=words(
        "NULL true false bool size_t ssize_t ptrdiff_t intptr_t uintptr_t int8_t int16_t",
        "int32_t int64_t uint8_t uint16_t uint32_t uint64_t FILE EOF stdin stdout stderr errno",
        "printf fprintf sprintf snprintf puts fputs scanf malloc calloc realloc free memcpy",
        "memset memmove memcmp strlen strcmp strncmp strcpy strncpy strcat strdup exit abort",
        "assert",
    ),
    keywords=words(
        "auto break case char const continue default do double else enum extern float for goto",
        "if inline int long register restrict return short signed sizeof static struct switch",
        "typedef union unsigned void volatile while",
    ),
    function_types=frozenset({"function_definition"}),
    lambda_types=frozenset(),
    brace_blocks=True,
    definitions_query=_QUERY,
    scope_types=_SCOPES,
    operand_field="argument",
    header_extensions=frozenset({".h", ".hh", ".hpp", ".hxx", ".h++", ".inc", ".ipp", ".tpp"}),
)

CPP = replace(
    C,
    name="cpp",
    display_name="C++",
    filetypes=frozenset({"cpp"}),
    extensions=frozenset({".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp"}),
    grammar_module="tree_sitter_cpp",
    builtins=C.builtins
    | words(
        "std string vector map unordered_map set unordered_set array pair tuple unique_ptr",
        "shared_ptr weak_ptr make_unique make_shared make_pair move forward cout cin cerr endl",
        "optional variant function size begin end push_back emplace_back",
    ),
    keywords=C.keywords
    | words(
        "nullptr this class namespace template typename public private protected virtual",
        "override final new delete operator using constexpr noexcept decltype",
    ),
    lambda_types=frozenset({"lambda_expression"}),
    definitions_query=_CPP_QUERY,
)
