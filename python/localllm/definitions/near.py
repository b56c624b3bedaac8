"""The identifiers used around the cursor, and what the buffer imports (`near`).

A language's definitions query (its record's `definitions_query`) captures, over the lines
around the cursor: @name, @type and @member, uses (a value or call, a type position, the name
of `x.name`); @def, a name bound in the window (a local, a parameter, a declaration); @skip and
@key, identifiers that are neither (a keyword argument, a struct literal's field key, the name
of a type from another package); @import, a whole import statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node, QueryCursor, Tree

from .extractors import EXTRACTORS, IMPORTING, RECORDS
from .model import MEMBER, NAME, TYPE, Imports
from .parsing import encode, parse_buffer, query
from .scope import MAX_DEPTH, deeper_than, enclosing_scope, in_scope
from .text import node_text

__all__ = ["LINES_AFTER", "LINES_BEFORE", "Near", "identifiers_near", "near"]

LINES_BEFORE = 40
LINES_AFTER = 10

# Names never looked up: a language's builtins and keywords (half-typed code can turn a keyword
# into an identifier), and `_`, the blank (Go) or throwaway name.
_BUILTINS = {name: lang.builtins | lang.keywords | {"_"} for name, lang in RECORDS.items()}

Use = tuple[str, int, str]  # (name, role, module stem)
_Place = tuple[int, int, int]


@dataclass(slots=True)
class Near:
    """The identifier uses around the cursor, nearest first: (name, role, module stem)."""

    uses: list[Use]
    owners: set[str]  # type names in the window and the enclosing receiver/class
    package: str = ""
    imports: Imports = field(default_factory=Imports)


@dataclass(slots=True)
class _Window:
    """The lines around the cursor and what is known of them while their uses are collected."""

    lang: str
    data: bytes
    row: int
    col: int
    first: int
    last: int
    captures: dict[str, list[Node]]
    locals: set[str]
    imports: Imports
    found: list[tuple[_Place, str, int, str]] = field(default_factory=list)

    def place(self, node: Node) -> _Place:
        """Nearest row first (above before below); on the cursor's row the nearest column, on
        other rows reading order."""
        node_row, node_col = node.start_point
        if node_row == self.row:
            return (0, 0, abs(node_col - self.col))
        return (abs(node_row - self.row), 1 if node_row > self.row else 0, node_col)

    def inside(self, node: Node) -> bool:
        return self.first <= node.start_point.row <= self.last


def near(
    tree: Tree, data: bytes, row: int, col: int, lang: str, lines_before: int, lines_after: int
) -> Near:
    """The uses around (row, col), the owners in sight, the buffer's package and imports."""
    root = tree.root_node
    row = max(0, min(row, root.end_point.row))
    first = max(0, row - max(lines_before, 0))
    last = row + max(lines_after, 0)
    captures = _captures(root, lang, first, last)
    if deeper_than(root, (row, col), MAX_DEPTH):
        # An unclosed bracket can nest the rest of the file ever deeper (thousands of levels),
        # and every step up a tree-sitter tree walks down from the root: bounded work instead.
        return Near(uses=[], owners=set())
    extractor = EXTRACTORS[lang]
    cursor_node = root.descendant_for_point_range((row, col), (row, col))
    locals_, owner = enclosing_scope(cursor_node, data, extractor)
    imports = extractor.imports(root, data)
    window = _Window(lang, data, row, col, first, last, captures, locals_, imports)
    skipped = _skipped(window)
    members = _member_uses(window)
    _name_uses(window, skipped | members)
    uses, owners = _ordered(window.found, owner)
    return Near(uses, owners, extractor.package(root, data), imports)


def _captures(root: Node, lang: str, first: int, last: int) -> dict[str, list[Node]]:
    compiled = query(lang)
    if compiled is None:
        return {}
    cursor = QueryCursor(compiled)
    cursor.set_point_range((first, 0), (last + 1, 0))
    return cursor.captures(root)


