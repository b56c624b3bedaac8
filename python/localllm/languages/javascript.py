"""JavaScript, TypeScript and TSX: one family, three grammars."""

from __future__ import annotations

from dataclasses import replace

from .base import Language, words

__all__ = ["JAVASCRIPT", "TSX", "TYPESCRIPT"]

_QUERY = """
(variable_declarator name: (identifier) @def)
(arrow_function parameter: (identifier) @def)
(shorthand_property_identifier_pattern) @def
(pair_pattern value: (identifier) @def)
(array_pattern (identifier) @def)
(assignment_pattern left: (identifier) @def)
(rest_pattern (identifier) @def)
(function_declaration name: (identifier) @def)
(generator_function_declaration name: (identifier) @def)
(function_expression name: (identifier) @def)
(class_declaration name: (_) @def)
(catch_clause parameter: (identifier) @def)
(for_in_statement left: (identifier) @def)
(import_statement) @import
(member_expression property: (property_identifier) @member)
(identifier) @name
"""
_TS_QUERY = (
    _QUERY
    + """
(required_parameter pattern: (identifier) @def)
(optional_parameter pattern: (identifier) @def)
(interface_declaration name: (type_identifier) @def)
(type_alias_declaration name: (type_identifier) @def)
(enum_declaration name: (identifier) @def)
(type_parameter name: (type_identifier) @def)
(type_identifier) @type
"""
)

_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "method_definition"}
)
_LAMBDAS = frozenset({"function_expression", "function", "generator_function", "arrow_function"})
_JS_EXTENSIONS = frozenset({".js", ".mjs", ".cjs", ".jsx"})
_TS_EXTENSIONS = frozenset({".ts", ".mts", ".cts"})

JAVASCRIPT = Language(
    name="javascript",
    family="javascript",
    import_types=frozenset({"import_statement"}),
    require_types=frozenset({"lexical_declaration", "variable_declaration"}),
    display_name="JavaScript",
    filetypes=frozenset({"javascript", "javascriptreact"}),
    extensions=_JS_EXTENSIONS,
    grammar_module="tree_sitter_javascript",
    grammar_function="language",
    line_comment="//",
    block_comment=("/*", "*/"),
    string_quotes="\"'`",
    builtins=words(
        "undefined null true false NaN Infinity this super arguments globalThis",
        # the language's global objects and functions
        "Object Array String Number Boolean Symbol BigInt Map Set WeakMap WeakSet Promise JSON",
        "Math Date RegExp Error TypeError RangeError SyntaxError Reflect Proxy Intl parseInt",
        "parseFloat isNaN isFinite encodeURIComponent decodeURIComponent",
        # the globals browsers and Node share
        "console setTimeout clearTimeout setInterval clearInterval queueMicrotask fetch URL",
        "structuredClone performance crypto",
        # the browser's and Node's own
        "window document process Buffer require module exports __dirname __filename",
    ),
    keywords=words(
        "new typeof instanceof void delete in of let const var function class return if else",
        "for while do switch case break continue default throw try catch finally async await",
        "yield import export from as extends static get set",
    ),
    function_types=_FUNCTIONS,
    lambda_types=_LAMBDAS,
    brace_blocks=True,
    block_openers=(("${", "}", "}"),),  # a template string's substitution
    preludes=(("}", b"{\n"),),
    definitions_query=_QUERY,
    scope_types=_FUNCTIONS | _LAMBDAS | {"class_body"},
    siblings="imports",
    sibling_extensions=_JS_EXTENSIONS | _TS_EXTENSIONS | {".tsx"},
)

_TS_BUILTINS = JAVASCRIPT.builtins | words(
    "any unknown never string number boolean object symbol bigint",
    "Partial Required Readonly Record Pick Omit Exclude Extract NonNullable ReturnType",
    "Parameters InstanceType Awaited Iterable AsyncIterable",
)
_TS_KEYWORDS = JAVASCRIPT.keywords | words(
    "readonly keyof infer is satisfies declare namespace type interface enum implements",
    "private public protected abstract",
)

TYPESCRIPT = replace(
    JAVASCRIPT,
    name="typescript",
    display_name="TypeScript",
    filetypes=frozenset({"typescript"}),
    extensions=_TS_EXTENSIONS,
    grammar_module="tree_sitter_typescript",
    grammar_function="language_typescript",
    builtins=_TS_BUILTINS,
    keywords=_TS_KEYWORDS,
    definitions_query=_TS_QUERY,
)

TSX = replace(
    TYPESCRIPT,
    name="tsx",
    display_name="TSX",
    filetypes=frozenset({"typescriptreact"}),
    extensions=frozenset({".tsx"}),
    grammar_function="language_tsx",
)
