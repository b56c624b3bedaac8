"""Go."""

from __future__ import annotations

from .base import Language, words

__all__ = ["GO", "package_name"]


def package_name(import_path: str) -> str:
    """The name a Go package is used by when its import names none, as goimports assumes it
    (ImportPathToAssumedName): the last path element, the one before it when that is a major
    version `vN`, without a leading `go-`, cut at the first character that cannot be in an
    identifier. "gopkg.in/yaml.v3" -> "yaml", "github.com/x/kit-go" -> "kit",
    "github.com/go-chi/chi/v5" -> "chi"."""
    parts = import_path.split("/")
    base = parts[-1]
    if len(parts) > 1 and base[:1] == "v" and base[1:].isdigit():
        base = parts[-2]
    base = base.removeprefix("go-")
    for i, ch in enumerate(base):
        if not (ch == "_" or ch.isalnum()):
            return base[:i]
    return base


_QUERY = """
(short_var_declaration left: (expression_list (identifier) @def))
(parameter_declaration name: (identifier) @def)
(variadic_parameter_declaration name: (identifier) @def)
(var_spec name: (identifier) @def)
(const_spec name: (identifier) @def)
(range_clause left: (expression_list (identifier) @def))
(type_spec name: (type_identifier) @def)
(type_alias name: (type_identifier) @def)
(type_parameter_declaration name: (identifier) @def)
(function_declaration name: (identifier) @def)
(method_declaration name: (field_identifier) @def)
(type_switch_statement alias: (expression_list (identifier) @def))
(receive_statement left: (expression_list (identifier) @def))
(keyed_element key: (literal_element (identifier) @key))
(qualified_type name: (type_identifier) @skip)
(selector_expression field: (field_identifier) @member)
(identifier) @name
(type_identifier) @type
"""

_FUNCTIONS = frozenset({"function_declaration", "method_declaration"})

GO = Language(
    name="go",
    family="go",
    import_types=frozenset({"package_clause", "import_declaration"}),
    imports_first=True,
    raw_quotes="`",
    display_name="Go",
    filetypes=frozenset({"go"}),
    extensions=frozenset({".go"}),
    grammar_module="tree_sitter_go",
    grammar_function="language",
    line_comment="//",
    block_comment=("/*", "*/"),
    string_quotes="\"'`",
    builtins=words(
        # types
        "any bool byte comparable complex64 complex128 error float32 float64 int int8 int16",
        "int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr",
        # constants and the zero value
        "true false iota nil",
        # functions
        "append cap clear close complex copy delete imag len make max min new panic print",
        "println real recover",
    ),
    keywords=words(
        "break case chan const continue default defer else fallthrough for func go goto if",
        "import interface map package range return select struct switch type var",
    ),
    function_types=_FUNCTIONS,
    lambda_types=frozenset({"func_literal"}),
    brace_blocks=True,
    preludes=(("}", b"{\n"),),
    definitions_query=_QUERY,
    scope_types=_FUNCTIONS | {"func_literal", "type_parameter_list"},
    operand_field="operand",
    siblings="package",
    sibling_extensions=frozenset({".go"}),
    package_name=package_name,
)