def _skipped(window: _Window) -> set[int]:
    """The start bytes of the identifiers that are no uses; adds the local names to `locals`."""
    extractor = EXTRACTORS[window.lang]
    scopes = RECORDS[window.lang].scope_types
    skipped: set[int] = set()
    for node in window.captures.get("def", ()):
        skipped.add(node.start_byte)
        # Top-level names stay: the index has them, and the prompt may not show them.
        if in_scope(extractor.declared(node), scopes):
            window.locals.add(node_text(window.data, node))
    for node in window.captures.get("skip", ()):
        skipped.add(node.start_byte)
    for node in window.captures.get("key", ()):
        if not extractor.key_is_value(node):
            skipped.add(node.start_byte)
    return skipped


def _member_uses(window: _Window) -> set[int]:
    """Collects the `x.name` uses; the start bytes of all @member captures."""
    lang, data, imports = window.lang, window.data, window.imports
    builtin = _BUILTINS.get(lang, frozenset())
    operand_field = RECORDS[lang].operand_field
    module_role = MEMBER if EXTRACTORS[lang].module_members else NAME
    members: set[int] = set()
    for node in window.captures.get("member", ()):
        members.add(node.start_byte)
        if not window.inside(node):
            continue
        name = node_text(data, node)
        if name in builtin:
            continue
        parent = node.parent
        operand = None if parent is None else parent.child_by_field_name(operand_field)
        if operand is not None and operand.type == "identifier":
            base = node_text(data, operand)
            if base in imports.packages and base not in window.locals:
                continue  # pkg.Name: another package (Go)
            if lang in IMPORTING and base in imports.modules and base not in window.locals:
                # Lua: `m.f` is a function stored in the module's table, an "owned" one.
                window.found.append((window.place(node), name, module_role, imports.modules[base]))
                continue
        window.found.append((window.place(node), name, MEMBER, ""))
    return members


def _name_uses(window: _Window, skipped: set[int]) -> None:
    """Collects the uses of names and types that are not local, builtin or imported packages."""
    data, imports = window.data, window.imports
    builtin = _BUILTINS.get(window.lang, frozenset())
    statements = [(n.start_byte, n.end_byte) for n in window.captures.get("import", ())]
    for capture, role in (("name", NAME), ("type", TYPE)):
        for node in window.captures.get(capture, ()):
            start = node.start_byte
            if start in skipped or not window.inside(node):
                continue
            if statements and any(a <= start < b for a, b in statements):
                continue
            name = node_text(data, node)
            if name in window.locals or name in builtin or name in imports.packages:
                continue
            window.found.append((window.place(node), name, role, ""))


def _ordered(found: list[tuple[_Place, str, int, str]], owner: str) -> tuple[list[Use], set[str]]:
    """The uses nearest first without repeats; the owners: `owner` and the names used."""
    found.sort(key=lambda item: item[0])
    uses: list[Use] = []
    seen: set[Use] = set()
    owners = {owner} if owner else set()
    for _place, name, role, module in found:
        use = (name, role, module)
        if use not in seen:
            seen.add(use)
            uses.append(use)
            if role != MEMBER:
                owners.add(name)
    return uses, owners


def identifiers_near(
    text: str,
    row: int,
    col: int,
    lang: str,
    *,
    lines_before: int = LINES_BEFORE,
    lines_after: int = LINES_AFTER,
) -> list[str]:
    """The identifiers that the lines around (row, col) use and do not define, nearest first.

    Type names, called functions, constants and variables, selector fields and methods (Go
    `x.Field`, Python `x.attr`), from `lines_before` lines above the cursor to `lines_after`
    below, deduplicated. Left out: keywords, builtins, imported package names and what they
    qualify (`fmt.Println`), struct literal field keys, keyword argument names, and the names
    defined in the window or as parameters of the functions around the cursor. Empty for a
    language without definition lookup (see `extractors.EXTRACTORS`).
    """
    if lang not in EXTRACTORS:
        return []
    data = encode(text)
    tree = parse_buffer(lang, data)
    if tree is None:
        return []
    found = near(tree, data, row, col, lang, lines_before, lines_after)
    names: list[str] = []
    seen: set[str] = set()
    for name, _role, _module in found.uses:
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names
