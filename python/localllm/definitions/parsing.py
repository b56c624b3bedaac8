"""This package's own parsers and queries (see the package docstring on thread safety)."""

from __future__ import annotations

import threading

from tree_sitter import Parser, Query, Tree

from .. import treesitter, utf8
from .extractors import RECORDS

__all__ = ["encode", "parse_buffer", "parse_file", "query"]

_lock = threading.Lock()
_parsers: dict[str, tuple[Parser, threading.Lock]] = {}
_queries: dict[str, Query] = {}


def _parser(lang: str) -> tuple[Parser, threading.Lock] | None:
    """This package's own parser for files on disk in `lang`, and its lock."""
    found = _parsers.get(lang)
    if found is not None:
        return found
    shared = treesitter.get_parser(lang)
    language = None if shared is None else shared.language
    if language is None:
        return None
    with _lock:
        found = _parsers.get(lang)
        if found is None:
            found = (Parser(language), threading.Lock())
            _parsers[lang] = found
        return found


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


def parse_file(lang: str, data: bytes) -> Tree | None:
    found = _parser(lang)
    if found is None:
        return None
    parser, lock = found
    with lock:
        return parser.parse(data)


def encode(text: str) -> bytes:
    return utf8.encode(text)  # as treesitter.analyze()
