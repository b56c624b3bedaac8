"""Rust."""

from __future__ import annotations

from .base import Language, words

__all__ = ["RUST"]

_QUERY = """
(let_declaration pattern: (identifier) @def)
(parameter pattern: (identifier) @def)
(closure_parameters (identifier) @def)
(tuple_pattern (identifier) @def)
(for_expression pattern: (identifier) @def)
(function_item name: (identifier) @def)
(struct_item name: (type_identifier) @def)
(enum_item name: (type_identifier) @def)
(trait_item name: (type_identifier) @def)
(type_item name: (type_identifier) @def)
(type_parameter name: (type_identifier) @def)
(const_item name: (identifier) @def)
(static_item name: (identifier) @def)
(use_declaration) @import
(field_expression field: (field_identifier) @member)
(scoped_identifier name: (identifier) @member)
(identifier) @name
(type_identifier) @type
"""

RUST = Language(
    name="rust",
    family="rust",
    import_types=frozenset({"use_declaration", "extern_crate_declaration"}),
    bodiless_imports=frozenset({"mod_item"}),
    display_name="Rust",
    filetypes=frozenset({"rust"}),
    extensions=frozenset({".rs"}),
    grammar_module="tree_sitter_rust",
    grammar_function="language",
    line_comment="//",
    block_comment=("/*", "*/"),
    string_quotes='"',  # `'` opens a char literal or is a lifetime
    # What every module can name without a `use`: the primitive types, the crate roots, the
    # std prelude (its types, variants and traits) and std's macros. Arc, HashMap, BTreeMap …
    # are not among them: they need a `use`, which puts them in scope like any other name.
    builtins=words(
        "self Self crate super std core alloc",
        "i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool char str",
        "true false Option Some None Result Ok Err Box String Vec ToString ToOwned",
        "Clone Copy Send Sync Sized Unpin Fn FnMut FnOnce Drop Default Debug Hash Iterator",
        "IntoIterator DoubleEndedIterator ExactSizeIterator Extend FromIterator From Into",
        "TryFrom TryInto AsRef AsMut PartialEq Eq PartialOrd Ord",
        "println print eprintln eprint format format_args vec assert assert_eq assert_ne",
        "debug_assert debug_assert_eq debug_assert_ne panic write writeln todo unimplemented",
        "unreachable dbg matches concat stringify line file column env include_str",
    ),
    keywords=words(
        "as async await break const continue dyn else enum extern fn for if impl in let loop",
        "match mod move mut pub ref return static struct trait type unsafe use where while",
    ),
    function_types=frozenset({"function_item"}),
    lambda_types=frozenset({"closure_expression"}),
    brace_blocks=True,
    preludes=(("}", b"{\n"),),
    lifetimes=True,
    definitions_query=_QUERY,
    scope_types=frozenset({"function_item", "closure_expression", "impl_item", "trait_item"}),
    operand_field="value",
    sibling_extensions=frozenset({".rs"}),
)
