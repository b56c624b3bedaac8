"""The function around the cursor: its results, parameters, type parameters, receiver."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tree_sitter import Node

from ... import treesitter, utf8
from ...treesitter import TreeOf
from .packages import GoPackages, _file_facts
from .syntax import _FUNCTIONS, _MAX_DEPTH, _params, _text
from .zero_values import _Scope

_TESTING = {"*T": "t", "*B": "b", "*F": "f", "TB": "tb"}


@dataclass(slots=True)
class _Function:
    node: Node
    results: list[tuple[str, Node]]  # (name or "", type) per result
    params: list[tuple[str, Node]]
    name: str


def _function(node: Node, data: bytes) -> _Function:
    name_node = node.child_by_field_name("name")
    return _Function(
        node=node,
        results=_params(node.child_by_field_name("result"), data),
        params=_params(node.child_by_field_name("parameters"), data),
        name=_text(data, name_node) if name_node is not None else "",
    )


def _type_params(functions: list[Node], data: bytes) -> set[str]:
    """Type parameter names in scope: of the enclosing declarations and their receivers."""
    names: set[str] = set()
    for fn in functions:
        plist = fn.child_by_field_name("type_parameters")
        if plist is not None:
            for decl in plist.named_children:
                names.update(_text(data, n) for n in decl.children_by_field_name("name"))
        receiver = fn.child_by_field_name("receiver")
        if receiver is not None:
            for _name, kind in _params(receiver, data):
                while kind.type == "pointer_type" and kind.named_child_count:
                    kind = kind.named_children[-1]
                if kind.type == "generic_type":
                    args = kind.child_by_field_name("type_arguments")
                    for arg in args.named_children if args is not None else ():
                        names.add(_text(data, arg))
    return names


def _testing_receiver(fn: _Function, data: bytes, imports: dict[str, str]) -> str | None:
    alias = next((a for a, p in imports.items() if p == "testing"), None)
    if alias is None:
        return None
    for name, kind in fn.params:
        written = _text(data, kind).replace(" ", "")
        for suffix in _TESTING:
            pointer = suffix.startswith("*")
            if written == ("*" if pointer else "") + f"{alias}.{suffix.lstrip('*')}":
                return name if name not in ("", "_") else None
    return None


def _functions_around(node: Node | None) -> list[Node]:
    """The functions (declarations and literals) around `node`, innermost first."""
    return [n for n in treesitter.ancestors(node, _MAX_DEPTH) if n.type in _FUNCTIONS]


def _returns_error(fn: _Function, data: bytes) -> bool:
    return any(_text(data, kind) == "error" for _name, kind in fn.results)


def _test_around(
    functions: list[Node], data: bytes, imports: dict[str, str]
) -> tuple[str, Node] | None:
    """(the testing receiver, the test) of the test the innermost of `functions` is in: the
    nearest enclosing function with a testing parameter, reached through literals only."""
    for node in functions:
        receiver = _testing_receiver(_function(node, data), data, imports)
        if receiver:
            return receiver, node
        if node.type != "func_literal":
            return None
    return None


def _at_cursor(
    text: str, row: int, col: int, path: str, packages: GoPackages | None, tree_of: TreeOf | None
) -> tuple[Node, Node, list[Node], _Function, _Scope] | None:
    """(root, the node at the cursor, the enclosing functions innermost first, the innermost
    one, what its types resolve against), or None outside any function. `tree_of`: the tree of
    `text`, when the caller has it (its Document's)."""
    data = utf8.encode(text)
    tree = tree_of() if tree_of is not None else treesitter.parse("go", data)
    if tree is None:
        return None
    root = tree.root_node
    node = root.descendant_for_point_range((row, col), (row, col))
    functions = _functions_around(node)
    if not functions or node is None:
        return None
    package, local_types, imports = _file_facts(root, data)
    scope = _Scope(
        data=data,
        local=local_types,
        imports=imports,
        type_params=_type_params(functions, data),
        folder=os.path.dirname(path) if path else "",
        package=package,
        path=path,
        packages=packages,
        cursor=_line_start(data, row),
        root=root,
    )
    return root, node, functions, _function(functions[0], data), scope


def _line_start(data: bytes, row: int) -> int:
    offset = 0
    for _ in range(row):
        found = data.find(b"\n", offset)
        if found < 0:
            return len(data)
        offset = found + 1
    return offset
