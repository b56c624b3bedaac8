"""What is in scope at the cursor (`scope_at`), from a tree-sitter parse of the buffer with
the cursor line blanked out; a Document keeps the last one for the next keystroke."""

from __future__ import annotations

from collections.abc import Callable

from ... import treesitter, utf8
from ...treesitter import TreeOf
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

# Document.carried: a value kept from the buffer's previous request while its key is the same.
Carry = Callable[[str, object, Callable[[], object]], object]


def scope_at(
    lines: list[str],
    row: int,
    lang: str,
    *,
    tree_of: TreeOf | None = None,
    blanked: bytes | None = None,
    carry: Carry | None = None,
) -> Scope | None:
    """What is in scope at line `row` of `lines`, read from their text with that line blanked.

    `tree_of`, `blanked`: the tree of that text and its bytes, when the caller has them (a
    Document's `blanked_tree` and `blanked_data`);
    `carry`: a Document's `carried`, so that while the text and the cursor's row stay the same
    (typing on the line) the scope found for the last keystroke is kept."""
    line = lines[row]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    data = (
        blanked
        if blanked is not None
        else utf8.encode(treesitter.with_line_blanked(lines, row, lang))
    )
    column = utf8.byte_len(indent)

    def analyse() -> Scope | None:
        parsed = tree_of() if tree_of is not None else treesitter.parse(lang, data)
        if parsed is None:
            return None
        return _WALKERS.get(lang, JsAnalysis)(lang, data, lines, row, column).run(parsed.root_node)

    if carry is None:
        return analyse()
    found = carry("loglines.scope", (data, row, column), analyse)
    return found if isinstance(found, Scope) else None
