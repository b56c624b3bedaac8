"""The extractor of each language that has a definitions query, by language id: the record's
family names the `lang_<family>.py` module (TypeScript reads as JavaScript, C++ as C). A
family without a module (yet) gets the neutral extractor: its query finds the identifiers
near the cursor, but no file defines anything."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from .. import languages
from . import lang_c, lang_go, lang_java, lang_javascript, lang_lua, lang_python, lang_rust
from .model import Extractor, Found

__all__ = ["EXTRACTORS", "IMPORTING", "PACKAGED", "RECORDS"]

_BY_FAMILY: dict[str, Extractor] = {
    "go": lang_go.EXTRACTOR,
    "python": lang_python.EXTRACTOR,
    "javascript": lang_javascript.EXTRACTOR,
    "rust": lang_rust.EXTRACTOR,
    "java": lang_java.EXTRACTOR,
    "c": lang_c.EXTRACTOR,
    "lua": lang_lua.EXTRACTOR,
}


def _defines_nothing(_node: Node, _data: bytes, _path: str, _found: Found, _lang: str) -> None:
    return None


def _binds_nothing(_node: Node, _data: bytes) -> Iterator[str]:
    return iter(())


def _owns_nothing(_node: Node, _data: bytes) -> str:
    return ""


_NEUTRAL = Extractor(node=_defines_nothing, parameters=_binds_nothing, owner=_owns_nothing)

# The records of the languages with definition lookup, and their extractors.
RECORDS: dict[str, languages.Language] = {
    lang.name: lang for lang in languages.all() if lang.definitions_query
}
EXTRACTORS: dict[str, Extractor] = {
    name: _BY_FAMILY.get(lang.family, _NEUTRAL) for name, lang in RECORDS.items()
}
# Siblings count when the buffer imports them (and names what it uses of them).
IMPORTING = frozenset(name for name, lang in RECORDS.items() if lang.siblings == "imports")
# Siblings count when in the same package.
PACKAGED = frozenset(name for name, lang in RECORDS.items() if lang.siblings == "package")
