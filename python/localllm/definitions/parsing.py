"""This package's queries, and the buffer's tree (see the package docstring on thread safety)."""

from __future__ import annotations

from tree_sitter import Query, Tree

from .. import treesitter, utf8
from .extractors import RECORDS

__all__ = ["encode", "parse_buffer", "query"]

_queries: dict[str, Query] = {}


def query(lang: str) -> Query | None:
    """The language's definitions query (see `near`), compiled once."""
    compiled = _queries.get(lang)
    if compiled is None and lang in RECORDS:
        shared = treesitter.get_parser(lang)
        language = None if shared is None else shared.language
        if language is None:
            return None
        compiled = Query(language, RECORDS[lang].definitions_query)
        _queries[lang] = compiled
    return compiled


def parse_buffer(lang: str, data: bytes, tree: Tree | None = None) -> Tree | None:
    """The buffer's tree: `tree` when the caller has it (its Document's), else parsed."""
    return tree if tree is not None else treesitter.parse(lang, data)


def encode(text: str) -> bytes:
    return utf8.encode(text)  # as treesitter.analyze()
