"""The record of what the engine knows about one language (see the package docstring)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: envcheck reads these records on a Python without it
    from tree_sitter import Language as Grammar

__all__ = ["BRACES", "Language", "words"]

# The block tokens of a brace language: what opens and closes a block in an ERROR node's tokens.
BRACES: tuple[frozenset[str], frozenset[str]] = (frozenset({"{"}), frozenset({"}"}))


def words(*groups: str) -> frozenset[str]:
    """The whitespace-separated words of `groups`, as a set."""
    return frozenset(word for group in groups for word in group.split())


@dataclass(frozen=True, slots=True)
class Language:
    """Everything the engine asks about one language. Frozen: one shared record per language.

    Node kinds are tree-sitter node types of this language's grammar. Empty sets are fine where
    the language has no such thing (C has no anonymous functions); `test_languages.py` checks
    which fields every record must fill.
    """

    name: str  # our language id: "go", "typescript", "cpp"
    family: str  # the module it lives in: "javascript" for typescript and tsx, "c" for cpp
    display_name: str  # for people and for the explain prompt: "C++"
    filetypes: frozenset[str]  # Neovim 'filetype' values
    extensions: frozenset[str]  # lower case, with the dot
    grammar_module: str  # the tree-sitter grammar wheel's module: "tree_sitter_go"
    grammar_function: str  # the function of that module returning the TSLanguage pointer
    line_comment: str  # "//", "#", "--"
    block_comment: tuple[str, str] | None  # ("/*", "*/"); None: the language has none
    string_quotes: str  # characters that open a string on one line: "\"'`"
    builtins: frozenset[str]  # predeclared names: types, constants, functions, known globals
    keywords: frozenset[str]  # reserved words (half-typed code can parse them as identifiers)
    function_types: frozenset[str]  # named functions and methods: the ones with a header
    lambda_types: frozenset[str]  # anonymous functions: closures, lambdas, arrow functions
    # Syntax of blocks, for text that does not parse (yet):
    brace_blocks: bool  # blocks are `{ ... }`
    block_tokens: tuple[frozenset[str], frozenset[str]] = BRACES  # tokens opening / closing one
    keyword_blocks: tuple[tuple[str, frozenset[str]], ...] = ()  # line-ending word -> closers
    colon_blocks: bool = False  # a line ending in `:` opens a block (Python)
    offside: bool = False  # a block ends where the indentation does, not at a token (Python)
    blank_statement: str = ""  # what holds a blank line's place as a statement (Python: pass)
    comment_at_word: bool = False  # the comment marker counts only at a word's start (shells)
    lifetimes: bool = False  # `'a` is a lifetime, not a string (Rust)
    raw_quotes: str = ""  # quotes inside which a backslash escapes nothing: Go's "`", sh's "'"
    # Openers of blocks besides the brackets: (opener, closer, text appended to close it).
    block_openers: tuple[tuple[str, str, str], ...] = ()
    # (closer, what opens a block for it at the start of a document, where that is valid code).
    preludes: tuple[tuple[str, bytes], ...] = ()
    # Definitions (definitions.py); an empty query: the language has no definition lookup.
    definitions_query: str = ""  # captures: see definitions.py
    scope_types: frozenset[str] = frozenset()  # nodes whose bindings are local to them
    operand_field: str = "object"  # the field of a member access holding the object
    siblings: str = ""  # "package": sibling files of the same package count; "imports": the
    # sibling files the buffer imports; "": only the files definitions_in_folder is told
    sibling_extensions: frozenset[str] = frozenset()  # sibling files read in their own language
    header_extensions: frozenset[str] = frozenset()  # sibling headers read as the includer
    # The file's imports, which the prompt shows above a window that starts below them:
    import_types: frozenset[str] = frozenset()  # top-level nodes that are imports
    require_types: frozenset[str] = frozenset()  # ... when their value calls `require(...)`
    bodiless_imports: frozenset[str] = frozenset()  # ... when they have no body (`mod x;`)
    import_commands: frozenset[str] = frozenset()  # commands that import a file (`source`)
    import_containers: frozenset[str] = frozenset()  # nodes imports may nest in (`#ifdef`)
    imports_first: bool = False  # imports end at the first other declaration (Go)
    # Go: the name an import path is used by when the import gives none.
    package_name: Callable[[str], str] | None = field(default=None, compare=False)

    def load_grammar(self) -> Grammar:
        """The tree-sitter grammar, loaded from its wheel. Raises when it is missing or broken
        (callers cache the result and treat a failure as "no grammar")."""
        from tree_sitter import Language as Grammar

        module = importlib.import_module(self.grammar_module)
        return Grammar(getattr(module, self.grammar_function)())
