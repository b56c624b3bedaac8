"""Java."""

from __future__ import annotations

from .base import Language, words

__all__ = ["JAVA"]

_QUERY = """
(local_variable_declaration declarator: (variable_declarator name: (identifier) @def))
(formal_parameter name: (identifier) @def)
(spread_parameter (variable_declarator name: (identifier) @def))
(catch_formal_parameter name: (identifier) @def)
(enhanced_for_statement name: (identifier) @def)
(lambda_expression parameters: (identifier) @def)
(inferred_parameters (identifier) @def)
(method_declaration name: (identifier) @def)
(constructor_declaration name: (identifier) @def)
(class_declaration name: (identifier) @def)
(interface_declaration name: (identifier) @def)
(enum_declaration name: (identifier) @def)
(record_declaration name: (identifier) @def)
(type_parameter (type_identifier) @def)
(package_declaration) @import
(import_declaration) @import
(method_invocation name: (identifier) @member)
(field_access field: (identifier) @member)
(identifier) @name
(type_identifier) @type
"""

_FUNCTIONS = frozenset(
    {"method_declaration", "constructor_declaration", "compact_constructor_declaration"}
)

JAVA = Language(
    name="java",
    family="java",
    import_types=frozenset({"package_declaration", "import_declaration"}),
    display_name="Java",
    filetypes=frozenset({"java"}),
    extensions=frozenset({".java"}),
    grammar_module="tree_sitter_java",
    grammar_function="language",
    line_comment="//",
    block_comment=("/*", "*/"),
    string_quotes="\"'",
    # java.lang (imported everywhere), the collections every file uses, and the members of
    # System.out that show up as bare names in half-typed code.
    builtins=words(
        "String Object Integer Long Double Float Boolean Character Byte Short Number System",
        "Math List Map Set ArrayList LinkedList HashMap HashSet TreeMap Arrays Collections",
        "Objects Optional Stream Collectors Exception RuntimeException Override",
        "IllegalArgumentException IllegalStateException NullPointerException Iterable",
        "Iterator Comparable Runnable Thread StringBuilder out err println print printf",
    ),
    keywords=words(
        "this super null true false var abstract assert boolean break byte case catch char",
        "class const continue default do double else enum extends final finally float for",
        "goto if implements import instanceof int interface long native new package private",
        "protected public return short static strictfp switch synchronized throw throws",
        "transient try void volatile while record yield sealed permits",
    ),
    function_types=_FUNCTIONS,
    lambda_types=frozenset({"lambda_expression"}),
    brace_blocks=True,
    definitions_query=_QUERY,
    scope_types=_FUNCTIONS | {"lambda_expression", "class_body", "interface_body"},
    siblings="package",
    sibling_extensions=frozenset({".java"}),
)
