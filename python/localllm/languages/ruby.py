"""Ruby."""

from __future__ import annotations

from .base import Language, words

__all__ = ["RUBY"]

_QUERY = """
(assignment left: (identifier) @def)
(operator_assignment left: (identifier) @def)
(left_assignment_list (identifier) @def)
(method_parameters (identifier) @def)
(optional_parameter name: (identifier) @def)
(keyword_parameter name: (identifier) @def)
(splat_parameter name: (identifier) @def)
(block_parameters (identifier) @def)
(for pattern: (identifier) @def)
(block_parameter name: (identifier) @def)
(method name: (identifier) @def)
(singleton_method name: (identifier) @def)
(call method: (identifier) @member)
(identifier) @name
"""

RUBY = Language(
    name="ruby",
    family="ruby",
    display_name="Ruby",
    filetypes=frozenset({"ruby"}),
    extensions=frozenset({".rb", ".rake", ".gemspec"}),
    grammar_module="tree_sitter_ruby",
    grammar_function="language",
    line_comment="#",
    block_comment=("=begin", "=end"),
    string_quotes="\"'",
    # Kernel's methods a script calls without a receiver, and the names every file can use.
    builtins=words(
        "self puts print p pp require require_relative raise loop lambda proc format sprintf",
        "gets sleep rand srand exit abort at_exit catch throw binding block_given? caller",
        "attr_reader attr_writer attr_accessor include extend prepend private public protected",
        "Integer Float String Array Hash Symbol Proc Kernel Object Comparable Enumerable",
        "StandardError RuntimeError ArgumentError TypeError NameError NoMethodError IOError",
        "ENV ARGV STDIN STDOUT STDERR __FILE__ __LINE__ __dir__ __method__",
    ),
    keywords=words(
        "BEGIN END alias and begin break case class def defined? do else elsif end ensure",
        "false for if in module next nil not or redo rescue retry return self super then true",
        "undef unless until when while yield",
    ),
    function_types=frozenset({"method", "singleton_method"}),
    lambda_types=frozenset({"lambda", "block", "do_block"}),
    brace_blocks=False,
    block_tokens=(
        frozenset({"def", "class", "module", "if", "unless", "while", "until", "case", "do"}),
        frozenset({"end"}),
    ),
    keyword_blocks=(("do", frozenset({"end"})), ("then", frozenset({"end"}))),
    block_openers=(
        ("def", "end", "end"),
        ("class", "end", "end"),
        ("module", "end", "end"),
        ("if", "end", "end"),
        ("do", "end", "end"),
    ),
    definitions_query=_QUERY,
    scope_types=frozenset({"method", "singleton_method", "block", "do_block", "lambda"}),
    operand_field="receiver",
    siblings="imports",
    sibling_extensions=frozenset({".rb"}),
)
