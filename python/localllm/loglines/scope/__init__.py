"""What is in scope at the cursor (`scope_at`), from a tree-sitter parse of the buffer with
the cursor line blanked out; the last analysis of each buffer is kept for the next keystroke."""

from __future__ import annotations

import threading

from ... import treesitter, utf8
from .base import Analysis, Binding, Scope
from .go import GoAnalysis
from .javascript import JsAnalysis
from .python import PythonAnalysis
from .rust import RustAnalysis

__all__ = ["Binding", "Scope", "scope_at"]

_WALKERS: dict[str, type[Analysis]] = {
    "go": GoAnalysis,
    "python": PythonAnalysis,
    "rust": RustAnalysis,
}  # the rest: JavaScript, TypeScript, TSX

_cache_lock = threading.Lock()
_scope_cache: dict[tuple[str, str], tuple[bytes, int, int, Scope]] = {}


def scope_at(lines: list[str], row: int, typed: str, lang: str, key: str) -> Scope | None:
    line = lines[row]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    data = utf8.encode(treesitter.with_line_blanked(lines, row, lang))
    slot = (key, lang)
    column = utf8.byte_len(indent)
    with _cache_lock:
        cached = _scope_cache.get(slot)
    if cached is not None and cached[0] == data and cached[1] == row and cached[2] == column:
        return cached[3]
    tree = treesitter.parse_text(lang, data, key + "\0loglines")
    if tree is None:
        return None
    scope = _WALKERS.get(lang, JsAnalysis)(lang, data, lines, row, column).run(tree.root_node)
    with _cache_lock:
        _scope_cache[slot] = (data, row, column, scope)
        while len(_scope_cache) > 16:
            _scope_cache.pop(next(iter(_scope_cache)))
    return scope
