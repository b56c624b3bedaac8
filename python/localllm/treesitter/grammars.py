"""Languages and grammars: which language a buffer is in, its loaded grammar, a parser.

Every grammar is an optional wheel (``tree_sitter_go`` …); one that fails to import or load makes
its language unavailable (None here, never an exception). Also how to tell a tree its text
changed (`describe_edit`), for an incremental reparse.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tree_sitter import Language, Parser, Tree

from .. import languages

# File extension (lower case, with the dot) -> language id; derived from the registry.
EXTENSIONS: dict[str, str] = {ext: lang.name for lang in languages.all() for ext in lang.extensions}


def language_for(filetype: str, path: str = "") -> str | None:
    """Our language id for a buffer: by Neovim filetype first, else by the file's extension.

    Returns one of the registry's ids ("go", "python", "tsx" …, see `languages`); None for
    anything else (zsh included: it is not bash).
    """
    lang = languages.for_buffer(filetype, path)
    return None if lang is None else lang.name


# A tree asked for only when needed (a Document's, parsed on first use).
TreeOf = Callable[[], "Tree | None"]

_lock = threading.Lock()
_languages: dict[str, Language | None] = {}
_parsers: dict[str, Parser] = {}
_parse_locks: dict[str, threading.Lock] = {}


def _language(lang: str) -> Language | None:
    """The loaded grammar for `lang`, or None when it is unknown or does not load (cached)."""
    if lang in _languages:
        return _languages[lang]
    record = languages.get(lang)
    if record is None:
        return None
    with _lock:
        if lang in _languages:
            return _languages[lang]
        loaded: Language | None
        try:
            loaded = record.load_grammar()
        except Exception:  # a missing, broken or ABI-incompatible grammar wheel
            loaded = None
        _languages[lang] = loaded
        return loaded


def available_languages() -> list[str]:
    """The language ids whose grammar imports and loads, in a fixed order."""
    return [lang.name for lang in languages.all() if _language(lang.name) is not None]


def get_parser(lang: str) -> Parser | None:
    """The shared parser for `lang` (created once, thread-safe), or None without a grammar.

    A Parser is not safe to use from two threads at once; this module serialises its own use.
    """
    parser = _parsers.get(lang)
    if parser is not None:
        return parser
    language = _language(lang)
    if language is None:
        return None
    with _lock:
        parser = _parsers.get(lang)
        if parser is None:
            parser = Parser(language)
            _parse_locks[lang] = threading.Lock()  # before the parser: _parse() needs it
            _parsers[lang] = parser
        return parser


def parse(lang: str, data: bytes, old: Tree | None = None) -> Tree | None:
    """The tree of `data` with the shared parser; None without a grammar. With `old` (a tree
    of the text before, already told of the edits with `Tree.edit`), an incremental reparse."""
    parser = get_parser(lang)
    if parser is None:
        return None
    with _parse_locks[lang]:
        return parser.parse(data) if old is None else parser.parse(data, old)


_parse = parse


def describe_edit(tree: Tree, old: bytes, new: bytes) -> None:
    """Tell `tree` (parsed from `old`) that its text became `new`: one replaced span."""
    start = _common_prefix(old, new)
    tail = _common_suffix(old, new, min(len(old), len(new)) - start)
    tree.edit(
        start_byte=start,
        old_end_byte=len(old) - tail,
        new_end_byte=len(new) - tail,
        start_point=_point(old, start),
        old_end_point=_point(old, len(old) - tail),
        new_end_point=_point(new, len(new) - tail),
    )


def _common_prefix(a: bytes, b: bytes) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search over slice comparisons (memcmp), not a byte loop
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    lo, hi = 0, max(limit, 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


class OwnParsers:
    """Parsers of one user's own, one per language, each with the lock that serialises its
    use (a Parser is not thread-safe): for work that must not wait for the shared parsers
    (files on disk, the syntax check of a suggestion)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsers: dict[str, tuple[Parser, threading.Lock]] = {}

    def get(self, lang: str) -> tuple[Parser, threading.Lock] | None:
        """The parser for `lang` and its lock (made on first use), or None without a grammar."""
        found = self._parsers.get(lang)
        if found is not None:
            return found
        language = _language(lang)
        if language is None:
            return None
        with self._lock:
            found = self._parsers.get(lang)
            if found is None:
                found = (Parser(language), threading.Lock())
                self._parsers[lang] = found
            return found

    def parse(self, lang: str, data: bytes) -> Tree | None:
        """A full parse of `data` with this user's parser; None without a grammar."""
        found = self.get(lang)
        if found is None:
            return None
        parser, lock = found
        with lock:
            return parser.parse(data)
