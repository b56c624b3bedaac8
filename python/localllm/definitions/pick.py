"""`relevant_definitions`: the definitions of the names used around the cursor, found in the
buffer and its siblings, chosen and fitted into a character budget."""

from __future__ import annotations

import os

from tree_sitter import Tree

from .extractors import EXTRACTORS, IMPORTING, PACKAGED
from .index import DefinitionIndex
from .model import MEMBER, NAME, TYPE, Definition, Found
from .near import LINES_AFTER, LINES_BEFORE, Near, near
from .parsing import encode, parse_buffer
from .siblings import stem

__all__ = ["MAX_PER_NAME", "relevant_definitions"]

MAX_PER_NAME = 2  # the most definitions one identifier contributes


def relevant_definitions(
    text: str,
    row: int,
    col: int,
    lang: str,
    path: str,
    index: DefinitionIndex,
    *,
    budget_chars: int = 2000,
    window_start_row: int = 0,
    window_end_row: int | None = None,
    tree: Tree | None = None,
) -> tuple[list[Definition], list[Definition]]:
    """(same_file, other_files): the definitions of the identifiers used around the cursor.

    `text` is the buffer (lines joined with "\\n"), (row, col) the cursor, `path` the buffer's
    file (its folder holds the siblings; "" for none). Same-file definitions are only those the
    prompt does not show: starting above `window_start_row` or at/after `window_end_row` (default:
    LINES_AFTER + 1 rows below the cursor). A name defined in the buffer is not looked up
    elsewhere. Other files: Go's and Java's package siblings; Python's, JavaScript's and
    TypeScript's sibling modules that the buffer imports the name (or its module) from; Rust's
    sibling modules; the headers of the folder that a C/C++ buffer includes with quotes; the
    Lua modules of the folder that the buffer requires.
    `x.name` finds methods, and the types that have a field or interface method `name` (those
    in sight preferred; none when it is a guess among many). Both lists are ordered most
    relevant (nearest use) first, and their texts add up to at most `budget_chars` characters
    (counting one newline per definition). `tree`: the tree of `text`, when the caller has it.
    """
    if lang not in EXTRACTORS or budget_chars <= 0:
        return [], []
    data = encode(text)
    tree = parse_buffer(lang, data, tree)
    if tree is None:
        return [], []
    uses = near(tree, data, row, col, lang, LINES_BEFORE, LINES_AFTER)
    if not uses.uses:
        return [], []
    own = index.buffer(text, lang, path, tree)
    folder = _siblings(index, uses, lang, path)
    end_row = row + 1 + LINES_AFTER if window_end_row is None else window_end_row
    picked = _Picked(budget_chars)
    for name, role, module in uses.uses:
        here = _candidates(own, name, role)
        if here:
            for definition in _choose(here, role, uses.owners):
                if not window_start_row <= definition.row < end_row:
                    picked.add(definition, same_file=True)
            continue
        lookup = name
        if lang in IMPORTING and role == NAME and not module and name in uses.imports.names:
            lookup = uses.imports.names[name][1]  # `from .models import Group as G`
        there = [
            d
            for d in _candidates(folder, lookup, role)
            if lang not in IMPORTING or _imported(d, name, role, module, uses)
        ]
        for definition in _choose(there, role, uses.owners):
            picked.add(definition, same_file=False)
    return picked.same, picked.other


def _siblings(index: DefinitionIndex, uses: Near, lang: str, path: str) -> Found:
    """What the sibling files of the buffer at `path` define, those that count for it."""
    if not path:
        return Found()
    package = uses.package if lang in PACKAGED and uses.package else None
    only = EXTRACTORS[lang].siblings(uses.imports)
    if only is not None and not only:
        return Found()
    return index.folder(os.path.dirname(path) or ".", lang, path, package, only)


def _candidates(found: Found, name: str, role: int) -> list[Definition]:
    defs = [d for d in found.defs.get(name, ()) if _fits(d, role)]
    if role == MEMBER:
        defs.extend(found.members.get(name, ()))
    return defs


def _fits(definition: Definition, role: int) -> bool:
    if role == MEMBER:
        return definition.kind == "method"
    if role == TYPE:
        return definition.kind in ("type", "class")
    return definition.kind != "method"


def _owner(definition: Definition) -> str:
    return definition.owner if definition.kind == "method" else definition.name


def _choose(candidates: list[Definition], role: int, owners: set[str]) -> list[Definition]:
    if role == MEMBER and len(candidates) > 1:
        # `x.Close()`: the methods of the types in sight; a guess among many is noise.
        preferred = [d for d in candidates if _owner(d) in owners]
        if preferred:
            return preferred[:MAX_PER_NAME]
        return candidates if len(candidates) <= MAX_PER_NAME else []
    return candidates[:MAX_PER_NAME]


def _imported(definition: Definition, name: str, role: int, module: str, uses: Near) -> bool:
    """Whether the buffer imports a sibling module's definition (the module or the name)."""
    file_stem = stem(definition.path)
    imports = uses.imports
    if file_stem in imports.star:
        return True
    if role == MEMBER:
        owner = _owner(definition)
        return file_stem in imports.modules.values() or any(
            (module_stem, original) == (file_stem, owner)
            for module_stem, original in imports.names.values()
        )
    if module:
        return module == file_stem
    imported = imports.names.get(name)
    return imported is not None and imported[0] == file_stem


class _Picked:
    """The definitions taken so far, within a character budget, without repeats."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.same: list[Definition] = []
        self.other: list[Definition] = []
        self.seen: set[tuple[str, int, str]] = set()

    def add(self, definition: Definition, *, same_file: bool) -> None:
        key = (definition.path, definition.row, definition.text)
        if key in self.seen:
            return
        chosen = self.same if same_file else self.other
        if definition.kind == "method" and any(
            d.kind == "class" and d.name == definition.owner and d.path == definition.path
            for d in chosen
        ):
            return  # a Python class already shows the method's signature
        if definition.kind == "class":
            # The class shows its methods' signatures: drop the methods taken on their own.
            for d in [d for d in chosen if d.kind == "method" and d.owner == definition.name]:
                if d.path == definition.path:
                    chosen.remove(d)
                    self.used -= len(d.text) + 1
        cost = len(definition.text) + 1
        if self.used + cost > self.budget:
            return
        self.seen.add(key)
        self.used += cost
        chosen.append(definition)
