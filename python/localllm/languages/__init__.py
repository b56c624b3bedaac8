"""What the engine knows about each language, one module per language family.

Every module exports frozen `Language` records (see `base.py`); the rest of the engine asks
this registry and keeps only language-neutral algorithms:

    from localllm import languages
    lang = languages.for_buffer(filetype, path)   # the buffer's Language, or None
    lang = languages.get("go")                    # by our language id
    languages.all()                               # every record, in a fixed order

Adding a language
-----------------
1. Write ``python/localllm/languages/<name>.py`` with one ``Language(...)`` record: its id,
   filetypes, extensions, the grammar wheel's module and function, comment and string syntax,
   builtins and keywords, the node kinds of its functions (and, for definition lookup, its
   query and scopes). Copy the closest existing module; every field is documented in
   ``base.py``.
2. Add the grammar wheel to ``dependencies`` in ``pyproject.toml`` (``"tree-sitter-<name>>=…"``)
   and its module to the mypy ``ignore_missing_imports`` list there.
3. Import the record below and add it to ``_ALL``.

``tests/test_languages.py`` then checks the record: every field that must be set is, the
grammar loads and parses a sample (add one to its ``SAMPLES``), and no filetype or extension is
claimed twice.
"""

from __future__ import annotations

import os

from .base import Language
from .bash import BASH
from .c import CPP, C
from .go import GO
from .java import JAVA
from .javascript import JAVASCRIPT, TSX, TYPESCRIPT
from .lua import LUA
from .python import PYTHON
from .ruby import RUBY
from .rust import RUST

__all__ = [
    "BASH",
    "CPP",
    "GO",
    "JAVA",
    "JAVASCRIPT",
    "LUA",
    "PYTHON",
    "RUBY",
    "RUST",
    "TSX",
    "TYPESCRIPT",
    "C",
    "Language",
    "all",
    "for_buffer",
    "for_extension",
    "get",
]

_ALL: tuple[Language, ...] = (
    GO,
    PYTHON,
    LUA,
    JAVASCRIPT,
    TYPESCRIPT,
    TSX,
    RUST,
    C,
    CPP,
    JAVA,
    BASH,
    RUBY,
)
_BY_NAME = {lang.name: lang for lang in _ALL}
_BY_FILETYPE = {ft: lang for lang in _ALL for ft in lang.filetypes}
_BY_EXTENSION = {ext: lang for lang in _ALL for ext in lang.extensions}

# Filetypes we know and deliberately leave alone, whatever the file's extension says.
_UNSUPPORTED_FILETYPES = frozenset({"zsh", "fish", "csh", "tcsh", "ksh"})


def all() -> tuple[Language, ...]:
    """Every language, in a fixed order."""
    return _ALL


def get(lang: str | None) -> Language | None:
    """The record of our language id `lang` ("go", "tsx" …), or None."""
    return _BY_NAME.get(lang or "")


def for_extension(extension: str) -> Language | None:
    """The language of a file extension (with the dot, any case), or None."""
    return _BY_EXTENSION.get(extension.lower())


def for_buffer(filetype: str, path: str = "") -> Language | None:
    """A buffer's language: by Neovim filetype first, else by the file's extension; None for
    anything else (zsh included: it is not bash)."""
    ft = filetype.strip().lower()
    if ft in _BY_FILETYPE:
        return _BY_FILETYPE[ft]
    if ft in _UNSUPPORTED_FILETYPES or not path:
        return None
    return for_extension(os.path.splitext(path)[1])
