"""Python."""

from __future__ import annotations

import builtins as _builtins
import keyword

from .base import Language

__all__ = ["PYTHON"]

_QUERY = """
(assignment left: (identifier) @def)
(pattern_list (identifier) @def)
(tuple_pattern (identifier) @def)
(list_pattern (identifier) @def)
(list_splat_pattern (identifier) @def)
(dictionary_splat_pattern (identifier) @def)
(for_statement left: (identifier) @def)
(for_in_clause left: (identifier) @def)
(as_pattern_target (identifier) @def)
(as_pattern_target (tuple (identifier) @def))
(parameters (identifier) @def)
(lambda_parameters (identifier) @def)
(typed_parameter . (identifier) @def)
(default_parameter name: (identifier) @def)
(typed_default_parameter name: (identifier) @def)
(function_definition name: (identifier) @def)
(class_definition name: (identifier) @def)
(named_expression name: (identifier) @def)
(keyword_argument name: (identifier) @skip)
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
(attribute attribute: (identifier) @member)
(identifier) @name
"""

PYTHON = Language(
    name="python",
    family="python",
    import_types=frozenset(
        {"import_statement", "import_from_statement", "future_import_statement"}
    ),
    display_name="Python",
    filetypes=frozenset({"python"}),
    extensions=frozenset({".py", ".pyi", ".pyw"}),
    grammar_module="tree_sitter_python",
    grammar_function="language",
    line_comment="#",
    block_comment=None,
    string_quotes="\"'",
    # The builtins module (its dunders too: __import__, __debug__, __doc__ …), a module's own
    # globals, and the names a method's first parameter has by convention.
    builtins=frozenset({*dir(_builtins), "__file__", "__name__", "self", "cls"}),
    keywords=frozenset({*keyword.kwlist, *keyword.softkwlist}),
    function_types=frozenset({"function_definition"}),
    lambda_types=frozenset({"lambda"}),
    brace_blocks=False,
    colon_blocks=True,
    offside=True,
    blank_statement="pass",
    definitions_query=_QUERY,
    scope_types=frozenset(
        {
            "function_definition",
            "lambda",
            "class_definition",
            "list_comprehension",
            "set_comprehension",
            "dictionary_comprehension",
            "generator_expression",
        }
    ),
    siblings="imports",
    sibling_extensions=frozenset({".py"}),
)
