"""Strings in text that may not parse: a simple quote scan shared by the log-line rule and the
syntax check (tree-sitter knows the real syntax; this is for half-written code)."""

from __future__ import annotations

__all__ = ["unquoted"]


def unquoted(text: str, quotes: str = "\"'`") -> tuple[str, str]:
    """The characters of `text` outside its strings (the quotes left out), and the quote of a
    string still open at the end ("" when none). A simple scan for text that may not parse:
    any of `quotes` opens a string that the same quote closes, backslash escapes inside; no
    comments, prefixes or raw strings (`tokenize` knows those)."""
    code: list[str] = []
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in quotes:
            quote = ch
        else:
            code.append(ch)
    return "".join(code), quote
