"""Bash (and sh, read as bash)."""

from __future__ import annotations

from .base import Language, words

__all__ = ["BASH"]

BASH = Language(
    name="bash",
    family="bash",
    import_commands=frozenset({"source", "."}),
    raw_quotes="'",
    display_name="Bash",
    filetypes=frozenset({"sh", "bash"}),
    extensions=frozenset({".sh", ".bash"}),
    grammar_module="tree_sitter_bash",
    grammar_function="language",
    line_comment="#",
    block_comment=None,
    string_quotes="\"'",
    builtins=words(
        "alias bg bind break builtin caller cd command compgen complete continue declare dirs",
        "disown echo enable eval exec exit export false fc fg getopts hash help history jobs",
        "kill let local logout mapfile popd printf pushd pwd read readarray readonly return set",
        "shift shopt source suspend test times trap true type typeset ulimit umask unalias",
        "unset wait",
    ),
    keywords=words(
        "if then else elif fi case esac for select while until do done in function time"
    ),
    function_types=frozenset({"function_definition"}),
    lambda_types=frozenset(),
    brace_blocks=False,
    block_tokens=(frozenset({"{", "if", "do", "case"}), frozenset({"}", "fi", "done", "esac"})),
    keyword_blocks=(
        ("then", frozenset({"fi"})),
        ("else", frozenset({"fi"})),
        ("do", frozenset({"done"})),
    ),
    comment_at_word=True,
    block_openers=(
        ("$(", ")", ")"),
        ("${", "}", "}"),
        ("if", "fi", "fi"),
        ("do", "done", "done"),
        ("case", "esac", "esac"),
    ),
)
