"""Scope analysis around the cursor: what the functions around it bind, the type it is in,
whether a name defined in the window is local, and a bound on the work in broken code."""

from __future__ import annotations

from tree_sitter import Node

from .model import Extractor

__all__ = ["MAX_DEPTH", "deeper_than", "enclosing_scope", "in_scope"]

MAX_DEPTH = 256  # deeper than this around the cursor: code broken by an unclosed bracket
_SCOPE_STEPS = 64  # a top-level name sits a few levels below the root


def deeper_than(root: Node, point: tuple[int, int], limit: int) -> bool:
    """Whether the node at `point` lies more than `limit` levels below the root (a cursor walks
    down in one pass; Node.parent would walk down from the root at every step)."""
    cursor = root.walk()
    depth = 0
    while cursor.goto_first_child_for_point(point) is not None:
        depth += 1
        if depth > limit:
            return True
    return False


def in_scope(node: Node, scopes: frozenset[str]) -> bool:
    """Whether a defined name is local to a function (or a class body, a type's parameters).
    A name more than _SCOPE_STEPS levels deep counts as local (top-level ones are shallow)."""
    parent = node.parent
    ancestor = None if parent is None else parent.parent  # the parent may be what it names
    for _ in range(_SCOPE_STEPS):
        if ancestor is None:
            return False
        if ancestor.type in scopes:
            return True
        ancestor = ancestor.parent
    return True


def enclosing_scope(node: Node | None, data: bytes, extractor: Extractor) -> tuple[set[str], str]:
    """The parameters of the functions around `node`, and the innermost enclosing type or class
    (a Go method's receiver type, a C++ `T::m`'s T)."""
    names: set[str] = set()
    owner = ""
    while node is not None:
        names.update(extractor.parameters(node, data))
        if not owner:
            owner = extractor.owner(node, data)
        node = node.parent
    return names, owner
