"""The extractor of each language that has a definitions query, by language id: the record's
family names the `lang_<family>.py` module (TypeScript reads as JavaScript, C++ as C)."""

from __future__ import annotations

from .. import languages
from . import lang_c, lang_go, lang_java, lang_javascript, lang_lua, lang_python, lang_rust
from .model import Extractor

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

# The records of the languages with definition lookup, and their extractors.
RECORDS: dict[str, languages.Language] = {
    lang.name: lang
    for lang in languages.all()
    if lang.definitions_query and lang.family in _BY_FAMILY
}
EXTRACTORS: dict[str, Extractor] = {name: _BY_FAMILY[lang.family] for name, lang in RECORDS.items()}
# Siblings count when the buffer imports them (and names what it uses of them).
IMPORTING = frozenset(name for name, lang in RECORDS.items() if lang.siblings == "imports")
# Siblings count when in the same package.
PACKAGED = frozenset(name for name, lang in RECORDS.items() if lang.siblings == "package")
